package lex

import (
	"strings"
	"testing"
)

func kinds(src string, mysql bool) string {
	lx := New(src)
	if mysql {
		lx = NewMySQL(src)
	}
	var out []string
	for t := lx.Next(); t.Kind != EOF; t = lx.Next() {
		s := t.Kind.String() + ":" + src[t.Start:t.End]
		if t.Unterminated {
			s += "~"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestLexer(t *testing.T) {
	tests := []struct {
		src, want string
		mysql     bool
	}{
		{src: "SELECT a.b, 'x''y' FROM t;", want: "Word:SELECT Word:a Punct:. Word:b Punct:, String:'x''y' Word:FROM Word:t Punct:;"},
		{src: `E'it\'s' 'a\' x`, want: `String:E'it\'s' String:'a\' Word:x`},
		{src: "$$ a ' b $$ $t$x$$y$t$ $1 $", want: "Dollar:$$ a ' b $$ Dollar:$t$x$$y$t$ Param:$1 Other:$"},
		{src: "a/* x /* y */ z */b -- c\nd", want: "Word:a Comment:/* x /* y */ z */ Word:b Comment:-- c Word:d"},
		{src: "x=-1 a<>b c||d e::int f:=1 g->>'k'", want: "Word:x Op:= Op:- Number:1 Word:a Op:<> Word:b Word:c Op:|| Word:d Word:e Punct::: Word:int Word:f Punct::= Number:1 Word:g Op:->> String:'k'"},
		{src: `"Quoted ""id""" U&"d\0061t" B'101' X'ff' N'n'`, want: `QIdent:"Quoted ""id""" QIdent:U&"d\0061t" String:B'101' String:X'ff' String:N'n'`},
		{src: "1.5e3 .5 0x1F 1_000 12abc", want: "Number:1.5e3 Number:.5 Number:0x1F Number:1_000 Number:12 Word:abc"},
		{src: "'open", want: "String:'open~"},
		{src: "--c\r0", want: "Comment:--c Number:0"},
		{src: "/* open", want: "Comment:/* open~"},
		{src: "$q$ open", want: "Dollar:$q$ open~"},
		{src: `SELECT "a\"b" # c` + "\n`x`", want: "Word:SELECT String:\"a\\\"b\" Comment:# c QIdent:`x`", mysql: true},
	}
	for _, tc := range tests {
		if got := kinds(tc.src, tc.mysql); got != tc.want {
			t.Errorf("%q\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		tok     string
		k       Kind
		escapes bool
		want    string
	}{
		{"'a''b'", String, false, "a'b"},
		{`E'a\'b\n'`, String, true, "a'b\n"},
		{`"Id"`, QIdent, false, "Id"},
		{"$x$body$x$", Dollar, false, "body"},
		{"'open", String, false, "open"},
	} {
		if got := Unquote(tc.tok, tc.k, tc.escapes); got != tc.want {
			t.Errorf("Unquote(%q) = %q, want %q", tc.tok, got, tc.want)
		}
	}
}
