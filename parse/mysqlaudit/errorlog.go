package mysqlaudit

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/stmt/mask"
)

// ErrorLog parses the MySQL/MariaDB error log:
//
//	2026-11-25  9:43:57 4 [Warning] Access denied for user 'app'@'localhost' (using password: YES)          (MariaDB)
//	2024-01-15T10:00:00.123456Z 9 [Note] [MY-010926] [Server] Access denied for user 'root'@'localhost' (using password: YES)   (MySQL 8)
//	2017-01-01T10:00:00.123456Z 5 [Note] Access denied for user 'root'@'localhost' (using password: YES)     (MySQL 5.7)
//	261125  9:44:16 server_audit: logging was stopped.                                                          (plugin notes)
//
// "Access denied for user 'u'@'h'" is a failed login (code 1045, or 1044
// for "... to database 'd'"; the thread id is the session id): MariaDB
// writes it with log_warnings >= 2 (4 in the sample), MySQL 8 with
// log_error_verbosity = 3. Other [ERROR] and [Warning] entries are error
// events (category error, outcome failure); [Note] and [System] entries,
// plugin notes and the server's banner lines are server events (category
// admin, action server). Lines without a time of their own take the last
// time seen.
type ErrorLog struct {
	// Location is the time zone of timestamps written without one
	// (MariaDB's "2026-11-25  9:43:57", plugin notes); nil means UTC.
	Location *time.Location
	system   string
	last     time.Time
}

// NewErrorLog returns an error log parser.
func NewErrorLog() *ErrorLog { return &ErrorLog{system: SystemMySQL} }

var errNotErrorLog = errors.New("not an error log line (want 'date time thread [Level] message')")

// Parse consumes one line.
func (p *ErrorLog) Parse(l parse.Line, emit parse.Emit) error {
	text := string(bytes.TrimRight(l.Text, "\r"))
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if strings.Contains(text, "MariaDB") {
		p.system = SystemMariaDB
	}
	t, thread, level, msg, ok := splitErrorLine(text, p.Location)
	if !ok {
		if p.last.IsZero() {
			return errNotErrorLog
		}
		// Banner and continuation lines (Version: '...' socket: ...).
		ev := newEvent(l, 0, KindError, p.system)
		ev.Time = p.last
		setServer(ev)
		ev.Error.Message = mask.MySQL(text)
		emit(ev)
		return nil
	}
	p.last = t
	ev := newEvent(l, 0, KindError, p.system)
	ev.Time = t
	ev.Log.Level = level
	if thread != "" && thread != "0" {
		ev.Session.ID = thread
	}
	ev.Error.Message = mask.MySQL(msg)
	switch {
	case strings.Contains(msg, "Access denied for user '"):
		user, host := deniedAccount(msg)
		ev.User.Name, ev.Client.Address = user, host
		code := "1045"
		if strings.Contains(msg, " to database '") {
			code = "1044"
			if i := strings.Index(msg, " to database '"); i >= 0 {
				rest := msg[i+len(" to database '"):]
				if j := strings.IndexByte(rest, '\''); j >= 0 {
					ev.DB.Namespace = rest[:j]
				}
			}
		}
		setLogin(ev, code)
		ev.Error.Message = mask.MySQL(msg)
	case level == "ERROR" || level == "Warning":
		ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryError, event.ActionError, event.OutcomeFailure
	default:
		setServer(ev)
	}
	emit(ev)
	return nil
}

// Flush has nothing to do.
func (p *ErrorLog) Flush(parse.Emit) {}

// splitErrorLine reads the three line forms. level is Note, Warning,
// ERROR, System (or "Note" for plugin lines without one).
func splitErrorLine(s string, loc *time.Location) (t time.Time, thread, level, msg string, ok bool) {
	loc = orUTC(loc)
	var rest string
	switch {
	case len(s) >= 20 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' '):
		// 2024-01-15T10:00:00.123456Z ... | 2026-11-25  9:43:57 ...
		var ts string
		if s[10] == 'T' {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				return
			}
			ts, rest = s[:i], s[i+1:]
			var err error
			t, err = time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				if t, err = time.Parse("2006-01-02T15:04:05.999999", ts); err != nil {
					return
				}
			}
			t = t.UTC()
		} else {
			f := strings.Fields(s)
			if len(f) < 3 {
				return
			}
			var err error
			t, err = time.ParseInLocation("2006-01-02 15:04:05", f[0]+" "+padTime(f[1]), loc)
			if err != nil {
				return
			}
			t = t.UTC()
			i := strings.Index(s, f[1]) + len(f[1])
			rest = strings.TrimLeft(s[i:], " ")
		}
		// thread id, then [Level].
		if i := strings.IndexByte(rest, ' '); i > 0 && allDigits(rest[:i]) {
			thread, rest = rest[:i], rest[i+1:]
		}
		if !strings.HasPrefix(rest, "[") {
			return
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return
		}
		level, msg = rest[1:j], strings.TrimLeft(rest[j+1:], " ")
		switch level {
		case "Note", "Warning", "ERROR", "System", "Error":
		default:
			return
		}
		// MySQL 8: [MY-010926] [Server] before the message.
		for strings.HasPrefix(msg, "[") {
			k := strings.IndexByte(msg, ']')
			if k < 0 {
				break
			}
			msg = strings.TrimLeft(msg[k+1:], " ")
		}
		if level == "Error" {
			level = "ERROR"
		}
		return t, thread, level, msg, true
	case len(s) >= 15 && allDigits(s[:6]) && s[6] == ' ':
		// 261125  9:44:16 server_audit: ...
		f := strings.Fields(s)
		if len(f) < 3 {
			return
		}
		var err error
		t, err = time.ParseInLocation("060102 15:04:05", f[0]+" "+padTime(f[1]), loc)
		if err != nil {
			return
		}
		t = t.UTC()
		i := strings.Index(s, f[1]) + len(f[1])
		msg = strings.TrimLeft(s[i:], " ")
		level = "Note"
		if strings.HasPrefix(msg, "[") {
			if j := strings.IndexByte(msg, ']'); j > 0 {
				level, msg = msg[1:j], strings.TrimLeft(msg[j+1:], " ")
			}
		}
		return t, "", level, msg, true
	}
	return
}

// padTime turns 9:43:57 into 09:43:57.
func padTime(s string) string {
	if len(s) == 7 && s[1] == ':' {
		return "0" + s
	}
	return s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// detectErrorLog: lines "date time thread [Note|Warning|ERROR|System]".
func detectErrorLog(head []byte) int {
	good, bad := 0, 0
	for _, line := range completeLines(head, 50) {
		s := string(line)
		if strings.TrimSpace(s) == "" {
			continue
		}
		if _, _, level, _, ok := splitErrorLine(s, nil); ok && (level != "Note" || strings.Contains(s, "[Note]") || strings.Contains(s, "server_audit:") || strings.Contains(s, "mysqld")) {
			good++
		} else {
			bad++
		}
	}
	if good > 0 && good >= bad*2 {
		return 50
	}
	return 0
}
