package azure

import (
	"strings"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/mask"
)

// mysqlProps are the properties of MySqlAuditLogs and MySqlSlowLogs
// records (and the flattened AzureDiagnostics columns, suffixed _s/_d).
type mysqlProps struct {
	EventClass    jstr `json:"event_class"`
	EventSubclass jstr `json:"event_subclass"`
	ConnectionID  jstr `json:"connection_id"`
	ThreadID      jstr `json:"thread_id"`
	Host          jstr `json:"host"`
	IP            jstr `json:"ip"`
	User          jstr `json:"user"`
	DB            jstr `json:"db"`
	Table         jstr `json:"table"`
	SQLText       jstr `json:"sql_text"`
	ErrorCode     jstr `json:"error_code"`
	Status        jstr `json:"status"`
	EventTime     jstr `json:"event_time"`
	StartTime     jstr `json:"start_time"`
	QueryTime     jstr `json:"query_time"`
	RowsSent      jstr `json:"rows_sent"`
	RowsExamined  jstr `json:"rows_examined"`

	EventClassS    jstr `json:"event_class_s"`
	EventSubclassS jstr `json:"event_subclass_s"`
	ConnectionIDD  jstr `json:"connection_id_d"`
	ThreadIDD      jstr `json:"thread_id_d"`
	HostS          jstr `json:"host_s"`
	IPS            jstr `json:"ip_s"`
	UserS          jstr `json:"user_s"`
	DBS            jstr `json:"db_s"`
	TableS         jstr `json:"table_s"`
	SQLTextS       jstr `json:"sql_text_s"`
	ErrorCodeD     jstr `json:"error_code_d"`
	StatusD        jstr `json:"status_d"`
	StartTimeT     jstr `json:"start_time_t"`
	QueryTimeD     jstr `json:"query_time_d"`
	RowsSentD      jstr `json:"rows_sent_d"`

	// resource-specific table MySqlAuditLogs (Log Analytics exports)
	EventClassP    jstr `json:"EventClass"`
	EventSubclassP jstr `json:"EventSubclass"`
	ConnectionIDP  jstr `json:"ConnectionId"`
	ThreadIDP      jstr `json:"ThreadId"`
	SQLTextP       jstr `json:"SqlText"`
	ErrorCodeP     jstr `json:"ErrorCode"`
}

func (m *mysqlProps) merge() {
	fill := func(dst *jstr, alt jstr) {
		if *dst == "" {
			*dst = alt
		}
	}
	fill(&m.EventClass, m.EventClassS)
	fill(&m.EventSubclass, m.EventSubclassS)
	fill(&m.ConnectionID, m.ConnectionIDD)
	fill(&m.ThreadID, m.ThreadIDD)
	fill(&m.Host, m.HostS)
	fill(&m.IP, m.IPS)
	fill(&m.User, m.UserS)
	fill(&m.DB, m.DBS)
	fill(&m.Table, m.TableS)
	fill(&m.SQLText, m.SQLTextS)
	fill(&m.ErrorCode, m.ErrorCodeD)
	fill(&m.Status, m.StatusD)
	fill(&m.StartTime, m.StartTimeT)
	fill(&m.QueryTime, m.QueryTimeD)
	fill(&m.RowsSent, m.RowsSentD)
	fill(&m.EventClass, m.EventClassP)
	fill(&m.EventSubclass, m.EventSubclassP)
	fill(&m.ConnectionID, m.ConnectionIDP)
	fill(&m.ThreadID, m.ThreadIDP)
	fill(&m.SQLText, m.SQLTextP)
	fill(&m.ErrorCode, m.ErrorCodeP)
}

// userHost splits MySQL's "user[user] @ host [ip]" (general and slow log)
// into the user and the address; a plain "user" is returned as is.
func userHost(s string) (user, addr string) {
	s = strings.TrimSpace(s)
	at := strings.Index(s, " @ ")
	if at < 0 {
		if i := strings.IndexByte(s, '['); i > 0 {
			return strings.TrimSpace(s[:i]), ""
		}
		return s, ""
	}
	u, h := strings.TrimSpace(s[:at]), strings.TrimSpace(s[at+3:])
	if i := strings.IndexByte(u, '['); i >= 0 {
		u = strings.TrimSpace(u[:i])
	}
	if i := strings.LastIndexByte(h, '['); i >= 0 {
		if j := strings.IndexByte(h[i:], ']'); j > 0 {
			addr = strings.TrimSpace(h[i+1 : i+j])
		}
	}
	if addr == "" {
		addr = h
	}
	return u, addr
}

// mysqlBase builds the fields every Azure MySQL event has.
func (p *Parser) mysqlBase(r *rec, m *mysqlProps) *event.Event {
	ev := &event.Event{}
	ev.ID = r.pos.id()
	ev.Time = r.t
	ev.Source.Kind = KindResource
	ev.DB.System.Name = "mysql"
	ev.Server.Address, _ = resource(string(r.env.ResourceID))
	ev.Log.File, ev.Log.Line = r.pos.file, r.pos.line
	user, addr := userHost(string(m.User))
	if user == "" {
		user, addr = userHost(string(m.Host))
	}
	ev.User.Name = user
	ev.Client.Address = strings.TrimSpace(string(m.IP))
	if ev.Client.Address == "" {
		ev.Client.Address = addr
	}
	ev.DB.Namespace = string(m.DB)
	sid := m.ConnectionID
	if sid == "" {
		sid = m.ThreadID
	}
	ev.Session.ID = string(sid)
	return ev
}

// mysqlAudit maps a MySqlAuditLogs record.
func (p *Parser) mysqlAudit(r *rec) {
	var m mysqlProps
	if err := props(r, &m); err != nil {
		p.recordErr(r.pos, "MySqlAuditLogs properties: %v", err)
		return
	}
	m.merge()
	class := strings.ToLower(string(m.EventClass))
	sub := strings.ToUpper(strings.TrimSpace(string(m.EventSubclass)))
	ev := p.mysqlBase(r, &m)
	if t, ok := parseTime(string(m.EventTime)); ok {
		ev.Time = t // when it happened, not when Azure logged it
	}
	code := ""
	for _, c := range []jstr{m.Status, m.ErrorCode} {
		if c.nonzero() {
			code = strings.TrimSpace(string(c))
			break
		}
	}
	switch class {
	case "connection_log":
		switch sub {
		case "CONNECT", "CHANGE USER", "CHANGE_USER":
			ev.Event.Category = event.CategoryAuthentication
			if code != "" {
				ev.Event.Action, ev.Event.Outcome = event.ActionLoginFailed, event.OutcomeFailure
				ev.DB.Response.StatusCode = code
				ev.Error.Message = mysqlError(code)
			} else {
				ev.Event.Action, ev.Event.Outcome = event.ActionLogin, event.OutcomeSuccess
			}
		case "DISCONNECT":
			ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryAuthentication, event.ActionLogout, event.OutcomeSuccess
		default:
			p.stats.Ignored++
			return
		}
	case "general_log", "table_access_log":
		text := string(m.SQLText)
		if strings.TrimSpace(text) == "" && code == "" {
			p.stats.Ignored++
			return
		}
		if class == "general_log" && sub == "RESULT" && code == "" {
			// the result of a statement logged before (MySQL 5.6)
			p.stats.Ignored++
			return
		}
		ev.DB.Query.Text = mask.MySQL(text)
		ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
		if class == "table_access_log" && m.Table != "" {
			name := string(m.Table)
			if m.DB != "" {
				name = string(m.DB) + "." + name
			}
			ev.DB.Collection.Name = []string{name}
			ev.Log.Level = sub
		}
		if code != "" || sub == "ERROR" {
			ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryError, event.ActionError, event.OutcomeFailure
			ev.DB.Response.StatusCode = code
			if code != "" {
				ev.Error.Message = mysqlError(code)
			}
		}
	default:
		p.stats.Ignored++
		return
	}
	if ev.Log.Level == "" {
		ev.Log.Level = sub
	}
	p.out(ev)
}

// mysqlError is a short message for a MySQL error code (the audit log has
// no message text).
func mysqlError(code string) string {
	switch code {
	case "1045":
		return "Access denied (MySQL error 1045)"
	case "1044":
		return "Access denied to database (MySQL error 1044)"
	case "1142", "1143":
		return "Command denied (MySQL error " + code + ")"
	case "1064":
		return "SQL syntax error (MySQL error 1064)"
	}
	return "MySQL error " + code
}

// mysqlSlow maps a MySqlSlowLogs record: a statement with its duration.
func (p *Parser) mysqlSlow(r *rec) {
	var m mysqlProps
	if err := props(r, &m); err != nil {
		p.recordErr(r.pos, "MySqlSlowLogs properties: %v", err)
		return
	}
	m.merge()
	if strings.TrimSpace(string(m.SQLText)) == "" {
		p.stats.Ignored++
		return
	}
	ev := p.mysqlBase(r, &m)
	if m.User == "" {
		ev.User.Name, ev.Client.Address = userHost(string(m.Host))
		if m.IP != "" {
			ev.Client.Address = string(m.IP)
		}
	}
	if t, ok := parseTime(string(m.StartTime)); ok {
		ev.Time = t
	}
	if ev.Session.ID == "" {
		ev.Session.ID = string(m.ThreadID)
	}
	ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
	if f, ok := m.QueryTime.float(); ok && f > 0 && f < 1e9 {
		ev.Event.Duration = int64(f * 1e9)
	}
	if n, ok := m.RowsSent.int(); ok && n > 0 {
		ev.DB.Response.ReturnedRows = n
	}
	ev.DB.Query.Text = mask.MySQL(string(m.SQLText))
	ev.Log.Level = "slow_log"
	p.out(ev)
}
