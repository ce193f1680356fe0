package pglog

import (
	"bytes"
	"fmt"

	"github.com/vigildb/vigil/parse"
)

// which field a TAB continuation line extends
const (
	contMsg = iota
	contDetail
	contHint
	contQuery
	contDrop // a secondary line we do not keep (CONTEXT, LOCATION…)
)

// stderrFE reads the stderr format: "<log_line_prefix><SEVERITY>:  <message>".
//
// A record is held until the next line that is not part of it arrives,
// because PostgreSQL writes the secondary lines of an entry (DETAIL, HINT,
// STATEMENT…, each with the same prefix) and the TAB-indented continuation
// lines of multi-line values after the primary line.
type stderrFE struct {
	e        *engine
	prefixes []*Prefix // configured or announced by the server, most recent first
	tc       timeCache
	opts     *Options

	held         bool
	buf          []byte // the held primary line; its message is at the end so continuations append to it
	pm           prefixMatch
	m            prefixMatch // scratch for the line being matched
	file         string
	lineNo, off  int64
	detail, hint []byte
	query        []byte
	cont         int
	rec          record
}

func newStderrFE(e *engine, p *Prefix, o *Options) *stderrFE {
	f := &stderrFE{e: e, prefixes: []*Prefix{p}, opts: o}
	e.onPrefix = f.announce
	return f
}

// announce makes a log_line_prefix the server switched to (after a reload
// the file continues with the new prefix) the first one tried; the previous
// ones stay as fallbacks because backends pick the change up one by one.
func (f *stderrFE) announce(src string) {
	for i, p := range f.prefixes {
		if p.src == src {
			copy(f.prefixes[1:i+1], f.prefixes[:i])
			f.prefixes[0] = p
			return
		}
	}
	p, err := CompilePrefix(src)
	if err != nil {
		return
	}
	f.prefixes = append([]*Prefix{p}, f.prefixes...)
	if len(f.prefixes) > 4 {
		f.prefixes = f.prefixes[:4]
	}
}

// matchLine tries the current prefixes, then the common ones.
func (f *stderrFE) matchLine(line []byte, m *prefixMatch) bool {
	for _, p := range f.prefixes {
		if p.match(line, m, &f.tc, f.opts.Location) {
			return true
		}
	}
	for _, p := range compiledCommon {
		known := false
		for _, q := range f.prefixes {
			if q.src == p.src {
				known = true
				break
			}
		}
		if !known && p.match(line, m, &f.tc, f.opts.Location) {
			return true
		}
	}
	return false
}

var prefixChanged = []byte(`:  parameter "log_line_prefix" changed to "`)

// selfAnnounced handles the line that announces a new log_line_prefix: the
// postmaster already writes it with the new prefix, which no known prefix
// may match yet.
func (f *stderrFE) selfAnnounced(line []byte, m *prefixMatch) bool {
	i := bytes.Index(line, prefixChanged)
	if i < 0 || len(line) <= i+len(prefixChanged) || line[len(line)-1] != '"' {
		return false
	}
	v := line[i+len(prefixChanged) : len(line)-1]
	p, err := CompilePrefix(string(v))
	if err != nil || !p.match(line, m, &f.tc, f.opts.Location) {
		return false
	}
	f.announce(p.src)
	return true
}

func clip(b []byte) []byte {
	if len(b) > 160 {
		return b[:160]
	}
	return b
}

func (f *stderrFE) parse(l parse.Line) error {
	text := l.Text
	if len(text) == 0 {
		return nil
	}
	if text[0] == '\t' {
		if !f.held {
			return fmt.Errorf("stderr %s:%d: continuation line (TAB) without a log record before it", l.File, l.No)
		}
		f.continuation(text[1:])
		return nil
	}
	m := &f.m
	if !f.matchLine(text, m) && !f.selfAnnounced(text, m) {
		return fmt.Errorf("stderr %s:%d: line does not match log_line_prefix '%s' (or a common one): %q",
			l.File, l.No, f.prefixes[0].src, clip(text))
	}
	if m.sev.secondary() {
		if f.held && f.sameProcess(text, m) {
			f.secondary(m.sev, text[m.msg:])
			return nil
		}
		// a DETAIL/STATEMENT without its primary line (file starts mid-entry)
		f.e.stats.Ignored++
		if f.held {
			f.cont = contDrop
		}
		return nil
	}
	f.processHeld()
	f.held = true
	f.buf = append(f.buf[:0], text...)
	f.pm = *m
	f.file, f.lineNo, f.off = l.File, l.No, l.Offset
	f.detail, f.hint, f.query = f.detail[:0], f.hint[:0], f.query[:0]
	f.cont = contMsg
	return nil
}

// sameProcess: a secondary line belongs to the held entry when it comes
// from the same backend (same pid / session id, when the prefix has them).
func (f *stderrFE) sameProcess(line []byte, m *prefixMatch) bool {
	if m.pid != 0 && f.pm.pid != 0 && m.pid != f.pm.pid {
		return false
	}
	if !m.sid.empty() && !f.pm.sid.empty() && !bytes.Equal(m.sid.of(line), f.pm.sid.of(f.buf)) {
		return false
	}
	return true
}

func (f *stderrFE) room(cur, add int) bool {
	if cur+add+1 > f.opts.MaxRecordBytes {
		f.e.stats.Truncated++
		return false
	}
	return true
}

func (f *stderrFE) continuation(t []byte) {
	switch f.cont {
	case contMsg:
		if f.room(len(f.buf), len(t)) {
			f.buf = append(f.buf, '\n')
			f.buf = append(f.buf, t...)
		}
	case contDetail:
		if f.room(len(f.detail), len(t)) {
			f.detail = append(f.detail, '\n')
			f.detail = append(f.detail, t...)
		}
	case contHint:
		if f.room(len(f.hint), len(t)) {
			f.hint = append(f.hint, '\n')
			f.hint = append(f.hint, t...)
		}
	case contQuery:
		if f.room(len(f.query), len(t)) {
			f.query = append(f.query, '\n')
			f.query = append(f.query, t...)
		}
	}
}

func (f *stderrFE) secondary(sev severity, text []byte) {
	var dst *[]byte
	switch sev {
	case sevDetail:
		dst, f.cont = &f.detail, contDetail
	case sevHint:
		dst, f.cont = &f.hint, contHint
	case sevStatement:
		dst, f.cont = &f.query, contQuery
	default:
		f.cont = contDrop
		return
	}
	if len(*dst) > 0 { // a second DETAIL: keep both
		*dst = append(*dst, '\n')
	}
	if f.room(len(*dst), len(text)) {
		*dst = append(*dst, text...)
	}
}

// processHeld hands the held entry to the engine.
func (f *stderrFE) processHeld() {
	if !f.held {
		return
	}
	f.held = false
	b, m := f.buf, &f.pm
	r := &f.rec
	*r = record{
		t: m.t, user: clean(m.user.of(b)), db: clean(m.db.of(b)), app: clean(m.app.of(b)),
		host: m.host.of(b), port: m.port, pid: m.pid, sid: m.sid.of(b), start: m.start,
		sev: m.sev, state: m.state.of(b), btype: m.btype.of(b),
		detail: f.detail, hint: f.hint, query: f.query,
		file: f.file, lineNo: f.lineNo, offset: f.off,
	}
	if len(r.host) == 0 {
		r.host = nil
	}
	msg := b[m.msg:]
	if st, rest := splitVerboseState(msg); st != nil {
		r.state, msg = st, rest
	}
	if r.sev >= sevError && r.sev <= sevPanic {
		msg = stripAtCharacter(msg)
	}
	r.msg = msg
	f.e.handle(r)
}

func (f *stderrFE) flush() { f.processHeld() }
