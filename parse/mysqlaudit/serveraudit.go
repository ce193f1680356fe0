package mysqlaudit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// MariaDB server_audit file records (one per line, no header):
//
//	20261125 09:44:16,vm,app,127.0.0.1,3,2,QUERY,shop,'SELECT * FROM customers',0
//	<time>,<serverhost>,<user>,<host[:port]>,<connid>,<queryid>,<operation>,<db>,<object>,<retcode>
//
// The query text is single-quoted with \' \\ \n \r \t escapes (and cut at
// server_audit_query_log_limit, quote closed); the retcode is the last field,
// so commas inside the object need no care. MariaDB >= 12.0.1 writes
// host:port for TCP clients (host:unavailable in some builds) and, on
// connection records, the TLS version in the object field.
//
// TABLE records (READ, WRITE, CREATE, DROP, ALTER, RENAME) are written
// before the QUERY record with the same connection and query id. They are
// folded into that QUERY event, not emitted: the QUERY event's
// classification already names the tables, and one statement must count
// once in every rule. The folded record kinds become sql.audit.classes
// (READ, WRITE, DDL). TABLE records whose QUERY never comes (the QUERY
// class is not audited, or the statement was excluded) are emitted on their
// own, with db.operation.name from the record (SELECT, WRITE, CREATE TABLE,
// DROP TABLE, ALTER TABLE, RENAME TABLE), when their connection
// disconnects, when the connection's next record is more than a minute
// later, or at the end of the input.
//
// The DISCONNECT record the plugin writes after every FAILED_CONNECT is not
// a logout and is dropped.

// ServerAudit parses server_audit file lines. Not safe for concurrent use.
type ServerAudit struct {
	// Location is the time zone of the server's timestamps (server_audit
	// writes local time without a zone); nil means UTC.
	Location *time.Location
	st       auditState
	lastTS   [17]byte
	lastT    time.Time
}

// NewServerAudit returns a server_audit parser.
func NewServerAudit() *ServerAudit { return &ServerAudit{st: newAuditState()} }

// Parse consumes one line.
func (p *ServerAudit) Parse(l parse.Line, emit parse.Emit) error {
	text := bytes.TrimRight(l.Text, "\r")
	if len(bytes.TrimSpace(text)) == 0 {
		return nil
	}
	if len(text) < 18 || text[8] != ' ' || text[17] != ',' {
		return errors.New("not a server_audit record (want 'YYYYMMDD HH:MM:SS,host,user,...')")
	}
	var t time.Time
	if bytes.Equal(text[:17], p.lastTS[:]) {
		t = p.lastT // records come in bursts within one second
	} else {
		var err error
		t, err = time.ParseInLocation("20060102 15:04:05", string(text[:17]), orUTC(p.Location))
		if err != nil {
			return fmt.Errorf("server_audit time: %w", err)
		}
		t = t.UTC()
		copy(p.lastTS[:], text[:17])
		p.lastT = t
	}
	r, err := splitRecord(text[18:])
	if err != nil {
		return err
	}
	p.st.record(l, t, r, emit)
	return nil
}

// Flush emits the TABLE records still waiting for their QUERY.
func (p *ServerAudit) Flush(emit parse.Emit) { p.st.flushAll(emit) }

// SyslogParser parses server_audit records received through syslog
// (server_audit_output_type=syslog). It keeps the same state as the file
// parser (TABLE folding, FAILED_CONNECT disconnects). Not safe for
// concurrent use: give each syslog stream its own.
type SyslogParser struct {
	st auditState
}

// NewSyslog returns a parser for server_audit syslog messages.
func NewSyslog() *SyslogParser { return &SyslogParser{st: newAuditState()} }

// Parse reads one syslog message body: the text after "<ident>: " (ident
// default mysql-server_auditing), which is "[<info> ]<serverhost>,<user>,
// <host>,<connid>,<queryid>,<operation>,<db>,<object>,<retcode>" — the file
// record without its timestamp, optionally preceded by
// server_audit_syslog_info. ts is the syslog timestamp, hostname the
// syslog host (used when the record has no server host); file and offset
// identify the message for event ids and log.file / log.line (offset is
// also used as the line number when positive).
func (p *SyslogParser) Parse(ts time.Time, hostname string, msg []byte, file string, offset int64, emit parse.Emit) error {
	msg = bytes.TrimSpace(msg)
	if i := bytes.IndexByte(msg, ','); i > 0 {
		if sp := bytes.LastIndexByte(msg[:i], ' '); sp >= 0 {
			msg = msg[sp+1:] // drop server_audit_syslog_info
		}
	}
	r, err := splitRecord(msg)
	if err != nil {
		return err
	}
	if r.serverHost == "" {
		r.serverHost = hostname
	}
	p.st.record(parse.Line{File: file, Offset: offset, No: max(offset, 0)}, ts.UTC(), r, emit)
	return nil
}

// Flush emits pending TABLE records.
func (p *SyslogParser) Flush(emit parse.Emit) { p.st.flushAll(emit) }

// ParseSyslog parses one server_audit syslog message body without state
// (see SyslogParser.Parse for the arguments): TABLE records are dropped
// (the QUERY record of the same statement carries it), and a DISCONNECT
// after a FAILED_CONNECT is emitted as a logout. Prefer a SyslogParser per
// stream.
func ParseSyslog(ts time.Time, hostname string, msg []byte, file string, offset int64, emit parse.Emit) error {
	p := SyslogParser{st: auditState{stateless: true}}
	return p.Parse(ts, hostname, msg, file, offset, emit)
}

// auditRecord is one record's fields after the time.
type auditRecord struct {
	serverHost, user, host string
	port                   int
	connID, queryID        string
	op, db, object, code   string
	quoted                 bool
}

var errFields = errors.New("server_audit record: want 9 comma-separated fields after the time")

// splitRecord splits "<serverhost>,<user>,<host>,<connid>,<queryid>,<op>,<db>,<object>,<retcode>".
func splitRecord(b []byte) (auditRecord, error) {
	var r auditRecord
	var f [7][]byte
	rest := b
	for i := 0; i < 7; i++ {
		j := bytes.IndexByte(rest, ',')
		if j < 0 {
			return r, errFields
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	last := bytes.LastIndexByte(rest, ',')
	if last < 0 {
		return r, errFields
	}
	obj, code := rest[:last], rest[last+1:]
	r.serverHost, r.user = string(f[0]), string(f[1])
	r.host, r.port = splitHost(string(f[2]))
	r.connID, r.queryID = string(f[3]), string(f[4])
	r.op, r.db = string(f[5]), string(f[6])
	if !digits(f[3]) || !digits(f[4]) || len(r.op) == 0 || !upperWord(f[5]) {
		return r, fmt.Errorf("server_audit record: bad connection id, query id or operation")
	}
	if !digits(code) {
		// The object held a comma after the last quote? Only digits or
		// nothing may follow the last comma.
		return r, fmt.Errorf("server_audit record: bad return code %q", truncate(code, 20))
	}
	r.code = string(code)
	if len(obj) >= 2 && obj[0] == '\'' && obj[len(obj)-1] == '\'' {
		r.object, r.quoted = unescape(obj[1:len(obj)-1]), true
	} else if len(obj) >= 1 && obj[0] == '\'' {
		r.object, r.quoted = unescape(obj[1:]), true
	} else {
		r.object = string(obj)
	}
	return r, nil
}

func orUTC(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func upperWord(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// unescape decodes server_audit's escapes: \' \\ \n \r \t (and \" \0).
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, ' ')
		default:
			out = append(out, b[i])
		}
	}
	return string(out)
}

// splitHost reads the client field: host, host:port (12.x), host:unavailable,
// [v6]:port, or a bare IPv6 address.
func splitHost(h string) (string, int) {
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			host := h[1:i]
			port := 0
			if rest := h[i+1:]; strings.HasPrefix(rest, ":") {
				port, _ = strconv.Atoi(rest[1:])
			}
			return host, port
		}
	}
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return h, 0
	}
	if strings.IndexByte(h[:i], ':') >= 0 {
		// IPv6: a port only if the rest is an address and the tail a number.
		if net.ParseIP(h) != nil {
			return h, 0
		}
		if net.ParseIP(h[:i]) != nil {
			p, _ := strconv.Atoi(h[i+1:])
			return h[:i], p
		}
		return h, 0
	}
	if h[i+1:] == "unavailable" {
		return h[:i], 0
	}
	p, err := strconv.Atoi(h[i+1:])
	if err != nil {
		return h, 0
	}
	return h[:i], p
}

// tableRec is a TABLE record waiting for its QUERY.
type tableRec struct {
	line            parse.Line
	t               time.Time
	r               auditRecord
	queryID, object string
}

// auditState is what the server_audit parsers keep across records.
type auditState struct {
	stateless bool
	pending   map[string][]tableRec // connection key -> TABLE records waiting
	npending  int
	failed    map[string]bool // connections whose connect failed
	strs      map[string]string
}

const (
	maxPendingPerConn = 256
	maxPending        = 100000
	maxFailed         = 10000
	pendingAge        = time.Minute
)

func newAuditState() auditState {
	return auditState{pending: map[string][]tableRec{}, failed: map[string]bool{}, strs: map[string]string{}}
}

func (s *auditState) intern(v string) string {
	if s.strs == nil {
		return v
	}
	if x, ok := s.strs[v]; ok {
		return x
	}
	if len(s.strs) > 4096 {
		clear(s.strs)
	}
	s.strs[v] = v
	return v
}

func connKey(r *auditRecord) string { return r.serverHost + "\x00" + r.connID }

func (s *auditState) base(l parse.Line, n int, t time.Time, r *auditRecord) *event.Event {
	ev := newEvent(l, n, KindMariaDBAudit, SystemMariaDB)
	ev.Time = t
	ev.Server.Address = s.intern(r.serverHost)
	ev.User.Name = s.intern(r.user)
	ev.Client.Address = s.intern(r.host)
	ev.Client.Port = r.port
	ev.Session.ID = r.connID
	ev.DB.Namespace = s.intern(r.db)
	return ev
}

// record handles one parsed record.
func (s *auditState) record(l parse.Line, t time.Time, r auditRecord, emit parse.Emit) {
	key := connKey(&r)
	if !s.stateless {
		s.expire(key, t, emit)
	}
	switch {
	case r.op == "CONNECT" || r.op == "CHANGEUSER" || r.op == "PROXY_CONNECT":
		ev := s.base(l, 0, t, &r)
		code := r.code
		setLogin(ev, code)
		if code != "" && code != "0" && !s.stateless {
			s.markFailed(key)
		}
		emit(ev)
	case r.op == "FAILED_CONNECT":
		ev := s.base(l, 0, t, &r)
		code := r.code
		if code == "" || code == "0" {
			code = "1045"
		}
		setLogin(ev, code)
		if !s.stateless {
			s.markFailed(key)
		}
		emit(ev)
	case r.op == "DISCONNECT":
		if !s.stateless {
			s.release(key, emit)
			if s.failed[key] {
				delete(s.failed, key)
				return
			}
		}
		ev := s.base(l, 0, t, &r)
		setLogout(ev)
		emit(ev)
	case strings.HasPrefix(r.op, "QUERY"):
		ev := s.base(l, 0, t, &r)
		setStatement(ev, r.object, r.code)
		if !s.stateless {
			ev.SQL.Audit.Classes = s.fold(key, r.queryID)
		}
		emit(ev)
	case isTableOp(r.op):
		if s.stateless {
			return
		}
		if s.npending >= maxPending {
			s.flushAll(emit)
		}
		recs := s.pending[key]
		if len(recs) >= maxPendingPerConn {
			// A connection whose TABLE records get no QUERY (QUERY not
			// audited): the older half goes out on its own.
			half := len(recs) / 2
			for _, tr := range recs[:half] {
				s.emitTable(tr, emit)
				s.npending--
			}
			recs = append(recs[:0], recs[half:]...)
		}
		s.pending[key] = append(recs, tableRec{line: copyLine(l), t: t, r: r, queryID: r.queryID, object: r.object})
		s.npending++
	default:
		// Unknown operation: keep it as a statement-less event of its kind.
		ev := s.base(l, 0, t, &r)
		setServer(ev)
		ev.DB.Operation.Name = r.op
		emit(ev)
	}
}

func copyLine(l parse.Line) parse.Line {
	l.Text = nil
	return l
}

func isTableOp(op string) bool {
	switch op {
	case "READ", "WRITE", "CREATE", "DROP", "ALTER", "RENAME":
		return true
	}
	return false
}

func (s *auditState) markFailed(key string) {
	if len(s.failed) >= maxFailed {
		clear(s.failed)
	}
	s.failed[key] = true
}

// fold removes the TABLE records of (connection, query id) and returns
// their audit classes.
func (s *auditState) fold(key, qid string) []string {
	recs := s.pending[key]
	if len(recs) == 0 {
		return nil
	}
	var classes []string
	keep := recs[:0]
	for _, tr := range recs {
		if tr.queryID != qid {
			keep = append(keep, tr)
			continue
		}
		s.npending--
		c := "DDL"
		switch tr.r.op {
		case "READ":
			c = "READ"
		case "WRITE":
			c = "WRITE"
		}
		classes = appendUniq(classes, c)
	}
	if len(keep) == 0 {
		delete(s.pending, key)
	} else {
		s.pending[key] = keep
	}
	return classes
}

// expire emits the connection's TABLE records that waited too long.
func (s *auditState) expire(key string, now time.Time, emit parse.Emit) {
	recs := s.pending[key]
	if len(recs) == 0 || now.Sub(recs[0].t) <= pendingAge {
		return
	}
	keep := recs[:0]
	for _, tr := range recs {
		if now.Sub(tr.t) > pendingAge {
			s.emitTable(tr, emit)
			s.npending--
			continue
		}
		keep = append(keep, tr)
	}
	if len(keep) == 0 {
		delete(s.pending, key)
	} else {
		s.pending[key] = keep
	}
}

// release emits every pending TABLE record of a connection.
func (s *auditState) release(key string, emit parse.Emit) {
	for _, tr := range s.pending[key] {
		s.emitTable(tr, emit)
		s.npending--
	}
	delete(s.pending, key)
}

func (s *auditState) flushAll(emit parse.Emit) {
	for key := range s.pending {
		s.release(key, emit)
	}
	s.npending = 0
}

// tableOps maps a TABLE record to its operation and audit class.
var tableOps = map[string][2]string{
	"READ":   {"SELECT", "READ"},
	"WRITE":  {"WRITE", "WRITE"},
	"CREATE": {"CREATE TABLE", "DDL"},
	"DROP":   {"DROP TABLE", "DDL"},
	"ALTER":  {"ALTER TABLE", "DDL"},
	"RENAME": {"RENAME TABLE", "DDL"},
}

// emitTable emits a TABLE record that has no QUERY record.
func (s *auditState) emitTable(tr tableRec, emit parse.Emit) {
	r := tr.r
	ev := s.base(tr.line, 0, tr.t, &r)
	op := tableOps[r.op]
	ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
	ev.DB.Operation.Name = op[0]
	ev.DB.Object.Type = "TABLE"
	ev.SQL.Operations = []string{op[0]}
	ev.SQL.ObjectTypes = []string{"TABLE"}
	ev.SQL.Audit.Classes = []string{op[1]}
	switch r.op {
	case "READ", "WRITE":
		ev.Event.Category = event.CategoryQuery
		if r.op == "WRITE" {
			ev.Event.Category = event.CategoryDML
		}
	default:
		ev.Event.Category = event.CategoryDDL
	}
	for _, o := range strings.Split(tr.object, "|") {
		if o == "" {
			continue
		}
		if !strings.Contains(o, ".") && r.db != "" {
			o = r.db + "." + o
		}
		ev.DB.Collection.Name = appendUniq(ev.DB.Collection.Name, o)
	}
	emit(ev)
}

func appendUniq(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// detectServerAudit: lines of the form "YYYYMMDD HH:MM:SS,h,u,c,N,N,OP,".
func detectServerAudit(head []byte) int {
	good, bad := 0, 0
	for _, line := range completeLines(head, 50) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if looksServerAudit(line) {
			good++
		} else {
			bad++
		}
	}
	if good > 0 && good >= bad*4 {
		return 80
	}
	return 0
}

func looksServerAudit(line []byte) bool {
	if len(line) < 30 || line[8] != ' ' || line[11] != ':' || line[14] != ':' || line[17] != ',' {
		return false
	}
	if !digits(line[:8]) || !digits(line[9:11]) || !digits(line[12:14]) || !digits(line[15:17]) {
		return false
	}
	r, err := splitRecord(line[18:])
	return err == nil && r.op != ""
}

// completeLines returns up to n lines of head; the last one is dropped
// when head was cut in its middle (no newline after it), unless it is the
// only one.
func completeLines(head []byte, n int) [][]byte {
	lines := bytes.Split(head, []byte{'\n'})
	if len(lines) > 1 && len(head) > 0 && head[len(head)-1] != '\n' {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[:n]
	}
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, "\r")
	}
	return lines
}
