package mysql

import (
	"strings"
	"unicode/utf8"

	"github.com/vigildb/vigil/stmt/lex"
)

// The cache key of a text is its token stream with ordinary comments
// dropped and, where literal values cannot change the classification,
// literals replaced by a symbol of their kind. Literals are kept verbatim
// in statements whose result holds them: account names ('u'@'h'), settings,
// grant levels, file paths and libraries — every statement except the
// read/write/transaction commands listed in stripFirst — and from the words
// OUTFILE, DUMPFILE, INFILE and LOAD_FILE on (their path is reported).
// Words keep their case (MySQL table names are case-sensitive). Executable
// comments (/*! ... */) are code and are kept verbatim; a comment that
// truncates a string literal leaves a marker (it is an injection shape).

// stripFirst are the first words of statements whose literals do not matter.
var stripFirst = map[string]bool{
	"select": true, "insert": true, "update": true, "delete": true, "replace": true, "with": true,
	"values": true, "table": true, "call": true, "explain": true, "describe": true, "desc": true,
	"begin": true, "commit": true, "rollback": true, "start": true, "do": true, "handler": true,
	"(": true,
}

// pathWords turn literal keeping on for the rest of the statement.
var pathWords = map[string]bool{"outfile": true, "dumpfile": true, "infile": true, "load_file": true}

// appendKey appends the cache key of text.
func appendKey(dst []byte, text string) []byte {
	switch {
	case strings.IndexByte(text, 0) >= 0:
		dst = append(dst, 0, 'z')
	case !utf8.ValidString(text):
		dst = append(dst, 0, 'u')
	}
	return tokens(dst, text, false)
}

// summarize appends db.query.summary: the text with literals as ?, lists
// of literals collapsed, comments dropped and white space normalized.
func summarize(dst []byte, text string) []byte {
	return tokens(dst, text, true)
}

func tokens(dst []byte, text string, summary bool) []byte {
	lx := lex.NewMySQL(text)
	words, depth := 0, 0
	strip := false
	var prev lex.Token
	prevSet := false
	sep := func() {
		if summary && len(dst) > 0 {
			switch dst[len(dst)-1] {
			case ' ', '(', '.':
				return
			}
			dst = append(dst, ' ')
		}
	}
	for {
		t := nextTok(&lx)
		if t.Kind == lex.EOF {
			break
		}
		raw := text[t.Start:t.End]
		switch t.Kind {
		case lex.Comment:
			if _, ok := execComment(raw); ok {
				if !summary {
					dst = append(dst, raw...)
					dst = keySep(dst, text, t)
				} else {
					sep()
					dst = append(dst, raw...)
				}
				continue
			}
			if !summary && prevSet && truncationComment(text, prev, t) {
				dst = append(dst, "-- "...)
			} else if !summary && t.Unterminated {
				dst = append(dst, "/*~ "...)
			}
			continue
		case lex.Word:
			words++
			if words == 1 || strip && len(raw) >= 6 && len(raw) <= 9 {
				var buf [16]byte
				lw := buf[:0]
				if len(raw) <= len(buf) {
					for i := 0; i < len(raw); i++ {
						c := raw[i]
						if c >= 'A' && c <= 'Z' {
							c += 'a' - 'A'
						}
						lw = append(lw, c)
					}
				}
				if words == 1 {
					strip = stripFirst[string(lw)]
				} else if pathWords[string(lw)] {
					strip = false
				}
			}
			if summary {
				sep()
			}
			dst = append(dst, raw...)
			if !summary {
				dst = keySep(dst, text, t)
			}
		case lex.String, lex.Number:
			switch {
			case summary:
				// "?, ?, ?" reads "?".
				if n := len(dst); n >= 2 && dst[n-1] == ',' && dst[n-2] == '?' {
					dst = dst[:n-1]
					break
				}
				sep()
				dst = append(dst, '?')
			case !strip:
				dst = append(dst, raw...)
				dst = keySep(dst, text, t)
			case t.Kind == lex.Number:
				// Digits that run on into a word are an identifier to
				// MySQL (1e_tbl, 123abc): not a literal.
				if allDigits(raw) && !identByte(text, t.End) {
					dst = keySep(append(dst, '0'), text, t)
				} else {
					dst = append(dst, raw...)
					dst = keySep(dst, text, t)
				}
			case raw[0] != '\'' && raw[0] != '"':
				// x'..', b'..', n'..': the parser checks their content.
				dst = append(dst, raw...)
				dst = keySep(dst, text, t)
			default:
				if t.Unterminated {
					dst = keySep(append(dst, "'~"...), text, t)
				} else {
					dst = keySep(append(dst, '\''), text, t)
				}
			}
		case lex.Punct:
			if words == 0 && raw == "(" && !summary {
				strip = true
			}
			switch raw {
			case "(":
				depth++
			case ")":
				depth = max(0, depth-1)
			}
			if summary {
				switch {
				case raw == ")" || raw == "," || raw == ";" || raw == ".":
					if n := len(dst); n > 0 && dst[n-1] == ' ' {
						dst = dst[:n-1]
					}
				case raw == "(" && prevSet && (prev.Kind == lex.QIdent || prev.Kind == lex.Word && !summaryKeywords[strings.ToUpper(text[prev.Start:prev.End])]):
					// f(x), but IN (x) and VALUES (x).
				default:
					sep()
				}
				dst = append(dst, raw...)
			} else {
				dst = append(dst, raw...)
				dst = keySep(dst, text, t)
			}
			if raw == ";" && depth == 0 {
				words, strip = 0, false
			}
		default:
			switch {
			case summary:
				sep()
				dst = append(dst, raw...)
			default:
				dst = append(dst, raw...)
				dst = keySep(dst, text, t)
			}
		}
		prev, prevSet = t, true
	}
	if summary {
		for len(dst) > 0 && dst[len(dst)-1] == ' ' {
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// summaryKeywords are words after which "(" keeps its space in a summary.
var summaryKeywords = map[string]bool{
	"IN": true, "VALUES": true, "VALUE": true, "AS": true, "ON": true, "USING": true, "AND": true, "OR": true,
	"NOT": true, "EXISTS": true, "FROM": true, "JOIN": true, "WHERE": true, "SELECT": true, "UNION": true,
	"ALL": true, "ANY": true, "SOME": true, "INTO": true, "TABLE": true, "BY": true, "SET": true, "WHEN": true,
	"THEN": true, "ELSE": true, "RETURN": true, "IF": true, "WITH": true, "OPTIONS": true, "KEY": true,
	"INDEX": true, "CHECK": true, "DEFAULT": true, "OVER": true, "PARTITION": true, "LIMIT": true,
}

// keySep ends a token in the key: a space, after a marker when the token
// touches the next one. White space matters to MySQL in places ("@x" is a
// variable, "@ x" an error; "count(" and "count (" differ under
// IGNORE_SPACE), so texts that differ in it get different keys.
func keySep(dst []byte, text string, t lex.Token) []byte {
	if t.End < len(text) && !lex.IsSpace(text[t.End]) {
		dst = append(dst, 2)
	}
	return append(dst, ' ')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// identByte reports whether text[i] continues an identifier.
func identByte(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	c := text[i]
	return c == '_' || c == '$' || c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
