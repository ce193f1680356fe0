// Package mask removes secrets from SQL text and log messages before they
// leave the parser: passwords, connection-string passwords, encryption keys.
//
// It is lexical (no parse) so that it also works on statements the parser
// rejects, on truncated text and on free-form error messages. A secret
// literal is replaced by Placeholder, which is itself a string literal, so a
// masked statement still lexes and parses like the original: the classifier
// may run on masked text and sees the same statement structure.
//
// What is recognised:
//   - a secret-named word followed by a literal, optionally through =, =>, :=,
//     TO, LIKE, IN (...), or a function call: PASSWORD 'x', ENCRYPTED PASSWORD
//     E'x', PASSWORD $$x$$, OPTIONS (password 'x'), WHERE password = md5('x'),
//     MySQL PASSWORD('x') and SET PASSWORD FOR u = 'x'. Secret names are
//     password, passwd, pwd, passphrase, secret, token and the *_password,
//     *_secret, *_token, *_key ... families; PASSWORD NULL stays.
//   - MySQL IDENTIFIED BY / WITH ... BY / AS / USING literals.
//   - key arguments of crypto functions: pgp_sym_encrypt/decrypt, pgp_pub_*,
//     encrypt/decrypt(_iv), hmac, crypt, aes_/des_encrypt/decrypt, and the
//     value of set_config('...password...', value, ...).
//   - inside every literal, quoted identifier and comment: libpq/JDBC/ODBC
//     connection strings (password=..., sslpassword=..., pwd=...) and URI
//     user info (postgresql://user:secret@host), rewritten to password=*** and
//     user:***@; literals and dollar-quoted bodies that hold SQL themselves
//     (DO blocks, EXECUTE '...') are masked recursively.
package mask

import (
	"strings"

	"github.com/vigildb/vigil/stmt/lex"
)

// Placeholder replaces every masked secret literal.
const Placeholder = "'***'"

// Stars replaces a secret inside a connection string or URI.
const Stars = "***"

// maxDepth bounds recursion into literals that contain SQL.
const maxDepth = 4

// SQL returns stmt with every secret replaced by Placeholder (or by
// password=*** inside connection strings). It uses PostgreSQL quoting rules
// (standard_conforming_strings on). Text without a candidate keyword is
// returned unchanged and without allocation.
func SQL(stmt string) string {
	if !Candidate(stmt) {
		return stmt
	}
	return maskText(stmt, false, 0)
}

// MySQL is SQL with MySQL quoting rules: backslash escapes in every string,
// "..." strings, `...` identifiers and # comments.
func MySQL(stmt string) string {
	if !Candidate(stmt) {
		return stmt
	}
	return maskText(stmt, true, 0)
}

// candPair is a two-byte prefilter for Candidate: bit (c2&63) of
// candPair[c1] is set when c1 c2 can start a trigger word (case-folded).
// Collisions only send a position to the exact check.
var candPair [256]uint64

func init() {
	for _, w := range []string{"pass", "pwd", "pgp_", "crypt", "connection", "conninfo", "dblink",
		"identified", "secret", "token", "options", "hmac", "aes_", "_key", "://"} {
		a, b := w[0], w[1]
		for _, x := range []byte{a, upper(a)} {
			for _, y := range []byte{b, upper(b)} {
				candPair[x] |= 1 << (y & 63)
			}
		}
	}
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Candidate reports whether s contains any keyword that can introduce a
// secret (case-insensitive): pass, pwd, pgp_, crypt, dblink, identified,
// secret, token, connection, conninfo, options, hmac, _key, aes_ or "://".
// It is the fast path of SQL and allocation-free.
func Candidate(s string) bool {
	n := len(s)
	for i := 0; i+3 <= n; i++ {
		c := s[i]
		if candPair[c]>>(s[i+1]&63)&1 == 0 {
			continue
		}
		switch c | 0x20 {
		case 'p':
			if hasFold(s, i, "pass") || hasFold(s, i, "pgp_") || hasFold(s, i, "pwd") {
				return true
			}
		case 'c':
			if hasFold(s, i, "crypt") || hasFold(s, i, "connection") || hasFold(s, i, "conninfo") {
				return true
			}
		case 'd':
			if hasFold(s, i, "dblink") {
				return true
			}
		case 'i':
			if hasFold(s, i, "identified") {
				return true
			}
		case 's':
			if hasFold(s, i, "secret") {
				return true
			}
		case 't':
			if hasFold(s, i, "token") {
				return true
			}
		case 'o':
			if hasFold(s, i, "options") {
				return true
			}
		case 'h':
			if hasFold(s, i, "hmac") {
				return true
			}
		case 'a':
			if hasFold(s, i, "aes_") {
				return true
			}
		case ':' | 0x20:
			if c == ':' && s[i+1] == '/' && s[i+2] == '/' {
				return true
			}
		case '_':
			if hasFold(s, i, "_key") {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether s[i:] starts with the lower-case ASCII word w,
// ignoring case.
func hasFold(s string, i int, w string) bool {
	if i+len(w) > len(s) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := s[i+j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// IsSecretName reports whether an identifier (lower case) names a secret:
// password, passwd, pwd, passphrase, secret, token, and names ending in
// _password, _passwd, _pwd, _passphrase, _secret, _token or _key
// (master_password, client_secret, api_key ...). It deliberately does not
// match prefixes, so settings such as password_encryption keep their value.
func IsSecretName(w string) bool {
	switch w {
	case "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey",
		"old_password", "sslpassword", "sslpassphrase":
		return true
	}
	for _, suf := range [...]string{"_password", "_passwd", "_pwd", "_passphrase", "_secret", "_token", "_key"} {
		if len(w) > len(suf) && strings.HasSuffix(w, suf) {
			return true
		}
	}
	return false
}

// secretArgs lists, per crypto function, the 0-based arguments that hold a
// key or password.
var secretArgs = map[string][]int{
	"pgp_sym_encrypt":       {1},
	"pgp_sym_encrypt_bytea": {1},
	"pgp_sym_decrypt":       {1},
	"pgp_sym_decrypt_bytea": {1},
	"pgp_pub_encrypt":       {1},
	"pgp_pub_encrypt_bytea": {1},
	"pgp_pub_decrypt":       {1, 2},
	"pgp_pub_decrypt_bytea": {1, 2},
	"encrypt":               {1},
	"decrypt":               {1},
	"encrypt_iv":            {1, 2},
	"decrypt_iv":            {1, 2},
	"hmac":                  {1},
	"crypt":                 {0},
	"aes_encrypt":           {1},
	"aes_decrypt":           {1},
	"des_encrypt":           {1},
	"des_decrypt":           {1},
	"password":              {0},
	"old_password":          {0},
}

// tok is a token plus its lower-cased text for words.
type tok struct {
	lex.Token
	word string // lower-case text for Word tokens ("" otherwise)
}

func isLiteral(t lex.Token) bool { return t.Kind == lex.String || t.Kind == lex.Dollar }

// maskText is the slow path: tokenize, mark secret literals, rewrite.
func maskText(s string, mysql bool, depth int) string {
	var lx lex.Lexer
	if mysql {
		lx = lex.NewMySQL(s)
	} else {
		lx = lex.New(s)
	}
	toks := make([]tok, 0, len(s)/5+4)
	var sig []int // indexes of significant (non-comment) tokens
	for {
		t := lx.Next()
		if t.Kind == lex.EOF {
			break
		}
		tk := tok{Token: t}
		if t.Kind == lex.Word {
			tk.word = lex.Lower(s[t.Start:t.End])
		} else if t.Kind == lex.QIdent && t.End-t.Start <= 64 {
			// "password" 'x' in generic OPTIONS lists.
			tk.word = lex.Lower(lex.Unquote(s[t.Start:t.End], t.Kind, false))
		}
		toks = append(toks, tk)
		if t.Kind != lex.Comment {
			sig = append(sig, len(toks)-1)
		}
	}
	masked := make([]bool, len(toks))
	markRules(s, toks, sig, masked)

	// Rebuild: every quoted token (string, dollar body, quoted identifier,
	// comment) is masked inside or replaced; the code between them only has
	// URI user info masked, because password=value outside quotes is
	// ordinary SQL (SET password=$1). URIs are never matched across a token
	// boundary, so masking twice gives the same text.
	var b strings.Builder
	b.Grow(len(s) + 16)
	changed := false
	last := 0
	for i, t := range toks {
		quoted := t.Kind == lex.String || t.Kind == lex.Dollar || t.Kind == lex.QIdent || t.Kind == lex.Comment
		if !quoted && !masked[i] {
			continue
		}
		gap := s[last:t.Start]
		mg := maskURIs(gap)
		orig := s[t.Start:t.End]
		repl := orig
		if masked[i] {
			repl = Placeholder
			// Keep the placeholder a token of its own, so that masking
			// twice gives the same text (B"x" must not become B'***').
			if t.Start > 0 && (lex.IsIdentCont(s[t.Start-1]) || s[t.Start-1] == '\'' || s[t.Start-1] == '"') {
				repl = " " + repl
			}
			if t.End < len(s) && (s[t.End] == '\'' || s[t.End] == '"' || s[t.End] == '$' || lex.IsIdentCont(s[t.End])) {
				repl += " "
			}
		} else {
			repl = maskInside(orig, t.Token, mysql, depth)
		}
		changed = changed || mg != gap || repl != orig
		b.WriteString(mg)
		b.WriteString(repl)
		last = t.End
	}
	tail := s[last:]
	mt := maskURIs(tail)
	if !changed && mt == tail {
		return s
	}
	b.WriteString(mt)
	return b.String()
}

// markRules applies the token-level rules and marks the literals to replace.
func markRules(s string, toks []tok, sig []int, masked []bool) {
	at := func(k int) *tok {
		if k < 0 || k >= len(sig) {
			return nil
		}
		return &toks[sig[k]]
	}
	isPunct := func(t *tok, p string) bool {
		return t != nil && (t.Kind == lex.Punct || t.Kind == lex.Op) && s[t.Start:t.End] == p
	}
	for k := 0; k < len(sig); k++ {
		t := at(k)
		if t.word == "" {
			continue
		}
		w := t.word
		// Function-argument rules: name ( args ).
		if args, ok := secretArgs[w]; ok && isPunct(at(k+1), "(") {
			maskArgs(s, toks, sig, k+1, masked, args)
			if w == "password" || w == "old_password" {
				continue
			}
		}
		if w == "set_config" && isPunct(at(k+1), "(") {
			if a := at(k + 2); a != nil && isLiteral(a.Token) {
				name := strings.ToLower(lex.Unquote(s[a.Start:a.End], a.Kind, a.Escapes))
				if nameLooksSecret(name) {
					maskArgs(s, toks, sig, k+1, masked, []int{1})
				}
			}
			continue
		}
		if w == "identified" {
			maskIdentified(s, toks, sig, k, masked)
			continue
		}
		if !IsSecretName(w) {
			continue
		}
		// Secret-named word: PASSWORD 'x', password = 'x', password => 'x' ...
		j := k + 1
		if n := at(j); n != nil && n.word == "for" && w == "password" {
			// MySQL: SET PASSWORD FOR user@host = 'x'.
			for j < len(sig) && j < k+16 && !isPunct(at(j), "=") {
				j++
			}
		}
		n := at(j)
		if n == nil {
			continue
		}
		switch {
		case isPunct(n, "=") || isPunct(n, "==") || isPunct(n, "=>") || isPunct(n, ":=") ||
			isPunct(n, "<>") || isPunct(n, "!=") || n.word == "to" || n.word == "like":
			j++
		case n.word == "in" && isPunct(at(j+1), "("):
			maskCall(s, toks, sig, j+1, masked)
			continue
		case isPunct(n, "("):
			maskCall(s, toks, sig, j, masked)
			continue
		}
		n = at(j)
		if n == nil {
			continue
		}
		if isLiteral(n.Token) {
			masked[sig[j]] = true
			// PASSWORD E'a' 'b' (continued literal lines) — mask the run.
			for m := j + 1; m < len(sig) && isLiteral(at(m).Token); m++ {
				masked[sig[m]] = true
			}
			continue
		}
		if n.word != "" && n.word != "null" && isPunct(at(j+1), "(") {
			// password = md5('x'), PASSWORD(crypt('x', ...)).
			maskCall(s, toks, sig, j+1, masked)
		}
	}
}

// nameLooksSecret is used on set_config names such as 'app.password'.
func nameLooksSecret(name string) bool {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return IsSecretName(name) || strings.Contains(name, "pass") || strings.Contains(name, "secret") ||
		strings.Contains(name, "token") || strings.Contains(name, "pwd")
}

// maskCall marks every literal between the parenthesis at sig index open
// and its match (or the end of the text when truncated).
func maskCall(s string, toks []tok, sig []int, open int, masked []bool) {
	depth := 0
	for k := open; k < len(sig); k++ {
		t := toks[sig[k]]
		switch {
		case t.Kind == lex.Punct && s[t.Start:t.End] == "(":
			depth++
		case t.Kind == lex.Punct && s[t.Start:t.End] == ")":
			depth--
			if depth == 0 {
				return
			}
		case isLiteral(t.Token):
			masked[sig[k]] = true
		}
	}
}

// maskArgs marks the literals of the listed argument positions of the call
// whose '(' is at sig index open.
func maskArgs(s string, toks []tok, sig []int, open int, masked []bool, args []int) {
	want := func(i int) bool {
		for _, a := range args {
			if a == i {
				return true
			}
		}
		return false
	}
	depth := 0
	arg := 0
	for k := open; k < len(sig); k++ {
		t := toks[sig[k]]
		txt := s[t.Start:t.End]
		if t.Kind == lex.Punct {
			switch txt {
			case "(", "[":
				depth++
				continue
			case ")", "]":
				depth--
				if depth == 0 {
					return
				}
				continue
			case ",":
				if depth == 1 {
					arg++
				}
				continue
			}
		}
		if isLiteral(t.Token) && want(arg) {
			masked[sig[k]] = true
		}
	}
}

// maskIdentified handles MySQL IDENTIFIED BY 'x' | IDENTIFIED WITH plugin BY
// 'x' | AS 'hash' | VIA plugin USING 'x' | BY PASSWORD 'hash' [REPLACE 'old']:
// every literal up to the end of the user specification is masked.
func maskIdentified(s string, toks []tok, sig []int, k int, masked []bool) {
	for j := k + 1; j < len(sig) && j < k+24; j++ {
		t := toks[sig[j]]
		if t.Kind == lex.Punct {
			if txt := s[t.Start:t.End]; txt == "," || txt == ";" {
				return
			}
		}
		switch t.word {
		case "require", "account", "default", "comment", "attribute", "failed_login_attempts", "password_lock_time", "with_max":
			return
		}
		if isLiteral(t.Token) {
			masked[sig[j]] = true
		}
	}
}

// maskInside masks secrets inside one literal, quoted identifier or comment:
// connection strings and URIs, then (for literals and comments) SQL held in
// it, recursively.
func maskInside(text string, t lex.Token, mysql bool, depth int) string {
	if !Candidate(text) {
		return text
	}
	switch t.Kind {
	case lex.String:
		if t.Unterminated {
			// Truncated literal: keep the opening quote, mask its body as text.
			pre := prefixLen(text)
			body := maskConnInfo(text[pre:], '\'')
			return text[:pre] + body
		}
		body := lex.Unquote(text, t.Kind, t.Escapes)
		nb := maskConnInfo(body, 0)
		if depth < maxDepth {
			nb = maskNested(nb, mysql, depth+1)
		}
		if nb == body {
			return text
		}
		return requote(text, nb, t.Escapes)
	case lex.Dollar:
		body, delim := lex.DollarBody(text)
		nb := maskConnInfo(body, 0)
		if depth < maxDepth {
			nb = maskNested(nb, mysql, depth+1)
		}
		if nb == body || strings.Contains(nb, delim) {
			return text
		}
		if t.Unterminated {
			return delim + nb
		}
		return delim + nb + delim
	case lex.QIdent:
		// A double-quoted span is an identifier in SQL but, in messages and
		// CSV/JSON log fields, quoted text that may hold a whole statement.
		q := text[0]
		if q != '"' && q != '`' || t.Unterminated || len(text) < 2 {
			return maskConnInfo(text, '"')
		}
		qq := string([]byte{q, q})
		body := strings.ReplaceAll(text[1:len(text)-1], qq, qq[:1])
		nb := maskConnInfo(body, 0)
		if depth < maxDepth {
			nb = maskNested(nb, mysql, depth+1)
		}
		if nb == body {
			return text
		}
		return qq[:1] + strings.ReplaceAll(nb, qq[:1], qq) + qq[:1]
	case lex.Comment:
		open, body, closeTok := splitComment(text, t.Unterminated)
		nb := maskConnInfo(body, 0)
		if depth < maxDepth {
			nb = maskNested(nb, mysql, depth+1)
		}
		if nb == body || strings.Contains(nb, "*/") || strings.Contains(nb, "/*") != strings.Contains(body, "/*") || strings.ContainsAny(nb, "\r\n") != strings.ContainsAny(body, "\r\n") {
			return text
		}
		return open + nb + closeTok
	}
	return text
}

// maskNested masks SQL held inside a literal or comment.
func maskNested(body string, mysql bool, depth int) string {
	if !Candidate(body) {
		return body
	}
	return maskText(body, mysql, depth)
}

func splitComment(text string, unterminated bool) (open, body, closeTok string) {
	switch {
	case strings.HasPrefix(text, "--"):
		return "--", text[2:], ""
	case strings.HasPrefix(text, "#"):
		return "#", text[1:], ""
	case strings.HasPrefix(text, "/*"):
		if unterminated || len(text) < 4 || !strings.HasSuffix(text, "*/") {
			return "/*", text[2:], ""
		}
		return "/*", text[2 : len(text)-2], "*/"
	}
	return "", text, ""
}

// prefixLen returns the length of a string token's prefix up to and
// including its opening quote (E', U&', N', _utf8').
func prefixLen(text string) int {
	for i := 0; i < len(text); i++ {
		if text[i] == '\'' || text[i] == '"' {
			return i + 1
		}
	}
	return 0
}

// requote writes body back as a literal of the same flavour as orig.
func requote(orig, body string, escapes bool) string {
	pre := prefixLen(orig)
	q := orig[pre-1]
	var b strings.Builder
	b.Grow(len(body) + pre + 8)
	b.WriteString(orig[:pre])
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == q:
			b.WriteByte(q)
			b.WriteByte(q)
		case escapes && c == '\\':
			b.WriteString(`\\`)
		case escapes && c == '\n':
			b.WriteString(`\n`)
		case escapes && c == '\r':
			b.WriteString(`\r`)
		case escapes && c == '\t':
			b.WriteString(`\t`)
		case escapes && c == '\b':
			b.WriteString(`\b`)
		case escapes && c == '\f':
			b.WriteString(`\f`)
		case escapes && c == 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// connKeys are the connection-string keys whose value is a secret.
var connKeys = [...]string{"sslpassword", "password", "passwd", "pwd"}

// maskConnInfo rewrites key=value secrets of libpq/JDBC/ODBC connection
// strings (password=x, password = 'x y', Pwd=x;) and URI user info inside
// one literal's body. stop is the quote that ends the enclosing token (0 for
// an already unquoted body); a value never runs past it.
func maskConnInfo(body string, stop byte) string {
	out := maskURIs(body)
	if !containsFold(out, "pw") && !containsFold(out, "pass") {
		return out
	}
	var b []byte
	last := 0
	i := 0
	for i < len(out) {
		c := out[i] | 0x20
		if c != 'p' && c != 's' {
			i++
			continue
		}
		if i > 0 && !connBoundary(out[i-1]) {
			i++
			continue
		}
		klen := 0
		for _, k := range connKeys {
			if hasFold(out, i, k) {
				klen = len(k)
				break
			}
		}
		if klen == 0 {
			i++
			continue
		}
		j := i + klen
		for j < len(out) && (out[j] == ' ' || out[j] == '\t') {
			j++
		}
		if j >= len(out) || out[j] != '=' {
			i += klen
			continue
		}
		j++
		for j < len(out) && (out[j] == ' ' || out[j] == '\t') {
			j++
		}
		vs, ve := j, valueEnd(out, j, stop)
		if ve <= vs || out[vs:ve] == Stars || strings.HasPrefix(out[vs:ve], Placeholder) {
			i = j
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(out))
		}
		b = append(b, out[last:vs]...)
		b = append(b, Stars...)
		last = ve
		i = ve
	}
	if b == nil {
		return out
	}
	b = append(b, out[last:]...)
	return string(b)
}

// connBoundary: what may precede a connection-string key.
func connBoundary(c byte) bool {
	return lex.IsSpace(c) || c == ';' || c == '&' || c == '?' || c == '\'' || c == '"' || c == '(' || c == ','
}

// valueEnd returns the end of a connection-string value starting at i: a
// run of quoted parts ('x y', with backslash escapes) and other bytes up to
// whitespace, ;, &, a double quote or stop. Quoted parts glued to more text
// ('a'b) belong to the value, so that masking twice gives the same text.
func valueEnd(s string, i int, stop byte) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '\'' && stop != '\'' {
			k := j + 1
			for k < len(s) && s[k] != '\'' {
				if s[k] == '\\' {
					k++
				}
				k++
			}
			j = min(k+1, len(s))
			continue
		}
		if c == '\\' {
			// An escaped byte belongs to the value (conninfo escapes; and in
			// an escaping literal, \" must not become a closing quote).
			j = min(j+2, len(s))
			continue
		}
		if lex.IsSpace(c) || c == ';' || c == '&' || c == '\'' || c == '"' || c == stop {
			break
		}
		j++
	}
	return j
}

// maskURIs rewrites scheme://user:secret@host to scheme://user:***@host.
func maskURIs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b []byte
	last := 0
	from := 0
	for {
		k := strings.Index(s[from:], "://")
		if k < 0 {
			break
		}
		start := from + k + 3
		end := start
		for end < len(s) {
			c := s[end]
			if c == '/' || c == '?' || c == '#' || lex.IsSpace(c) || c == '\'' || c == '"' || c == ')' || c == ',' || c == ';' {
				break
			}
			end++
		}
		from = end
		if end == start {
			from = start
			continue
		}
		info := s[start:end]
		at := strings.LastIndexByte(info, '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(info[:at], ':')
		if colon < 0 || info[colon+1:at] == Stars {
			continue
		}
		ps, pe := start+colon+1, start+at
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[last:ps]...)
		b = append(b, Stars...)
		last = pe
	}
	if b == nil {
		return s
	}
	b = append(b, s[last:]...)
	return string(b)
}

// containsFold reports whether s contains the lower-case ASCII word w,
// ignoring case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if hasFold(s, i, w) {
			return true
		}
	}
	return false
}
