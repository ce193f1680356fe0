package pgsql

import (
	"strings"

	"github.com/vigildb/vigil/stmt/lex"
)

// The normalizer turns a statement into its literal-stripped form. It runs in
// two modes from one state machine:
//
//   - key mode builds the cache key on every Classify call, so it must cost a
//     few hundred nanoseconds and allocate nothing: single-space separated
//     tokens, words lower-cased, literals replaced by type symbols ("0", "'", "$0"; see literal).
//   - summary mode renders db.query.summary on a cache miss: readable
//     spacing, keywords upper-cased.
//
// Because the summary is produced by the same decisions as the key, it is a
// function of the key, so every statement sharing a cache entry also shares
// the right summary.
//
// Correctness rule for the key: two texts with the same key must get the same
// classification. Hence:
//   - literal values that change the classification are kept verbatim in
//     "sensitive" statements: COPY (path), SET/RESET/ALTER ... SET (value),
//     LOAD (library), DO and CREATE (bodies, AS 'lib', LANGUAGE 'x'),
//     EXPLAIN (ANALYZE 'on'), and for the rest of any statement once a
//     function whose literal arguments matter was named (set_config,
//     lo_export, lo_import, pg_file_write, query_to_xml ..., ts_stat),
//     plainly or as a quoted identifier;
//   - a literal right after PASSWORD or CONNECTION is always stripped (it
//     never matters, and must not be kept in memory);
//   - dollar-quoted bodies are kept: they are code;
//   - anything that changes whether the parser accepts the text is kept:
//     unterminated literals and comments, $n parameters (distinct from
//     literals), adjacent string literals (continuation needs a newline);
//   - lists of literals collapse ("IN (1,2,3)" == "IN (1)", VALUES rows)
//     only inside IN (...) and VALUES, where the count cannot change the
//     outcome;
//   - a comment right after a string literal (comment truncation) is kept as
//     a marker.

// normalizer state; see normalize.
type normalizer struct {
	dst     []byte
	src     string
	summary bool

	// Statement state, reset at ';'.
	words     int  // words seen in the statement
	sensitive bool // keep literal values
	code      bool // DO / CREATE FUNCTION|PROCEDURE: dollar bodies are code
	creating  bool // after CREATE, still reading modifiers

	semiRun   int       // dst offset where a run of trailing ';' began, or -1
	prev      lex.Token // previous significant token
	prevClass uint16    // word class of prev (0 unless a word)

	depth    int
	overflow bool // nesting beyond maxFrames: no collapsing at all
	frames   [maxFrames]frame

	// Literal-list collapse bookkeeping.
	last       lastKind
	lastLitKey string // the key symbol of the last literal written
	commaOff   int    // dst length before the last comma
	beforeLit  bool   // the token before the last comma was a literal
}

const maxFrames = 16

type lastKind uint8

const (
	lastOther lastKind = iota
	lastLit
	lastComma
)

// frame is one parenthesis level.
type frame struct {
	collapse   bool  // literal items collapse: IN (...), VALUES (...)
	row        bool  // a VALUES row that follows another row
	valuesRows bool  // VALUES opened a row list at this level
	afterChild uint8 // 1: a child group just closed; 2: ... and then a comma
	start      int32 // dst offset of "("
	lastStart  int32 // span of the most recently closed child group
	lastEnd    int32
}

// normalize appends the key (or summary) of src to dst.
func normalize(dst []byte, src string, summary bool) []byte {
	n := normalizer{dst: dst, src: src, summary: summary}
	n.frames[0].lastStart = -1
	n.semiRun = -1
	n.run()
	// Trailing semicolons do not change the statement.
	if n.semiRun >= 0 {
		n.dst = n.dst[:n.semiRun]
	}
	return n.dst
}

func (n *normalizer) frame() *frame { return &n.frames[min(n.depth, maxFrames-1)] }

func (n *normalizer) run() {
	lx := lex.New(n.src)
	for {
		var t lex.Token
		// The common tokens (words, integers, one-byte punctuation and
		// operators) are scanned inline: this loop is the hot path and the
		// lexer's general dispatch costs more than these tokens themselves.
		src := n.src
		p := lx.Pos()
		for p < len(src) && lex.Class(src[p]) == lex.ClassSpace {
			p++
		}
		t.Kind = lex.EOF
		if p < len(src) {
			switch lex.Class(src[p]) {
			case lex.ClassIdent:
				e := p + 1
				for e < len(src) && lex.IsIdentCont(src[e]) {
					e++
				}
				if e-p > 1 || e >= len(src) || src[e] != '\'' && src[e] != '&' {
					t = lex.Token{Kind: lex.Word, Start: p, End: e}
				}
			case lex.ClassPunct:
				t = lex.Token{Kind: lex.Punct, Start: p, End: p + 1}
			case lex.ClassDigit:
				e := p + 1
				for e < len(src) && lex.Class(src[e]) == lex.ClassDigit {
					e++
				}
				if e >= len(src) || !lex.IsIdentCont(src[e]) && src[e] != '.' {
					t = lex.Token{Kind: lex.Number, Start: p, End: e}
				}
			case lex.ClassOp:
				if p+1 >= len(src) || !lex.IsOpChar(src[p+1]) {
					t = lex.Token{Kind: lex.Op, Start: p, End: p + 1}
				}
			case lex.ClassDot:
				if p+1 >= len(src) || lex.Class(src[p+1]) != lex.ClassDigit {
					t = lex.Token{Kind: lex.Punct, Start: p, End: p + 1}
				}
			}
		}
		if t.Kind != lex.EOF {
			lx.SetPos(t.End)
		} else {
			lx.SetPos(p)
			t = lx.Next()
		}
		var class uint16
		if t.Kind == lex.Punct && t.End-t.Start == 1 && n.src[t.Start] == ';' && n.depth == 0 {
			if n.semiRun < 0 {
				n.semiRun = len(n.dst)
			}
		} else if t.Kind != lex.Comment && t.Kind != lex.EOF {
			n.semiRun = -1
		}
		switch t.Kind {
		case lex.EOF:
			return
		case lex.Comment:
			before := len(n.dst)
			n.comment(t)
			if len(n.dst) > before {
				n.semiRun = -1 // a marker after the semicolons is part of the key
			}
			continue
		case lex.Word:
			class = n.word(t)
		case lex.Punct:
			n.punct(t)
		case lex.Number:
			// 0FROM is "trailing junk after numeric literal" to the parser,
			// 0 FROM is not: the key must tell them apart.
			junk := t.End < len(n.src) && lex.IsIdentCont(n.src[t.End])
			sym := numberSymbol(n.src[t.Start:t.End])
			switch {
			case n.summary:
				n.literal("0", t)
			case junk:
				n.writeTok(n.src[t.Start:t.End]+"~", t)
				n.other()
			case n.sensitive || sym == "":
				n.writeTok(n.src[t.Start:t.End], t)
				n.other()
			default:
				n.literal(sym, t)
			}
		case lex.String:
			n.str(t)
		case lex.Param:
			if t.End < len(n.src) && lex.IsIdentCont(n.src[t.End]) && !n.summary {
				// $1abc: "trailing junk after parameter".
				n.writeTok(n.src[t.Start:t.End]+"~", t)
				n.other()
				break
			}
			n.literal("$0", t)
		case lex.Dollar:
			n.dollar(t)
		case lex.Op:
			n.writeTok(n.src[t.Start:t.End], t)
			n.other()
		case lex.QIdent:
			// "set_config"(...) is set_config(...); a U&"..." name may spell
			// anything with escapes.
			raw := n.src[t.Start:t.End]
			if raw[0] != '"' || len(raw) >= 3 && wcCandidate(raw[1:len(raw)-1]) && wordClass([]byte(raw[1:len(raw)-1]))&wcLiteralFn != 0 {
				n.sensitive = true
			}
			n.writeTok(raw, t)
			n.other()
		default: // Other
			n.writeTok(n.src[t.Start:t.End], t)
			n.other()
		}
		n.prev, n.prevClass = t, class
	}
}

// other records a token that is neither literal nor comma nor word.
func (n *normalizer) other() {
	f := n.frame()
	f.afterChild = 0
	f.valuesRows = false
	n.last = lastOther
}

// space writes the separator before a token in summary mode.
func (n *normalizer) space(t lex.Token) {
	if len(n.dst) == 0 {
		return
	}
	last := n.dst[len(n.dst)-1]
	if last == ' ' || last == '(' || last == '[' || last == '.' {
		return
	}
	if len(n.dst) >= 2 && last == ':' && n.dst[len(n.dst)-2] == ':' {
		return
	}
	if t.Kind == lex.Punct {
		switch n.src[t.Start] {
		case ')', ']', ',', ';', '.':
			return
		case ':':
			if t.End-t.Start == 2 && n.src[t.Start+1] == ':' {
				return
			}
		case '(':
			// f(x), but IN (x) and VALUES (x).
			if n.prev.Kind == lex.QIdent || n.prev.Kind == lex.Word && !isKeyword(n.src[n.prev.Start:n.prev.End]) {
				return
			}
		}
	}
	n.dst = append(n.dst, ' ')
}

// writeTok writes raw token text.
func (n *normalizer) writeTok(s string, t lex.Token) {
	if n.summary {
		n.space(t)
		n.dst = append(n.dst, s...)
		return
	}
	n.dst = append(n.dst, s...)
	n.dst = append(n.dst, ' ')
}

// word writes a word lower-cased (upper-cased keywords in a summary) and
// returns its class.
func (n *normalizer) word(t lex.Token) uint16 {
	s := n.src[t.Start:t.End]
	var class uint16
	if n.summary {
		n.space(t)
		up := isKeyword(s)
		start := len(n.dst)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c-'A' < 26 {
				c += 'a' - 'A'
			}
			n.dst = append(n.dst, c)
		}
		class = wordClass(n.dst[start:])
		if up {
			for i := start; i < len(n.dst); i++ {
				if c := n.dst[i]; c-'a' < 26 {
					n.dst[i] = c - ('a' - 'A')
				}
			}
		}
	} else {
		start := len(n.dst)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c-'A' < 26 {
				c += 'a' - 'A'
			}
			n.dst = append(n.dst, c)
		}
		if wcCandidate(s) {
			class = wordClass(n.dst[start:])
		}
		n.dst = append(n.dst, ' ')
	}
	n.classifyWord(class)
	n.last = lastOther
	return class
}

// Word classes for the key state machine, from one switch per word.
const (
	wcIn        uint16 = 1 << iota // IN
	wcValues                       // VALUES
	wcSecret                       // PASSWORD, CONNECTION: the next literal is stripped
	wcSensitive                    // first word: literals matter (COPY, SET, RESET, ALTER, LOAD)
	wcDo                           // first word DO
	wcCreate                       // first word CREATE
	wcRoutine                      // after CREATE: FUNCTION, PROCEDURE
	wcLanguage                     // after CREATE: LANGUAGE
	wcModifier                     // after CREATE: OR, REPLACE, TRUSTED, PROCEDURAL
	wcLiteralFn                    // functions whose literal arguments matter
)

// classWords are the words wordClass knows (keep the two in sync; a test
// checks it).
var classWords = []string{
	"or", "in", "values", "set", "copy", "reset", "alter", "load", "explain", "do", "create", "function",
	"procedure", "language", "replace", "trusted", "procedural", "password", "connection", "set_config",
	"lo_export", "lo_import", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
	"ts_stat", "pg_file_write",
}

// wcFilter[c] has bit len(w) set when some class word of that length starts
// with the letter c (either case): most identifiers skip the switch.
var wcFilter [256]uint32

func init() {
	for _, w := range classWords {
		wcFilter[w[0]] |= 1 << len(w)
		wcFilter[w[0]-('a'-'A')] |= 1 << len(w)
	}
}

func wcCandidate(s string) bool {
	return len(s) < 32 && wcFilter[s[0]]&(1<<len(s)) != 0
}

func wordClass(w []byte) uint16 {
	switch string(w) {
	case "or":
		return wcModifier
	case "in":
		return wcIn
	case "values":
		return wcValues
	case "set":
		return wcSensitive
	case "copy", "reset", "alter", "load", "explain":
		return wcSensitive
	case "do":
		return wcDo
	case "create":
		return wcCreate | wcSensitive
	case "function", "procedure":
		return wcRoutine
	case "language":
		return wcLanguage
	case "replace", "trusted", "procedural":
		return wcModifier
	case "password", "connection":
		return wcSecret
	case "set_config", "lo_export", "lo_import", "query_to_xml", "query_to_xmlschema",
		"query_to_xml_and_xmlschema", "ts_stat", "pg_file_write":
		return wcLiteralFn
	}
	return 0
}

// classifyWord updates the statement state after a word of class c.
func (n *normalizer) classifyWord(c uint16) {
	f := n.frame()
	f.afterChild = 0
	if c&wcValues == 0 {
		f.valuesRows = false
	}
	n.words++
	if n.words == 1 {
		switch {
		case c&wcDo != 0:
			n.sensitive, n.code = true, true
		case c&wcCreate != 0:
			n.sensitive, n.creating = true, true
		case c&wcSensitive != 0:
			n.sensitive = true
		}
	} else if n.creating {
		switch {
		case c&wcRoutine != 0:
			n.sensitive, n.code, n.creating = true, true, false
		case c&wcLanguage != 0:
			n.sensitive, n.creating = true, false
		case c&wcModifier != 0:
		default:
			n.creating = false
		}
	}
	if c&wcLiteralFn != 0 {
		n.sensitive = true
	}
}

// numberSymbol returns the key symbol of a number: "0" for an integer, "0e"
// for a decimal or real (the grammar takes integers where it refuses
// decimals: CONNECTION LIMIT 1.5), "" (keep verbatim) for anything else —
// hex, octal, binary, underscores and malformed forms the scanner rejects.
func numberSymbol(s string) string {
	dot, exp := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && !exp:
			dot = true
		case (c == 'e' || c == 'E') && !exp && i > 0:
			exp = true
			if i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
				i++
			}
			if i+1 >= len(s) {
				return ""
			}
		default:
			return ""
		}
	}
	if dot || exp {
		return "0e"
	}
	return "0"
}

// literal writes a stripped literal, collapsing "x, x, x" lists where that
// is safe. Key symbols: "0" integer, "0e" decimal, "'" string, "'b" "'x" "'n" bit, hex and
// national strings, "$0" parameter. No other token produces them in the same
// position (a token is always followed by a space, an operator never holds a
// digit or quote, a lone quote always starts a string, and a number is only
// kept verbatim in sensitive statements, where every number is).
func (n *normalizer) literal(k string, t lex.Token) {
	f := n.frame()
	f.afterChild = 0
	f.valuesRows = false
	if f.collapse && !n.overflow && n.last == lastComma && n.beforeLit && n.lastLitKey == k {
		n.dst = n.dst[:n.commaOff]
		n.last = lastLit
		return
	}
	if n.summary {
		n.space(t)
		if k == "$0" {
			n.dst = append(n.dst, '$')
		} else {
			n.dst = append(n.dst, '?') // every literal reads the same in a summary
		}
	} else {
		n.dst = append(n.dst, k...)
		n.dst = append(n.dst, ' ')
	}
	n.last = lastLit
	n.lastLitKey = k
}

func (n *normalizer) str(t lex.Token) {
	if n.prev.Kind == lex.String && !n.summary {
		// 'a'\n'b' is one literal, 'a' 'b' (or a block comment between) a
		// syntax error. Markers start with \x01 and have no space inside, so
		// no token sequence can produce them.
		gap := n.src[n.prev.End:t.Start]
		switch {
		case strings.Contains(gap, "/*"):
			n.dst = append(n.dst, "\x01% "...)
		case strings.IndexByte(gap, '\n') >= 0:
			n.dst = append(n.dst, "\x01| "...)
		default:
			n.dst = append(n.dst, "\x01& "...)
		}
	}
	if n.sensitive && n.prevClass&wcSecret == 0 && !n.summary {
		n.writeTok(n.src[t.Start:t.End], t)
		n.other()
		return
	}
	if t.Unterminated {
		// Same decision in both modes (no list collapsing), so that the
		// summary stays a function of the key.
		if n.summary {
			n.writeTok("?", t)
		} else {
			n.writeTok("'~", t)
		}
		n.other()
		return
	}
	// Strings and numbers get distinct key symbols, and so do bit strings
	// (B'', X'') and national strings (N''): the grammar accepts them in
	// different places (PASSWORD 'x' parses, PASSWORD 1 does not; int '1'
	// is a typed literal, int B'1' a syntax error).
	k := "'"
	switch n.src[t.Start] | 0x20 {
	case 'b':
		k = "'b"
	case 'x':
		k = "'x"
	case 'n':
		k = "'n"
	case 'e':
		// Escapes in E'' strings are checked by the scanner (E'\u00' is a
		// syntax error): keep such literals verbatim.
		if strings.IndexByte(n.src[t.Start:t.End], '\\') >= 0 && !n.summary {
			n.writeTok(n.src[t.Start:t.End], t)
			n.other()
			return
		}
	case 'u':
		// U&'' escapes, and the UESCAPE character after them, are checked
		// too: keep every literal of the statement from here on.
		if n.src[t.Start] != '\'' && !n.summary {
			n.sensitive = true
			n.writeTok(n.src[t.Start:t.End], t)
			n.other()
			return
		}
	}
	n.literal(k, t)
}

func (n *normalizer) dollar(t lex.Token) {
	secret := n.prevClass&wcSecret != 0
	n.other()
	if !n.summary {
		n.writeTok(n.src[t.Start:t.End], t)
		return
	}
	if !n.code || secret {
		n.writeTok("?", t)
		return
	}
	body, _ := lex.DollarBody(n.src[t.Start:t.End])
	n.space(t)
	n.dst = append(n.dst, "$$ "...)
	n.dst = normalize(n.dst, body, true)
	n.dst = append(n.dst, " $$"...)
}

func (n *normalizer) comment(t lex.Token) {
	if n.summary {
		return
	}
	if truncationComment(n.src, n.prev, t) {
		n.dst = append(n.dst, "-- "...)
	} else if t.Unterminated {
		n.dst = append(n.dst, "/*~ "...)
	}
}

// truncationComment reports whether comment c, whose preceding significant
// token is prev, looks like comment truncation: a "--" comment (or an
// unterminated "/*") after a string literal that either touches it or
// swallows a quote, as in name = 'admin'--' AND pw = '...'. A spaced
// trailing remark (status = 'x' -- active only) is not.
func truncationComment(src string, prev, c lex.Token) bool {
	if prev.Kind != lex.String || !(src[c.Start] == '-' || c.Unterminated) {
		return false
	}
	return c.Start == prev.End || strings.IndexByte(src[c.Start:c.End], '\'') >= 0
}

func (n *normalizer) punct(t lex.Token) {
	c := n.src[t.Start]
	switch {
	case c == '(' || c == '[':
		parent := n.frame()
		collapse, row := false, false
		switch {
		case n.prevClass&wcValues != 0:
			collapse = true
			parent.valuesRows = true
		case n.prevClass&wcIn != 0:
			collapse = true
		case parent.afterChild == 2 && parent.valuesRows:
			// "( ... ), (" after VALUES: another row.
			collapse, row = true, true
		}
		if n.summary {
			n.space(t)
		}
		start := int32(len(n.dst))
		n.dst = append(n.dst, c)
		if !n.summary {
			n.dst = append(n.dst, ' ')
		}
		parent.afterChild = 0
		n.depth++
		if n.depth >= maxFrames-1 {
			n.overflow = true
		} else {
			n.frames[n.depth] = frame{collapse: collapse, row: row, start: start, lastStart: -1}
		}
		n.last = lastOther
	case c == ')' || c == ']':
		n.writeTok(n.src[t.Start:t.End], t)
		n.last = lastOther
		if n.depth == 0 {
			n.frame().afterChild = 0
			return
		}
		if n.depth >= maxFrames-1 || n.overflow {
			n.depth--
			n.frame().afterChild = 0
			return
		}
		closed := n.frames[n.depth]
		n.depth--
		parent := n.frame()
		if closed.row && parent.lastStart >= 0 && closed.start >= parent.lastEnd &&
			string(n.dst[parent.lastStart:parent.lastEnd]) == string(n.dst[closed.start:]) {
			n.dst = n.dst[:parent.lastEnd]
		} else {
			parent.lastStart, parent.lastEnd = closed.start, int32(len(n.dst))
		}
		parent.afterChild = 1
	case c == ',':
		f := n.frame()
		n.beforeLit = n.last == lastLit
		n.commaOff = len(n.dst)
		n.writeTok(",", t)
		if f.afterChild == 1 {
			f.afterChild = 2
		} else {
			f.afterChild = 0
		}
		n.last = lastComma
	case c == ';':
		n.writeTok(";", t)
		n.last = lastOther
		if n.depth > 0 {
			// Inside parentheses a semicolon does not end the statement,
			// as in splitLex (the parser rejects the text anyway).
			n.other()
			return
		}
		n.frames[0] = frame{lastStart: -1}
		n.words, n.sensitive, n.code, n.creating = 0, false, false, false
	default:
		n.writeTok(n.src[t.Start:t.End], t)
		n.other()
	}
}
