package mask

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQL(t *testing.T) {
	tests := []struct{ in, want string }{
		// Unchanged.
		{"SELECT 1", "SELECT 1"},
		{"UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452;", "UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452;"},
		{"CREATE ROLE x PASSWORD NULL", "CREATE ROLE x PASSWORD NULL"},
		{"ALTER SYSTEM SET password_encryption = 'md5'", "ALTER SYSTEM SET password_encryption = 'md5'"},
		{"FATAL:  password authentication failed for user \"bob\"", "FATAL:  password authentication failed for user \"bob\""},
		{"UPDATE users SET password=$1 WHERE id=$2", "UPDATE users SET password=$1 WHERE id=$2"},
		{"SELECT passenger FROM trips WHERE options = 'x'", "SELECT passenger FROM trips WHERE options = 'x'"},
		{"CREATE ROLE alice LOGIN PASSWORD <REDACTED>", "CREATE ROLE alice LOGIN PASSWORD <REDACTED>"},
		// PostgreSQL role passwords.
		{"CREATE ROLE alice LOGIN PASSWORD 'AlicePass123!';", "CREATE ROLE alice LOGIN PASSWORD '***';"},
		{"CREATE USER bob WITH PASSWORD 'secret'", "CREATE USER bob WITH PASSWORD '***'"},
		{"ALTER ROLE alice ENCRYPTED PASSWORD 'x' VALID UNTIL '2030-01-01'", "ALTER ROLE alice ENCRYPTED PASSWORD '***' VALID UNTIL '2030-01-01'"},
		{"alter role a password E'it\\'s'", "alter role a password '***'"},
		{"ALTER ROLE a PASSWORD 'it''s' LOGIN", "ALTER ROLE a PASSWORD '***' LOGIN"},
		{"ALTER ROLE a PASSWORD $$x'y$$", "ALTER ROLE a PASSWORD '***'"},
		{"ALTER ROLE a PASSWORD $pw$x$$y$pw$ LOGIN", "ALTER ROLE a PASSWORD '***' LOGIN"},
		{"ALTER ROLE a PaSsWoRd /* c */ 'x'", "ALTER ROLE a PaSsWoRd /* c */ '***'"},
		{"ALTER ROLE a PASSWORD -- c\n 'x'", "ALTER ROLE a PASSWORD -- c\n '***'"},
		{"ALTER ROLE a PASSWORD 'trunc", "ALTER ROLE a PASSWORD '***'"},
		{"ALTER ROLE a PASSWORD U&'x'", "ALTER ROLE a PASSWORD '***'"},
		{"ALTER ROLE a PASSWORD 'a'\n'b'", "ALTER ROLE a PASSWORD '***'\n'***'"},
		// User mappings and servers.
		{"CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'p@ss')", "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '***')"},
		{"ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password 'n')", "ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password '***')"},
		{"CREATE SERVER s FOREIGN DATA WRAPPER x OPTIONS (api_key 'k', \"secret\" 'z', token 't')", "CREATE SERVER s FOREIGN DATA WRAPPER x OPTIONS (api_key '***', \"secret\" '***', token '***')"},
		// Connection strings.
		{"CREATE SUBSCRIPTION s CONNECTION 'host=h user=u password=pw dbname=d' PUBLICATION p", "CREATE SUBSCRIPTION s CONNECTION 'host=h user=u password=*** dbname=d' PUBLICATION p"},
		{"CREATE SUBSCRIPTION s CONNECTION 'host=h password = ''a b'' dbname=d' PUBLICATION p", "CREATE SUBSCRIPTION s CONNECTION 'host=h password = *** dbname=d' PUBLICATION p"},
		{"SELECT dblink_connect('c', 'dbname=x PASSWORD=pw')", "SELECT dblink_connect('c', 'dbname=x PASSWORD=***')"},
		{"SELECT * FROM dblink('host=h password=pw', 'select 1') AS t(a int)", "SELECT * FROM dblink('host=h password=***', 'select 1') AS t(a int)"},
		{"SELECT dblink_connect('postgresql://u:pw@h:5432/db')", "SELECT dblink_connect('postgresql://u:***@h:5432/db')"},
		{"ALTER SYSTEM SET primary_conninfo = 'host=p sslpassword=k password=z'", "ALTER SYSTEM SET primary_conninfo = 'host=p sslpassword=*** password=***'"},
		{"could not connect to postgres://admin:hunter2@db.example.com/x", "could not connect to postgres://admin:***@db.example.com/x"},
		{`LOG: parameter "primary_conninfo" changed to "host=x password=y"`, `LOG: parameter "primary_conninfo" changed to "host=x password=***"`},
		{"Server=s;Database=d;User Id=u;Pwd=abc;", "Server=s;Database=d;User Id=u;Pwd=abc;"}, // outside quotes: left alone
		{"SELECT 'Server=s;Pwd=abc;'", "SELECT 'Server=s;Pwd=***;'"},
		// Crypto functions.
		{"SELECT pgp_sym_encrypt(data, 'key1') FROM t", "SELECT pgp_sym_encrypt(data, '***') FROM t"},
		{"SELECT pgp_sym_decrypt(d::bytea, 'k', 'cipher-algo=aes256')", "SELECT pgp_sym_decrypt(d::bytea, '***', 'cipher-algo=aes256')"},
		{"SELECT pgp_pub_decrypt(m, dearmor('-----BEGIN PGP-----'), 'psw')", "SELECT pgp_pub_decrypt(m, dearmor('***'), '***')"},
		{"SELECT encrypt('data', 'k3y', 'aes')", "SELECT encrypt('data', '***', 'aes')"},
		{"SELECT public.decrypt(x, 'k3y', 'aes')", "SELECT public.decrypt(x, '***', 'aes')"},
		{"SELECT crypt('mypass', gen_salt('bf'))", "SELECT crypt('***', gen_salt('bf'))"},
		{"SELECT hmac('d', 'k', 'sha256')", "SELECT hmac('d', '***', 'sha256')"},
		{"SELECT set_config('app.password', 'pw', false)", "SELECT set_config('app.password', '***', false)"},
		{"SELECT set_config('log_statement', 'none', false)", "SELECT set_config('log_statement', 'none', false)"},
		{"SELECT * FROM users WHERE password = md5('x')", "SELECT * FROM users WHERE password = md5('***')"},
		{"SELECT * FROM users WHERE name = 'a' AND password = 'x' --", "SELECT * FROM users WHERE name = 'a' AND password = '***' --"},
		// MySQL forms.
		{"CREATE USER 'u'@'%' IDENTIFIED BY 'pw'", "CREATE USER 'u'@'%' IDENTIFIED BY '***'"},
		{"ALTER USER u IDENTIFIED WITH mysql_native_password BY 'pw' REPLACE 'old'", "ALTER USER u IDENTIFIED WITH mysql_native_password BY '***' REPLACE '***'"},
		{"SET PASSWORD FOR 'u'@'h' = PASSWORD('pw')", "SET PASSWORD FOR 'u'@'h' = PASSWORD('***')"},
		{"SET PASSWORD = 'pw'", "SET PASSWORD = '***'"},
		{"CHANGE MASTER TO MASTER_PASSWORD='pw', MASTER_USER='r'", "CHANGE MASTER TO MASTER_PASSWORD='***', MASTER_USER='r'"},
		// Nested SQL in literals and bodies.
		{"DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''s3''' ; END $$", "DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''***''' ; END $$"},
		{"DO $$ BEGIN CREATE ROLE x PASSWORD 'p'; END $$", "DO $$ BEGIN CREATE ROLE x PASSWORD '***'; END $$"},
		{"-- CREATE ROLE x PASSWORD 'p'\nSELECT 1", "-- CREATE ROLE x PASSWORD '***'\nSELECT 1"},
		{"DETAIL: Failed process was running: ALTER USER bob PASSWORD 'pw'", "DETAIL: Failed process was running: ALTER USER bob PASSWORD '***'"},
		{`2026-11-25 09:42:14.946 UTC,"postgres",9531,LOG,00000,"statement: CREATE ROLE a PASSWORD 'x''y';",,"psql"`,
			`2026-11-25 09:42:14.946 UTC,"postgres",9531,LOG,00000,"statement: CREATE ROLE a PASSWORD '***';",,"psql"`},
		{`{"message":"statement: ALTER ROLE a PASSWORD 'pw';","backend_type":"client backend"}`,
			`{"message":"statement: ALTER ROLE a PASSWORD '***';","backend_type":"client backend"}`},
		{`ERROR:  syntax error at or near "PASSWORD"`, `ERROR:  syntax error at or near "PASSWORD"`},
	}
	for _, tc := range tests {
		got := SQL(tc.in)
		if got != tc.want {
			t.Errorf("SQL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if again := SQL(got); again != got {
			t.Errorf("not idempotent: SQL(%q) = %q", got, again)
		}
	}
}

func TestMySQL(t *testing.T) {
	tests := []struct{ in, want string }{
		{`CREATE USER 'u'@'%' IDENTIFIED BY 'p\'w'`, `CREATE USER 'u'@'%' IDENTIFIED BY '***'`},
		{`SET PASSWORD FOR u = "pw"`, `SET PASSWORD FOR u = '***'`},
		{"GRANT ALL ON *.* TO u # IDENTIFIED BY 'pw'", "GRANT ALL ON *.* TO u # IDENTIFIED BY '***'"},
	}
	for _, tc := range tests {
		if got := MySQL(tc.in); got != tc.want {
			t.Errorf("MySQL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanDoesNotAllocate(t *testing.T) {
	s := "UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452 AND bid = 1 AND filler IS NOT NULL RETURNING abalance, aid, bid;"
	if n := testing.AllocsPerRun(100, func() { _ = SQL(s) }); n != 0 {
		t.Fatalf("SQL on clean text allocates %v times", n)
	}
	if SQL(s) != s {
		t.Fatal("clean text changed")
	}
}

func TestNoPasswordLeakInSamples(t *testing.T) {
	for _, s := range []string{
		"CREATE ROLE carol LOGIN PASSWORD 'CarolSecret!';",
		"ALTER ROLE alice PASSWORD 'NewAlicePass456!';",
	} {
		got := SQL(s)
		if strings.Contains(got, "Secret!") || strings.Contains(got, "Pass456") {
			t.Errorf("leak: %q", got)
		}
	}
}

var sinkString string

func BenchmarkMaskClean(b *testing.B) {
	s := "UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452 AND bid = 7 AND tid = 42 RETURNING abalance, aid, bid, tid, filler;"
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		sinkString = SQL(s)
	}
}

func BenchmarkMaskSecret(b *testing.B) {
	s := "CREATE ROLE alice LOGIN CREATEDB CONNECTION LIMIT 10 PASSWORD 'AlicePass123!' VALID UNTIL '2030-01-01' IN ROLE app_users, reporting;"
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		sinkString = SQL(s)
	}
}

// The captured logs (stderr, CSV and JSON formats) hold four statements
// with fake passwords; none may survive masking, whatever the line format.
func TestSampleLogsMasked(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/samples/postgresql/postgresql-phase*")
	if len(files) == 0 {
		t.Fatal("sample logs not found in ../../../shared/samples/postgresql")
	}
	secrets := []string{"AlicePass123!", "NewAlicePass456!", "CarolSecret!", "PASSWORD 'secret'"}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			out := SQL(line)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s: %q survives in %q", filepath.Base(f), s, out)
				}
			}
		}
	}
}
