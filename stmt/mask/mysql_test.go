package mask

import (
	"strings"
	"testing"
)

// TestMySQLForms covers the MySQL/MariaDB statements that carry secrets.
func TestMySQLForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{`CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'AppPass123!'`, `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '***'`},
		{`CREATE USER app IDENTIFIED WITH caching_sha2_password BY 'pw'`, `CREATE USER app IDENTIFIED WITH caching_sha2_password BY '***'`},
		// Every literal of the user specification is masked, a quoted plugin name too.
		{`ALTER USER 'app'@'%' IDENTIFIED WITH 'mysql_native_password' BY "pw"`, `ALTER USER 'app'@'%' IDENTIFIED WITH '***' BY '***'`},
		{`CREATE USER a IDENTIFIED BY 'x', b IDENTIFIED BY 'y'`, `CREATE USER a IDENTIFIED BY '***', b IDENTIFIED BY '***'`},
		{`CREATE OR REPLACE USER a@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pw')`, `CREATE OR REPLACE USER a@'%' IDENTIFIED VIA ed25519 USING PASSWORD('***')`},
		{`GRANT ALL ON *.* TO 'u'@'%' IDENTIFIED BY 'pw' WITH GRANT OPTION`, `GRANT ALL ON *.* TO 'u'@'%' IDENTIFIED BY '***' WITH GRANT OPTION`},
		{`SET PASSWORD FOR 'app'@'localhost' = PASSWORD('NewAppPass456!')`, `SET PASSWORD FOR 'app'@'localhost' = PASSWORD('***')`},
		{`SET PASSWORD = 'pw'`, `SET PASSWORD = '***'`},
		{`SET PASSWORD FOR app = 'p\'w'`, `SET PASSWORD FOR app = '***'`},
		{`SELECT PASSWORD('x')`, `SELECT PASSWORD('***')`},
		{`CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h', USER 'r', PASSWORD 'pw', DATABASE 'd')`, `CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h', USER 'r', PASSWORD '***', DATABASE 'd')`},
		{`CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='r', MASTER_PASSWORD='pw'`, `CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='r', MASTER_PASSWORD='***'`},
		{`CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', SOURCE_PASSWORD='pw'`, `CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', SOURCE_PASSWORD='***'`},
		{`START REPLICA USER='r' PASSWORD='pw'`, `START REPLICA USER='r' PASSWORD='***'`},
		// The server_audit plugin's own masking stays as it is.
		{`CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY *****`, `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY *****`},
		{`SET PASSWORD FOR 'app'@'localhost' = PASSWORD(*****)`, `SET PASSWORD FOR 'app'@'localhost' = PASSWORD(*****)`},
	}
	for _, tc := range tests {
		got := MySQL(tc.in)
		if got != tc.want {
			t.Errorf("MySQL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if again := MySQL(got); again != got {
			t.Errorf("not idempotent: MySQL(%q) = %q", got, again)
		}
		for _, secret := range []string{"AppPass123", "NewAppPass456", "'pw'", `"pw"`, "p\\'w"} {
			if strings.Contains(got, secret) {
				t.Errorf("MySQL(%q) = %q still holds %s", tc.in, got, secret)
			}
		}
	}
}
