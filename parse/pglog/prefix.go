package pglog

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// escape kinds of log_line_prefix (PostgreSQL 15, runtime-config-logging).
type tokKind uint8

const (
	tLit tokKind = iota
	tQ           // %q: non-session processes stop here
	// variable-width text: matched up to the next literal (or the severity)
	tApp    // %a
	tUser   // %u
	tDB     // %d
	tRemote // %r  host(port)
	tHost   // %h
	tBtype  // %b
	tTag    // %i
	// fixed grammar
	tPid     // %p
	tLeader  // %P (empty unless parallel worker)
	tTimeS   // %t
	tTimeMS  // %m
	tEpoch   // %n
	tState   // %e
	tSession // %c
	tLineNo  // %l
	tStart   // %s
	tVxid    // %v
	tXid     // %x
	tQueryID // %Q
)

func (k tokKind) variable() bool { return k >= tApp && k <= tTag }

type token struct {
	kind tokKind
	lit  []byte // tLit; for tRemote: ")" + the next literal
	pad  int    // %-10u style padding width (absolute), 0 = none
}

// Prefix is a compiled log_line_prefix: a sequence of literals and escapes
// matched by hand (no regexp), left to right. A variable-width escape (%u,
// %d, %a, %r, %h, %b, %i) ends at the next literal; when several ends are
// possible the matcher backtracks (bounded), and the last variable escape
// before the severity ends where "<literal><SEVERITY>:  " begins, which is
// what lets application names contain spaces.
type Prefix struct {
	src  string
	toks []token
	// which escapes are present (what the prefix can tell about a line)
	has [tQueryID + 1]bool
}

// String returns the prefix as PostgreSQL would show it (without quotes).
func (p *Prefix) String() string { return p.src }

// Has reports whether the prefix contains escape c (a letter like 'u').
func (p *Prefix) Has(c byte) bool {
	k, ok := escKind(c)
	return ok && p.has[k]
}

func escKind(c byte) (tokKind, bool) {
	switch c {
	case 'a':
		return tApp, true
	case 'u':
		return tUser, true
	case 'd':
		return tDB, true
	case 'r':
		return tRemote, true
	case 'h':
		return tHost, true
	case 'b':
		return tBtype, true
	case 'i':
		return tTag, true
	case 'p':
		return tPid, true
	case 'P':
		return tLeader, true
	case 't':
		return tTimeS, true
	case 'm':
		return tTimeMS, true
	case 'n':
		return tEpoch, true
	case 'e':
		return tState, true
	case 'c':
		return tSession, true
	case 'l':
		return tLineNo, true
	case 's':
		return tStart, true
	case 'v':
		return tVxid, true
	case 'x':
		return tXid, true
	case 'Q':
		return tQueryID, true
	case 'q':
		return tQ, true
	}
	return 0, false
}

// unquoteConf accepts the value as written in postgresql.conf: surrounding
// single quotes are removed and the string escapes of the configuration file
// (” and backslash escapes) resolved. An unquoted value is taken as is.
func unquoteConf(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return s, nil
	}
	in := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\'' && i+1 < len(in) && in[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			return "", fmt.Errorf("unescaped quote at %d", i+1)
		case c == '\\' && i+1 < len(in):
			i++
			switch e := in[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for k := 0; k < 2 && i+1 < len(in) && in[i+1] >= '0' && in[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(in[i]-'0')
				}
				b.WriteByte(byte(v))
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// CompilePrefix compiles a log_line_prefix, given exactly as in
// postgresql.conf (quoted or not). Unknown escapes print nothing in
// PostgreSQL and are ignored here too.
func CompilePrefix(prefix string) (*Prefix, error) {
	src, err := unquoteConf(prefix)
	if err != nil {
		return nil, fmt.Errorf("log_line_prefix %s: %w", prefix, err)
	}
	if strings.ContainsAny(src, "\n\r") {
		return nil, fmt.Errorf("log_line_prefix %q: a prefix with a line break cannot be read back", src)
	}
	p := &Prefix{src: src}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			p.toks = append(p.toks, token{kind: tLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '%' {
			lit = append(lit, c)
			continue
		}
		i++
		if i >= len(src) {
			break // a lone trailing % prints nothing
		}
		pad := 0
		if src[i] == '-' || isDigit(src[i]) {
			j := i
			if src[j] == '-' {
				j++
			}
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if w, err := strconv.Atoi(strings.TrimPrefix(src[i:j], "-")); err == nil {
				pad = w
			}
			i = j
			if i >= len(src) {
				break
			}
		}
		if src[i] == '%' {
			lit = append(lit, '%')
			continue
		}
		k, ok := escKind(src[i])
		if !ok {
			continue
		}
		flush()
		p.toks = append(p.toks, token{kind: k, pad: pad})
		p.has[k] = true
	}
	flush()
	for i := range p.toks {
		if p.toks[i].kind == tRemote && i+1 < len(p.toks) && p.toks[i+1].kind == tLit {
			p.toks[i].lit = append([]byte{')'}, p.toks[i+1].lit...)
		}
	}
	return p, nil
}

// span is a [a,b) byte range of the line.
type span struct{ a, b int32 }

func (s span) of(b []byte) []byte { return b[s.a:s.b] }
func (s span) empty() bool        { return s.a >= s.b }

// prefixMatch is what a prefix says about one line, as offsets into it.
type prefixMatch struct {
	user, db, app, host, btype, tag, sid, state span
	port                                        int
	pid                                         int64
	t                                           time.Time
	start                                       int64 // %s as epoch seconds, 0 = unknown
	sev                                         severity
	msg                                         int // message start
	nonSession                                  bool
	hasTime                                     bool
}

type matchCtx struct {
	line   []byte
	m      *prefixMatch
	tc     *timeCache
	loc    *time.Location
	budget int
}

// match matches line against the prefix; on success m describes the line.
func (p *Prefix) match(line []byte, m *prefixMatch, tc *timeCache, loc *time.Location) bool {
	*m = prefixMatch{}
	c := matchCtx{line: line, m: m, tc: tc, loc: loc, budget: 32}
	return c.at(p.toks, 0, 0)
}

// sevAt finishes a match: the severity must start at i.
func (c *matchCtx) sevAt(i int) bool {
	s, msg := severityAt(c.line, i)
	if s == sevNone {
		return false
	}
	c.m.sev, c.m.msg = s, msg
	return true
}

func (c *matchCtx) at(toks []token, ti, pos int) bool {
	if c.budget--; c.budget < 0 {
		return false
	}
	line := c.line
	if ti == len(toks) {
		return c.sevAt(pos)
	}
	tk := toks[ti]
	switch {
	case tk.kind == tLit:
		if !bytes.HasPrefix(line[pos:], tk.lit) {
			return false
		}
		return c.at(toks, ti+1, pos+len(tk.lit))
	case tk.kind == tQ:
		if c.sevAt(pos) {
			c.m.nonSession = true
			return true
		}
		return c.at(toks, ti+1, pos)
	case tk.kind.variable():
		return c.variable(toks, ti, pos)
	}
	// fixed grammar
	start := pos
	if tk.pad != 0 {
		for pos < len(line) && line[pos] == ' ' {
			pos++
		}
	}
	n, ok := c.fixed(tk.kind, pos)
	if !ok {
		return false
	}
	pos += n
	if tk.pad != 0 {
		for pos < len(line) && pos-start < tk.pad && line[pos] == ' ' {
			pos++
		}
	}
	return c.at(toks, ti+1, pos)
}

// variable matches a variable-width escape at pos and the rest of the prefix.
func (c *matchCtx) variable(toks []token, ti, pos int) bool {
	line := c.line
	tk := toks[ti]
	// Last token: the value runs up to the severity.
	if ti+1 == len(toks) {
		for i := pos; i < len(line); i++ {
			if line[i] >= 'A' && line[i] <= 'Z' && (i == pos || line[i-1] < 'A' || line[i-1] > 'Z') && c.sevAt(i) {
				c.setVar(tk, pos, i)
				return true
			}
		}
		return false
	}
	next := toks[ti+1]
	if next.kind != tLit {
		// Two escapes without a separator (e.g. %u%d): ambiguous; the value
		// ends at the first space.
		end := pos
		for end < len(line) && line[end] != ' ' {
			end++
		}
		c.setVar(tk, pos, end)
		return c.at(toks, ti+1, end)
	}
	lit := next.lit
	final := ti+2 == len(toks)
	if tk.kind == tRemote {
		// "host(port)": try the end after the closing parenthesis first, so
		// that an IPv6 address does not end at its first ':' separator.
		if j := bytes.Index(line[pos:], tk.lit); j > 0 && bytes.IndexByte(line[pos:pos+j], '(') >= 0 {
			k := pos + j + 1
			c.setVar(tk, pos, k)
			if final && c.sevAt(k+len(lit)) || !final && c.at(toks, ti+2, k+len(lit)) {
				return true
			}
		}
	}
	for i := pos; i <= len(line); {
		j := bytes.Index(line[i:], lit)
		if j < 0 {
			return false
		}
		k := i + j
		if final {
			if c.sevAt(k + len(lit)) {
				c.setVar(tk, pos, k)
				return true
			}
		} else {
			c.setVar(tk, pos, k)
			if c.at(toks, ti+2, k+len(lit)) {
				return true
			}
			if c.budget <= 0 {
				return false
			}
		}
		i = k + 1
	}
	return false
}

func (c *matchCtx) setVar(tk token, a, b int) {
	line := c.line
	if tk.pad != 0 {
		for a < b && line[a] == ' ' {
			a++
		}
		for b > a && line[b-1] == ' ' {
			b--
		}
	}
	s := span{int32(a), int32(b)}
	m := c.m
	switch tk.kind {
	case tApp:
		m.app = s
	case tUser:
		m.user = s
	case tDB:
		m.db = s
	case tHost:
		m.host = s
	case tBtype:
		m.btype = s
	case tTag:
		m.tag = s
	case tRemote:
		// "host(port)", "[local]" or empty
		v := line[a:b]
		m.host, m.port = s, 0
		if n := len(v); n > 2 && v[n-1] == ')' {
			if o := bytes.LastIndexByte(v, '('); o > 0 {
				if port, ok := atoi64(v[o+1 : n-1]); ok && port >= 0 && port < 65536 {
					m.host = span{int32(a), int32(a + o)}
					m.port = int(port)
				}
			}
		}
	}
}

// fixed parses an escape with a fixed grammar at pos and returns its length.
func (c *matchCtx) fixed(k tokKind, pos int) (int, bool) {
	b := c.line[pos:]
	m := c.m
	switch k {
	case tTimeMS, tTimeS:
		t, n, ok := c.tc.parseStamp(b, k == tTimeMS, c.loc)
		if !ok {
			return 0, false
		}
		if !m.hasTime || k == tTimeMS {
			m.t, m.hasTime = t, true
		}
		return n, true
	case tStart:
		var tc timeCache
		t, n, ok := tc.parseStamp(b, false, c.loc)
		if !ok {
			return 0, false
		}
		m.start = t.Unix()
		return n, true
	case tEpoch:
		t, n, ok := parseEpoch(b)
		if !ok {
			return 0, false
		}
		if !m.hasTime {
			m.t, m.hasTime = t, true
		}
		return n, true
	case tPid:
		n := digits(b, 10)
		if n == 0 {
			return 0, false
		}
		m.pid, _ = atoi64(b[:n])
		return n, true
	case tLeader:
		return digits(b, 10), true
	case tLineNo, tXid:
		n := digits(b, 20)
		return n, n > 0
	case tQueryID:
		n := 0
		if len(b) > 0 && b[0] == '-' {
			n = 1
		}
		d := digits(b[n:], 20)
		if d == 0 {
			return 0, false
		}
		return n + d, true
	case tSession:
		n := hexDigits(b)
		if n == 0 || n >= len(b) || b[n] != '.' {
			return 0, false
		}
		n2 := hexDigits(b[n+1:])
		if n2 == 0 {
			return 0, false
		}
		m.sid = span{int32(pos), int32(pos + n + 1 + n2)}
		return n + 1 + n2, true
	case tVxid:
		n := digits(b, 10)
		if n == 0 {
			return 0, true // no virtual transaction
		}
		if n >= len(b) || b[n] != '/' {
			return 0, false
		}
		n2 := digits(b[n+1:], 12)
		if n2 == 0 {
			return 0, false
		}
		return n + 1 + n2, true
	case tState:
		if len(b) < 5 || !isStateChars(b[:5]) {
			return 0, false
		}
		m.state = span{int32(pos), int32(pos + 5)}
		return 5, true
	}
	return 0, false
}

func digits(b []byte, max int) int {
	n := 0
	for n < len(b) && n < max && isDigit(b[n]) {
		n++
	}
	return n
}

func hexDigits(b []byte) int {
	n := 0
	for n < len(b) && n < 16 && (isDigit(b[n]) || b[n] >= 'a' && b[n] <= 'f') {
		n++
	}
	return n
}

func isStateChars(b []byte) bool {
	for _, c := range b {
		if !(isDigit(c) || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// CommonPrefixes are the log_line_prefix values DetectPrefix tries, and the
// fallbacks the stderr parser tries when a line does not match its prefix
// (the prefix can change in the middle of a file after a reload).
var CommonPrefixes = []string{
	"%m [%p] %q%u@%d ",       // Debian/Ubuntu packages
	"%m [%p] ",               // PostgreSQL default (also RHEL/PGDG)
	"%t:%r:%u@%d:[%p]:",      // Amazon RDS / Aurora
	"%t-%c-",                 // Azure Database for PostgreSQL flexible server
	"%m [%p] %q%u@%d/%a ",    // Debian with application name
	"%m [%p] %q%u@%d %h %a ", // Debian with client host and application name
	"%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", // pgBadger's recommendation
	"%t [%p]: user=%u,db=%d,app=%a,client=%h ",
	"%m [%p] %q[user=%u,db=%d,app=%a] ",
	"%m [%p-%l] %q%u@%d ",
}

var compiledCommon = func() []*Prefix {
	out := make([]*Prefix, 0, len(CommonPrefixes))
	for _, s := range CommonPrefixes {
		p, err := CompilePrefix(s)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}()

// DetectPrefix picks, among CommonPrefixes, the log_line_prefix that explains
// the given stderr lines best: the one matching the most lines, with values
// that look like names (no blank or slash in a user, database or host), the
// more specific prefix winning a tie. ok is false when no candidate matches
// at least half of the lines that are not continuation lines.
func DetectPrefix(lines [][]byte) (prefix string, ok bool) {
	var tc timeCache
	var m prefixMatch
	best, bestScore, bestMatched, considered := -1, 0, 0, 0
	for _, l := range lines {
		if len(bytes.TrimSpace(l)) > 0 && l[0] != '\t' {
			considered++
		}
	}
	if considered == 0 {
		return "", false
	}
	for ci, p := range compiledCommon {
		score, matched := 0, 0
		for _, l := range lines {
			if len(l) == 0 || l[0] == '\t' {
				continue
			}
			if !p.match(l, &m, &tc, time.UTC) {
				continue
			}
			matched++
			score += 8
			for _, s := range [...]span{m.user, m.db, m.host} {
				if v := s.of(l); bytes.ContainsAny(v, " /") {
					score -= 3
				}
			}
		}
		if matched > 0 && (best < 0 || score > bestScore) {
			best, bestScore, bestMatched = ci, score, matched
		}
	}
	if best < 0 || bestMatched*2 < considered {
		return "", false
	}
	return CommonPrefixes[best], true
}
