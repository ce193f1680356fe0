package pglog

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/vigildb/vigil/parse"
)

// jsonFE reads jsonlog: one flat JSON object per line with the keys of
// PostgreSQL 15 (null fields omitted, unknown keys ignored). The decoder is
// hand-written for that flat shape: string values are sub-slices of the
// line unless they contain escapes, which are decoded into one scratch
// buffer sized for the line so that no value moves.
type jsonFE struct {
	e       *engine
	opts    *Options
	tc      timeCache
	scratch []byte
	rec     record
}

var errJSON = errors.New("malformed JSON")

func (f *jsonFE) parse(l parse.Line) error {
	b := l.Text
	i := skipWS(b, 0)
	if i == len(b) {
		return nil
	}
	if cap(f.scratch) < len(b) {
		f.scratch = make([]byte, 0, len(b)+len(b)/2+64)
	}
	f.scratch = f.scratch[:0]
	r := &f.rec
	*r = record{file: l.File, lineNo: l.No, offset: l.Offset}
	var ts, sev []byte
	if err := f.decode(b, i, r, &ts, &sev); err != nil {
		return fmt.Errorf("jsonlog %s:%d: %w: %q", l.File, l.No, err, clip(b))
	}
	t, _, ok := f.tc.parseStamp(ts, true, f.opts.Location)
	if !ok {
		return fmt.Errorf("jsonlog %s:%d: bad or missing timestamp %q", l.File, l.No, clip(ts))
	}
	r.t = t
	r.sev = parseSeverity(sev)
	if r.sev == sevNone || r.sev.secondary() {
		return fmt.Errorf("jsonlog %s:%d: bad or missing error_severity %q", l.File, l.No, clip(sev))
	}
	f.e.handle(r)
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func (f *jsonFE) decode(b []byte, i int, r *record, ts, sev *[]byte) error {
	if b[i] != '{' {
		return errJSON
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
		if skipWS(b, i) != len(b) {
			return errJSON
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errJSON
		}
		key, j, err := f.str(b, i)
		if err != nil {
			return err
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return errJSON
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return errJSON
		}
		switch c := b[i]; {
		case c == '"':
			v, j, err := f.str(b, i)
			if err != nil {
				return err
			}
			i = j
			switch string(key) {
			case "timestamp":
				*ts = v
			case "user":
				r.user = v
			case "dbname":
				r.db = v
			case "remote_host":
				r.host = v
			case "session_id":
				r.sid = v
			case "ps":
				r.ps = v
			case "error_severity":
				*sev = v
			case "state_code":
				r.state = v
			case "message":
				r.msg = v
			case "detail":
				r.detail = v
			case "hint":
				r.hint = v
			case "statement":
				r.query = v
			case "application_name":
				r.app = v
			case "backend_type":
				r.btype = v
			}
		case c == '{' || c == '[':
			j, err := skipNested(b, i)
			if err != nil {
				return err
			}
			i = j
		default:
			j := i
			for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' ||
				isDigit(b[j]) || (b[j] >= 'a' && b[j] <= 'z')) {
				j++
			}
			if j == i {
				return errJSON
			}
			v := b[i:j]
			i = j
			switch string(key) {
			case "pid":
				r.pid, _ = atoi64(v)
			case "remote_port":
				if p, ok := atoi64(v); ok && p > 0 && p < 65536 {
					r.port = int(p)
				}
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if b[i] == '}' {
			if skipWS(b, i+1) != len(b) {
				return errJSON
			}
			return nil
		}
		return errJSON
	}
}

// str decodes the JSON string starting at b[i] == '"'.
func (f *jsonFE) str(b []byte, i int) ([]byte, int, error) {
	i++
	start := i
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	if i >= len(b) {
		return nil, 0, errJSON
	}
	if b[i] == '"' {
		return b[start:i:i], i + 1, nil
	}
	s0 := len(f.scratch)
	f.scratch = append(f.scratch, b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			v := f.scratch[s0:len(f.scratch):len(f.scratch)]
			return v, i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return nil, 0, errJSON
			}
			i++
			switch b[i] {
			case '"', '\\', '/':
				f.scratch = append(f.scratch, b[i])
			case 'b':
				f.scratch = append(f.scratch, '\b')
			case 'f':
				f.scratch = append(f.scratch, '\f')
			case 'n':
				f.scratch = append(f.scratch, '\n')
			case 'r':
				f.scratch = append(f.scratch, '\r')
			case 't':
				f.scratch = append(f.scratch, '\t')
			case 'u':
				r, n := hex4(b[i+1:])
				if n == 0 {
					return nil, 0, errJSON
				}
				i += n
				if r >= 0xD800 && r < 0xDC00 && i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, n2 := hex4(b[i+3:]); n2 > 0 && r2 >= 0xDC00 && r2 < 0xE000 {
						r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
						i += 2 + n2
					}
				}
				f.scratch = utf8.AppendRune(f.scratch, r)
			default:
				return nil, 0, errJSON
			}
			i++
		default:
			f.scratch = append(f.scratch, c)
			i++
		}
	}
	return nil, 0, errJSON
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, 0
		}
	}
	return r, 4
}

// skipNested skips a JSON object or array (jsonlog has none; a future key
// might), honouring strings; depth is bounded.
func skipNested(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '{', '[':
			depth++
			if depth > 64 {
				return 0, errJSON
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
		}
		i++
	}
	return 0, errJSON
}

func (f *jsonFE) flush() {}
