// Package pglog parses PostgreSQL server logs — stderr with any
// log_line_prefix, csvlog and jsonlog — including the pgaudit records they
// carry, into Vigil events.
//
// The three formats feed one engine, so that the same activity logged in
// any of them yields the same events (TestCrossFormatSameEvents). The
// engine keeps a little state per session (session id, else pid):
//
// Logins. "connection received" records the client address and port, and
// "connection authorized" the user, database and application; later lines
// of the session that lack them (the Azure prefix %t-%c-) get them from
// there. The login event is held until the next line of the session:
// PostgreSQL logs "connection authorized" before it checks that the
// database and role exist, so a FATAL of the session turns it into a
// failed login; anything else releases it as a success. Authentication
// FATALs (SQLSTATE class 28, 3D000, any FATAL before the login is
// confirmed) are failed logins of the claimed user. "disconnection" is a
// logout and forgets the session.
//
// Statements. One statement is one event. A `statement:`/`execute` line
// opens it; the pgaudit records of the session that follow belong to it (a
// backend runs one statement at a time): all records with one STATEMENT_ID
// form one event, a new STATEMENT_ID starts the next event (multi-statement
// strings: one event per pgaudit statement, none for the statement line).
// pgaudit's text is used unless it is a placeholder. The statement ends —
// and its event is emitted — at its `duration:` line (whose duration it
// takes), at an ERROR/FATAL of the session (outcome failure when the error
// is about it: same text, or no text logged), at the next statement or
// disconnection of the session, at Flush, or when it has been held longer
// than Options.Hold in event time. A `duration: … statement: …` line
// (log_min_duration_statement) ends a pgaudit event with the same text, or
// is a statement event of its own. After an early release (Hold, Flush)
// the late duration line and late pgaudit records of that statement are
// dropped, never emitted a second time.
//
// Errors. ERROR, and FATAL/PANIC outside authentication, are error events
// (they count for error bursts) in addition to the failed statement.
// WARNING is an admin event; NOTICE, INFO and DEBUG are dropped.
//
// Server. Lines of background processes (start, stop, reload, parameter
// changes with sql.setting) are admin events; checkpoint, restartpoint,
// autovacuum/analyze and temporary-file noise, and the chatter of client
// sessions (lock waits, broken connections) are dropped and counted in
// Stats.Ignored.
//
// Session state is bounded by Options.MaxSessions (least recently active
// evicted, its pending events released). Every text that may contain SQL or
// secrets goes through mask.SQL before it leaves the parser.
//
// Messages are expected in English (lc_messages = C/en), as tools that read
// PostgreSQL logs require.
package pglog

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vigildb/vigil/parse"
)

// Format names, as the CLI and the pipeline spell them.
const (
	FormatStderr = "stderr"
	FormatCSV    = "csvlog"
	FormatJSON   = "jsonlog"
)

// Options tune a Parser; the zero value means the defaults.
type Options struct {
	// Hold is how long (in event time) a login or statement waits for the
	// line that settles it (a FATAL after "connection authorized"; the
	// pgaudit records, error or duration of a statement) before it is
	// emitted as it stands. Default 5s.
	Hold time.Duration
	// MaxSessions bounds the sessions tracked at once; the least recently
	// active one is evicted beyond it. Default 10000.
	MaxSessions int
	// MaxRecordBytes bounds one record (a multi-line csvlog record, or a
	// stderr entry with its continuation lines). Default 8 MiB.
	MaxRecordBytes int
	// Location reads timestamps whose zone abbreviation is not a known one
	// (log_timezone prints abbreviations). Default UTC.
	Location *time.Location
}

func (o Options) withDefaults() Options {
	if o.Hold <= 0 {
		o.Hold = 5 * time.Second
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = 8 << 20
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return o
}

// Stats counts what a Parser did with its input.
type Stats struct {
	Records   int64 // log entries read (a multi-line entry counts once)
	Events    int64 // events emitted
	Merged    int64 // entries folded into another event (pgaudit sub-lines, statement and duration lines of an audited statement, connection received/authenticated)
	Ignored   int64 // entries deliberately dropped: checkpoint/autovacuum noise, NOTICE/INFO/DEBUG, session chatter, parse/bind durations, orphan secondary lines
	Malformed int64 // AUDIT records without pgaudit's shape (kept as events with their raw text)
	Evicted   int64 // sessions evicted by MaxSessions
	Truncated int64 // continuation lines dropped by MaxRecordBytes
}

// Parser parses one PostgreSQL log stream in one format. It implements
// parse.Parser; like every parser it is not safe for concurrent use.
type Parser struct {
	format string
	e      *engine
	st     *stderrFE
	cs     *csvFE
	js     *jsonFE
}

var _ parse.Parser = (*Parser)(nil)

// New returns a parser for format (FormatStderr, FormatCSV, FormatJSON).
// prefix is the log_line_prefix of stderr logs exactly as postgresql.conf
// has it (quotes optional); "" for stderr means the Debian default. It is
// ignored for csvlog and jsonlog.
func New(format, prefix string) (*Parser, error) {
	return NewWithOptions(format, prefix, Options{})
}

// NewWithOptions is New with tuning options.
func NewWithOptions(format, prefix string, o Options) (*Parser, error) {
	o = o.withDefaults()
	p := &Parser{format: format, e: newEngine(o)}
	switch format {
	case FormatStderr, "stderr-log", "log":
		p.format = FormatStderr
		if prefix == "" {
			prefix = CommonPrefixes[0]
		}
		pre, err := CompilePrefix(prefix)
		if err != nil {
			return nil, err
		}
		p.st = newStderrFE(p.e, pre, &p.e.opts)
	case FormatCSV, "csv":
		p.format = FormatCSV
		p.cs = &csvFE{e: p.e, opts: &p.e.opts}
	case FormatJSON, "json":
		p.format = FormatJSON
		p.js = &jsonFE{e: p.e, opts: &p.e.opts}
	default:
		return nil, fmt.Errorf("pglog: unknown format %q (want %s, %s or %s)", format, FormatStderr, FormatCSV, FormatJSON)
	}
	return p, nil
}

// Format returns the parser's format name.
func (p *Parser) Format() string { return p.format }

// Prefix returns the log_line_prefix currently expected (stderr); it
// follows `parameter "log_line_prefix" changed` messages in the log.
func (p *Parser) Prefix() string {
	if p.st == nil {
		return ""
	}
	return p.st.prefixes[0].src
}

// Stats returns the counters so far.
func (p *Parser) Stats() Stats { return p.e.stats }

// Parse consumes one physical line. Errors name the file and line and, for
// stderr, the prefix expected; the parser stays usable.
func (p *Parser) Parse(l parse.Line, emit parse.Emit) error {
	p.e.emit = emit
	switch {
	case p.st != nil:
		return p.st.parse(l)
	case p.cs != nil:
		return p.cs.parse(l)
	default:
		return p.js.parse(l)
	}
}

// Pending returns the input position (offset and line number in the
// current file) of the first line of the oldest record or event the parser
// still holds, or ok=false when it holds nothing. A reader that must not
// lose held events across a crash saves this position, not the end of what
// it read: resuming there re-creates them (parse.Holder).
func (p *Parser) Pending() (offset, lineNo int64, ok bool) {
	offset, lineNo, ok = p.e.pending()
	keep := func(off, no int64) {
		if !ok || off < offset {
			offset, lineNo, ok = off, no, true
		}
	}
	switch {
	case p.st != nil && p.st.held:
		keep(p.st.off, p.st.lineNo)
	case p.cs != nil && p.cs.open:
		keep(p.cs.off, p.cs.no)
	}
	return offset, lineNo, ok
}

// HeldLines lists the line number of the first line of every record and
// event the parser holds: after a restart from Pending, the events that
// start on these lines are the ones not emitted before.
func (p *Parser) HeldLines() []int64 {
	var out []int64
	for s := p.e.pendHead; s != nil; s = s.pendNext {
		out = append(out, s.pendNo)
	}
	switch {
	case p.st != nil && p.st.held:
		out = append(out, p.st.lineNo)
	case p.cs != nil && p.cs.open:
		out = append(out, p.cs.no)
	}
	return out
}

// Flush emits everything held: the last stderr entry, held logins and
// statements. Session knowledge is kept (the source may continue), and an
// incomplete multi-line csvlog record stays buffered.
func (p *Parser) Flush(emit parse.Emit) {
	p.e.emit = emit
	if p.st != nil {
		p.st.flush()
	}
	p.e.flush()
}

// Detect looks at the first lines of a file and tells its format and, for
// stderr, its log_line_prefix (among CommonPrefixes). The first non-empty
// line decides: a JSON object with jsonlog's keys is jsonlog (other JSON is
// an error, so that the caller can try its own formats), a csvlog log_time
// column followed by many comma-separated columns is csvlog, anything else
// is stderr, whose prefix is detected over all the lines given.
func Detect(firstLines [][]byte) (format, prefix string, err error) {
	var first []byte
	for _, l := range firstLines {
		if t := bytes.TrimSpace(l); len(t) > 0 {
			first = t
			break
		}
	}
	if first == nil {
		return "", "", fmt.Errorf("pglog: no lines to detect the log format from")
	}
	switch {
	case first[0] == '{':
		// jsonlog has these keys on every line; other JSON (Vigil's own
		// NDJSON events, another tool's) is not ours
		if bytes.Contains(first, []byte(`"error_severity":`)) && bytes.Contains(first, []byte(`"timestamp":`)) {
			return FormatJSON, "", nil
		}
		return "", "", fmt.Errorf("pglog: JSON lines without the jsonlog keys timestamp and error_severity (first line %q)", clip(first))
	case looksCSV(first):
		return FormatCSV, "", nil
	}
	pre, ok := DetectPrefix(firstLines)
	if !ok {
		return FormatStderr, "", fmt.Errorf("pglog: stderr log with an unknown log_line_prefix (first line %q); pass log_line_prefix as in postgresql.conf", clip(first))
	}
	return FormatStderr, pre, nil
}

// DetectHead is Detect over the first bytes of a file (a possibly cut last
// line is left out).
func DetectHead(head []byte) (format, prefix string, err error) {
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 && i < len(head)-1 {
		head = head[:i+1]
	}
	var lines [][]byte
	for len(head) > 0 && len(lines) < 2000 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			lines = append(lines, bytes.TrimSuffix(head, []byte{'\r'}))
			break
		}
		lines = append(lines, bytes.TrimSuffix(head[:i], []byte{'\r'}))
		head = head[i+1:]
	}
	return Detect(lines)
}

// looksCSV: a csvlog line starts with its log_time column
// ("2026-11-25 09:42:14.946 UTC,") and has many columns.
func looksCSV(line []byte) bool {
	var tc timeCache
	_, n, ok := tc.parseStamp(line, true, time.UTC)
	if !ok || n >= len(line) || line[n] != ',' {
		return false
	}
	cols, inQ := 1, false
	for _, c := range line {
		switch {
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			cols++
		}
	}
	return cols >= 12
}
