// Package azure parses Azure Monitor logs of the databases Vigil watches:
// resource logs of Azure Database for PostgreSQL flexible server
// (PostgreSQLLogs), Azure Database for MySQL flexible server
// (MySqlAuditLogs, MySqlSlowLogs), Azure Cosmos DB (DataPlaneRequests,
// QueryRuntimeStatistics, ControlPlaneRequests, and the Mongo/Cassandra/
// Gremlin request categories as data-plane events), and the Azure Activity
// Log (category Administrative and the other activity categories).
//
// # Input
//
// Azure Monitor writes the same records in two shapes, and the parser reads
// both, mixed, in any category:
//
//   - {"records":[ {...}, ... ]} documents: Event Hubs message bodies and
//     older storage blobs. A document may be one huge line, pretty-printed
//     over many lines, or (from Kafka) one parse.Line holding a whole
//     multi-line document.
//   - one record per line (storage append blobs since 2018), sometimes
//     separated by commas or wrapped in [ ].
//
// Lines are accumulated until a JSON value is complete. The buffer is
// bounded (Options.MaxDocBytes, 16 MiB): beyond it the value is dropped
// with an error and the parser resynchronizes. A value that cannot be
// complete (a string running to the end of its line, an object left open
// when a new compact record starts in column 0) is reported and dropped; the
// records after it are still read. Inside a records document each record is
// decoded on its own, so a bad record costs only itself.
//
// # Events
//
// Every event has source.kind "azure_resource_log" (resource logs) or
// "azure_activity" (Activity Log), server.address the Azure resource id of
// the server or account (upper case, as resource logs spell it; child
// resources such as containers, databases, locks and diagnostic settings
// are cut off and go to db.namespace / db.collection.name), time from the
// record (UTC; PostgreSQL events keep the time of their log line), and an
// id that is a hash of the input file, the offset of the line where the
// document starts and the index of the record in it. Text that may hold
// SQL or secrets is masked (stmt/mask) before it leaves the parser.
//
//   - PostgreSQLLogs: properties.message holds the PostgreSQL log line with
//     its log_line_prefix (Azure's default %t-%c-; single server sends the
//     prefix apart in properties.prefix); properties.detail and sqlerrcode
//     are folded back in. The lines go through one pglog stderr parser per
//     resource, so the session join (user and client of a %t-%c- line come
//     from its session's "connection received"/"connection authorized"
//     lines), failed logins, pgaudit records and statement merging work as
//     for any PostgreSQL log. db.system.name "postgresql".
//   - MySqlAuditLogs: connection_log CONNECT / CHANGE USER (failed when
//     status or error_code is not 0: event.action login_failed) and
//     DISCONNECT; general_log statements (error_code ≠ 0: category error);
//     table_access_log READ/INSERT/UPDATE/DELETE with the table in
//     db.collection.name. MySqlSlowLogs: statements with their duration and
//     rows_sent (db.response.returned_rows). db.system.name "mysql"; the
//     pipeline classifies db.query.text with the MySQL classifier.
//   - Cosmos DB DataPlaneRequests: event.category data_plane, event.action
//     the operation name in lower case (create, read, query, delete, ...),
//     db.operation.name as Azure spells it, db.object.type the
//     requestResourceType (Document, Collection, ...), user.name the AAD
//     principal id or else the key type / auth token type, client.address,
//     app.name the user agent, db.response.bytes the responseLength,
//     session.id the activityId. QueryRuntimeStatistics (the query text)
//     is joined to its DataPlaneRequests record by activityId, whichever
//     comes first; see Options.JoinWindow. A query request whose text never
//     comes, and a text whose request never comes (it then has no client
//     address), are emitted alone when the window passes or at Flush:
//     nothing is lost. The several requests and statistics records of a
//     cross-partition query (one activityId) all get the text; repeated
//     statistics are dropped (Stats.Repeats). The query text is masked and
//     checked for injection shapes (sql.injection), since the pipeline does
//     not classify Cosmos SQL.
//   - ControlPlaneRequests: event.category control_plane, event.action the
//     operation name in lower case (accountupdatestart,
//     sqlcontainersupdate, ...), session.id the activityId.
//   - Activity Log: event.category control_plane, event.action the ARM
//     operation name in lower case
//     (microsoft.documentdb/databaseaccounts/listkeys/action), user.name
//     the caller (caller, else the identity's upn/name/appid claims, else
//     the principal id), client.address callerIpAddress, event.outcome from
//     resultType/status (Start and other in-between states leave it empty),
//     session.id the correlationId.
//
// Records of other categories (PostgreSQLFlexSessions, PartitionKeyStatistics,
// metrics ...) are counted in Stats.Ignored.
package azure

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// Source kinds.
const (
	KindResource = "azure_resource_log"
	KindActivity = "azure_activity"
)

// FormatName is the input format name.
const FormatName = "azure"

func init() {
	parse.Register(parse.Format{
		Name: FormatName,
		Description: `Azure Monitor resource logs and Activity Log ({"records":[...]} documents or one record per line): ` +
			`PostgreSQLLogs, MySqlAuditLogs, MySqlSlowLogs, Cosmos DB DataPlaneRequests/QueryRuntimeStatistics/ControlPlaneRequests, Administrative`,
		Detect: Detect,
		New: func(o parse.Options) (parse.Parser, error) {
			return New(Options{PGPrefix: o.Prefix}), nil
		},
	})
}

// Options tune a Parser; the zero value means the defaults.
type Options struct {
	// PGPrefix is the log_line_prefix of the PostgreSQL servers; default
	// Azure's "%t-%c-" (the common prefixes are tried as fallbacks).
	PGPrefix string
	// MaxDocBytes bounds one JSON value being assembled. Default 16 MiB.
	MaxDocBytes int
	// JoinWindow: a Cosmos query request (DataPlaneRequests) and its query
	// text (QueryRuntimeStatistics) wait for each other until the other
	// category's records have moved JoinWindow past them in event time, or
	// until their own category has moved MaxHold past them. Defaults 5m
	// and 15m.
	JoinWindow time.Duration
	MaxHold    time.Duration
	// MaxPending bounds the records waiting for a join partner (each side);
	// the oldest is released beyond it. Default 65536.
	MaxPending int
	// MaxResources bounds the PostgreSQL servers tracked at once (one
	// pglog parser each). Default 4096.
	MaxResources int
}

func (o Options) withDefaults() Options {
	if o.PGPrefix == "" {
		o.PGPrefix = "%t-%c-"
	}
	if o.MaxDocBytes <= 0 {
		o.MaxDocBytes = 16 << 20
	}
	if o.JoinWindow <= 0 {
		o.JoinWindow = 5 * time.Minute
	}
	if o.MaxHold <= 0 {
		o.MaxHold = 15 * time.Minute
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 65536
	}
	if o.MaxResources <= 0 {
		o.MaxResources = 4096
	}
	return o
}

// Stats counts what a Parser did.
type Stats struct {
	Documents int64 // complete JSON values read
	Records   int64 // records decoded
	Events    int64 // events emitted by the parser itself (PostgreSQL events are counted by pglog)
	Ignored   int64 // records of categories or kinds that are not activity
	Joined    int64 // Cosmos query requests joined with their query text
	Unmatched int64 // Cosmos requests or query texts emitted without their partner
	Repeats   int64 // Cosmos query statistics repeated per partition, dropped (their text is in the event already)
	Errors    int64 // values or records that could not be read
}

// Parser reads Azure Monitor records. It implements parse.Parser; it is not
// safe for concurrent use.
type Parser struct {
	opts  Options
	emit  parse.Emit
	stats Stats

	// framing state of the JSON value being assembled
	buf            []byte
	active         bool
	depth          int
	inStr, esc     bool
	atLineStart    bool
	docFile        string
	docOff, docNo  int64
	seqFile        string
	seqOff         int64
	seq            int
	errs           []error
	skipLine       bool // the rest of the physical line belongs to a dropped value
	pg             map[string]*pgServer
	pgOrder        []string
	cosmos         joiner
	curFile        string
	curOff, curNo  int64
	lastRecordTime time.Time
}

var _ parse.Parser = (*Parser)(nil)

// New returns a parser.
func New(o Options) *Parser {
	p := &Parser{opts: o.withDefaults(), pg: map[string]*pgServer{}}
	p.cosmos.init(p)
	return p
}

// Stats returns the counters so far.
func (p *Parser) Stats() Stats { return p.stats }

// Parse consumes one line (which may hold several records, a whole
// document, or a piece of one).
func (p *Parser) Parse(l parse.Line, emit parse.Emit) error {
	p.emit = emit
	p.errs = p.errs[:0]
	if !p.active {
		// A new line starts the numbering of the records that start in
		// it again, even at the same (file, offset): a line delivered
		// twice (Kafka, an HTTP client resending) gets the same event ids,
		// so the store drops the copy.
		p.seqFile, p.seqOff, p.seq = "", -1, 0
	}
	p.curFile, p.curOff, p.curNo = l.File, l.Offset, l.No
	text := l.Text
	lineNo := l.No
	p.atLineStart = true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if p.atLineStart {
			p.atLineStart = false
			// A compact record starting in column 0 while a value is still
			// open: the open one was broken (NDJSON with a truncated line).
			if p.active && c == '{' && i+1 < len(text) && text[i+1] == '"' {
				p.fail(fmt.Errorf("%s:%d: incomplete JSON value dropped (a new record starts at line %d)", p.docFile, p.docNo, lineNo))
			}
		}
		if p.skipLine && c != '\n' {
			continue
		}
		if c == '\n' {
			p.skipLine = false
			if p.active && p.inStr {
				p.fail(fmt.Errorf("%s:%d: JSON string runs past the end of line %d", p.docFile, p.docNo, lineNo))
			} else if p.active {
				p.buf = append(p.buf, '\n')
			}
			lineNo++
			p.atLineStart = true
			continue
		}
		if !p.active {
			switch c {
			case ' ', '\t', '\r', ',', '[', ']', 0xEF, 0xBB, 0xBF, 0:
				continue
			case '}':
				// the rest of a document whose start was dropped (reported then)
				continue
			case '{':
				p.active, p.depth, p.inStr, p.esc = true, 1, false, false
				p.buf = append(p.buf[:0], c)
				p.docFile, p.docOff, p.docNo = l.File, l.Offset, lineNo
				continue
			default:
				// garbage outside any value: skip the rest of this line
				j := bytes.IndexByte(text[i:], '\n')
				p.stats.Errors++
				p.errs = append(p.errs, fmt.Errorf("%s:%d: not an Azure log record (no JSON object): %q", l.File, lineNo, clip(text[i:], j)))
				if j < 0 {
					i = len(text)
				} else {
					i += j - 1
				}
				continue
			}
		}
		// inside a value: find the next byte that matters in one go
		if p.inStr {
			j := i
			for j < len(text) {
				b := text[j]
				if b == '\n' {
					break
				}
				if p.esc {
					p.esc = false
				} else if b == '\\' {
					p.esc = true
				} else if b == '"' {
					break
				}
				j++
			}
			p.buf = append(p.buf, text[i:j]...)
			if len(p.buf) > p.opts.MaxDocBytes {
				p.fail(fmt.Errorf("%s:%d: JSON value larger than %d bytes dropped", p.docFile, p.docNo, p.opts.MaxDocBytes))
				p.skipLine = true
				i = j - 1
				continue
			}
			if j >= len(text) {
				break
			}
			if text[j] == '\n' {
				i = j - 1
				continue
			}
			p.buf = append(p.buf, '"')
			p.inStr = false
			i = j
			continue
		}
		p.buf = append(p.buf, c)
		switch c {
		case '"':
			p.inStr = true
		case '{', '[':
			p.depth++
		case '}', ']':
			p.depth--
			if p.depth == 0 {
				p.active = false
				p.document(p.buf)
			}
		}
		if p.active && len(p.buf) > p.opts.MaxDocBytes {
			p.fail(fmt.Errorf("%s:%d: JSON value larger than %d bytes dropped", p.docFile, p.docNo, p.opts.MaxDocBytes))
			p.skipLine = true
		}
	}
	// the end of a line ends it as a '\n' would (the reader strips it)
	p.skipLine = false
	if p.active {
		if p.inStr {
			p.fail(fmt.Errorf("%s:%d: JSON string runs past the end of line %d", p.docFile, p.docNo, lineNo))
		} else {
			p.buf = append(p.buf, '\n')
		}
	}
	p.cosmos.expire()
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	default:
		return errors.Join(p.errs...)
	}
}

// fail drops the value being assembled.
func (p *Parser) fail(err error) {
	p.stats.Errors++
	p.errs = append(p.errs, err)
	p.active, p.inStr, p.esc, p.depth = false, false, false, 0
	p.buf = p.buf[:0]
	if cap(p.buf) > 1<<20 {
		p.buf = nil
	}
}

func clip(b []byte, end int) []byte {
	if end >= 0 && end < len(b) {
		b = b[:end]
	}
	if len(b) > 120 {
		b = b[:120]
	}
	return b
}

// Flush emits everything held: Cosmos requests and query texts waiting for
// their partner, and what the PostgreSQL parsers hold. An incomplete JSON
// value stays buffered (the source may continue it).
func (p *Parser) Flush(emit parse.Emit) {
	p.emit = emit
	p.cosmos.flush()
	for _, id := range p.pgOrder {
		if s := p.pg[id]; s != nil {
			s.p.Flush(s.emit)
		}
	}
}

// Pending returns the input position of the first line of the oldest
// record or event still held (parse.Holder): a reader that must not lose
// held events across a crash restarts there.
func (p *Parser) Pending() (offset, lineNo int64, ok bool) {
	keep := func(off, no int64) {
		if !ok || off < offset {
			offset, lineNo, ok = off, no, true
		}
	}
	if p.active {
		keep(p.docOff, p.docNo)
	}
	if off, no, has := p.cosmos.pending(); has {
		keep(off, no)
	}
	for _, id := range p.pgOrder {
		if s := p.pg[id]; s != nil {
			if off, no, has := s.p.Pending(); has {
				keep(off>>seqBits, no)
			}
		}
	}
	return offset, lineNo, ok
}

// seqBits: PostgreSQL lines are handed to pglog with the offset
// docOffset<<seqBits | record index, so that its ids differ per record.
const seqBits = 16

// nextSeq returns the index of the next record that starts in the line at
// (file, off): records of one document, and of several documents on one
// line, are numbered on.
func (p *Parser) nextSeq(file string, off int64) int {
	if file != p.seqFile || off != p.seqOff {
		p.seqFile, p.seqOff, p.seq = file, off, 0
	}
	n := p.seq
	p.seq++
	return n
}

// eventID is FNV-1a of file, offset and index, in hex.
func eventID(file string, off int64, idx int) string {
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
	for i := 0; i < 4; i++ {
		h ^= uint64(byte(idx >> (8 * i)))
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

// out emits an event the parser built itself.
func (p *Parser) out(ev *event.Event) {
	p.stats.Events++
	p.emit(ev)
}

// recordErr counts a record that could not be read.
func (p *Parser) recordErr(pos recPos, format string, a ...any) {
	p.stats.Errors++
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", pos.file, pos.line, fmt.Sprintf(format, a...)))
}
