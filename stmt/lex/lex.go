// Package lex is a small, allocation-free SQL tokenizer shared by the secret
// masker and the statement classifiers.
//
// It exists because both consumers must work on text the real parser rejects
// (truncated statements, other dialects, free-form log messages) and because
// the classifier's cache key must be computed in well under a microsecond,
// which rules out a parse. The lexer therefore only knows what it needs to
// find token boundaries correctly: quoting rules (standard strings, E” escape
// strings, dollar quoting, quoted identifiers), comments (nested block comments
// as PostgreSQL does) and operators. It never fails: unterminated strings and
// comments run to the end of the input and are flagged.
package lex

// Kind is the kind of a token.
type Kind uint8

// Token kinds.
const (
	EOF     Kind = iota
	Word         // unquoted identifier or keyword: select, pg_catalog, x1$
	QIdent       // "quoted identifier" (also U&"..."), MySQL `backtick`
	String       // '...', E'...', B'...', X'...', N'...', U&'...'; MySQL "..." too
	Dollar       // $tag$ ... $tag$ (PostgreSQL dollar quoting)
	Number       // 42, 1.5e3, .5, 0x1F, 1_000
	Param        // $1
	Op           // operator: = <> || ->> etc.
	Punct        // ( ) [ ] , ; . : :: :=
	Comment      // -- ... or /* ... */ (MySQL: # ...)
	Other        // any other byte (backslash, braces, control bytes, NUL)
)

var kindNames = [...]string{"EOF", "Word", "QIdent", "String", "Dollar", "Number", "Param", "Op", "Punct", "Comment", "Other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Token is one lexical token: src[Start:End].
type Token struct {
	Kind Kind
	// Unterminated is set for strings, quoted identifiers, dollar-quoted
	// strings and block comments that run to the end of the input.
	Unterminated bool
	// Escapes is set for strings whose body uses backslash escapes (E'...'
	// in PostgreSQL, every string in MySQL mode).
	Escapes    bool
	Start, End int
}

// Lexer walks a string token by token. The zero value is not usable; use New
// or NewMySQL.
type Lexer struct {
	src   string
	pos   int
	mysql bool
}

// New returns a lexer with PostgreSQL rules (standard_conforming_strings on:
// backslashes are literal inside '...' and only escape inside E'...').
func New(src string) Lexer { return Lexer{src: src} }

// NewMySQL returns a lexer with MySQL rules: backslash escapes in every
// string, "..." is a string, `...` an identifier, # starts a comment, no
// dollar quoting.
func NewMySQL(src string) Lexer { return Lexer{src: src, mysql: true} }

// Src returns the lexed text.
func (l *Lexer) Src() string { return l.src }

// Pos returns the byte offset of the next token (or of the whitespace before it).
func (l *Lexer) Pos() int { return l.pos }

// SetPos moves the lexer to byte offset p (used to re-lex after a token).
func (l *Lexer) SetPos(p int) { l.pos = p }

// Text returns the source text of t.
func (l *Lexer) Text(t Token) string { return l.src[t.Start:t.End] }

// IsSpace reports whether c is SQL whitespace.
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// identStart/identCont: PostgreSQL treats every byte >= 0x80 as a letter.
var identStart, identCont, opChar [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		identStart[c] = b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80
		identCont[c] = identStart[c] || (b >= '0' && b <= '9') || b == '$'
	}
	for _, b := range []byte("+-*/<>=~!@#%^&|`?") {
		opChar[b] = true
	}
}

// IsIdentStart reports whether c can start an unquoted identifier.
func IsIdentStart(c byte) bool { return identStart[c] }

// IsIdentCont reports whether c can continue an unquoted identifier.
func IsIdentCont(c byte) bool { return identCont[c] }

// Byte classes for Next's dispatch (a dense switch compiles to a jump table).
const (
	ccOther uint8 = iota
	ccSpace
	ccIdent
	ccDigit
	ccQuote  // '
	ccDQuote // "
	ccBack   // `
	ccDot
	ccDollar
	ccMinus
	ccHash
	ccSlash
	ccPunct // ( ) [ ] , ;
	ccColon
	ccOp
)

var charClass [256]uint8

// Exported byte classes, for callers that scan the common tokens inline.
const (
	ClassSpace = ccSpace
	ClassIdent = ccIdent
	ClassDigit = ccDigit
	ClassPunct = ccPunct
	ClassDot   = ccDot
	ClassOp    = ccOp // operator bytes except - and / (which may start comments)
)

// IsOpChar reports whether c can be part of a PostgreSQL operator.
func IsOpChar(c byte) bool { return opChar[c] }

// Class returns the byte class of c (one of the Class constants or another
// value for bytes that need the full lexer).
func Class(c byte) uint8 { return charClass[c] }

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case IsSpace(b):
			charClass[c] = ccSpace
		case identStart[c]:
			charClass[c] = ccIdent
		case b >= '0' && b <= '9':
			charClass[c] = ccDigit
		}
	}
	charClass['\''] = ccQuote
	charClass['"'] = ccDQuote
	charClass['`'] = ccBack
	charClass['.'] = ccDot
	charClass['$'] = ccDollar
	charClass['-'] = ccMinus
	charClass['#'] = ccHash
	charClass['/'] = ccSlash
	for _, b := range []byte("()[],;") {
		charClass[b] = ccPunct
	}
	charClass[':'] = ccColon
	for _, b := range []byte("+*<>=~!@%^&|?") {
		charClass[b] = ccOp
	}
}

// Next returns the next token, skipping whitespace. At the end it returns a
// token of kind EOF with Start == End == len(src).
func (l *Lexer) Next() Token {
	s := l.src
	p := l.pos
	for p < len(s) && charClass[s[p]] == ccSpace {
		p++
	}
	if p >= len(s) {
		l.pos = p
		return Token{Kind: EOF, Start: p, End: p}
	}
	c := s[p]
	var t Token
	switch charClass[c] {
	case ccIdent:
		if c|0x20 == 'e' || c|0x20 == 'b' || c|0x20 == 'x' || c|0x20 == 'n' || c|0x20 == 'u' || c == '_' {
			t = l.word(p)
			break
		}
		e := p + 1
		for e < len(s) && identCont[s[e]] {
			e++
		}
		t = Token{Kind: Word, Start: p, End: e}
	case ccDigit:
		t = l.number(p)
	case ccPunct:
		t = Token{Kind: Punct, Start: p, End: p + 1}
	case ccQuote:
		t = l.quoted(p, p+1, '\'', l.mysql)
	case ccDQuote:
		if l.mysql {
			t = l.quoted(p, p+1, '"', true)
		} else {
			t = l.quoted(p, p+1, '"', false)
			t.Kind = QIdent
		}
	case ccBack:
		if l.mysql {
			t = l.quoted(p, p+1, '`', false)
			t.Kind = QIdent
		} else {
			t = l.operator(p)
		}
	case ccDot:
		if p+1 < len(s) && s[p+1] >= '0' && s[p+1] <= '9' {
			t = l.number(p)
		} else {
			t = Token{Kind: Punct, Start: p, End: p + 1}
		}
	case ccDollar:
		if l.mysql {
			t = l.word(p)
		} else {
			t = l.dollar(p)
		}
	case ccMinus:
		if p+1 < len(s) && s[p+1] == '-' && (!l.mysql || p+2 >= len(s) || s[p+2] <= ' ') {
			e := p + 2
			for e < len(s) && s[e] != '\n' && s[e] != '\r' {
				e++
			}
			t = Token{Kind: Comment, Start: p, End: e}
		} else {
			t = l.operator(p)
		}
	case ccHash:
		if l.mysql {
			e := p + 1
			for e < len(s) && s[e] != '\n' && s[e] != '\r' {
				e++
			}
			t = Token{Kind: Comment, Start: p, End: e}
		} else {
			t = l.operator(p)
		}
	case ccSlash:
		if p+1 < len(s) && s[p+1] == '*' {
			t = l.blockComment(p)
		} else {
			t = l.operator(p)
		}
	case ccColon:
		e := p + 1
		if e < len(s) && (s[e] == ':' || s[e] == '=') {
			e++
		}
		t = Token{Kind: Punct, Start: p, End: e}
	case ccOp:
		t = l.operator(p)
	default:
		t = Token{Kind: Other, Start: p, End: p + 1}
	}
	l.pos = t.End
	return t
}

// NextSignificant returns the next token that is not a comment.
func (l *Lexer) NextSignificant() Token {
	for {
		t := l.Next()
		if t.Kind != Comment {
			return t
		}
	}
}

// quoted scans a quoted token whose body starts at body and ends at the
// closing q. A doubled q stands for one q; with escapes a backslash escapes
// the next byte.
func (l *Lexer) quoted(start, body int, q byte, escapes bool) Token {
	s := l.src
	p := body
	for p < len(s) {
		c := s[p]
		if c == '\\' && escapes {
			p += 2
			continue
		}
		if c == q {
			if p+1 < len(s) && s[p+1] == q {
				p += 2
				continue
			}
			return Token{Kind: String, Start: start, End: p + 1, Escapes: escapes}
		}
		p++
	}
	return Token{Kind: String, Start: start, End: len(s), Unterminated: true, Escapes: escapes}
}

// word scans an identifier, or a prefixed string (E”, B”, X”, N”, U&”,
// U&"") when the identifier is a single prefix letter followed by a quote.
func (l *Lexer) word(p int) Token {
	s := l.src
	c := s[p] | 0x20
	if p+1 < len(s) {
		n := s[p+1]
		if n == '\'' {
			switch c {
			case 'e':
				if !l.mysql {
					return l.quoted(p, p+2, '\'', true)
				}
			case 'b', 'x', 'n':
				return l.quoted(p, p+2, '\'', l.mysql)
			}
		}
		if c == 'u' && n == '&' && p+2 < len(s) && !l.mysql {
			switch s[p+2] {
			case '\'':
				return l.quoted(p, p+3, '\'', false)
			case '"':
				t := l.quoted(p, p+3, '"', false)
				t.Kind = QIdent
				return t
			}
		}
	}
	e := p + 1
	if l.mysql {
		for e < len(s) && identCont[s[e]] {
			e++
		}
		// MySQL charset introducer: _utf8mb4'...'
		if s[p] == '_' && e < len(s) && s[e] == '\'' {
			return l.quoted(p, e+1, '\'', true)
		}
	} else {
		for e < len(s) && identCont[s[e]] {
			e++
		}
	}
	return Token{Kind: Word, Start: p, End: e}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *Lexer) number(p int) Token {
	s := l.src
	e := p
	if s[e] == '0' && e+1 < len(s) {
		switch s[e+1] | 0x20 {
		case 'x', 'o', 'b':
			e += 2
			for e < len(s) && (isDigit(s[e]) || (s[e]|0x20 >= 'a' && s[e]|0x20 <= 'f') || s[e] == '_') {
				e++
			}
			return Token{Kind: Number, Start: p, End: e}
		}
	}
	for e < len(s) && (isDigit(s[e]) || s[e] == '_') {
		e++
	}
	if e < len(s) && s[e] == '.' && !(e+1 < len(s) && s[e+1] == '.') {
		e++
		for e < len(s) && (isDigit(s[e]) || s[e] == '_') {
			e++
		}
	}
	if e < len(s) && s[e]|0x20 == 'e' {
		f := e + 1
		if f < len(s) && (s[f] == '+' || s[f] == '-') {
			f++
		}
		if f < len(s) && isDigit(s[f]) {
			e = f
			for e < len(s) && isDigit(s[e]) {
				e++
			}
		}
	}
	return Token{Kind: Number, Start: p, End: e}
}

// dollar scans $1 (parameter) or a dollar-quoted string $tag$...$tag$.
func (l *Lexer) dollar(p int) Token {
	s := l.src
	e := p + 1
	if e < len(s) && isDigit(s[e]) {
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		return Token{Kind: Param, Start: p, End: e}
	}
	// Tag: identifier characters except '$', not starting with a digit.
	for e < len(s) && identCont[s[e]] && s[e] != '$' {
		e++
	}
	if e >= len(s) || s[e] != '$' {
		return Token{Kind: Other, Start: p, End: p + 1}
	}
	delim := s[p : e+1]
	body := e + 1
	if i := indexString(s[body:], delim); i >= 0 {
		return Token{Kind: Dollar, Start: p, End: body + i + len(delim)}
	}
	return Token{Kind: Dollar, Start: p, End: len(s), Unterminated: true}
}

// DollarBody returns the body of a dollar-quoted token and its delimiter.
func DollarBody(tok string) (body, delim string) {
	if len(tok) < 2 || tok[0] != '$' {
		return "", ""
	}
	i := 1
	for i < len(tok) && tok[i] != '$' {
		i++
	}
	if i >= len(tok) {
		return "", ""
	}
	delim = tok[:i+1]
	body = tok[i+1:]
	if len(body) >= len(delim) && body[len(body)-len(delim):] == delim {
		body = body[:len(body)-len(delim)]
	}
	return body, delim
}

func (l *Lexer) blockComment(p int) Token {
	s := l.src
	e := p + 2
	if l.mysql {
		// MySQL does not nest; /*! ... */ is executable: the opener alone is
		// a comment and the body is lexed as code.
		if e < len(s) && (s[e] == '!' || s[e] == '+') {
			if s[e] == '!' {
				e++
				for e < len(s) && isDigit(s[e]) {
					e++
				}
				return Token{Kind: Comment, Start: p, End: e}
			}
		}
		if i := indexString(s[e:], "*/"); i >= 0 {
			return Token{Kind: Comment, Start: p, End: e + i + 2}
		}
		return Token{Kind: Comment, Start: p, End: len(s), Unterminated: true}
	}
	depth := 1
	for e < len(s) {
		if s[e] == '*' && e+1 < len(s) && s[e+1] == '/' {
			depth--
			e += 2
			if depth == 0 {
				return Token{Kind: Comment, Start: p, End: e}
			}
			continue
		}
		if s[e] == '/' && e+1 < len(s) && s[e+1] == '*' {
			depth++
			e += 2
			continue
		}
		e++
	}
	return Token{Kind: Comment, Start: p, End: len(s), Unterminated: true}
}

// operator scans an operator following PostgreSQL's rules: the longest run of
// operator characters, stopped before a comment start, and with trailing + or
// - dropped unless the operator contains one of ~!@#%^&|`? (so "=-1" lexes as
// "=" "-" "1").
func (l *Lexer) operator(p int) Token {
	s := l.src
	e := p
	special := false
	for e < len(s) && opChar[s[e]] {
		c := s[e]
		if e > p && (c == '-' && e+1 < len(s) && s[e+1] == '-' || c == '/' && e+1 < len(s) && s[e+1] == '*') {
			break
		}
		if l.mysql && c == '#' {
			break
		}
		switch c {
		case '~', '!', '@', '#', '%', '^', '&', '|', '`', '?':
			special = true
		}
		e++
	}
	if !special {
		for e-p > 1 && (s[e-1] == '+' || s[e-1] == '-') {
			e--
		}
	}
	return Token{Kind: Op, Start: p, End: e}
}

// indexString is strings.Index without importing strings into the hot path
// signature (kept small so the lexer stays dependency-free).
func indexString(s, sub string) int {
	n := len(sub)
	if n == 0 {
		return 0
	}
	c0 := sub[0]
	for i := 0; i+n <= len(s); i++ {
		if s[i] == c0 && s[i:i+n] == sub {
			return i
		}
	}
	return -1
}

// EqualFold reports whether s equals the lower-case ASCII word w, ignoring
// ASCII case. w must be lower case.
func EqualFold(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// Lower returns s with ASCII letters lower-cased; it returns s itself when
// nothing changes.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Unquote returns the value of a string or quoted-identifier token: quotes
// removed, doubled quotes collapsed, and for escape strings the common
// backslash escapes decoded. Dollar-quoted tokens return their body. It is
// best effort (exotic escapes such as \u or U& forms are left as written).
func Unquote(tok string, k Kind, escapes bool) string {
	switch k {
	case Dollar:
		b, _ := DollarBody(tok)
		return b
	case String, QIdent:
	default:
		return tok
	}
	// Strip a prefix: E, B, X, N, U&, _charset.
	i := 0
	for i < len(tok) && tok[i] != '\'' && tok[i] != '"' && tok[i] != '`' {
		i++
	}
	if i >= len(tok) {
		return tok
	}
	q := tok[i]
	body := tok[i+1:]
	if len(body) > 0 && body[len(body)-1] == q {
		body = body[:len(body)-1]
	}
	needs := false
	for j := 0; j < len(body); j++ {
		if body[j] == q || (escapes && body[j] == '\\') {
			needs = true
			break
		}
	}
	if !needs {
		return body
	}
	out := make([]byte, 0, len(body))
	for j := 0; j < len(body); j++ {
		c := body[j]
		if c == q && j+1 < len(body) && body[j+1] == q {
			out = append(out, q)
			j++
			continue
		}
		if escapes && c == '\\' && j+1 < len(body) {
			j++
			switch body[j] {
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			case 'r':
				out = append(out, '\r')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '0':
				out = append(out, 0)
			default:
				out = append(out, body[j])
			}
			continue
		}
		out = append(out, c)
	}
	return string(out)
}
