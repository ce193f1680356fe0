package mysql

import (
	"strings"

	"github.com/vigildb/vigil/event"
)

// Categories by operation. Anything not listed: CREATE/ALTER/DROP/RENAME ...
// -> ddl, otherwise query.
var opCategory = map[string]string{
	"SELECT": event.CategoryQuery, "SHOW": event.CategoryQuery, "EXPLAIN": event.CategoryQuery,
	"DESCRIBE": event.CategoryQuery, "USE": event.CategoryQuery, "PREPARE": event.CategoryQuery,
	"EXECUTE": event.CategoryQuery, "DEALLOCATE": event.CategoryQuery, "BEGIN": event.CategoryQuery,
	"START TRANSACTION": event.CategoryQuery, "COMMIT": event.CategoryQuery, "ROLLBACK": event.CategoryQuery,
	"SAVEPOINT": event.CategoryQuery, "RELEASE": event.CategoryQuery, "HELP": event.CategoryQuery,
	"HANDLER": event.CategoryQuery, "DO": event.CategoryQuery, "SET ROLE": event.CategoryQuery,
	"SET NAMES": event.CategoryQuery, "SET TRANSACTION": event.CategoryQuery,

	"INSERT": event.CategoryDML, "UPDATE": event.CategoryDML, "DELETE": event.CategoryDML,
	"REPLACE": event.CategoryDML, "TRUNCATE TABLE": event.CategoryDML, "CALL": event.CategoryDML,
	"LOAD DATA": event.CategoryDML, "LOCK TABLES": event.CategoryDML, "UNLOCK TABLES": event.CategoryDML,

	"GRANT": event.CategoryDCL, "REVOKE": event.CategoryDCL, "CREATE ROLE": event.CategoryDCL,
	"DROP ROLE": event.CategoryDCL, "CREATE USER": event.CategoryDCL, "ALTER USER": event.CategoryDCL,
	"DROP USER": event.CategoryDCL, "RENAME USER": event.CategoryDCL, "SET PASSWORD": event.CategoryDCL,
	"SET DEFAULT ROLE": event.CategoryDCL,

	"SET": event.CategoryAdmin, "FLUSH": event.CategoryAdmin, "KILL": event.CategoryAdmin,
	"SHUTDOWN": event.CategoryAdmin, "RESTART": event.CategoryAdmin, "INSTALL PLUGIN": event.CategoryAdmin,
	"UNINSTALL PLUGIN": event.CategoryAdmin, "INSTALL COMPONENT": event.CategoryAdmin,
	"UNINSTALL COMPONENT": event.CategoryAdmin, "OPTIMIZE TABLE": event.CategoryAdmin,
	"ANALYZE TABLE": event.CategoryAdmin, "CHECK TABLE": event.CategoryAdmin, "REPAIR TABLE": event.CategoryAdmin,
	"CHECKSUM TABLE": event.CategoryAdmin, "PURGE BINARY LOGS": event.CategoryAdmin, "RESET": event.CategoryAdmin,
	"CHANGE REPLICATION SOURCE": event.CategoryAdmin, "START REPLICA": event.CategoryAdmin,
	"STOP REPLICA": event.CategoryAdmin, "LOAD INDEX": event.CategoryAdmin, "CACHE": event.CategoryAdmin,
	"BINLOG": event.CategoryAdmin, "ALTER INSTANCE": event.CategoryAdmin, "CLONE": event.CategoryAdmin,
	"BACKUP": event.CategoryAdmin,
}

// categoryOf returns event.category for an operation.
func categoryOf(op string) string {
	if c, ok := opCategory[op]; ok {
		return c
	}
	switch {
	case op == "":
		return ""
	case strings.HasPrefix(op, "CREATE "), strings.HasPrefix(op, "ALTER "), strings.HasPrefix(op, "DROP "),
		strings.HasPrefix(op, "RENAME"):
		return event.CategoryDDL
	}
	return event.CategoryQuery
}

// catalogSchemas are schemas whose relations are catalog relations.
var catalogSchemas = map[string]bool{"information_schema": true, "performance_schema": true}

// catalogRelations are the tables of the `mysql` schema whose reading is
// account or privilege enumeration.
var catalogRelations = map[string]bool{
	"user": true, "global_priv": true, "db": true, "tables_priv": true, "columns_priv": true,
	"procs_priv": true, "proxies_priv": true, "roles_mapping": true, "role_edges": true,
	"default_roles": true, "password_history": true, "servers": true, "plugin": true,
	"slave_master_info": true,
}

// isCatalogObject reports whether a collection name is a system catalog:
// information_schema.*, performance_schema.*, mysql.user and its siblings.
func isCatalogObject(name string) bool {
	schema, rel, ok := strings.Cut(strings.ToLower(name), ".")
	if !ok {
		return catalogSchemas[schema]
	}
	if catalogSchemas[schema] {
		return true
	}
	return schema == "mysql" && catalogRelations[rel]
}

// sleepRoutines make the time_sleep injection shape.
var sleepRoutines = map[string]bool{"sleep": true, "benchmark": true, "pg_sleep": true, "get_lock": true}

// dangerousRoutines make a later statement of a stacked string dangerous.
var dangerousRoutines = map[string]bool{
	"load_file": true, "sys_exec": true, "sys_eval": true, "sys_get": true, "sys_set": true,
}

// settingRank orders settings by security relevance: a statement changing
// several variables reports the highest.
func settingRank(s event.Setting) int {
	r := 0
	switch s.Scope {
	case "system":
		r = 4
	case "session":
		r = 1
	}
	n := s.Name
	if strings.HasPrefix(n, "server_audit") || strings.HasPrefix(n, "audit_log") || n == "general_log" ||
		n == "sql_log_off" || n == "sql_log_bin" || strings.HasPrefix(n, "log_") || n == "slow_query_log" ||
		n == "general_log_file" || n == "local_infile" || n == "secure_file_priv" || n == "plugin_dir" {
		r += 10
	}
	return r
}
