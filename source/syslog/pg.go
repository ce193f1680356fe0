package syslog

import (
	"bytes"
	"time"
)

// PostgreSQL's syslog output (src/backend/utils/error/elog.c, write_syslog
// and send_message_to_server_log):
//
//   - The text is exactly the stderr record: log_line_prefix, "SEVERITY:  ",
//     the message with embedded newlines turned into "\n\t" (TAB
//     continuation lines), then DETAIL/HINT/QUERY/CONTEXT/LOCATION/STATEMENT
//     lines each with their own log_line_prefix, every line ending in "\n".
//   - seq is a per-process counter (a static in the backend, inherited from
//     the postmaster at fork), incremented per record.
//   - With syslog_split_messages=on (default) a record that contains a
//     newline — which is every record, since it ends with one — or is longer
//     than PG_SYSLOG_LIMIT (900 bytes) is sent as chunks "[seq-N] text",
//     N = 1, 2, ...: one chunk per line (the newline itself is not sent),
//     lines longer than the limit cut before the last whitespace that fits
//     (the next chunk then starts with that whitespace) or, for a word that
//     long, hard at the limit (clipped to a character boundary).
//   - Otherwise the record is sent whole as "[seq] text".
//   - With syslog_sequence_numbers=off the prefixes are "[N] text" (chunks)
//     or nothing.
//
// Reassembly joins a record's chunks back into its stderr lines and hands
// those lines on one by one, so the pglog stderr parser sees what it would
// have read from a log file.

type pgKey struct{ host, app, pid string }

type pgState struct {
	lastSeq uint64
	haveSeq bool
	used    time.Time
	pend    *pgPending
}

type pgPending struct {
	msg      Message // header of the first chunk; Body unused
	text     []byte
	last     int // length of the last chunk appended
	lastWS   bool
	next     int // next chunk number expected
	parts    int
	deadline time.Time
}

// pgSameLine says whether chunk continues the previous chunk within the same line (a length
// split) rather than on a new line.
func pgSameLine(prevLen int, prevHasInnerWS bool, chunk []byte, limit int) bool {
	if len(chunk) > 0 && chunk[0] == ' ' {
		return true // cut before a space
	}
	if prevLen >= limit-3 && prevLen <= limit {
		if len(chunk) > 0 && isSpace(chunk[0]) {
			return true // cut exactly at a whitespace boundary
		}
		return !prevHasInnerWS // hard cut of a word longer than the limit
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// rsyslog escapes control characters on receive by default
// ($EscapeControlCharactersOnReceive): a TAB arrives as "#011". A chunk
// that starts with it is a continuation line.
var rsyslogTab = []byte("#011")

func (p *pump) pgProcess(m Message) {
	body := m.Body
	a, part, n := pgPrefix(body)
	if n == 0 {
		p.emitRecord(m, body)
		return
	}
	k := pgKey{m.Hostname, m.AppName, m.ProcID}
	st := p.pg[k]
	if st == nil {
		st = &pgState{}
		p.pg[k] = st
	}
	st.used = m.Received
	chunk := body[n:]
	if bytes.HasPrefix(chunk, rsyslogTab) {
		c := make([]byte, 0, len(chunk)-3)
		c = append(c, '\t')
		chunk = append(c, chunk[4:]...)
	}
	var seq uint64
	chunkNo := part
	if p.o.PGNoSequenceNumbers {
		chunkNo = int(a)
		if part != 0 || chunkNo < 1 {
			p.emitRecord(m, body)
			return
		}
	} else {
		seq = a
	}
	if !p.o.PGNoSequenceNumbers && part == 0 {
		// "[seq] whole record".
		p.pgFlush(st)
		p.seqCheck(st, seq)
		m.Seq = seq
		p.emitRecord(m, bytes.TrimSuffix(chunk, []byte("\n")))
		return
	}
	if pd := st.pend; pd != nil && chunkNo == pd.next && (p.o.PGNoSequenceNumbers || pd.msg.Seq == seq) {
		if pgSameLine(pd.last, pd.lastWS, chunk, p.o.PGSyslogLimit) {
			pd.text = append(pd.text, chunk...)
		} else {
			pd.text = append(pd.text, '\n')
			pd.text = append(pd.text, chunk...)
		}
		if len(pd.text) > p.o.PGMaxBytes {
			pd.text = pd.text[:p.o.PGMaxBytes]
			pd.msg.Truncated = true
		}
		pd.msg.Truncated = pd.msg.Truncated || m.Truncated
		pd.last, pd.lastWS = len(chunk), hasInnerSpace(chunk)
		pd.next++
		pd.parts++
		pd.deadline = p.clock().Add(p.o.PGFlushAfter)
		return
	}
	// A new record (or a chunk that does not continue the pending one).
	if st.pend != nil {
		p.pgFlush(st)
	}
	if chunkNo != 1 {
		p.stats.PGLostParts.Add(uint64(chunkNo - 1))
		p.o.Logger.Warn("syslog: PostgreSQL record missing its first chunks",
			"host", m.Hostname, "app", m.AppName, "pid", m.ProcID, "seq", seq, "chunk", chunkNo)
	}
	if !p.o.PGNoSequenceNumbers && (chunkNo == 1 || !st.haveSeq || st.lastSeq != seq) {
		p.seqCheck(st, seq)
	}
	m.Seq = seq
	pd := &pgPending{msg: m, next: chunkNo + 1, parts: 1,
		last: len(chunk), lastWS: hasInnerSpace(chunk),
		deadline: p.clock().Add(p.o.PGFlushAfter)}
	pd.text = append(make([]byte, 0, len(chunk)), chunk...)
	pd.msg.Body = nil
	st.pend = pd
	p.npend++
}

func hasInnerSpace(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if isSpace(b[i]) {
			return true
		}
	}
	return false
}

func (p *pump) seqCheck(st *pgState, seq uint64) {
	if st.haveSeq {
		switch {
		case seq == st.lastSeq+1:
		case seq > st.lastSeq+1:
			p.stats.SeqGaps.Add(seq - st.lastSeq - 1)
		case seq == st.lastSeq:
			p.stats.Duplicates.Add(1)
		default:
			// Went backwards: a new process with a reused pid.
		}
	}
	st.lastSeq, st.haveSeq = seq, true
}

func (p *pump) pgFlush(st *pgState) {
	pd := st.pend
	if pd == nil {
		return
	}
	st.pend = nil
	p.npend--
	m := pd.msg
	m.Parts = pd.parts
	p.emitRecord(m, pd.text)
}

// pgFlushDue flushes pending records whose deadline passed (all if force)
// and forgets idle per-process states.
func (p *pump) pgFlushDue(force bool) {
	now, clock := p.now(), p.clock()
	for k, st := range p.pg {
		if st.pend != nil && (force || !clock.Before(st.pend.deadline)) {
			p.pgFlush(st)
		}
		if st.pend == nil && now.Sub(st.used) > pgStateTTL {
			delete(p.pg, k)
		}
	}
}

func (p *pump) pgNextDeadline() (time.Time, bool) {
	var d time.Time
	ok := false
	for _, st := range p.pg {
		if st.pend != nil && (!ok || st.pend.deadline.Before(d)) {
			d, ok = st.pend.deadline, true
		}
	}
	return d, ok
}

// clock is the pump's time: wall time minus the time spent in the
// Handler. Chunk deadlines run on it, so a Handler that blocks does not make
// records time out before their queued continuation chunks are read.
func (p *pump) clock() time.Time { return p.now().Add(-p.blocked) }

// pgStateTTL is how long the sequence state of a process that sends
// nothing is kept.
const pgStateTTL = 10 * time.Minute
