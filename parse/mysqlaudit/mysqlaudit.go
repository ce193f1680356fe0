// Package mysqlaudit reads the MySQL and MariaDB logs Vigil understands and
// registers them as input formats:
//
//   - mariadb_audit: the MariaDB server_audit plugin's file output (10.x and
//     12.x host forms); ParseSyslog / SyslogParser read its syslog output.
//   - mysql_audit_json: MySQL Enterprise Audit with audit_log_format=JSON (a
//     JSON array of pretty-printed objects, or one object per line) and the
//     MySQL 9 audit_log component / Percona audit_log_filter JSON, which
//     use the same layout.
//   - percona_audit_json: the legacy Percona Server audit_log plugin with
//     audit_log_format=JSON (one {"audit_record":{...}} per line).
//   - mysql_general: the MySQL/MariaDB general query log.
//   - mysql_error: the MySQL/MariaDB error log (failed logins; other
//     warnings and errors as error events).
//
// Common semantics, as in parse/pglog:
//   - a successful login is event.action "login", a refused one
//     "login_failed" (outcome failure, category authentication, the MySQL
//     error code in db.response.status_code: 1045 bad password or unknown
//     user, 1044 database access denied, 1698 auth plugin refused);
//     a disconnection is "logout";
//   - a statement is event.action "statement"; when the log says it failed
//     (a non-zero return code) it stays one event, with category "error",
//     action "error", outcome failure and the code in
//     db.response.status_code, so every rule still sees the refused DROP or
//     GRANT it was; the statement classifier (stmt/mysql) fills
//     db.operation.name and sql.* downstream;
//   - every text field (query text, error message) is masked with
//     mask.MySQL before it is emitted;
//   - event ids are a hash of the file name and the record's byte offset,
//     so a re-read of the same bytes yields the same ids; log.file and
//     log.line say where the record was read;
//   - times are UTC. server_audit, the general log's short form and the
//     MariaDB error log write local time without a zone: it is taken as
//     UTC unless the parser's Location field names the server's zone (the
//     registered formats use UTC: run the server with TZ=UTC, or set
//     Location where the parser is built).
//   - client.address is the IP address, or "localhost" for local (socket)
//     connections as the server writes it.
package mysqlaudit

import (
	"strconv"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/stmt/mask"
)

// Format names.
const (
	FormatMariaDBAudit = "mariadb_audit"
	FormatMySQLJSON    = "mysql_audit_json"
	FormatPerconaJSON  = "percona_audit_json"
	FormatGeneral      = "mysql_general"
	FormatError        = "mysql_error"
)

// Source kinds (source.kind).
const (
	KindMariaDBAudit = "mariadb_audit"
	KindMySQLAudit   = "mysql_audit"
	KindGeneral      = "mysql_general_log"
	KindError        = "mysql_error_log"
)

// Database systems (db.system.name).
const (
	SystemMySQL   = "mysql"
	SystemMariaDB = "mariadb"
)

func init() {
	parse.Register(parse.Format{
		Name:        FormatMariaDBAudit,
		Description: "MariaDB server_audit plugin log (file output)",
		Detect:      detectServerAudit,
		New: func(o parse.Options) (parse.Parser, error) {
			p := NewServerAudit()
			p.Location = o.Location
			return p, nil
		},
	})
	parse.Register(parse.Format{
		Name:        FormatMySQLJSON,
		Description: "MySQL Enterprise Audit / audit_log component JSON (audit_log_format=JSON)",
		Detect:      detectMySQLJSON,
		New:         func(parse.Options) (parse.Parser, error) { return NewMySQLJSON(), nil },
	})
	parse.Register(parse.Format{
		Name:        FormatPerconaJSON,
		Description: `Percona Server audit_log plugin JSON ({"audit_record":{...}} per line)`,
		Detect:      detectPercona,
		New:         func(parse.Options) (parse.Parser, error) { return NewPerconaJSON(), nil },
	})
	parse.Register(parse.Format{
		Name:        FormatGeneral,
		Description: "MySQL/MariaDB general query log",
		Detect:      detectGeneral,
		New: func(o parse.Options) (parse.Parser, error) {
			p := NewGeneral()
			p.Location = o.Location
			return p, nil
		},
	})
	parse.Register(parse.Format{
		Name:        FormatError,
		Description: "MySQL/MariaDB error log (failed logins, errors)",
		Detect:      detectErrorLog,
		New: func(o parse.Options) (parse.Parser, error) {
			p := NewErrorLog()
			p.Location = o.Location
			return p, nil
		},
	})
}

// eventID is FNV-1a of file, a zero byte, the offset and (when n > 0) the
// index of the event among those of one record, in hex.
func eventID(file string, off int64, n int) string {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(file); i++ {
		h ^= uint64(file[i])
		h *= prime
	}
	h ^= 0
	h *= prime
	for i := 0; i < 8; i++ {
		h ^= uint64(byte(off >> (8 * i)))
		h *= prime
	}
	if n > 0 {
		for i := 0; i < 4; i++ {
			h ^= uint64(byte(n >> (8 * i)))
			h *= prime
		}
	}
	var b [16]byte
	const hexd = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = hexd[h&15]
		h >>= 4
	}
	return string(b[:])
}

// newEvent returns an event with the fields every record has.
func newEvent(l parse.Line, n int, kind, system string) *event.Event {
	ev := &event.Event{}
	ev.ID = eventID(l.File, l.Offset, n)
	ev.Source.Kind = kind
	ev.DB.System.Name = system
	ev.Log.File = l.File
	ev.Log.Line = l.No
	return ev
}

// Event shapes shared by the formats.

func setLogin(ev *event.Event, code string) {
	ev.Event.Category = event.CategoryAuthentication
	if code == "" || code == "0" {
		ev.Event.Action, ev.Event.Outcome = event.ActionLogin, event.OutcomeSuccess
		return
	}
	ev.Event.Action, ev.Event.Outcome = event.ActionLoginFailed, event.OutcomeFailure
	ev.DB.Response.StatusCode = code
	ev.Error.Message = errorText(code)
}

func setLogout(ev *event.Event) {
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryAuthentication, event.ActionLogout, event.OutcomeSuccess
}

// setStatement fills a statement with its (raw) text and return code ("" =
// unknown, "0" = success).
func setStatement(ev *event.Event, text, code string) {
	ev.DB.Query.Text = mask.MySQL(text)
	ev.Event.Action = event.ActionStatement
	switch code {
	case "":
	case "0":
		ev.Event.Outcome = event.OutcomeSuccess
		ev.DB.Response.StatusCode = "0"
	default:
		// One statement, one event: the error is merged in.
		ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryError, event.ActionError, event.OutcomeFailure
		ev.DB.Response.StatusCode = code
		ev.Error.Message = errorText(code)
	}
}

func setServer(ev *event.Event) {
	ev.Event.Category, ev.Event.Action = event.CategoryAdmin, event.ActionServer
}

// errorTexts names the error codes the audit logs carry without a message.
var errorTexts = map[string]string{
	"1044": "access denied to database (1044)",
	"1045": "access denied: wrong password or unknown user (1045)",
	"1049": "unknown database (1049)",
	"1064": "syntax error (1064)",
	"1142": "command denied to user (1142)",
	"1143": "column command denied to user (1143)",
	"1146": "table does not exist (1146)",
	"1227": "access denied: privilege required (1227)",
	"1251": "client does not support the authentication protocol (1251)",
	"1698": "access denied: authentication plugin refused the user (1698)",
	"1130": "host is not allowed to connect (1130)",
	"1129": "host is blocked after too many connection errors (1129)",
	"3118": "account is locked (3118)",
	"1820": "password must be changed before running statements (1820)",
	"1862": "password expired (1862)",
}

func errorText(code string) string {
	if t, ok := errorTexts[code]; ok {
		return t
	}
	return "MySQL error " + code
}

// atoi64 parses a non-negative decimal number, or returns 0.
func atoi64(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
