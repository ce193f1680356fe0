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

// General parses the MySQL/MariaDB general query log:
//
//	/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
//	Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
//	Time                 Id Command    Argument
//	2024-01-15T10:00:00.123456Z	    8 Connect	root@localhost on shop using Socket
//	2024-01-15T10:00:00.123890Z	    8 Query	select 1
//	261125  9:44:16	    9 Connect	app@127.0.0.1 as anonymous on shop
//			    9 Query	SELECT 2
//			    9 Connect	Access denied for user 'app'@'127.0.0.1' (using password: YES)
//
// Records without a time (MariaDB, MySQL 5.6) take the last time seen.
// Lines that do not start a record continue the previous one (multi-line
// statements). A Connect record opens a session (user, client, database by
// connection id) and is a login, unless the server's next record says
// "Access denied" for that connection (then one failed login is emitted);
// Quit is a logout; Query and Execute are statements (the general log is
// written before execution, so their outcome is unknown and left empty);
// Init DB changes the session's database. Other commands are skipped.
type General struct {
	// Location is the time zone of the short "YYMMDD H:MM:SS" timestamps
	// (local time without a zone); nil means UTC.
	Location *time.Location
	system   string
	last     time.Time
	sessions map[string]*genSession
	pend     *event.Event // the record being assembled (continuation lines)
	pendText []string
	login    *event.Event // a Connect waiting to see whether access was denied
	loginID  string
}

type genSession struct {
	user, host, db string
}

// NewGeneral returns a general query log parser.
func NewGeneral() *General {
	return &General{system: SystemMySQL, sessions: map[string]*genSession{}}
}

const maxSessions = 100000

var errNotGeneral = errors.New("not a general log record (want 'time<TAB>id command<TAB>argument')")

// Parse consumes one line.
func (p *General) Parse(l parse.Line, emit parse.Emit) error {
	text := bytes.TrimRight(l.Text, "\r")
	switch {
	case bytes.Contains(text, []byte(", Version: ")) && bytes.HasSuffix(text, []byte("started with:")):
		p.flushPending(emit)
		if bytes.Contains(text, []byte("MariaDB")) || bytes.Contains(text, []byte("mariadbd")) {
			p.system = SystemMariaDB
		}
		return nil
	case bytes.HasPrefix(text, []byte("Tcp port: ")) || isGeneralHeader(text):
		return nil
	}
	t, id, cmd, arg, ok := splitGeneral(text, p.Location)
	if !ok {
		if p.pend != nil {
			p.pendText = append(p.pendText, string(text))
			return nil
		}
		if len(bytes.TrimSpace(text)) == 0 {
			return nil
		}
		return errNotGeneral
	}
	if !t.IsZero() {
		p.last = t
	}
	p.flushPending(emit)
	// A denied connection: the pending Connect of the same id becomes one
	// failed login.
	if cmd == "Connect" && strings.HasPrefix(arg, "Access denied for user ") {
		ev := p.login
		if ev == nil || p.loginID != id {
			p.emitLogin(emit)
			ev = p.base(l, id)
		}
		p.login, p.loginID = nil, ""
		user, host := deniedAccount(arg)
		if user != "" {
			ev.User.Name, ev.Client.Address = user, host
		}
		ev.Time = p.last
		code := "1045"
		if strings.Contains(arg, " to database ") {
			code = "1044"
		}
		setLogin(ev, code)
		ev.Error.Message = mask.MySQL(arg)
		delete(p.sessions, id)
		emit(ev)
		return nil
	}
	p.emitLogin(emit)
	switch cmd {
	case "Connect", "Change user":
		user, host, db := connectArgs(arg)
		if len(p.sessions) >= maxSessions {
			clear(p.sessions)
		}
		p.sessions[id] = &genSession{user: user, host: host, db: db}
		ev := p.base(l, id)
		setLogin(ev, "0")
		p.login, p.loginID = ev, id
	case "Quit":
		ev := p.base(l, id)
		setLogout(ev)
		delete(p.sessions, id)
		emit(ev)
	case "Init DB":
		if s := p.sessions[id]; s != nil {
			s.db = strings.TrimSpace(arg)
		}
	case "Query", "Execute":
		ev := p.base(l, id)
		ev.Event.Action = event.ActionStatement
		p.pend, p.pendText = ev, append(p.pendText[:0], arg)
	}
	return nil
}

// Flush emits the record being assembled and a pending login.
func (p *General) Flush(emit parse.Emit) {
	p.flushPending(emit)
	p.emitLogin(emit)
}

func (p *General) emitLogin(emit parse.Emit) {
	if p.login != nil {
		emit(p.login)
		p.login, p.loginID = nil, ""
	}
}

func (p *General) flushPending(emit parse.Emit) {
	if p.pend == nil {
		return
	}
	ev := p.pend
	ev.DB.Query.Text = mask.MySQL(strings.Join(p.pendText, "\n"))
	p.pend, p.pendText = nil, p.pendText[:0]
	if strings.TrimSpace(ev.DB.Query.Text) == "" {
		return
	}
	p.emitLogin(emit)
	emit(ev)
}

func (p *General) base(l parse.Line, id string) *event.Event {
	ev := newEvent(l, 0, KindGeneral, p.system)
	ev.Time = p.last
	ev.Session.ID = id
	if s := p.sessions[id]; s != nil {
		ev.User.Name, ev.Client.Address, ev.DB.Namespace = s.user, s.host, s.db
	}
	return ev
}

func isGeneralHeader(b []byte) bool {
	return bytes.HasPrefix(b, []byte("Time ")) && bytes.Contains(b, []byte("Id Command")) ||
		bytes.HasPrefix(b, []byte("Time\t")) && bytes.Contains(b, []byte("Id Command"))
}

// generalCommands are the command names of the general log.
var generalCommands = []string{
	"Connect", "Query", "Quit", "Init DB", "Execute", "Prepare", "Close stmt", "Reset stmt", "Field List",
	"Statistics", "Ping", "Change user", "Binlog Dump", "Binlog Dump GTID", "Register Slave", "Kill",
	"Shutdown", "Refresh", "Processlist", "Debug", "Set option", "Fetch", "Long Data", "Daemon",
	"Sleep", "Create DB", "Drop DB", "Table Dump", "Time", "Delayed insert", "Reset Connection", "Killed",
}

// splitGeneral reads "<time>\t<spaces><id> <command>\t<argument>" or
// "\t\t<spaces><id> <command>\t<argument>".
func splitGeneral(b []byte, loc *time.Location) (t time.Time, id, cmd, arg string, ok bool) {
	tab := bytes.IndexByte(b, '\t')
	if tab < 0 {
		return t, "", "", "", false
	}
	ts := bytes.TrimSpace(b[:tab])
	rest := b[tab+1:]
	if len(ts) > 0 {
		var err error
		t, err = generalTime(string(ts), loc)
		if err != nil {
			return t, "", "", "", false
		}
	} else {
		rest = bytes.TrimLeft(rest, "\t")
	}
	rest = bytes.TrimLeft(rest, " ")
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != ' ' {
		return t, "", "", "", false
	}
	id = string(rest[:i])
	rest = rest[i+1:]
	j := bytes.IndexByte(rest, '\t')
	c := rest
	if j >= 0 {
		c, arg = rest[:j], string(rest[j+1:])
	}
	cmd = string(bytes.TrimSpace(c))
	for _, k := range generalCommands {
		if cmd == k {
			return t, id, cmd, arg, true
		}
	}
	return t, "", "", "", false
}

// generalTime reads 2024-01-15T10:00:00.123456Z (or with an offset),
// "261125  9:44:16" and "261125 09:44:16" (local time, in loc or UTC).
func generalTime(s string, loc *time.Location) (time.Time, error) {
	if len(s) > 10 && s[4] == '-' {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err == nil {
			return t.UTC(), nil
		}
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999", s, orUTC(loc))
		return t.UTC(), err
	}
	t, err := time.ParseInLocation("060102 15:04:05", strings.Join(strings.Fields(s), " "), orUTC(loc))
	return t.UTC(), err
}

// connectArgs reads "user@host on db using TCP/IP", "user@host as anonymous on db".
func connectArgs(arg string) (user, host, db string) {
	acct := arg
	if i := strings.IndexByte(arg, ' '); i >= 0 {
		acct = arg[:i]
		rest := arg[i:]
		if j := strings.Index(rest, " on "); j >= 0 {
			f := strings.Fields(rest[j+4:])
			if len(f) > 0 && f[0] != "using" {
				db = f[0]
			}
		}
	}
	if at := strings.LastIndexByte(acct, '@'); at >= 0 {
		return acct[:at], acct[at+1:], db
	}
	return acct, "", db
}

// deniedAccount reads "Access denied for user 'u'@'h' ..." → u, h.
func deniedAccount(msg string) (user, host string) {
	i := strings.Index(msg, "for user '")
	if i < 0 {
		return "", ""
	}
	rest := msg[i+len("for user '"):]
	j := strings.Index(rest, "'@'")
	if j < 0 {
		return "", ""
	}
	user = rest[:j]
	rest = rest[j+3:]
	k := strings.IndexByte(rest, '\'')
	if k < 0 {
		return user, ""
	}
	return user, rest[:k]
}

// detectGeneral: the general log header, or record lines with a known
// command.
func detectGeneral(head []byte) int {
	good, bad := 0, 0
	for _, line := range completeLines(head, 50) {
		switch {
		case len(bytes.TrimSpace(line)) == 0:
		case isGeneralHeader(line):
			return 75
		case bytes.HasPrefix(line, []byte("Tcp port: ")),
			bytes.Contains(line, []byte(", Version: ")) && bytes.HasSuffix(line, []byte("started with:")):
		default:
			if _, _, _, _, ok := splitGeneral(line, nil); ok {
				good++
			} else {
				bad++
			}
		}
	}
	if good > 0 && good >= bad {
		return 60
	}
	return 0
}
