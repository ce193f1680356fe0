package azure

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// recPos is where a record was read: the document's first line, and the
// record's own line and index.
type recPos struct {
	file string
	off  int64 // offset of the line where the document starts
	line int64 // line where the record starts
	idx  int   // index among the records starting in that line
}

func (r recPos) id() string { return eventID(r.file, r.off, r.idx) }

// document handles one complete top-level JSON value: a records envelope
// or a single record.
func (p *Parser) document(doc []byte) {
	p.stats.Documents++
	elems, ok := recordsOf(doc)
	if !ok {
		p.record(doc, p.pos(0))
		return
	}
	// line numbers of the records, counted on from one record to the next
	line, from := p.docNo, 0
	for _, e := range elems {
		line += int64(bytes.Count(doc[from:e.start], []byte{'\n'}))
		from = e.start
		if e.bad {
			p.recordErr(p.pos(line), "malformed record in the records array dropped")
			continue
		}
		p.record(doc[e.start:e.end], p.pos(line))
	}
}

// pos is the position of the next record of the document, which starts at
// line (0: the document's first line).
func (p *Parser) pos(line int64) recPos {
	if line == 0 {
		line = p.docNo
	}
	return recPos{file: p.docFile, off: p.docOff, line: line, idx: p.nextSeq(p.docFile, p.docOff)}
}

type span struct {
	start, end int
	bad        bool
}

// recordsOf finds the elements of a top-level "records" array. ok is false
// when doc is not such an envelope (then it is a record itself).
func recordsOf(doc []byte) (elems []span, ok bool) {
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != '"' {
			return nil, false
		}
		ks := i + 1
		ke := skipString(doc, i)
		if ke < 0 {
			return nil, false
		}
		key := doc[ks : ke-1]
		i = skipWS(doc, ke)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipWS(doc, i+1)
		if i < len(doc) && doc[i] == '[' && strings.EqualFold(string(key), "records") {
			return arrayElems(doc, i), true
		}
		i = skipValue(doc, i)
		if i < 0 {
			return nil, false
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return nil, false
		}
		i++
	}
}

// arrayElems splits the array starting at doc[i] == '['. An element whose
// end cannot be found ends the list with a bad element.
func arrayElems(doc []byte, i int) []span {
	var out []span
	i++
	for {
		i = skipWS(doc, i)
		for i < len(doc) && doc[i] == ',' {
			i = skipWS(doc, i+1)
		}
		if i >= len(doc) || doc[i] == ']' {
			return out
		}
		e := skipValue(doc, i)
		if e < 0 {
			return append(out, span{start: i, bad: true})
		}
		out = append(out, span{start: i, end: e})
		i = e
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		case '\n':
			return -1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or
// -1. Scalars run to the next delimiter; objects and arrays to their
// matching close (strings aware). It does not validate.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := skipString(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// envelope is the common schema of resource logs and activity-log records
// (keys are matched case-insensitively).
type envelope struct {
	Time            jstr            `json:"time"`
	TimeGenerated   jstr            `json:"TimeGenerated"`
	EventTimestamp  jstr            `json:"eventTimestamp"`
	ResourceID      jstr            `json:"resourceId"`
	Category        jstr            `json:"category"`
	OperationName   jstr            `json:"operationName"`
	ResultType      jstr            `json:"resultType"`
	ResultSignature jstr            `json:"resultSignature"`
	Status          jstr            `json:"status"`
	CallerIPAddress jstr            `json:"callerIpAddress"`
	Caller          jstr            `json:"caller"`
	CorrelationID   jstr            `json:"correlationId"`
	Level           jstr            `json:"level"`
	Identity        json.RawMessage `json:"identity"`
	Properties      json.RawMessage `json:"properties"`
}

// jstr is a JSON value read as a string: strings as they are, numbers and
// booleans as written, null as "", objects and arrays as their JSON text
// (or, for an object with a "value" key, that value: the REST form of
// status).
type jstr string

func (s *jstr) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		if bytes.IndexByte(b, '\\') < 0 {
			*s = jstr(b[1 : len(b)-1])
			return nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jstr(v)
	case 'n':
		*s = ""
	case '{':
		var v struct {
			Value jstr `json:"value"`
		}
		if json.Unmarshal(b, &v) == nil && v.Value != "" {
			*s = v.Value
			return nil
		}
		*s = jstr(b)
	default:
		*s = jstr(b)
	}
	return nil
}

func (s jstr) String() string { return string(s) }

// int returns the value as an integer (a float is truncated); ok is false
// when it is not a number.
func (s jstr) int() (int64, bool) {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > -9.2e18 && f < 9.2e18 {
		return int64(f), true
	}
	return 0, false
}

// float returns the value as a float.
func (s jstr) float() (float64, bool) {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// nonzero: a number other than 0, or any non-numeric non-empty text.
func (s jstr) nonzero() bool {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f != 0
	}
	return true
}

// msToNanos converts a duration in (possibly fractional) milliseconds.
func msToNanos(s jstr) int64 {
	f, ok := s.float()
	if !ok || f < 0 || f > 1e12 {
		return 0
	}
	return int64(f * 1e6)
}

// parseTime reads an Azure time stamp (RFC 3339 with up to 7 fractional
// digits; sometimes without zone, which is UTC).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	// 1/2/2026 3:04:05 AM (some exports)
	if t, err := time.Parse("1/2/2006 3:04:05 PM", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// record decodes one record and dispatches it on its category. The
// category is looked up in the raw text first, so that the envelope and
// the category's properties are decoded in one pass; when that guess is
// wrong (or the properties are flattened into the record, as in
// AzureDiagnostics exports) the envelope is decoded first and the
// properties after.
func (p *Parser) record(raw []byte, pos recPos) {
	var env envelope
	var decoded any
	cat := strings.ToLower(sniffCategory(raw))
	if props := newProps(cat); props != nil && hasProperties(raw) {
		x := struct {
			*envelope
			Properties any `json:"properties"`
		}{&env, props}
		if err := json.Unmarshal(raw, &x); err != nil {
			p.recordErr(pos, "not a JSON record: %v", err)
			return
		}
		if strings.EqualFold(string(env.Category), cat) {
			decoded = props
		} else {
			env = envelope{}
		}
	}
	if decoded == nil {
		if err := json.Unmarshal(raw, &env); err != nil {
			p.recordErr(pos, "not a JSON record: %v", err)
			return
		}
	}
	p.stats.Records++
	ts := env.Time
	if ts == "" {
		ts = env.TimeGenerated
	}
	if ts == "" {
		ts = env.EventTimestamp
	}
	t, ok := parseTime(string(ts))
	if !ok {
		p.recordErr(pos, "record without a valid time (%q)", clip([]byte(ts), -1))
		return
	}
	props := env.Properties
	if decoded == nil && (len(props) == 0 || props[0] != '{') {
		// AzureDiagnostics exports flatten the properties into the record
		props = raw
	}
	r := &rec{env: &env, props: props, decoded: decoded, raw: raw, t: t, pos: pos}
	switch strings.ToLower(string(env.Category)) {
	case "postgresqllogs":
		p.postgres(r)
	case "mysqlauditlogs":
		p.mysqlAudit(r)
	case "mysqlslowlogs":
		p.mysqlSlow(r)
	case "dataplanerequests", "mongorequests", "cassandrarequests", "gremlinrequests", "tablerequests":
		p.cosmosDataPlane(r)
	case "queryruntimestatistics":
		p.cosmosQueryText(r)
	case "controlplanerequests":
		p.cosmosControlPlane(r)
	case "administrative", "security", "policy", "alert", "recommendation", "servicehealth", "resourcehealth", "autoscale":
		p.activity(r)
	default:
		if strings.Contains(string(env.OperationName), "/") && env.ResourceID != "" {
			p.activity(r) // an ARM operation under another category name
			return
		}
		p.stats.Ignored++
	}
}

// newProps returns a value to decode the properties of a category into.
func newProps(cat string) any {
	switch cat {
	case "postgresqllogs":
		return new(pgProps)
	case "mysqlauditlogs", "mysqlslowlogs":
		return new(mysqlProps)
	case "dataplanerequests", "mongorequests", "cassandrarequests", "gremlinrequests", "tablerequests":
		return new(dpProps)
	case "queryruntimestatistics":
		return new(qrsProps)
	case "controlplanerequests":
		return new(cpProps)
	case "administrative", "security", "policy", "alert", "recommendation", "servicehealth", "resourcehealth", "autoscale":
		return new(actProps)
	}
	return nil
}

// props decodes r's properties into dst: a copy of what the one-pass
// decode produced, or a decode of the raw properties.
func props[T any](r *rec, dst *T) error {
	if v, ok := r.decoded.(*T); ok {
		*dst = *v
		return nil
	}
	if len(r.props) == 0 || r.props[0] != '{' {
		return nil
	}
	return json.Unmarshal(r.props, dst)
}

// sniffCategory finds the value of the first "category" key in a record's
// text (a guess: the decode checks it).
func sniffCategory(raw []byte) string {
	i := bytes.Index(raw, []byte(`"category"`))
	if j := bytes.Index(raw, []byte(`"Category"`)); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return ""
	}
	k := skipWS(raw, i+10)
	if k >= len(raw) || raw[k] != ':' {
		return ""
	}
	k = skipWS(raw, k+1)
	if k >= len(raw) || raw[k] != '"' {
		return ""
	}
	e := bytes.IndexByte(raw[k+1:], '"')
	if e < 0 || e > 64 {
		return ""
	}
	return string(raw[k+1 : k+1+e])
}

// hasProperties: the record has a properties object (not flattened).
func hasProperties(raw []byte) bool {
	return bytes.Contains(raw, []byte(`"properties"`)) || bytes.Contains(raw, []byte(`"Properties"`))
}

// rec is a decoded envelope with its raw properties.
type rec struct {
	env     *envelope
	props   json.RawMessage
	decoded any // the properties, when decoded with the envelope
	raw     []byte
	t       time.Time
	pos     recPos
}

// resource normalizes a resource id for server.address: upper case, cut
// after the server or account (the rest, e.g. /SQLDATABASES/DB/CONTAINERS/C,
// is returned as child), and without a trailing lock or diagnostic setting
// that names the resource it protects or watches.
func resource(id string) (server, child string) {
	u := strings.ToUpper(strings.TrimSpace(id))
	for _, suffix := range []string{"/PROVIDERS/MICROSOFT.AUTHORIZATION/LOCKS/", "/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/"} {
		if i := strings.LastIndex(u, suffix); i > 0 {
			u = u[:i]
		}
	}
	for _, anchor := range []string{
		"/PROVIDERS/MICROSOFT.DOCUMENTDB/DATABASEACCOUNTS/",
		"/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/",
		"/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/SERVERS/",
		"/PROVIDERS/MICROSOFT.DBFORMYSQL/FLEXIBLESERVERS/",
		"/PROVIDERS/MICROSOFT.DBFORMYSQL/SERVERS/",
		"/PROVIDERS/MICROSOFT.DBFORMARIADB/SERVERS/",
	} {
		i := strings.Index(u, anchor)
		if i < 0 {
			continue
		}
		rest := u[i+len(anchor):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return u[:i+len(anchor)+j], rest[j:]
		}
		return u, ""
	}
	return u, ""
}

// system is db.system.name for a resource id or operation name.
func system(s string) string {
	u := strings.ToUpper(s)
	switch {
	case strings.Contains(u, "MICROSOFT.DOCUMENTDB"):
		return "cosmosdb"
	case strings.Contains(u, "MICROSOFT.DBFORPOSTGRESQL"):
		return "postgresql"
	case strings.Contains(u, "MICROSOFT.DBFORMYSQL"):
		return "mysql"
	case strings.Contains(u, "MICROSOFT.DBFORMARIADB"):
		return "mariadb"
	}
	return ""
}

// childNames reads db.namespace and db.collection.name from the child path
// of a resource id (/SQLDATABASES/DB/CONTAINERS/C, /TABLES/T,
// /DATABASES/DB ...). The names are in the upper case of the resource id
// when it came from a resource log; the original spelling is kept from
// orig when the id was given in mixed case.
func childNames(orig, child string) (ns string, coll []string) {
	if child == "" {
		return "", nil
	}
	// take the names from the original spelling: same length and positions
	oc := child
	if len(orig) >= len(child) {
		if i := strings.Index(strings.ToUpper(orig), child); i >= 0 {
			oc = orig[i : i+len(child)]
		}
	}
	segs := strings.Split(strings.Trim(oc, "/"), "/")
	for i := 0; i+1 < len(segs); i += 2 {
		kind, name := strings.ToLower(segs[i]), segs[i+1]
		switch kind {
		case "sqldatabases", "mongodbdatabases", "cassandrakeyspaces", "gremlindatabases", "databases":
			ns = name
		case "containers", "collections", "tables", "graphs":
			coll = []string{name}
		}
	}
	return ns, coll
}
