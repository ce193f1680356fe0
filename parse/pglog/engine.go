package pglog

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/stmt/mask"
)

const (
	kindLog   = "postgres_log"
	kindAudit = "pgaudit"
	dbSystem  = "postgresql"

	// caps on what one pgaudit group accumulates (DROP SCHEMA … CASCADE can
	// log thousands of dependent objects for one statement)
	maxGroupList = 256
)

// session is what the parser remembers about one backend between its
// lines: who it is (for formats whose lines do not say it, like the Azure
// prefix %t-%c-), the login waiting to be confirmed, and the statement
// waiting for its pgaudit records, duration or error.
type session struct {
	key                 string
	id                  string // session.id as emitted
	user, db, app, host string
	port                int
	received, loggedIn  bool
	login               *event.Event // successful login held until the next line of the session
	q                   query        // statement being assembled
	qEmitted            bool         // the current statement went out before its end (hold/Flush)
	lastText            string       // its raw text, to recognize its late duration line
	earlyAuditID        int64        // its pgaudit STATEMENT_ID (0: it had only a statement line)
	pendT               time.Time    // when the pending login/statement began
	pendOff, pendNo     int64        // input position of its first line
	inPend              bool
	lruPrev, lruNext    *session
	pendPrev, pendNext  *session
}

// query is the statement a session is executing: its `statement:` line
// and/or the pgaudit records of one STATEMENT_ID, until its end is known.
type query struct {
	active    bool
	ev        *event.Event
	hasStmt   bool
	hasAudit  bool
	stmtText  string // raw (unmasked) text of the statement:/execute line
	auditText string // raw text of the audit line with the lowest SUBSTATEMENT_ID
	fallback  string // raw text to use when pgaudit printed a placeholder
	detail    string // raw DETAIL of the statement line (parameters, prepare)
	param     string // raw PARAMETER of the first audit line
	auditID   int64
	firstSub  int64
	lines     int
	failed    bool
	status    string
	errMsg    string // the ERROR about this statement (masked), merged into its event
	errDetail string
}

// text returns the raw statement text the query event will carry.
func (q *query) text() string {
	if q.hasAudit {
		if !auditPlaceholder(q.auditText) {
			return q.auditText
		}
		if q.stmtText != "" {
			return q.stmtText
		}
		if q.fallback != "" {
			return q.fallback
		}
		return q.auditText
	}
	return q.stmtText
}

func auditPlaceholder(s string) bool {
	return s == "" || s == "<previously logged>" || s == "<not logged>"
}

// engine turns records into events. It is shared by the three formats, so
// that the same run logged as stderr, csvlog and jsonlog yields the same
// events.
type engine struct {
	opts     Options
	sessions map[string]*session
	lruHead  *session // most recently used
	lruTail  *session
	pendHead *session // oldest pending
	pendTail *session
	now      time.Time // event time of the record being handled
	strs     map[string]string
	recent   [64]string
	keyBuf   []byte
	ascratch []byte
	idFile   string
	idSeed   uint64
	stats    Stats
	emit     parse.Emit
	// onPrefix is called when the server announces a new log_line_prefix.
	onPrefix func(string)
}

func newEngine(o Options) *engine {
	return &engine{opts: o, sessions: make(map[string]*session), strs: make(map[string]string)}
}

// out emits an event and counts it.
func (e *engine) out(ev *event.Event) {
	e.stats.Events++
	e.emit(ev)
}

// intern returns a string for a low-cardinality value (user, database,
// command, object name) without allocating when it was seen before. The
// table is bounded: it is cleared when full.
func (e *engine) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// a tiny direct-mapped cache in front of the map: the same few values
	// (commands, classes, users) repeat line after line
	slot := &e.recent[(int(b[0])+len(b)*7)&(len(e.recent)-1)]
	if *slot == string(b) {
		return *slot
	}
	if s, ok := e.strs[string(b)]; ok {
		*slot = s
		return s
	}
	if len(b) > 256 {
		return string(b)
	}
	if len(e.strs) >= 8192 {
		clear(e.strs)
	}
	s := string(b)
	e.strs[s] = s
	*slot = s
	return s
}

// eventID is a stable id for the record at (file, offset): FNV-1a of both,
// in hex.
func (e *engine) eventID(file string, off int64) string {
	const prime = 1099511628211
	if file != e.idFile || e.idSeed == 0 {
		h := uint64(14695981039346656037)
		for i := 0; i < len(file); i++ {
			h ^= uint64(file[i])
			h *= prime
		}
		h ^= 0
		h *= prime
		e.idFile, e.idSeed = file, h
	}
	h := e.idSeed
	for i := 0; i < 8; i++ {
		h ^= uint64(byte(off >> (8 * i)))
		h *= prime
	}
	var b [16]byte
	const hexd = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = hexd[h&15]
		h >>= 4
	}
	return string(b[:])
}

// sessionKey identifies the backend of a record: its session id when the
// format has one, else its pid.
func (e *engine) sessionKey(r *record) []byte {
	if len(r.sid) > 0 {
		return r.sid
	}
	if r.pid > 0 {
		e.keyBuf = append(e.keyBuf[:0], 'p')
		e.keyBuf = strconv.AppendInt(e.keyBuf, r.pid, 10)
		return e.keyBuf
	}
	// A stderr prefix without %p or %c: one pseudo-session, which still
	// groups the consecutive lines of one statement (right when sessions do
	// not interleave).
	return anonSession
}

var anonSession = []byte("?")

// --- session table (LRU-bounded) and pending list (ordered by start) ---

func (e *engine) lruRemove(s *session) {
	if s.lruPrev != nil {
		s.lruPrev.lruNext = s.lruNext
	} else {
		e.lruHead = s.lruNext
	}
	if s.lruNext != nil {
		s.lruNext.lruPrev = s.lruPrev
	} else {
		e.lruTail = s.lruPrev
	}
	s.lruPrev, s.lruNext = nil, nil
}

func (e *engine) lruFront(s *session) {
	s.lruNext = e.lruHead
	if e.lruHead != nil {
		e.lruHead.lruPrev = s
	}
	e.lruHead = s
	if e.lruTail == nil {
		e.lruTail = s
	}
}

func (e *engine) touch(s *session) {
	if e.lruHead != s {
		e.lruRemove(s)
		e.lruFront(s)
	}
}

func (e *engine) pend(s *session, r *record) {
	if s.inPend {
		e.pendRemove(s)
		if r.offset < s.pendOff {
			s.pendOff, s.pendNo = r.offset, r.lineNo
		}
	} else {
		s.pendOff, s.pendNo = r.offset, r.lineNo
	}
	s.pendT = r.t
	s.inPend = true
	s.pendPrev = e.pendTail
	if e.pendTail != nil {
		e.pendTail.pendNext = s
	} else {
		e.pendHead = s
	}
	e.pendTail = s
}

func (e *engine) pendRemove(s *session) {
	if !s.inPend {
		return
	}
	if s.pendPrev != nil {
		s.pendPrev.pendNext = s.pendNext
	} else {
		e.pendHead = s.pendNext
	}
	if s.pendNext != nil {
		s.pendNext.pendPrev = s.pendPrev
	} else {
		e.pendTail = s.pendPrev
	}
	s.pendPrev, s.pendNext, s.inPend = nil, nil, false
}

// pending returns the input position of the first line of the oldest held
// event (by position), if any.
func (e *engine) pending() (off, no int64, ok bool) {
	for s := e.pendHead; s != nil; s = s.pendNext {
		if !ok || s.pendOff < off {
			off, no, ok = s.pendOff, s.pendNo, true
		}
	}
	return off, no, ok
}

// unpend leaves the pending list once nothing is held for s.
func (e *engine) unpend(s *session) {
	if s.login == nil && !s.q.active {
		e.pendRemove(s)
	}
}

// newSession starts tracking a backend; the least recently used one is
// evicted (its pending events released) when MaxSessions is reached, so
// that a flood of connections cannot grow memory without bound.
func (e *engine) newSession(key []byte, r *record) *session {
	s := &session{key: string(key)}
	e.sessions[s.key] = s
	e.lruFront(s)
	if len(e.sessions) > e.opts.MaxSessions {
		old := e.lruTail
		if old != nil && old != s {
			e.release(old, false)
			e.dropSession(old)
			e.stats.Evicted++
		}
	}
	switch {
	case len(r.sid) > 0:
		s.id = string(r.sid)
	case r.start > 0 && r.pid > 0:
		s.id = synthSessionID(r.start, r.pid)
	case r.pid > 0:
		s.id = strconv.FormatInt(r.pid, 10)
	}
	return s
}

// synthSessionID builds PostgreSQL's session id (%c: hex start time, dot,
// hex pid) for formats that only log the pid, so that the same session has
// the same id in stderr, csvlog and jsonlog.
func synthSessionID(start, pid int64) string {
	return strconv.FormatInt(start, 16) + "." + strconv.FormatInt(pid, 16)
}

func (e *engine) dropSession(s *session) {
	e.pendRemove(s)
	e.lruRemove(s)
	if e.sessions[s.key] == s {
		delete(e.sessions, s.key)
	}
}

// ensure returns the session of r, creating it when the record's key is new.
func (e *engine) ensure(s *session, key []byte, r *record) *session {
	if s != nil || key == nil {
		return s
	}
	s = e.newSession(key, r)
	e.sync(s, r)
	return s
}

// sync copies what the record says about its session into the session
// (strings are reused while unchanged, so steady lines do not allocate).
func (e *engine) sync(s *session, r *record) {
	if v := clean(r.user); len(v) > 0 && string(v) != s.user {
		s.user = e.intern(v)
	}
	if v := clean(r.db); len(v) > 0 && string(v) != s.db {
		s.db = e.intern(v)
	}
	if v := clean(r.app); len(v) > 0 && string(v) != s.app {
		s.app = e.intern(v)
	}
	if v := r.host; len(v) > 0 && string(v) != s.host {
		s.host = e.intern(v)
	}
	if r.port > 0 {
		s.port = r.port
	}
	if len(r.sid) > 0 && string(r.sid) != s.id {
		s.id = string(r.sid)
	}
}

// base builds an event with the fields every PostgreSQL event has.
func (e *engine) base(r *record, s *session) *event.Event {
	ev := &event.Event{}
	ev.ID = e.eventID(r.file, r.offset)
	ev.Time = r.t
	ev.Source.Kind = kindLog
	ev.DB.System.Name = dbSystem
	ev.Log.Level = r.sev.String()
	ev.Log.File = r.file
	ev.Log.Line = r.lineNo
	if s != nil {
		ev.User.Name = s.user
		ev.DB.Namespace = s.db
		ev.App.Name = s.app
		ev.Client.Address = s.host
		ev.Client.Port = s.port
		ev.Session.ID = s.id
		return ev
	}
	ev.User.Name = e.intern(clean(r.user))
	ev.DB.Namespace = e.intern(clean(r.db))
	ev.App.Name = e.intern(clean(r.app))
	ev.Client.Address = e.intern(r.host)
	ev.Client.Port = r.port
	switch {
	case len(r.sid) > 0:
		ev.Session.ID = string(r.sid)
	case r.pid > 0:
		ev.Session.ID = strconv.FormatInt(r.pid, 10)
	}
	return ev
}

// --- record handling ---

var (
	pAudit       = []byte("AUDIT: ")
	pStatement   = []byte("statement: ")
	pExecute     = []byte("execute ")
	pDuration    = []byte("duration: ")
	pReceived    = []byte("connection received: ")
	pAuthorized  = []byte("connection authorized: ")
	pReplAuth    = []byte("replication connection authorized: ")
	pAuthentic   = []byte("connection authenticated: ")
	pDisconnect  = []byte("disconnection: ")
	pParamChange = []byte("parameter \"")
	pSIGHUP      = []byte("received SIGHUP")
	sepColon     = []byte(": ")
)

// handle consumes one complete record.
func (e *engine) handle(r *record) {
	e.stats.Records++
	// Event time of the latest record (not the maximum seen): after a
	// clock step backwards, pending work waits for time to catch up instead
	// of being released at once and merged wrongly.
	e.now = r.t
	key := e.sessionKey(r)
	var s *session
	if key != nil {
		if s = e.sessions[string(key)]; s != nil {
			e.touch(s)
		}
	}
	if e.pendHead != nil {
		e.sweep(s)
	}
	if s != nil {
		e.sync(s, r)
	}
	switch r.sev {
	case sevLog:
		e.handleLog(r, s, key)
	case sevError, sevPanic:
		e.settle(s)
		e.handleError(r, s)
	case sevFatal:
		e.handleFatal(r, s)
	case sevWarning:
		e.settle(s)
		ev := e.base(r, s)
		ev.Event.Category, ev.Event.Action = event.CategoryAdmin, event.ActionServer
		ev.Error.Message = mask.SQL(string(r.msg))
		ev.Error.Detail = e.detailText(r)
		e.out(ev)
	default: // DEBUG, INFO, NOTICE: client chatter, not activity
		e.settle(s)
		e.stats.Ignored++
	}
}

// sweep releases the pending events that waited longer than Options.Hold
// (in event time) for their closing line; cur is left alone because the
// record being handled is about to settle it.
func (e *engine) sweep(cur *session) {
	for p := e.pendHead; p != nil; {
		next := p.pendNext
		if !p.pendT.Add(e.opts.Hold).Before(e.now) {
			break
		}
		if p != cur {
			e.release(p, true)
		}
		p = next
	}
}

// release emits whatever s holds: the login as a success, the statement as
// it stands. early marks a statement released before its end was seen, so
// that its late duration line is recognized and not counted twice.
func (e *engine) release(s *session, early bool) {
	if s.login != nil {
		e.out(s.login)
		s.login = nil
		s.loggedIn = true
	}
	if s.q.active {
		e.closeQuery(s, early)
	}
	e.pendRemove(s)
}

// settle confirms a held login: any line of the session other than an
// authentication FATAL proves the login succeeded.
func (e *engine) settle(s *session) {
	if s != nil && s.login != nil {
		e.out(s.login)
		s.login = nil
		s.loggedIn = true
		e.unpend(s)
	}
}

func (e *engine) handleLog(r *record, s *session, key []byte) {
	msg := r.msg
	switch {
	case bytes.HasPrefix(msg, pAudit):
		s = e.ensure(s, key, r)
		e.settle(s)
		e.audit(r, s, msg[len(pAudit):])
	case bytes.HasPrefix(msg, pStatement):
		s = e.ensure(s, key, r)
		e.settle(s)
		e.statement(r, s, msg[len(pStatement):])
	case bytes.HasPrefix(msg, pDuration):
		s = e.ensure(s, key, r)
		e.settle(s)
		e.duration(r, s, msg[len(pDuration):])
	case bytes.HasPrefix(msg, pExecute) && bytes.Contains(msg, sepColon):
		s = e.ensure(s, key, r)
		e.settle(s)
		i := bytes.Index(msg, sepColon)
		e.statement(r, s, msg[i+2:])
	case bytes.HasPrefix(msg, pReceived):
		e.received(r, s, key, msg[len(pReceived):])
	case bytes.HasPrefix(msg, pAuthorized):
		e.authorized(r, s, key, msg[len(pAuthorized):])
	case bytes.HasPrefix(msg, pReplAuth):
		e.authorized(r, s, key, msg[len(pReplAuth):])
	case bytes.HasPrefix(msg, pAuthentic):
		// the authenticated identity (pg_ident maps it to the user) has no
		// field of its own: the login event carries the user
		e.ensure(s, key, r)
		e.stats.Merged++
	case bytes.HasPrefix(msg, pDisconnect):
		e.disconnect(r, s, msg[len(pDisconnect):])
	case isNoise(msg):
		e.settle(s)
		e.stats.Ignored++
	case bytes.HasPrefix(msg, pParamChange), bytes.HasPrefix(msg, pSIGHUP):
		// configuration changes are always worth an event (audit_disabled)
		e.settle(s)
		e.server(r, s)
	default:
		e.settle(s)
		if len(clean(r.user)) > 0 || (s != nil && s.user != "" && s.key != string(anonSession)) || bytes.Equal(r.btype, []byte("client backend")) {
			// other chatter of a client session (lock waits, …)
			e.stats.Ignored++
			return
		}
		e.server(r, s)
	}
}

// server emits a server lifecycle / configuration message as an admin event.
func (e *engine) server(r *record, s *session) {
	if s != nil && s.key == string(anonSession) {
		s = nil // the pseudo-session's user did not do this
	}
	ev := e.base(r, s)
	ev.Event.Category, ev.Event.Action = event.CategoryAdmin, event.ActionServer
	msg := r.msg
	ev.Error.Message = mask.SQL(string(msg))
	ev.Error.Detail = e.detailText(r)
	if bytes.HasPrefix(msg, pParamChange) {
		rest := msg[len(pParamChange):]
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			name := strings.ToLower(string(rest[:i]))
			tail := rest[i+1:]
			switch {
			case bytes.HasPrefix(tail, []byte(" changed to \"")) && len(tail) > 13 && tail[len(tail)-1] == '"':
				ev.SQL.Setting = event.Setting{Scope: "system", Name: name, Value: maskValue(string(tail[13 : len(tail)-1]))}
				if name == "log_line_prefix" && e.onPrefix != nil {
					e.onPrefix(string(tail[13 : len(tail)-1]))
				}
			case bytes.HasPrefix(tail, []byte(" removed from configuration file")):
				ev.SQL.Setting = event.Setting{Scope: "system", Name: name, Reset: true}
				if name == "log_line_prefix" && e.onPrefix != nil {
					e.onPrefix("%m [%p] ")
				}
			}
		}
	}
	e.out(ev)
}

// detailText is the masked DETAIL of a record, with its HINT appended.
func (e *engine) detailText(r *record) string {
	if len(r.detail) == 0 && len(r.hint) == 0 {
		return ""
	}
	if len(r.hint) == 0 {
		return mask.SQL(string(r.detail))
	}
	var b strings.Builder
	b.Write(r.detail)
	if len(r.detail) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("HINT: ")
	b.Write(r.hint)
	return mask.SQL(b.String())
}

// state is the SQLSTATE of an error record: logged, or inferred from the
// message text for stderr logs without it.
func (e *engine) state(r *record) string {
	if len(r.state) == 5 && string(r.state) != "00000" {
		return e.intern(r.state)
	}
	if len(r.state) == 0 {
		return inferState(r.sev, r.msg)
	}
	return ""
}

// --- statements, pgaudit, durations ---

func (e *engine) startQuery(r *record, s *session) *query {
	q := &s.q
	*q = query{active: true}
	q.ev = e.base(r, s)
	q.ev.Event.Action = event.ActionStatement
	s.qEmitted, s.lastText = false, ""
	e.pend(s, r)
	return q
}

// closeQuery emits the statement being assembled.
func (e *engine) closeQuery(s *session, early bool) {
	q := &s.q
	if !q.active {
		return
	}
	ev := q.ev
	text := q.text()
	ev.DB.Query.Text = mask.SQL(unredact(text))
	if q.detail != "" {
		ev.Error.Detail = maskDetail(q.detail, text)
	}
	if q.hasAudit && q.param != "" {
		ev.SQL.Audit.Parameter = maskParam(q.param, text)
	}
	if q.failed {
		// One statement, one event: the ERROR about it is merged in, so
		// an attempt is counted once by every rule (as an error, and as
		// the refused DROP/GRANT/... it was).
		ev.Event.Category, ev.Event.Action = event.CategoryError, event.ActionError
		ev.Event.Outcome = event.OutcomeFailure
		ev.DB.Response.StatusCode = q.status
		ev.Error.Message = q.errMsg
		if q.errDetail != "" {
			ev.Error.Detail = q.errDetail
		}
	} else {
		ev.Event.Outcome = event.OutcomeSuccess
	}
	q.active, q.ev = false, nil
	if early {
		s.qEmitted, s.lastText, s.earlyAuditID = true, text, 0
		if q.hasAudit {
			s.earlyAuditID = q.auditID
		}
	} else {
		s.qEmitted, s.lastText = false, ""
	}
	e.unpend(s)
	e.out(ev)
}

// statement handles `statement: <sql>` and `execute <name>: <sql>`: a new
// statement starts, which ends the previous one of the session.
func (e *engine) statement(r *record, s *session, text []byte) {
	if s == nil {
		ev := e.base(r, nil)
		ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
		ev.DB.Query.Text = mask.SQL(string(text))
		if len(r.detail) > 0 {
			ev.Error.Detail = maskDetail(string(r.detail), string(text))
		}
		e.out(ev)
		return
	}
	e.closeQuery(s, false)
	q := e.startQuery(r, s)
	q.hasStmt = true
	q.stmtText = string(text)
	if len(r.detail) > 0 {
		q.detail = string(r.detail)
	}
}

func (e *engine) audit(r *record, s *session, body []byte) {
	if cap(e.ascratch) < len(body) {
		e.ascratch = make([]byte, 0, len(body)+64)
	}
	var a auditLine
	ok, _ := parseAudit(body, &a, e.ascratch[:0])
	if !ok || s == nil {
		if !ok {
			e.stats.Malformed++
		}
		// Not pgaudit's shape (or no session to group in): keep the text.
		if s != nil {
			e.closeQuery(s, false)
		}
		ev := e.base(r, s)
		ev.Source.Kind = kindAudit
		ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
		if ok {
			q := query{ev: ev, hasAudit: true}
			e.addAuditLine(&q, &a)
			ev.DB.Query.Text = mask.SQL(q.text())
			ev.SQL.Audit.Parameter = maskParam(q.param, q.text())
		} else {
			ev.DB.Query.Text = mask.SQL(string(body))
		}
		e.out(ev)
		return
	}
	q := &s.q
	if !q.active && s.qEmitted && (a.id == s.earlyAuditID || s.earlyAuditID == 0 && sameSQL(a.stmt, []byte(s.lastText))) {
		// More records of a statement that went out already (held longer
		// than Hold): emitting them would count the statement twice.
		s.earlyAuditID = a.id
		e.stats.Merged++
		return
	}
	switch {
	case q.active && q.hasAudit && q.auditID == a.id:
		// another object or sub-statement of the same statement
		e.stats.Merged++
	case q.active && q.hasAudit:
		// the next statement (of a multi-statement string, or unlogged)
		fallback := q.fallback
		if q.hasStmt {
			fallback = q.stmtText
		}
		e.closeQuery(s, false)
		q = e.startQuery(r, s)
		q.fallback = fallback
		q.ev.Source.Kind = kindAudit
	case q.active:
		// the statement line this audit record belongs to: one event
		e.stats.Merged++
		q.ev.Source.Kind = kindAudit
	default:
		q = e.startQuery(r, s)
		q.ev.Source.Kind = kindAudit
	}
	q.hasAudit = true
	q.auditID = a.id
	e.addAuditLine(q, &a)
}

// addAuditLine folds one pgaudit record into the statement's event.
func (e *engine) addAuditLine(q *query, a *auditLine) {
	ev := q.ev
	cmd := e.intern(a.cmd)
	if q.lines == 0 || a.sub < q.firstSub {
		q.firstSub = a.sub
		q.auditText = string(a.stmt)
		if cmd != "???" {
			ev.DB.Operation.Name = cmd
		}
		q.param = e.intern(a.param)
		ev.SQL.Audit.StatementID = a.id
	}
	q.lines++
	if ev.SQL.Operations == nil {
		// one backing array for the four usually single-element lists
		backing := make([]string, 4)
		ev.SQL.Operations = backing[0:0:1]
		ev.SQL.Audit.Classes = backing[1:1:2]
		ev.SQL.ObjectTypes = backing[2:2:3]
		ev.DB.Collection.Name = backing[3:3:4]
	}
	if cmd != "" && cmd != "???" {
		ev.SQL.Operations = appendUniq(ev.SQL.Operations, cmd)
	}
	if len(a.class) > 0 {
		ev.SQL.Audit.Classes = appendUniq(ev.SQL.Audit.Classes, e.intern(a.class))
	}
	if len(a.objType) > 0 {
		t := e.intern(a.objType)
		ev.SQL.ObjectTypes = appendUniq(ev.SQL.ObjectTypes, t)
		if ev.DB.Object.Type == "" {
			ev.DB.Object.Type = t
		}
	}
	if len(a.objName) > 0 {
		name := e.intern(a.objName)
		ev.DB.Collection.Name = appendUniq(ev.DB.Collection.Name, name)
		if string(a.class) == "FUNCTION" && cmd == "EXECUTE" {
			ev.SQL.Routines = appendUniq(ev.SQL.Routines, lowerASCII(name))
		}
	}
	if t := string(a.typ); ev.SQL.Audit.Type == "" || t == "OBJECT" {
		ev.SQL.Audit.Type = e.intern(a.typ)
	}
	if a.hasRows && a.rows > ev.DB.Response.ReturnedRows {
		ev.DB.Response.ReturnedRows = a.rows
	}
	if len(ev.SQL.Operations) == 0 {
		ev.SQL.Operations = nil
	}
	if len(ev.SQL.Audit.Classes) == 0 {
		ev.SQL.Audit.Classes = nil
	}
	if len(ev.SQL.ObjectTypes) == 0 {
		ev.SQL.ObjectTypes = nil
	}
	if len(ev.DB.Collection.Name) == 0 {
		ev.DB.Collection.Name = nil
	}
}

// appendUniq appends v unless present; lists are bounded (maxGroupList).
func appendUniq(l []string, v string) []string {
	for _, x := range l {
		if x == v {
			return l
		}
	}
	if len(l) >= maxGroupList {
		return l
	}
	return append(l, v)
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// duration handles `duration: X ms` (the statement was logged before) and
// `duration: X ms  statement: <sql>` (log_min_duration_statement, the
// statement was not logged): it ends the session's current statement.
func (e *engine) duration(r *record, s *session, body []byte) {
	ns, n, ok := parseMillis(body)
	rest := body[n:]
	if !ok || !bytes.HasPrefix(rest, []byte(" ms")) {
		e.stats.Ignored++
		return
	}
	rest = rest[3:]
	var text []byte
	hasText := false
	switch {
	case len(rest) == 0:
	case bytes.HasPrefix(rest, []byte("  statement: ")):
		text, hasText = rest[len("  statement: "):], true
	case bytes.HasPrefix(rest, []byte("  execute ")):
		if i := bytes.Index(rest, sepColon); i > 0 {
			text, hasText = rest[i+2:], true
		}
	case bytes.HasPrefix(rest, []byte("  fastpath function call: ")):
		text, hasText = rest[len("  fastpath function call: "):], true
	case bytes.HasPrefix(rest, []byte("  parse ")), bytes.HasPrefix(rest, []byte("  bind ")):
		// extended-protocol steps before the execute: not a statement of their own
		e.stats.Ignored++
		return
	}
	if s == nil {
		ev := e.base(r, nil)
		ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
		ev.Event.Duration = ns
		ev.DB.Query.Text = mask.SQL(string(text))
		e.out(ev)
		return
	}
	q := &s.q
	if q.active && (!hasText || sameSQL(text, []byte(q.text())) || (q.hasStmt && sameSQL(text, []byte(q.stmtText)))) {
		q.ev.Event.Duration = ns
		e.stats.Merged++
		e.closeQuery(s, false)
		return
	}
	if !q.active && s.qEmitted && (!hasText || sameSQL(text, []byte(s.lastText))) {
		// the statement went out already (held too long): do not count it twice
		s.qEmitted, s.lastText = false, ""
		e.stats.Merged++
		return
	}
	e.closeQuery(s, false)
	s.qEmitted, s.lastText = false, ""
	ev := e.base(r, s)
	ev.Event.Action, ev.Event.Outcome = event.ActionStatement, event.OutcomeSuccess
	ev.Event.Duration = ns
	if hasText {
		ev.DB.Query.Text = mask.SQL(string(text))
	}
	e.out(ev)
}

// --- errors ---

// handleError emits an ERROR (or a FATAL/PANIC outside authentication) as
// an error event. When the error is about the session's current statement
// (same text, or no text logged) it is merged into that statement's event
// instead, which becomes the error event: one statement, one event.
func (e *engine) handleError(r *record, s *session) {
	code := e.state(r)
	if s != nil {
		q := &s.q
		switch {
		case q.active && (len(r.query) == 0 || sameSQL(r.query, []byte(q.text())) || (q.hasStmt && sameSQL(r.query, []byte(q.stmtText)))):
			q.failed, q.status = true, code
			q.errMsg, q.errDetail = mask.SQL(string(r.msg)), e.detailText(r)
			e.closeQuery(s, false)
			return
		case q.active:
			e.closeQuery(s, false) // it finished; this error is about the next one
		default:
			s.qEmitted, s.lastText = false, ""
		}
	}
	ev := e.base(r, s)
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryError, event.ActionError, event.OutcomeFailure
	ev.Error.Message = mask.SQL(string(r.msg))
	ev.Error.Detail = e.detailText(r)
	ev.DB.Response.StatusCode = code
	if len(r.query) > 0 {
		ev.DB.Query.Text = mask.SQL(string(r.query))
	}
	e.out(ev)
}

// handleFatal tells failed logins (authentication-phase FATALs) from other
// fatal errors.
func (e *engine) handleFatal(r *record, s *session) {
	code := e.state(r)
	auth := strings.HasPrefix(code, "28") || code == "3D000" ||
		bytes.Equal(r.ps, []byte("authentication")) || bytes.Equal(r.ps, []byte("startup")) ||
		(s != nil && (s.login != nil || (s.received && !s.loggedIn && !s.q.active)))
	if !auth {
		e.settle(s)
		e.handleError(r, s)
		return
	}
	ev := e.base(r, s)
	if s != nil {
		if s.login != nil {
			// authorized, then refused (database/role does not exist): not a login
			if ev.User.Name == "" {
				ev.User.Name = s.login.User.Name
			}
			if ev.DB.Namespace == "" {
				ev.DB.Namespace = s.login.DB.Namespace
			}
			s.login = nil
		}
		s.loggedIn = false
		e.unpend(s)
	}
	msg := r.msg
	if u := quotedAfter(msg, "user \""); len(u) > 0 {
		ev.User.Name = e.intern(u)
	} else if u := quotedAfter(msg, "role \""); len(u) > 0 {
		ev.User.Name = e.intern(u)
	}
	if d := quotedAfter(msg, "database \""); len(d) > 0 {
		ev.DB.Namespace = e.intern(d)
	}
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryAuthentication, event.ActionLoginFailed, event.OutcomeFailure
	ev.Error.Message = mask.SQL(string(msg))
	ev.Error.Detail = e.detailText(r)
	ev.DB.Response.StatusCode = code
	e.out(ev)
}

// --- connections ---

func (e *engine) received(r *record, s *session, key []byte, body []byte) {
	e.stats.Merged++
	if key == nil {
		return
	}
	if s != nil {
		// pid reused, or the same session announced twice: start afresh
		e.release(s, false)
		e.dropSession(s)
	}
	if r.start == 0 && len(r.sid) == 0 && r.pid > 0 {
		r.start = r.t.Unix()
	}
	s = e.newSession(key, r)
	e.sync(s, r)
	s.received = true
	if h := kvBetween(body, "host=", " port="); len(h) > 0 {
		s.host = e.intern(h)
	}
	if p := kvBetween(body, "port=", " "); len(p) > 0 {
		if v, ok := atoi64(p); ok && v > 0 && v < 65536 {
			s.port = int(v)
		}
	}
}

func (e *engine) authorized(r *record, s *session, key []byte, body []byte) {
	s = e.ensure(s, key, r)
	e.settle(s)
	user := kvBetween(body, "user=", " database=", " application_name=", " SSL enabled", " GSS ")
	db := kvBetween(body, "database=", " application_name=", " SSL enabled", " GSS ")
	app := kvBetween(body, "application_name=", " SSL enabled (", " GSS (")
	if s != nil {
		if len(user) > 0 && string(user) != s.user {
			s.user = e.intern(user)
		}
		if len(db) > 0 && string(db) != s.db {
			s.db = e.intern(db)
		}
		if len(app) > 0 && string(app) != s.app {
			s.app = e.intern(app)
		}
	}
	ev := e.base(r, s)
	if len(user) > 0 {
		ev.User.Name = e.intern(user)
	}
	if len(db) > 0 {
		ev.DB.Namespace = e.intern(db)
	}
	if len(app) > 0 {
		ev.App.Name = e.intern(app)
	}
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryAuthentication, event.ActionLogin, event.OutcomeSuccess
	if s == nil {
		e.out(ev)
		return
	}
	// Held: a FATAL of the same session (database or role does not exist)
	// turns it into a failed login.
	s.login = ev
	e.pend(s, r)
}

func (e *engine) disconnect(r *record, s *session, body []byte) {
	if s != nil {
		e.settle(s)
		e.closeQuery(s, false)
	}
	ev := e.base(r, s)
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome = event.CategoryAuthentication, event.ActionLogout, event.OutcomeSuccess
	if t := kvBetween(body, "session time: ", " "); len(t) > 0 {
		ev.Event.Duration = parseSessionTime(t)
	}
	if u := kvBetween(body, " user=", " database="); len(u) > 0 {
		ev.User.Name = e.intern(u)
	}
	if d := kvBetween(body, " database=", " host="); len(d) > 0 {
		ev.DB.Namespace = e.intern(d)
	}
	if h := kvBetween(body, " host=", " port="); len(h) > 0 {
		ev.Client.Address = e.intern(h)
	}
	if p := kvBetween(body, " port=", " "); len(p) > 0 {
		if v, ok := atoi64(p); ok && v > 0 && v < 65536 {
			ev.Client.Port = int(v)
		}
	}
	e.out(ev)
	if s != nil {
		e.dropSession(s)
	}
}

// flush releases everything held (end of input or idle source). Session
// state is kept: the next lines may continue the same sessions.
func (e *engine) flush() {
	for s := e.pendHead; s != nil; {
		next := s.pendNext
		e.release(s, true)
		s = next
	}
}

// maskParam masks pgaudit's PARAMETER field: raw bind values, comma
// separated. Values are not SQL, so each is masked as the content of a
// literal (connection strings, URIs); and when the statement itself names a
// secret (PASSWORD, pgp_sym_encrypt, set_config('…password…', $1) …), any
// value may be the secret and the whole field is masked.
func maskParam(param, stmt string) string {
	switch param {
	case "", "<none>", "<not logged>":
		return param
	}
	if mask.Candidate(stmt) {
		return mask.Stars
	}
	return maskValue(param)
}

// maskValue masks a raw value (not SQL): it is masked as the content of a
// string literal, which is where mask.SQL looks for connection strings and
// URIs with passwords.
func maskValue(v string) string {
	if !mask.Candidate(v) {
		return v
	}
	lit := "'" + strings.ReplaceAll(v, "'", "''") + "'"
	if m := mask.SQL(lit); m != lit {
		return m
	}
	return v
}

// maskDetail masks a DETAIL attached to a statement: `parameters: $1 =
// '…', …` lists bind values, which are all masked when the statement names
// a secret; everything is masked as SQL.
func maskDetail(detail, stmt string) string {
	if strings.HasPrefix(detail, "parameters: ") && mask.Candidate(stmt) {
		var b strings.Builder
		in := false
		for i := 0; i < len(detail); i++ {
			c := detail[i]
			switch {
			case c == '\'' && in && i+1 < len(detail) && detail[i+1] == '\'':
				i++
			case c == '\'':
				if !in {
					b.WriteString(mask.Placeholder)
				}
				in = !in
			case !in:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	return mask.SQL(detail)
}

// unredact turns pgaudit's own password redaction (PASSWORD <REDACTED>,
// which is not SQL) into a masked literal, so the statement still parses
// and is classified exactly (CREATE ROLE x LOGIN PASSWORD '***').
func unredact(text string) string {
	if !strings.Contains(text, "<REDACTED>") {
		return text
	}
	return strings.ReplaceAll(text, "<REDACTED>", mask.Placeholder)
}
