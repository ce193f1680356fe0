package mysqlaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigildb/vigil/parse"
)

// objects assembles JSON objects from lines: a file that is one JSON array
// of pretty-printed objects (MySQL Enterprise Audit), one object per line,
// or compact objects inside an array with trailing commas (the JSONL
// variant of audit_log_filter). Bytes outside objects ([ ] , and white
// space) are skipped.
type objects struct {
	buf      []byte
	depth    int
	inString bool
	escape   bool
	start    parse.Line // where the current object began
	n        int        // objects completed on the current line
}

// maxObject bounds one JSON record.
const maxObject = 4 << 20

var errJunk = errors.New("unexpected text between JSON records")

// feed consumes one line and calls done for each complete object.
func (o *objects) feed(l parse.Line, done func(obj []byte, at parse.Line, n int) error) error {
	o.n = 0
	var firstErr error
	text := l.Text
	segStart := -1
	if o.depth > 0 {
		segStart = 0
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if o.depth == 0 {
			switch c {
			case '{':
				o.depth = 1
				o.buf = o.buf[:0]
				o.start = parse.Line{File: l.File, Offset: l.Offset + int64(i), No: l.No}
				segStart = i
			case ' ', '\t', '\r', '[', ']', ',':
			default:
				if firstErr == nil {
					firstErr = errJunk
				}
			}
			continue
		}
		switch {
		case o.inString:
			switch {
			case o.escape:
				o.escape = false
			case c == '\\':
				o.escape = true
			case c == '"':
				o.inString = false
			}
		case c == '"':
			o.inString = true
		case c == '{' || c == '[':
			o.depth++
		case c == '}' || c == ']':
			o.depth--
			if o.depth == 0 {
				o.buf = append(o.buf, text[segStart:i+1]...)
				segStart = -1
				if err := done(o.buf, o.start, o.n); err != nil && firstErr == nil {
					firstErr = err
				}
				o.n++
				o.buf = o.buf[:0]
			}
		}
	}
	if o.depth > 0 && segStart >= 0 {
		o.buf = append(o.buf, text[segStart:]...)
		o.buf = append(o.buf, '\n')
		if len(o.buf) > maxObject {
			o.reset()
			return errors.New("JSON record too large")
		}
	}
	return firstErr
}

func (o *objects) reset() {
	o.buf, o.depth, o.inString, o.escape = o.buf[:0], 0, false, false
}

// ---- MySQL Enterprise Audit JSON ----

// MySQLJSON parses MySQL Enterprise Audit JSON records. Not safe for
// concurrent use.
//
// Records used: connection/connect (login; a non-zero
// connection_data.status is a failed login with that error code),
// connection/change_user (login), connection/disconnect (logout),
// general/status and the audit_log component's query/*status_end (the
// statement, with its status; query_statistics give rows, bytes and time),
// audit/startup|shutdown (server events). general records without a query
// (Quit, Ping ...), query_start records (the status_end record of the same
// statement follows) and table_access records (the statement's own record
// carries it: one statement, one event) are skipped.
type MySQLJSON struct {
	obj objects
}

// NewMySQLJSON returns a MySQL Enterprise Audit JSON parser.
func NewMySQLJSON() *MySQLJSON { return &MySQLJSON{} }

type mysqlRecord struct {
	Timestamp    string          `json:"timestamp"`
	ID           json.Number     `json:"id"`
	Class        string          `json:"class"`
	Event        string          `json:"event"`
	ConnectionID json.RawMessage `json:"connection_id"`
	Account      struct {
		User string `json:"user"`
		Host string `json:"host"`
	} `json:"account"`
	Login struct {
		User  string `json:"user"`
		OS    string `json:"os"`
		IP    string `json:"ip"`
		Proxy string `json:"proxy"`
	} `json:"login"`
	ConnectionData *struct {
		ConnectionType string          `json:"connection_type"`
		Status         json.RawMessage `json:"status"`
		DB             string          `json:"db"`
		Attributes     map[string]any  `json:"connection_attributes"`
	} `json:"connection_data"`
	GeneralData *queryData `json:"general_data"`
	QueryData   *queryData `json:"query_data"`
	Stats       *struct {
		QueryTime     json.Number `json:"query_time"`
		RowsSent      json.Number `json:"rows_sent"`
		RowsExamined  json.Number `json:"rows_examined"`
		BytesReceived json.Number `json:"bytes_received"`
		BytesSent     json.Number `json:"bytes_sent"`
	} `json:"query_statistics"`
	Time json.Number `json:"time"`
}

type queryData struct {
	Command    string          `json:"command"`
	SQLCommand string          `json:"sql_command"`
	Query      string          `json:"query"`
	Status     json.RawMessage `json:"status"`
}

// Parse consumes one line.
func (p *MySQLJSON) Parse(l parse.Line, emit parse.Emit) error {
	return p.obj.feed(l, func(b []byte, at parse.Line, n int) error {
		var r mysqlRecord
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&r); err != nil {
			return fmt.Errorf("MySQL audit JSON record: %w", err)
		}
		return p.record(&r, at, n, emit)
	})
}

// Flush has nothing to do: an unfinished record at the end is dropped.
func (p *MySQLJSON) Flush(parse.Emit) { p.obj.reset() }

// rawText renders a JSON number or string as text.
func rawText(m json.RawMessage) string {
	s := strings.TrimSpace(string(m))
	if s == "" || s == "null" {
		return ""
	}
	if s[0] == '"' {
		var v string
		if json.Unmarshal(m, &v) == nil {
			return v
		}
	}
	return s
}

func (p *MySQLJSON) record(r *mysqlRecord, at parse.Line, n int, emit parse.Emit) error {
	if r.Class == "" || r.Timestamp == "" {
		return errors.New("MySQL audit JSON record without class or timestamp")
	}
	t, err := time.Parse("2006-01-02 15:04:05", r.Timestamp)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, r.Timestamp)
		if err != nil {
			return fmt.Errorf("MySQL audit JSON timestamp: %w", err)
		}
	}
	ev := newEvent(at, n, KindMySQLAudit, SystemMySQL)
	ev.Time = t.UTC()
	ev.Session.ID = rawText(r.ConnectionID)
	ev.User.Name = r.Login.User
	if ev.User.Name == "" {
		ev.User.Name = r.Account.User
	}
	ev.Client.Address = r.Login.IP
	if ev.Client.Address == "" {
		ev.Client.Address = r.Account.Host
	}
	if cd := r.ConnectionData; cd != nil {
		ev.DB.Namespace = cd.DB
		for _, k := range []string{"program_name", "_client_name"} {
			if v, ok := cd.Attributes[k].(string); ok && v != "" {
				ev.App.Name = v
				break
			}
		}
	}
	switch r.Class {
	case "connection":
		switch r.Event {
		case "connect", "change_user":
			code := ""
			if r.ConnectionData != nil {
				code = rawText(r.ConnectionData.Status)
			}
			setLogin(ev, code)
		case "disconnect":
			setLogout(ev)
		default:
			return nil
		}
	case "general", "query":
		q := r.GeneralData
		if q == nil {
			q = r.QueryData
		}
		if r.Class == "query" && !strings.HasSuffix(r.Event, "status_end") && r.Event != "status" {
			return nil
		}
		if r.Class == "general" && r.Event != "status" {
			return nil
		}
		if q == nil || strings.TrimSpace(q.Query) == "" {
			return nil
		}
		setStatement(ev, q.Query, statusCode(q.Status))
		if s := r.Stats; s != nil {
			ev.DB.Response.ReturnedRows = numInt(s.RowsSent)
			ev.DB.Response.Bytes = numInt(s.BytesSent)
			if f, err := s.QueryTime.Float64(); err == nil && f > 0 {
				ev.Event.Duration = int64(f * float64(time.Second))
			}
		}
	case "audit":
		setServer(ev)
		ev.DB.Operation.Name = strings.ToUpper(r.Event)
	default:
		return nil
	}
	emit(ev)
	return nil
}

// statusCode renders a status: "0" success, else the error number.
func statusCode(m json.RawMessage) string {
	s := rawText(m)
	if s == "" {
		return "0"
	}
	return s
}

func numInt(n json.Number) int64 {
	if n == "" {
		return 0
	}
	if i, err := n.Int64(); err == nil && i > 0 {
		return i
	}
	if f, err := n.Float64(); err == nil && f > 0 {
		return int64(f)
	}
	return 0
}

// detectMySQLJSON: JSON objects with the audit record keys "timestamp",
// "class" and "connection_id" (and none of Azure's or Percona's markers).
func detectMySQLJSON(head []byte) int {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 || (t[0] != '[' && t[0] != '{') {
		return 0
	}
	if bytes.Contains(head, []byte(`"audit_record"`)) || bytes.Contains(head, []byte(`"resourceId"`)) ||
		bytes.Contains(head, []byte(`"records"`)) {
		return 0
	}
	if bytes.Contains(head, []byte(`"class"`)) && bytes.Contains(head, []byte(`"connection_id"`)) &&
		bytes.Contains(head, []byte(`"timestamp"`)) && bytes.Contains(head, []byte(`"event"`)) {
		return 70
	}
	return 0
}

// ---- Percona audit_log JSON ----

// PerconaJSON parses the legacy Percona Server audit_log plugin's JSON
// records ({"audit_record":{...}}, one per line). Not safe for concurrent
// use.
//
// Records used: Connect (login; status != 0 is a failed login), Change
// user (login), Quit (logout), Query and Execute (statements with their
// status), Audit / NoAudit (server events). Prepare is skipped (the
// Execute of the statement follows).
type PerconaJSON struct {
	obj objects
}

// NewPerconaJSON returns a Percona audit JSON parser.
func NewPerconaJSON() *PerconaJSON { return &PerconaJSON{} }

type perconaRecord struct {
	AuditRecord *struct {
		Name         string          `json:"name"`
		Record       string          `json:"record"`
		Timestamp    string          `json:"timestamp"`
		CommandClass string          `json:"command_class"`
		ConnectionID json.RawMessage `json:"connection_id"`
		Status       json.RawMessage `json:"status"`
		SQLText      string          `json:"sqltext"`
		User         string          `json:"user"`
		PrivUser     string          `json:"priv_user"`
		Host         string          `json:"host"`
		IP           string          `json:"ip"`
		DB           string          `json:"db"`
		OSLogin      string          `json:"os_login"`
	} `json:"audit_record"`
}

// Parse consumes one line.
func (p *PerconaJSON) Parse(l parse.Line, emit parse.Emit) error {
	return p.obj.feed(l, func(b []byte, at parse.Line, n int) error {
		var r perconaRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("Percona audit JSON record: %w", err)
		}
		if r.AuditRecord == nil {
			return errors.New(`not a Percona audit record (no "audit_record")`)
		}
		a := r.AuditRecord
		t, err := perconaTime(a.Timestamp)
		if err != nil {
			return err
		}
		ev := newEvent(at, n, KindMySQLAudit, SystemMySQL)
		ev.Time = t
		ev.Session.ID = rawText(a.ConnectionID)
		ev.User.Name = perconaUser(a.User)
		ev.Client.Address = a.IP
		if ev.Client.Address == "" {
			ev.Client.Address = a.Host
		}
		ev.DB.Namespace = a.DB
		code := rawText(a.Status)
		switch a.Name {
		case "Connect", "Change user":
			setLogin(ev, code)
		case "Quit":
			setLogout(ev)
		case "Query", "Execute":
			if strings.TrimSpace(a.SQLText) == "" {
				return nil
			}
			if code == "" {
				code = "0"
			}
			setStatement(ev, a.SQLText, code)
		case "Audit", "NoAudit":
			setServer(ev)
			ev.DB.Operation.Name = strings.ToUpper(a.Name)
		default:
			return nil
		}
		emit(ev)
		return nil
	})
}

// Flush drops an unfinished record.
func (p *PerconaJSON) Flush(parse.Emit) { p.obj.reset() }

// perconaTime reads "2021-06-30T15:07:58 UTC" (and RFC 3339).
func perconaTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02T15:04:05 MST", s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(s, " UTC")); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("Percona audit timestamp %q", s)
}

// perconaUser reads "root[root] @ localhost []" (Query records) or "root".
func perconaUser(u string) string {
	if i := strings.IndexByte(u, '['); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, " @ "); i >= 0 {
		u = u[:i]
	}
	return strings.TrimSpace(u)
}

// detectPercona: {"audit_record": objects.
func detectPercona(head []byte) int {
	t := bytes.TrimLeft(head, " \t\r\n[")
	if bytes.HasPrefix(t, []byte(`{"audit_record":`)) || bytes.HasPrefix(t, []byte(`{ "audit_record":`)) {
		return 90
	}
	return 0
}
