package pglog

import (
	"bytes"
	"time"
)

// record is one log entry, whatever the format: the columns of csvlog, the
// keys of jsonlog, or a stderr line with its prefix decoded and its
// secondary lines (DETAIL, HINT, STATEMENT…) attached. Byte slices point
// into the front-end's buffers and are valid only while the engine handles
// the record.
type record struct {
	t              time.Time
	user, db, app  []byte
	host           []byte // client address: IP, host name or "[local]"
	port           int
	pid            int64
	sid            []byte // session id (%c, session_id)
	start          int64  // session start (epoch seconds) when the format says it, else 0
	sev            severity
	state          []byte // SQLSTATE when logged
	msg            []byte
	detail, hint   []byte
	query          []byte // the statement of an error (STATEMENT:, query, statement)
	ps             []byte // csv command_tag / json ps: "authentication", "startup", "idle"…
	btype          []byte // backend_type
	file           string
	lineNo, offset int64
}

var unknownValue = []byte("[unknown]")

// clean returns v, or nil for PostgreSQL's "[unknown]" placeholder.
func clean(v []byte) []byte {
	if bytes.Equal(v, unknownValue) {
		return nil
	}
	return v
}

// splitVerboseState removes the SQLSTATE that log_error_verbosity=verbose
// puts in front of a stderr message ("00000: connection received…"). Only a
// string that can be a SQLSTATE class counts, so that "AUDIT: …" is left
// alone.
func splitVerboseState(msg []byte) (state, rest []byte) {
	if len(msg) < 7 || msg[5] != ':' || msg[6] != ' ' || !isStateChars(msg[:5]) {
		return nil, msg
	}
	c0, c1 := msg[0], msg[1]
	switch {
	case isDigit(c0) && (isDigit(c1) || c1 >= 'A' && c1 <= 'Z'):
	case c0 == 'F' && c1 == '0', c0 == 'H' && c1 == 'V', c0 == 'P' && c1 == '0', c0 == 'X' && c1 == 'X':
	default:
		return nil, msg
	}
	return msg[:5], msg[7:]
}

// stripAtCharacter removes the " at character N" cursor position that the
// stderr form of an error message carries (csvlog/jsonlog keep it in a
// separate column), so that the three formats yield the same message.
func stripAtCharacter(msg []byte) []byte {
	const s = " at character "
	i := bytes.LastIndex(msg, []byte(s))
	if i < 0 {
		return msg
	}
	n := msg[i+len(s):]
	if len(n) == 0 || len(n) > 10 || digits(n, 10) != len(n) {
		return msg
	}
	return msg[:i]
}

// stateRule infers a SQLSTATE from the text of a stderr error message when
// the log does not carry it (log_error_verbosity=default and no %e).
type stateRule struct {
	sev      severity // sevNone: any of ERROR/FATAL/PANIC
	prefix   string
	contains string
	state    string
}

var stateRules = []stateRule{
	{sevNone, "password authentication failed for user", "", "28P01"},
	{sevNone, "no pg_hba.conf entry for", "", "28000"},
	{sevNone, "pg_hba.conf rejects", "", "28000"},
	{sevFatal, "role \"", "\" does not exist", "28000"},
	{sevFatal, "role \"", "\" is not permitted to log in", "28000"},
	{sevNone, "database \"", "\" does not exist", "3D000"},
	{sevNone, "", " authentication failed for user ", "28000"},
	{sevNone, "too many connections for ", "", "53300"},
	{sevNone, "sorry, too many clients already", "", "53300"},
	{sevNone, "remaining connection slots are reserved", "", "53300"},
	{sevNone, "the database system is starting up", "", "57P03"},
	{sevNone, "the database system is shutting down", "", "57P03"},
	{sevNone, "the database system is in recovery mode", "", "57P03"},
	{sevNone, "terminating connection due to administrator command", "", "57P01"},
	{sevNone, "terminating connection due to idle-in-transaction timeout", "", "25P03"},
	{sevNone, "terminating connection due to idle-session timeout", "", "57P05"},
	{sevNone, "canceling statement due to statement timeout", "", "57014"},
	{sevNone, "canceling statement due to user request", "", "57014"},
	{sevNone, "canceling statement due to lock timeout", "", "55P03"},
	{sevNone, "canceling authentication due to timeout", "", "08P01"},
	{sevNone, "permission denied", "", "42501"},
	{sevNone, "must be owner of", "", "42501"},
	{sevNone, "must be superuser", "", "42501"},
	{sevNone, "must be member of", "", "42501"},
	{sevNone, "must have ", " privilege", "42501"},
	{sevNone, "syntax error at", "", "42601"},
	{sevNone, "unterminated ", "", "42601"},
	{sevNone, "relation \"", "\" does not exist", "42P01"},
	{sevNone, "table \"", "\" does not exist", "42P01"},
	{sevNone, "column \"", "\" does not exist", "42703"},
	{sevNone, "function ", " does not exist", "42883"},
	{sevNone, "operator does not exist", "", "42883"},
	{sevNone, "schema \"", "\" does not exist", "3F000"},
	{sevError, "role \"", "\" does not exist", "42704"},
	{sevNone, "large object ", " does not exist", "42704"},
	{sevNone, "extension \"", "\" does not exist", "42704"},
	{sevNone, "relation \"", "\" already exists", "42P07"},
	{sevNone, "role \"", "\" already exists", "42710"},
	{sevNone, "database \"", "\" already exists", "42P04"},
	{sevNone, "duplicate key value violates unique constraint", "", "23505"},
	{sevNone, "null value in column", "", "23502"},
	{sevNone, "insert or update on table", "violates foreign key constraint", "23503"},
	{sevNone, "update or delete on table", "violates foreign key constraint", "23503"},
	{sevNone, "division by zero", "", "22012"},
	{sevNone, "invalid input syntax", "", "22P02"},
	{sevNone, "value too long for type", "", "22001"},
	{sevNone, "current transaction is aborted", "", "25P02"},
	{sevNone, "cannot execute ", " in a read-only transaction", "25006"},
	{sevNone, "deadlock detected", "", "40P01"},
	{sevNone, "could not serialize access", "", "40001"},
	{sevNone, "prepared statement \"", "\" does not exist", "26000"},
	{sevNone, "could not open file", "", "58P01"},
	{sevNone, "could not access file", "", "58P01"},
}

// inferState returns the SQLSTATE of a well-known error message, or "".
func inferState(sev severity, msg []byte) string {
	for i := range stateRules {
		r := &stateRules[i]
		if r.sev != sevNone && r.sev != sev {
			continue
		}
		if !bytes.HasPrefix(msg, []byte(r.prefix)) {
			continue
		}
		if r.contains != "" && !bytes.Contains(msg[len(r.prefix):], []byte(r.contains)) {
			continue
		}
		return r.state
	}
	return ""
}

// quotedAfter returns the text between the double quotes that follow key
// in msg (`user "alice"` → alice), or nil.
func quotedAfter(msg []byte, key string) []byte {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return nil
	}
	v := msg[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return nil
	}
	return v[:j]
}

// kvBetween returns the value of "key" in a message of the form
// "key=value nextkey=…", the value ending where one of the given next keys
// begins (values may contain blanks: application names, database names).
func kvBetween(msg []byte, key string, next ...string) []byte {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return nil
	}
	v := msg[i+len(key):]
	end := len(v)
	for _, n := range next {
		if j := bytes.Index(v, []byte(n)); j >= 0 && j < end {
			end = j
		}
	}
	return v[:end]
}

// parseMillis parses "123.456" (milliseconds, as PostgreSQL prints
// durations) into nanoseconds and returns the bytes consumed.
func parseMillis(b []byte) (int64, int, bool) {
	i := 0
	var ms int64
	for i < len(b) && isDigit(b[i]) && i < 15 {
		ms = ms*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, 0, false
	}
	ns := ms * int64(time.Millisecond)
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(100000)
		for i < len(b) && isDigit(b[i]) {
			if scale > 0 {
				ns += int64(b[i]-'0') * scale
				scale /= 10
			}
			i++
		}
	}
	return ns, i, true
}

// parseSessionTime parses the "H:MM:SS.mmm" of a disconnection message
// into nanoseconds (0 when malformed).
func parseSessionTime(b []byte) int64 {
	var parts [3]int64
	p := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case isDigit(c):
			if parts[p] = parts[p]*10 + int64(c-'0'); parts[p] > 1e9 {
				return 0
			}
		case c == ':' && p < 2:
			p++
		case c == '.' && p == 2:
			frac, _, _ := parseMillis(b[i+1:])
			// parseMillis read the fraction as whole milliseconds
			digits := digits(b[i+1:], 20)
			for ; digits > 3; digits-- {
				frac /= 10
			}
			for ; digits < 3; digits++ {
				frac *= 10
			}
			return (parts[0]*3600+parts[1]*60+parts[2])*int64(time.Second) + frac
		default:
			return 0
		}
	}
	if p != 2 {
		return 0
	}
	return (parts[0]*3600 + parts[1]*60 + parts[2]) * int64(time.Second)
}

// normSQL trims the blanks and semicolons around a statement so that the
// text of a `statement:` line, of an AUDIT record and of an error's
// STATEMENT compare equal.
func normSQL(b []byte) []byte {
	b = bytes.TrimSpace(b)
	for len(b) > 0 && b[len(b)-1] == ';' {
		b = bytes.TrimSpace(b[:len(b)-1])
	}
	return b
}

// sameSQL reports whether two statement texts name the same statement: equal
// once trimmed, or one contains the other (a multi-statement string and one
// of its statements).
func sameSQL(a, b []byte) bool {
	a, b = normSQL(a), normSQL(b)
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if bytes.Equal(a, b) {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 8 && bytes.Contains(b, a)
}

// noise lists background messages that carry nothing for a DAM; they are
// counted in Stats.Ignored, not emitted.
var noisePrefixes = [][]byte{
	[]byte("checkpoint starting:"),
	[]byte("checkpoint complete:"),
	[]byte("restartpoint starting:"),
	[]byte("restartpoint complete:"),
	[]byte("recovery restart point at"),
	[]byte("automatic vacuum of table"),
	[]byte("automatic aggressive vacuum"),
	[]byte("automatic analyze of table"),
	[]byte("temporary file: "),
}

func isNoise(msg []byte) bool {
	for _, p := range noisePrefixes {
		if bytes.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
