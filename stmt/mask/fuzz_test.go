package mask

import (
	"strings"
	"testing"
)

// secretTemplates put a password (%s, already escaped by the template's
// escaper) in every position the masker promises to recognise.
var secretTemplates = []struct {
	text  string
	valid func(string) bool
	esc   func(string) string
	// noSuffix: the secret runs to the end of the text (truncated literal).
	noSuffix bool
	mysql    bool
}{
	{text: "CREATE ROLE r LOGIN PASSWORD '%s'", esc: dbl},
	{text: "ALTER USER r WITH ENCRYPTED PASSWORD E'%s'", esc: escE},
	{text: "ALTER ROLE r PASSWORD $$%s$$", valid: noneOf("$")},
	{text: "ALTER ROLE r PASSWORD $tag$%s$tag$", valid: noneOf("$")},
	{text: "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password '%s')", esc: dbl},
	{text: "CREATE SUBSCRIPTION s CONNECTION 'host=h password=%s dbname=d' PUBLICATION p", valid: noneOf(" \t\n\r\f\v'\"\\;&")},
	{text: "SELECT dblink_connect('c', 'postgresql://u:%s@h/db')", valid: noneOf(" \t\n\r\f\v'\"\\@:/?#),;")},
	{text: "SELECT pgp_sym_encrypt(x, '%s')", esc: dbl},
	{text: "SELECT set_config('app.secret', '%s', false)", esc: dbl},
	{text: "ALTER ROLE r PASSWORD /* c */ '%s'", esc: dbl},
	{text: "CREATE USER 'u'@'%%' IDENTIFIED BY '%s'", esc: dbl},
	{text: "SET PASSWORD FOR u = PASSWORD('%s')", esc: dbl},
	{text: "DO $$BEGIN EXECUTE 'ALTER ROLE r PASSWORD ''%s''' ; END$$", esc: func(s string) string { return dbl(dbl(s)) }, valid: noneOf("$")},
	{text: "SELECT dblink('host=h password=''%s''', 'select 1')", valid: noneOf("'\\")},
	{text: "SELECT encrypt('d', '%s', 'aes')", esc: dbl},
	{text: "SELECT pgp_pub_decrypt(m, k, '%s')", esc: dbl},
	{text: "ALTER ROLE r PASSWORD '%s", esc: dbl, noSuffix: true},
	{text: "CREATE USER 'u'@'h' IDENTIFIED BY '%s'", esc: escE, mysql: true},
	{text: "LOG:  statement: CREATE ROLE r PASSWORD '%s';", esc: dbl},
}

func dbl(s string) string { return strings.ReplaceAll(s, "'", "''") }

func escE(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`)
}

func noneOf(chars string) func(string) bool {
	return func(s string) bool { return !strings.ContainsAny(s, chars) }
}

var safePrefixes = []string{"", "SELECT 1; ", "/* c */ ", "-- c\n", "BEGIN;\n", "LOG:  statement: ", "SELECT 'x''y'; "}

// mixCase flips the case of ASCII letters of s according to the bits of m.
func mixCase(s string, m uint16) string {
	b := []byte(s)
	for i := range b {
		if m>>(uint(i)%16)&1 == 0 {
			continue
		}
		switch c := b[i]; {
		case c >= 'a' && c <= 'z':
			b[i] = c - 32
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

func FuzzSQL(f *testing.F) {
	f.Add("SELECT 1", "hunter22", uint8(0), uint8(0), uint16(0))
	f.Add("CREATE ROLE x PASSWORD 'x'", "p'a'ss", uint8(1), uint8(2), uint16(0xAAAA))
	f.Add("' OR 1=1 --", "pa$$w0rd", uint8(5), uint8(3), uint16(0x0F0F))
	f.Add("$$", "sekrit", uint8(12), uint8(1), uint16(1))
	f.Add("/*", "sekrit", uint8(16), uint8(4), uint16(7))
	f.Add("E'\\'", "a\\b'c", uint8(17), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, s, pw string, tmpl, prefix uint8, mix uint16) {
		// Arbitrary text: never panics, idempotent.
		for _, fn := range []func(string) string{SQL, MySQL} {
			out := fn(s)
			if again := fn(out); again != out {
				t.Fatalf("not idempotent:\n in  %q\n out %q\n out2 %q", s, out, again)
			}
		}
		// An injected secret in a recognised position never survives.
		tp := secretTemplates[int(tmpl)%len(secretTemplates)]
		// A secret made of quotes and stars could appear by coincidence in
		// the placeholder's surroundings: require some letters or digits.
		alnum := 0
		for _, r := range pw {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				alnum++
			}
		}
		if len(pw) < 4 || alnum < 2 || strings.Contains(pw, "***") || strings.ContainsAny(pw, "\x00") {
			return
		}
		if tp.valid != nil && !tp.valid(pw) {
			return
		}
		escaped := pw
		if tp.esc != nil {
			escaped = tp.esc(pw)
		}
		head, tail, _ := strings.Cut(tp.text, "%s")
		head = strings.ReplaceAll(mixCase(head, mix), "%%", "%")
		tail = strings.ReplaceAll(mixCase(tail, mix>>3), "%%", "%")
		pre := safePrefixes[int(prefix)%len(safePrefixes)]
		suffix := " " + s
		if tp.noSuffix {
			suffix = ""
		}
		in := pre + head + escaped + tail + suffix
		fn := SQL
		if tp.mysql {
			fn = MySQL
		}
		out := fn(in)
		others := pre + head + "\x00" + tail + suffix
		for _, secret := range []string{pw, escaped} {
			if strings.Count(out, secret) > strings.Count(others, secret) {
				t.Fatalf("secret %q survived:\n in  %q\n out %q", secret, in, out)
			}
		}
		if again := fn(out); again != out {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n out2 %q", in, out, again)
		}
	})
}
