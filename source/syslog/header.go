package syslog

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Format is the header format a message was parsed as.
type Format uint8

const (
	// FormatUnknown: no recognisable header; the whole message is the body.
	FormatUnknown Format = iota
	// FormatRFC3164 is the BSD form: <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG.
	FormatRFC3164
	// FormatRFC5424 is <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG.
	FormatRFC5424
)

func (f Format) String() string {
	switch f {
	case FormatRFC3164:
		return "rfc3164"
	case FormatRFC5424:
		return "rfc5424"
	}
	return "unknown"
}

// Header is what ParseHeader extracts from one syslog message.
type Header struct {
	Format Format
	// Priority is the PRI value, Facility = Priority/8, Severity =
	// Priority%8. HasPRI is false when the message had no <PRI>; Facility
	// and Severity then are 1 (user) and 5 (notice) as RFC 3164 §4.3.3
	// suggests.
	HasPRI   bool
	Facility int
	Severity int
	// Timestamp is zero when absent or unparsable. RFC 3164 timestamps
	// have no year and no zone: they are read in the receiver's Location
	// and given the year that puts them closest to now.
	Timestamp time.Time
	Hostname  string
	AppName   string // RFC 5424 APP-NAME or the RFC 3164 TAG
	ProcID    string
	MsgID     string // RFC 5424 only
	// StructuredData is the raw RFC 5424 SD ("" when nil).
	StructuredData string
	// Body is the MSG part (a sub-slice of the parsed input, BOM removed).
	Body []byte
}

var errNoHeader = errors.New("syslog: no recognisable header")

// ParseHeader parses one syslog message (without framing). It never
// fails in a way that loses data: when the header cannot be understood it
// returns an error together with a Header whose Body is the whole input
// and Format FormatUnknown. now and loc complete RFC 3164 timestamps.
func ParseHeader(b []byte, now time.Time, loc *time.Location) (Header, error) {
	h := Header{Facility: 1, Severity: 5, Body: b}
	if loc == nil {
		loc = time.Local
	}
	rest := b
	if len(rest) > 0 && rest[0] == '<' {
		pri, n, ok := parsePRI(rest)
		if !ok {
			return h, errors.New("syslog: bad PRI")
		}
		h.HasPRI = true
		h.Facility, h.Severity = pri/8, pri%8
		rest = rest[n:]
	}
	if len(rest) >= 2 && rest[0] >= '1' && rest[0] <= '9' {
		// RFC 5424 VERSION (1..999) followed by SP.
		i := 0
		for i < len(rest) && i < 3 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i < len(rest) && rest[i] == ' ' && h.HasPRI {
			if r, ok := parse5424(&h, rest[i+1:]); ok {
				h.Format = FormatRFC5424
				h.Body = r
				return h, nil
			}
		}
	}
	if r, ok := parse3164(&h, rest, now, loc); ok {
		h.Format = FormatRFC3164
		h.Body = r
		return h, nil
	}
	// Keep what we have: PRI (if any) and the rest as body.
	h.Body = rest
	if h.HasPRI {
		return h, nil
	}
	return h, errNoHeader
}

// parsePRI reads "<N>" with 1..3 digits, N <= 191.
func parsePRI(b []byte) (pri, n int, ok bool) {
	i := 1
	for i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9' {
		pri = pri*10 + int(b[i]-'0')
		i++
	}
	if i == 1 || i > 4 || i >= len(b) || b[i] != '>' || pri > 191 {
		return 0, 0, false
	}
	return pri, i + 1, true
}

// field cuts the next SP-terminated field. ok is false at end of input.
func field(b []byte) (f, rest []byte, ok bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil, len(b) > 0
	}
	return b[:i], b[i+1:], i > 0
}

func nilValue(f []byte) string {
	if len(f) == 1 && f[0] == '-' {
		return ""
	}
	return string(f)
}

func parse5424(h *Header, b []byte) ([]byte, bool) {
	ts, b, ok := field(b)
	if !ok {
		return nil, false
	}
	if !(len(ts) == 1 && ts[0] == '-') {
		t, err := time.Parse(time.RFC3339Nano, string(ts))
		if err != nil {
			return nil, false
		}
		h.Timestamp = t
	}
	var fs [4][]byte
	for i := range fs {
		if fs[i], b, ok = field(b); !ok {
			return nil, false
		}
	}
	// SD: "-" or one or more [ ... ] elements.
	var sd []byte
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		n, ok := sdLen(b)
		if !ok {
			return nil, false
		}
		sd, b = b[:n], b[n:]
	default:
		return nil, false
	}
	switch {
	case len(b) == 0:
	case b[0] == ' ':
		b = b[1:]
	default:
		return nil, false
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	h.Hostname = nilValue(fs[0])
	h.AppName = nilValue(fs[1])
	h.ProcID = nilValue(fs[2])
	h.MsgID = nilValue(fs[3])
	h.StructuredData = string(sd)
	return b, true
}

// sdLen returns the length of the SD elements at the start of b.
func sdLen(b []byte) (int, bool) {
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		inQuote := false
		closed := false
		for i < len(b) && !closed {
			c := b[i]
			switch {
			case inQuote && c == '\\' && i+1 < len(b):
				i++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == ']':
				closed = true
			}
			i++
		}
		if !closed {
			return 0, false
		}
	}
	return i, true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parse3164 is lenient: the timestamp may be the BSD "Mmm dd hh:mm:ss" or
// an RFC 3339 one (rsyslog's "high precision" forwarding format); the
// hostname may be missing (messages as written to /dev/log).
func parse3164(h *Header, b []byte, now time.Time, loc *time.Location) ([]byte, bool) {
	if t, n, ok := bsdTime(b, now, loc); ok {
		h.Timestamp = t
		b = b[n:]
	} else if f, r, ok := field(b); ok && len(f) >= 19 && f[4] == '-' && f[10] == 'T' {
		t, err := time.Parse(time.RFC3339Nano, string(f))
		if err != nil {
			return nil, false
		}
		h.Timestamp = t
		b = r
	} else {
		return nil, false
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	// HOSTNAME, unless the next token already is the TAG.
	tok, r, _ := field(b)
	if len(tok) > 0 && !isTag(tok) {
		h.Hostname = string(tok)
		b = r
	}
	// TAG: chars up to ':', '[' or ' '.
	i := 0
	for i < len(b) && i < 64 && b[i] != ':' && b[i] != '[' && b[i] != ' ' {
		i++
	}
	if i == 0 || i >= len(b) || i == 64 {
		return b, true // no tag: everything after the host is the body
	}
	app := b[:i]
	j := i
	var pid []byte
	if b[j] == '[' {
		k := bytes.IndexByte(b[j:], ']')
		if k < 0 {
			return b, true
		}
		pid = b[j+1 : j+k]
		j += k + 1
	}
	if j < len(b) && b[j] == ':' {
		j++
	} else if pid == nil {
		return b, true // "word rest" without colon: not a tag
	}
	if j < len(b) && b[j] == ' ' {
		j++
	}
	h.AppName = string(app)
	h.ProcID = string(pid)
	return b[j:], true
}

// isTag says whether tok looks like "app:" or "app[pid]:" rather than a
// hostname.
func isTag(tok []byte) bool {
	return tok[len(tok)-1] == ':' || bytes.IndexByte(tok, '[') >= 0
}

// bsdTime parses "Mmm dd hh:mm:ss" (day space-padded or not) and returns
// the bytes consumed.
func bsdTime(b []byte, now time.Time, loc *time.Location) (time.Time, int, bool) {
	if len(b) < 15 {
		return time.Time{}, 0, false
	}
	mon := -1
	for i, m := range months {
		if string(b[:3]) == m {
			mon = i + 1
		}
	}
	if mon < 0 || b[3] != ' ' {
		return time.Time{}, 0, false
	}
	p := 4
	if b[p] == ' ' {
		p++
	}
	day, n := atoiN(b[p:], 2)
	if n == 0 || day < 1 || day > 31 {
		return time.Time{}, 0, false
	}
	p += n
	if p+9 > len(b) || b[p] != ' ' || b[p+3] != ':' || b[p+6] != ':' {
		return time.Time{}, 0, false
	}
	hh, n1 := atoiN(b[p+1:p+3], 2)
	mm, n2 := atoiN(b[p+4:p+6], 2)
	ss, n3 := atoiN(b[p+7:p+9], 2)
	if n1 != 2 || n2 != 2 || n3 != 2 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	p += 9
	now = now.In(loc)
	t := time.Date(now.Year(), time.Month(mon), day, hh, mm, ss, 0, loc)
	// No year on the wire: pick the one nearest to now (a December message
	// read in January is last year's).
	if t.Sub(now) > 30*24*time.Hour {
		t = t.AddDate(-1, 0, 0)
	} else if now.Sub(t) > 335*24*time.Hour {
		t = t.AddDate(1, 0, 0)
	}
	return t, p, true
}

func atoiN(b []byte, max int) (int, int) {
	v, i := 0, 0
	for i < len(b) && i < max && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int(b[i]-'0')
		i++
	}
	return v, i
}

// pgPrefix parses PostgreSQL's "[seq-part] " / "[seq] " prefix. It returns
// a == the number before the dash (or the only number), part == 0 when
// there is no dash, and n the bytes consumed (0 when not a prefix).
func pgPrefix(b []byte) (a uint64, part int, n int) {
	if len(b) < 3 || b[0] != '[' {
		return 0, 0, 0
	}
	end := bytes.IndexByte(b, ']')
	if end < 2 || end > 42 {
		return 0, 0, 0
	}
	in := b[1:end]
	first, second, dash := in, []byte(nil), bytes.IndexByte(in, '-')
	if dash >= 0 {
		first, second = in[:dash], in[dash+1:]
	}
	v, err := strconv.ParseUint(string(first), 10, 64)
	if err != nil || len(first) == 0 || first[0] == '+' {
		return 0, 0, 0
	}
	if dash >= 0 {
		p, err := strconv.Atoi(string(second))
		if err != nil || p < 1 || len(second) == 0 || second[0] == '+' || second[0] == '-' {
			return 0, 0, 0
		}
		part = p
	}
	n = end + 1
	if n < len(b) && b[n] == ' ' {
		n++
	} else if n < len(b) {
		return 0, 0, 0
	}
	return v, part, n
}
