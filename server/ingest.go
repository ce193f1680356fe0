package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/parse"
)

// maxSourceName bounds the {source} path segment (it becomes a label).
const maxSourceName = 64

// maxReportedRejects bounds the line numbers listed in an answer.
const maxReportedRejects = 100

// IngestResult is the JSON body of every /ingest answer.
type IngestResult struct {
	// Accepted counts the lines the pipeline took (blank lines excluded).
	// On an error answer they are still taken: a retry resends them and
	// the duplicates are suppressed downstream by event id.
	Accepted int `json:"accepted"`
	// Rejected counts the lines refused before parsing (too long); their
	// 1-based line numbers in the body are listed, the first 100 of them.
	Rejected      int     `json:"rejected,omitempty"`
	RejectedLines []int64 `json:"rejected_lines,omitempty"`
	Error         string  `json:"error,omitempty"`
}

var errBodyTooLarge = errors.New("request body too large")

// handleIngest serves POST /ingest/{source}.
//
// The body is NDJSON, one event per line (gzip with Content-Encoding:
// gzip). It is streamed: lines are handed to Options.Ingest in batches of
// at most BatchLines lines / BatchBytes bytes, in order, and the next
// batch is read only once Ingest took the previous one, so a slow
// pipeline slows the client down and nothing is buffered without bound.
//
// Answers (always a JSON IngestResult):
//   - 200 once Ingest accepted every batch;
//   - 503 with Retry-After if Ingest failed (the pipeline is stopping or
//     cannot keep up): the client retries the whole request;
//   - 413 if the body exceeds MaxBodyBytes (compressed or not);
//   - 400 for an unreadable body (bad gzip, client went away), 415 for an
//     unknown Content-Encoding, 400 for a bad source name.
//
// A line longer than MaxLineBytes is rejected on its own, not the request:
// it is skipped, counted (vigil_ingest_rejected_lines_total and
// vigil_parse_failures_total), logged, and listed in the answer; the
// other lines go through. Rejecting the whole request instead would make
// the shipper drop (4xx are not retried) or endlessly resend every good
// line of it because of one bad line.
//
// Lines are given File "http:<source>", No their 1-based line number in
// the body, and an Offset that depends only on the line's content and
// how many identical lines came before it in the same body: a retried
// request gets the same offsets, so events without an "id" field get the
// same derived id (parse/ndjson hashes File and Offset) and duplicates are
// suppressed downstream. Identical lines sent in different requests
// therefore also get the same id; events carry a time, so such lines are
// true duplicates. A byte counter would give different ids on a retry.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	source := r.PathValue("source")
	var res IngestResult
	code := http.StatusOK
	defer func() {
		if s.opt.Metrics != nil && validSource(source) {
			s.opt.Metrics.IngestRequests.WithLabelValues(source, strconv.Itoa(code)).Inc()
		}
	}()
	reply := func(c int, err error) {
		code = c
		if err != nil {
			res.Error = err.Error()
		}
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if c == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int((s.opt.RetryAfter+time.Second-1)/time.Second)))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c)
		_ = json.NewEncoder(w).Encode(res)
		lvl := s.log.Debug
		if c != http.StatusOK {
			lvl = s.log.Warn
		}
		lvl("ingest", "source", source, "code", c, "accepted", res.Accepted,
			"rejected", res.Rejected, "remote", r.RemoteAddr,
			"duration", time.Since(start), "err", err)
	}
	if !validSource(source) {
		reply(http.StatusBadRequest, errors.New("source name must be 1-64 letters, digits, '.', '_' or '-'"))
		return
	}

	if r.ContentLength > s.opt.MaxBodyBytes {
		reply(http.StatusRequestEntityTooLarge, errBodyTooLarge)
		return
	}

	rc := http.NewResponseController(w)
	var body io.Reader = &deadlineReader{
		r:       http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes),
		rc:      rc,
		timeout: s.opt.ReadTimeout,
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			reply(readErrCode(err), readErr(err))
			return
		}
		defer zr.Close()
		body = zr
	default:
		reply(http.StatusUnsupportedMediaType, errors.New("unsupported Content-Encoding "+strconv.Quote(enc)))
		return
	}
	body = &limitReader{r: body, n: s.opt.MaxBodyBytes}

	file := "http:" + source
	b := &batcher{max: s.opt.BatchLines, maxBytes: s.opt.BatchBytes}
	seen := map[uint64]uint32{}
	flush := func() error {
		if len(b.ends) == 0 {
			return nil
		}
		lines := b.lines(file)
		if err := s.opt.Ingest(r.Context(), source, lines); err != nil {
			return err
		}
		res.Accepted += len(lines)
		if s.opt.Metrics != nil {
			s.opt.Metrics.IngestLines.WithLabelValues(source).Add(float64(len(lines)))
		}
		b.reset()
		return nil
	}

	br := bufio.NewReaderSize(body, 64<<10)
	var no int64
	for {
		line, tooLong, err := readLine(br, b, s.opt.MaxLineBytes)
		if line || tooLong {
			no++
		}
		switch {
		case tooLong:
			res.Rejected++
			if len(res.RejectedLines) < maxReportedRejects {
				res.RejectedLines = append(res.RejectedLines, no)
			}
			s.log.Warn("ingest line too long, skipped", "source", source, "line", no, "max_bytes", s.opt.MaxLineBytes)
			if s.opt.Metrics != nil {
				s.opt.Metrics.IngestRejected.WithLabelValues(source, "too_long").Inc()
				s.opt.Metrics.AddParseFailures(source, 1)
			}
		case line:
			if !b.commit(no, seen) {
				break // blank line: dropped by commit
			}
			if b.full() {
				if ferr := flush(); ferr != nil {
					reply(http.StatusServiceUnavailable, ferr)
					return
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// Hand over what was read whole before the failure: those
			// lines are good, and a retry would resend them anyway.
			if ferr := flush(); ferr != nil {
				reply(http.StatusServiceUnavailable, ferr)
				return
			}
			reply(readErrCode(err), readErr(err))
			return
		}
	}
	if err := flush(); err != nil {
		reply(http.StatusServiceUnavailable, err)
		return
	}
	reply(http.StatusOK, nil)
}

func validSource(s string) bool {
	if s == "" || len(s) > maxSourceName {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func readErrCode(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

func readErr(err error) error {
	if readErrCode(err) == http.StatusRequestEntityTooLarge {
		return errBodyTooLarge
	}
	return errors.New("reading body: " + err.Error())
}

// readLine appends the next line (without its end of line) to b's
// pending line. line reports that a line ended (or the body ended after
// some bytes); tooLong that it exceeded max and was discarded. err is
// io.EOF at the end of the body, after the last line.
func readLine(br *bufio.Reader, b *batcher, max int) (line, tooLong bool, err error) {
	start := len(b.buf)
	n := 0
	for {
		frag, ferr := br.ReadSlice('\n')
		n += len(frag)
		if !tooLong {
			if n > max+2 { // +2: room for "\r\n"
				tooLong = true
				b.buf = b.buf[:start]
			} else {
				b.buf = append(b.buf, frag...)
			}
		}
		if ferr == bufio.ErrBufferFull {
			continue
		}
		if ferr != nil && ferr != io.EOF {
			// A line cut short by a failed read is not a line.
			b.buf = b.buf[:start]
			return false, false, ferr
		}
		if n == 0 {
			return false, false, ferr
		}
		if tooLong {
			return false, true, ferr
		}
		text := b.buf[start:]
		text = bytes.TrimSuffix(text, []byte("\n"))
		text = bytes.TrimSuffix(text, []byte("\r"))
		b.buf = b.buf[:start+len(text)]
		if len(text) > max {
			b.buf = b.buf[:start]
			return false, true, ferr
		}
		return true, false, ferr
	}
}

// batcher accumulates lines in one buffer; the lines it builds are only
// valid until reset.
type batcher struct {
	max, maxBytes int
	buf           []byte // committed lines, then the pending one
	ends          []int  // end of each committed line in buf
	nos           []int64
	offs          []int64
}

// commit makes the pending line part of the batch, unless it is blank.
// no is its line number; seen counts the content hashes of the body.
func (b *batcher) commit(no int64, seen map[uint64]uint32) bool {
	start := 0
	if len(b.ends) > 0 {
		start = b.ends[len(b.ends)-1]
	}
	text := b.buf[start:]
	if len(bytes.TrimSpace(text)) == 0 {
		b.buf = b.buf[:start]
		return false
	}
	b.ends = append(b.ends, len(b.buf))
	b.nos = append(b.nos, no)
	b.offs = append(b.offs, contentOffset(text, seen))
	return true
}

func (b *batcher) full() bool {
	return len(b.ends) >= b.max || len(b.buf) >= b.maxBytes
}

func (b *batcher) lines(file string) []parse.Line {
	out := make([]parse.Line, len(b.ends))
	start := 0
	for i, end := range b.ends {
		out[i] = parse.Line{Text: b.buf[start:end:end], File: file, Offset: b.offs[i], No: b.nos[i]}
		start = end
	}
	return out
}

func (b *batcher) reset() {
	b.buf, b.ends, b.nos, b.offs = b.buf[:0], b.ends[:0], b.nos[:0], b.offs[:0]
}

// contentOffset is the stable Offset of a line: a hash of its content and
// of how many identical lines preceded it in the body, made non-negative.
func contentOffset(text []byte, seen map[uint64]uint32) int64 {
	h := fnv.New64a()
	h.Write(text)
	sum := h.Sum64()
	k := seen[sum]
	seen[sum] = k + 1
	if k > 0 {
		var kb [4]byte
		binary.BigEndian.PutUint32(kb[:], k)
		h.Write([]byte{0})
		h.Write(kb[:])
		sum = h.Sum64()
	}
	return int64(sum >> 1)
}

// deadlineReader extends the connection's read deadline before each read,
// so an idle client times out but time spent in Ingest does not count.
type deadlineReader struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(d.timeout))
	return d.r.Read(p)
}

// limitReader fails with errBodyTooLarge past n bytes (decompressed size).
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe: the body may end exactly at the limit.
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}
