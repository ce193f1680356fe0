package azure

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/mask"
)

// dpProps are the properties of a Cosmos DB DataPlaneRequests record (also
// MongoRequests, CassandraRequests, GremlinRequests, TableRequests; the
// CDBDataPlaneRequests column names match case-insensitively).
type dpProps struct {
	ActivityID          jstr `json:"activityId"`
	OperationName       jstr `json:"operationName"`
	RequestResourceType jstr `json:"requestResourceType"`
	StatusCode          jstr `json:"statusCode"`
	ErrorCode           jstr `json:"errorCode"`
	Duration            jstr `json:"duration"`
	DurationMs          jstr `json:"durationMs"`
	UserAgent           jstr `json:"userAgent"`
	ClientIPAddress     jstr `json:"clientIpAddress"`
	RequestCharge       jstr `json:"requestCharge"`
	RequestLength       jstr `json:"requestLength"`
	ResponseLength      jstr `json:"responseLength"`
	DatabaseName        jstr `json:"databaseName"`
	CollectionName      jstr `json:"collectionName"`
	KeyType             jstr `json:"keyType"`
	AuthTokenType       jstr `json:"authTokenType"`
	AadPrincipalID      jstr `json:"aadPrincipalId"`
	ResourceTokenUser   jstr `json:"resourceTokenUserRid"`
	OpCode              jstr `json:"opCode"`
}

// qrsProps are the properties of a QueryRuntimeStatistics record.
type qrsProps struct {
	ActivityID     jstr `json:"activityId"`
	DatabaseName   jstr `json:"databaseName"`
	CollectionName jstr `json:"collectionName"`
	QueryText      jstr `json:"querytext"`
}

// cpProps are the properties of a ControlPlaneRequests record.
type cpProps struct {
	ActivityID     jstr `json:"activityId"`
	HTTPStatusCode jstr `json:"httpstatusCode"`
	Result         jstr `json:"result"`
	HTTPMethod     jstr `json:"httpMethod"`
	APIKind        jstr `json:"apiKind"`
	ResourceType   jstr `json:"apiKindResourceType"`
	OperationType  jstr `json:"operationType"`
	DatabaseName   jstr `json:"databaseName"`
	CollectionName jstr `json:"collectionName"`
}

// cosmosBase builds the fields every Cosmos DB event has.
func cosmosBase(r *rec) *event.Event {
	ev := &event.Event{}
	ev.ID = r.pos.id()
	ev.Time = r.t
	ev.Source.Kind = KindResource
	ev.DB.System.Name = "cosmosdb"
	ev.Server.Address, _ = resource(string(r.env.ResourceID))
	ev.Log.File, ev.Log.Line = r.pos.file, r.pos.line
	return ev
}

// httpOutcome: 1xx-3xx succeed (304 Not Modified included), the rest fail.
func httpOutcome(code string) string {
	code = strings.TrimSpace(code)
	if len(code) != 3 || code[0] < '1' || code[0] > '5' {
		return ""
	}
	if code[0] <= '3' {
		return event.OutcomeSuccess
	}
	return event.OutcomeFailure
}

// queryOp: data-plane operations that run a query (and so may get a
// QueryRuntimeStatistics record with their text).
func queryOp(op string) bool {
	switch strings.ToLower(op) {
	case "query", "sqlquery", "jsquery":
		return true
	}
	return false
}

// cosmosDataPlane maps a data-plane request.
func (p *Parser) cosmosDataPlane(r *rec) {
	var d dpProps
	if err := props(r, &d); err != nil {
		p.recordErr(r.pos, "%s properties: %v", r.env.Category, err)
		return
	}
	ev := cosmosBase(r)
	op := strings.TrimSpace(string(r.env.OperationName))
	if op == "" {
		op = strings.TrimSpace(string(d.OperationName))
	}
	if op == "" {
		op = strings.TrimSpace(string(d.OpCode))
	}
	ev.Event.Category = event.CategoryDataPlane
	ev.Event.Action = strings.ToLower(op)
	ev.DB.Operation.Name = op
	ev.DB.Object.Type = string(d.RequestResourceType)
	ev.Session.ID = string(d.ActivityID)
	ev.DB.Response.StatusCode = strings.TrimSpace(string(d.StatusCode))
	if ev.DB.Response.StatusCode == "" && d.ErrorCode.nonzero() {
		ev.DB.Response.StatusCode = string(d.ErrorCode)
	}
	ev.Event.Outcome = httpOutcome(ev.DB.Response.StatusCode)
	if ev.Event.Outcome == "" && d.ErrorCode != "" {
		ev.Event.Outcome = event.OutcomeSuccess
		if d.ErrorCode.nonzero() {
			ev.Event.Outcome = event.OutcomeFailure
		}
	}
	dur := d.Duration
	if dur == "" {
		dur = d.DurationMs
	}
	if dur == "" {
		if v, ok := r.env.durationMs(r.raw); ok {
			dur = v
		}
	}
	ev.Event.Duration = msToNanos(dur)
	if n, ok := d.ResponseLength.int(); ok && n > 0 {
		ev.DB.Response.Bytes = n
	}
	ev.Client.Address = strings.TrimSpace(string(d.ClientIPAddress))
	ev.App.Name = string(d.UserAgent)
	ev.DB.Namespace = string(d.DatabaseName)
	if d.CollectionName != "" {
		ev.DB.Collection.Name = []string{string(d.CollectionName)}
	}
	switch {
	case d.AadPrincipalID != "":
		ev.User.Name = string(d.AadPrincipalID)
	case d.KeyType != "":
		ev.User.Name = string(d.KeyType)
	case d.AuthTokenType != "":
		ev.User.Name = string(d.AuthTokenType)
	case d.ResourceTokenUser != "":
		ev.User.Name = string(d.ResourceTokenUser)
	}
	p.cosmos.seenRequest(ev.Time)
	if queryOp(op) && ev.Session.ID != "" {
		p.cosmos.request(ev, r.pos)
		return
	}
	p.out(ev)
}

// durationMs is the envelope's durationMs, if any.
func (e *envelope) durationMs(raw []byte) (jstr, bool) {
	var v struct {
		DurationMs jstr `json:"durationMs"`
	}
	if json.Unmarshal(raw, &v) != nil || v.DurationMs == "" {
		return "", false
	}
	return v.DurationMs, true
}

// cosmosQueryText maps a QueryRuntimeStatistics record: the text of a
// query, joined to its request.
func (p *Parser) cosmosQueryText(r *rec) {
	var q qrsProps
	if err := props(r, &q); err != nil {
		p.recordErr(r.pos, "QueryRuntimeStatistics properties: %v", err)
		return
	}
	text := queryText(string(q.QueryText))
	qt := &queryRec{
		t: r.t, pos: r.pos, activity: string(q.ActivityID), db: string(q.DatabaseName), coll: string(q.CollectionName),
		text: mask.SQL(text), inj: injection(text), server: "",
	}
	qt.server, _ = resource(string(r.env.ResourceID))
	if qt.activity == "" {
		p.emitQuery(qt)
		return
	}
	p.cosmos.queryText(qt)
}

// queryText extracts the query from the querytext property, which is the
// JSON of the request body ({"query":"SELECT ...","parameters":[...]}), or
// plain text.
func queryText(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") {
		var v struct {
			Query string `json:"query"`
		}
		if json.Unmarshal([]byte(t), &v) == nil && v.Query != "" {
			return v.Query
		}
	}
	return s
}

// cosmosControlPlane maps a ControlPlaneRequests record.
func (p *Parser) cosmosControlPlane(r *rec) {
	var c cpProps
	if err := props(r, &c); err != nil {
		p.recordErr(r.pos, "ControlPlaneRequests properties: %v", err)
		return
	}
	ev := cosmosBase(r)
	op := strings.TrimSpace(string(r.env.OperationName))
	ev.Event.Category = event.CategoryControlPlane
	ev.Event.Action = strings.ToLower(op)
	ev.DB.Operation.Name = op
	ev.Session.ID = string(c.ActivityID)
	ev.DB.Response.StatusCode = strings.TrimSpace(string(c.HTTPStatusCode))
	ev.Event.Outcome = httpOutcome(ev.DB.Response.StatusCode)
	switch strings.ToLower(string(c.Result)) {
	case "failed", "failure":
		ev.Event.Outcome = event.OutcomeFailure
	}
	ev.DB.Object.Type = string(c.ResourceType)
	ev.DB.Namespace = string(c.DatabaseName)
	if c.CollectionName != "" {
		ev.DB.Collection.Name = []string{string(c.CollectionName)}
	}
	p.out(ev)
}

// --- the activityId join ---

// queryRec is a query text waiting for its request.
type queryRec struct {
	t                  time.Time
	pos                recPos
	activity, db, coll string
	server             string
	text               string // masked
	inj                []string
	prev, next         *queryRec
	inList             bool
}

// pendingReq is a query request waiting for its text.
type pendingReq struct {
	ev         *event.Event
	pos        recPos
	prev, next *pendingReq
}

// joiner pairs DataPlaneRequests query requests with their
// QueryRuntimeStatistics records by activityId, in either order. Each side
// waits (in insertion order) until the other side's records have moved
// JoinWindow past it in event time, its own side has moved MaxHold past it,
// MaxPending is exceeded, or Flush.
type joiner struct {
	p                  *Parser
	reqs               map[string]*pendingReq
	rHead, rTail       *pendingReq
	texts              map[string]*queryRec
	tHead, tTail       *queryRec
	reqTime, textTime  time.Time // latest event time of each side
	reqCount, txtCount int
	// recently joined activities: a cross-partition query has several
	// requests and statistics records with one activityId; the later ones
	// take the text, or are dropped as repeats of it (bounded ring)
	recent     map[string]*queryRec
	recentRing [4096]string
	recentPos  int
}

func (j *joiner) init(p *Parser) {
	j.p = p
	j.reqs = map[string]*pendingReq{}
	j.texts = map[string]*queryRec{}
	j.recent = map[string]*queryRec{}
}

// remember records a joined query text under its key.
func (j *joiner) remember(key string, q *queryRec) {
	if _, ok := j.recent[key]; ok {
		return
	}
	if old := j.recentRing[j.recentPos]; old != "" {
		delete(j.recent, old)
	}
	j.recentRing[j.recentPos] = key
	j.recentPos = (j.recentPos + 1) % len(j.recentRing)
	j.recent[key] = q
}

func joinKey(server, activity string) string { return server + "\x00" + strings.ToLower(activity) }

// seenRequest advances the requests' event time (every data-plane record
// counts, not only queries).
func (j *joiner) seenRequest(t time.Time) {
	if t.After(j.reqTime) {
		j.reqTime = t
	}
}

// request handles a query request: joined with a waiting text, or held.
func (j *joiner) request(ev *event.Event, pos recPos) {
	key := joinKey(ev.Server.Address, ev.Session.ID)
	if q := j.texts[key]; q != nil {
		j.removeText(q)
		j.remember(key, q)
		j.p.stats.Joined++
		fillQuery(ev, q)
		j.p.out(ev)
		return
	}
	if q := j.recent[key]; q != nil {
		// another partition's request of a query already joined
		j.p.stats.Joined++
		fillQuery(ev, q)
		j.p.out(ev)
		return
	}
	if old := j.reqs[key]; old != nil {
		// the same activity twice (retries): release the first
		j.removeReq(old)
		j.p.stats.Unmatched++
		j.p.out(old.ev)
	}
	pr := &pendingReq{ev: ev, pos: pos}
	j.reqs[key] = pr
	pr.prev = j.rTail
	if j.rTail != nil {
		j.rTail.next = pr
	} else {
		j.rHead = pr
	}
	j.rTail = pr
	j.reqCount++
	for j.reqCount > j.p.opts.MaxPending {
		j.releaseReq(j.rHead)
	}
}

// queryText handles a query text: joined with a waiting request, or held.
func (j *joiner) queryText(q *queryRec) {
	if q.t.After(j.textTime) {
		j.textTime = q.t
	}
	key := joinKey(q.server, q.activity)
	if pr := j.reqs[key]; pr != nil {
		j.removeReq(pr)
		j.remember(key, q)
		j.p.stats.Joined++
		fillQuery(pr.ev, q)
		j.p.out(pr.ev)
		return
	}
	if old := j.recent[key]; old != nil && old.text == q.text {
		// another partition's statistics of a query already joined
		j.p.stats.Repeats++
		return
	}
	if old := j.texts[key]; old != nil {
		// a second statistics record of the same query (one per partition
		// range): the text is the same, keep the first
		if old.text == q.text {
			j.p.stats.Repeats++
			return
		}
		j.removeText(old)
		j.p.stats.Unmatched++
		j.p.emitQuery(old)
	}
	j.texts[key] = q
	q.prev = j.tTail
	if j.tTail != nil {
		j.tTail.next = q
	} else {
		j.tHead = q
	}
	j.tTail = q
	q.inList = true
	j.txtCount++
	for j.txtCount > j.p.opts.MaxPending {
		j.releaseText(j.tHead)
	}
}

func (j *joiner) removeReq(pr *pendingReq) {
	if pr.prev != nil {
		pr.prev.next = pr.next
	} else {
		j.rHead = pr.next
	}
	if pr.next != nil {
		pr.next.prev = pr.prev
	} else {
		j.rTail = pr.prev
	}
	pr.prev, pr.next = nil, nil
	delete(j.reqs, joinKey(pr.ev.Server.Address, pr.ev.Session.ID))
	j.reqCount--
}

func (j *joiner) removeText(q *queryRec) {
	if !q.inList {
		return
	}
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		j.tHead = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		j.tTail = q.prev
	}
	q.prev, q.next, q.inList = nil, nil, false
	delete(j.texts, joinKey(q.server, q.activity))
	j.txtCount--
}

func (j *joiner) releaseReq(pr *pendingReq) {
	j.removeReq(pr)
	j.p.stats.Unmatched++
	j.p.out(pr.ev)
}

func (j *joiner) releaseText(q *queryRec) {
	j.removeText(q)
	j.p.stats.Unmatched++
	j.p.emitQuery(q)
}

// expire releases what waited long enough (see joiner).
func (j *joiner) expire() {
	w, h := j.p.opts.JoinWindow, j.p.opts.MaxHold
	for pr := j.rHead; pr != nil; pr = j.rHead {
		t := pr.ev.Time
		if (!j.textTime.IsZero() && j.textTime.Sub(t) > w) || j.reqTime.Sub(t) > h {
			j.releaseReq(pr)
			continue
		}
		break
	}
	for q := j.tHead; q != nil; q = j.tHead {
		if (!j.reqTime.IsZero() && j.reqTime.Sub(q.t) > w) || j.textTime.Sub(q.t) > h {
			j.releaseText(q)
			continue
		}
		break
	}
}

// flush releases everything held, in arrival order.
func (j *joiner) flush() {
	for j.rHead != nil {
		j.releaseReq(j.rHead)
	}
	for j.tHead != nil {
		j.releaseText(j.tHead)
	}
}

// pending is the input position of the oldest held record.
func (j *joiner) pending() (off, no int64, ok bool) {
	keep := func(p recPos) {
		if !ok || p.off < off {
			off, no, ok = p.off, p.line, true
		}
	}
	for pr := j.rHead; pr != nil; pr = pr.next {
		keep(pr.pos)
	}
	for q := j.tHead; q != nil; q = q.next {
		keep(q.pos)
	}
	return off, no, ok
}

// fillQuery puts a query text into its request's event.
func fillQuery(ev *event.Event, q *queryRec) {
	ev.DB.Query.Text = q.text
	ev.SQL.Injection = q.inj
	if ev.DB.Namespace == "" {
		ev.DB.Namespace = q.db
	}
	if len(ev.DB.Collection.Name) == 0 && q.coll != "" {
		ev.DB.Collection.Name = []string{q.coll}
	}
}

// emitQuery emits a query text without its request.
func (p *Parser) emitQuery(q *queryRec) {
	ev := &event.Event{}
	ev.ID = q.pos.id()
	ev.Time = q.t
	ev.Source.Kind = KindResource
	ev.DB.System.Name = "cosmosdb"
	ev.Server.Address = q.server
	ev.Log.File, ev.Log.Line = q.pos.file, q.pos.line
	ev.Event.Category = event.CategoryDataPlane
	ev.Event.Action = "query"
	ev.DB.Operation.Name = "Query"
	ev.Session.ID = q.activity
	ev.DB.Namespace = q.db
	if q.coll != "" {
		ev.DB.Collection.Name = []string{q.coll}
	}
	ev.DB.Query.Text = q.text
	ev.SQL.Injection = q.inj
	p.out(ev)
}
