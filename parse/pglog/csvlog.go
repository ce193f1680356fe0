package pglog

import (
	"bytes"
	"fmt"

	"github.com/vigildb/vigil/parse"
)

// csvlog columns (PostgreSQL 15 order; 13 has 23 or 24 with backend_type,
// 14–17 have 26 with leader_pid and query_id).
const (
	cLogTime = iota
	cUser
	cDB
	cPid
	cConnFrom
	cSessionID
	cSessionLine
	cCommandTag
	cSessionStart
	cVxid
	cXid
	cSeverity
	cState
	cMessage
	cDetail
	cHint
	cInternalQuery
	cInternalPos
	cContext
	cQuery
	cQueryPos
	cLocation
	cAppName
	cBackendType
	cLeaderPid
	cQueryID
	csvMinCols = cAppName + 1 // 23
)

// csvFE reads csvlog. A record can span physical lines (a quoted value
// with line breaks); lines are buffered until the quotes balance, which is
// the only way to know where a record ends: RFC 4180 doubles the quotes
// inside values, so an odd count of quote characters on a line always
// opens or closes a multi-line value.
type csvFE struct {
	e       *engine
	opts    *Options
	tc      timeCache
	buf     []byte
	open    bool
	file    string
	no, off int64
	lines   int
	fields  [32][]byte
	scratch []byte
	rec     record
}

func (f *csvFE) parse(l parse.Line) error {
	text := l.Text
	odd := bytes.Count(text, []byte{'"'})&1 == 1
	if !f.open {
		if len(text) == 0 {
			return nil
		}
		if !odd {
			return f.record(text, l.File, l.No, l.Offset)
		}
		f.open = true
		f.buf = append(f.buf[:0], text...)
		f.file, f.no, f.off, f.lines = l.File, l.No, l.Offset, 1
		return nil
	}
	f.lines++
	if len(f.buf)+1+len(text) > f.opts.MaxRecordBytes || f.lines > 1<<20 {
		f.open = false
		f.buf = f.buf[:0]
		return fmt.Errorf("csvlog %s:%d: record starting at line %d is longer than %d bytes (unbalanced quote?); skipped",
			l.File, l.No, f.no, f.opts.MaxRecordBytes)
	}
	f.buf = append(f.buf, '\n')
	f.buf = append(f.buf, text...)
	if !odd {
		return nil
	}
	f.open = false
	return f.record(f.buf, f.file, f.no, f.off)
}

func (f *csvFE) record(rec []byte, file string, no, off int64) error {
	if cap(f.scratch) < len(rec) {
		f.scratch = make([]byte, 0, len(rec)+len(rec)/2+64)
	}
	n, _ := splitCSV(rec, f.fields[:], f.scratch[:0])
	if n < 0 {
		return fmt.Errorf("csvlog %s:%d: malformed CSV (text after a closing quote): %q", file, no, clip(rec))
	}
	if n < csvMinCols {
		return fmt.Errorf("csvlog %s:%d: %d columns, want 23 to 26 (PostgreSQL 13-17 csvlog): %q", file, no, n, clip(rec))
	}
	c := &f.fields
	t, _, ok := f.tc.parseStamp(c[cLogTime], true, f.opts.Location)
	if !ok {
		return fmt.Errorf("csvlog %s:%d: bad log_time %q", file, no, clip(c[cLogTime]))
	}
	sev := parseSeverity(c[cSeverity])
	if sev == sevNone || sev.secondary() {
		return fmt.Errorf("csvlog %s:%d: unknown error_severity %q", file, no, clip(c[cSeverity]))
	}
	r := &f.rec
	*r = record{
		t: t, user: c[cUser], db: c[cDB], sid: c[cSessionID], ps: c[cCommandTag],
		sev: sev, state: c[cState], msg: c[cMessage], detail: c[cDetail], hint: c[cHint],
		query: c[cQuery], app: c[cAppName],
		file: file, lineNo: no, offset: off,
	}
	if n > cBackendType {
		r.btype = c[cBackendType]
	}
	r.pid, _ = atoi64(c[cPid])
	r.host, r.port = splitHostPort(c[cConnFrom])
	f.e.handle(r)
	return nil
}

// splitHostPort splits csvlog's connection_from ("127.0.0.1:39076",
// "::1:5432", "[local]").
func splitHostPort(v []byte) ([]byte, int) {
	if len(v) == 0 {
		return nil, 0
	}
	if v[0] == '[' {
		return v, 0
	}
	i := bytes.LastIndexByte(v, ':')
	if i <= 0 || i == len(v)-1 {
		return v, 0
	}
	p, ok := atoi64(v[i+1:])
	if !ok || p <= 0 || p > 65535 {
		return v, 0
	}
	return v[:i], int(p)
}

// flush keeps an incomplete record: on an idle live source its remaining
// lines have not been written yet.
func (f *csvFE) flush() {}
