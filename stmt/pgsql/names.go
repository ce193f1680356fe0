package pgsql

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/vigildb/vigil/event"
)

// keywords are upper-cased in db.query.summary. PostgreSQL's reserved
// keywords plus the unreserved ones that start or structure statements.
var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
all analyse analyze and any array as asc asymmetric both case cast check collate column constraint
create current_catalog current_date current_role current_time current_timestamp current_user default
deferrable desc distinct do else end except false fetch for foreign from grant group having in
initially intersect into lateral leading limit localtime localtimestamp not null offset on only or
order placing primary references returning select session_user some symmetric system_user table then
to trailing true union unique user using variadic when where window with authorization binary
concurrently cross freeze full ilike inner is isnull join left like natural notnull outer overlaps
right similar verbose abort access add admin after aggregate also alter always attach before begin
between by call called cascade cascaded chain characteristics checkpoint close cluster commit
committed connection constraints continue conversion copy csv cube cursor cycle database deallocate
declare defaults deferred definer delete delimiter delimiters depends detach disable discard domain
drop each enable encrypted enum escape event exclude excluding exclusive execute exists explain
extension external following force forward function functions global granted groups handler hold if
immediate immutable implicit import include including inherit inherits insensitive insert instead
invoker isolation language leakproof listen load local lock locked logged mapping match matched
materialized maxvalue merge minvalue move no notify nowait nulls of off oids operator option others
over overriding owned parallel partition passing preceding prepare prepared preserve prior
privileges procedural procedure procedures publication reassign recursive referencing refresh
reindex release rename repeatable replace replica reset restart restrict return returns revoke
rollback rollup routine routines savepoint schema scroll search security sequence sequences
serializable set show sql stable start stdin stdout stored strict subscription sysid system
tablespace temporary ties transaction transform truncate trusted unbounded uncommitted unencrypted
unlisten unlogged until update vacuum validate values varying view volatile within without superuser
nosuperuser createdb nocreatedb createrole nocreaterole login nologin replication noreplication
bypassrls nobypassrls inherit noinherit atomic nfc exists interval boolean int integer bigint
smallint numeric decimal real float double precision char character varchar
role roles password program tables perform raise notice exception options trigger server statement
`) {
		m[w] = true
	}
	return m
}()

// isKeyword reports whether word s (any case) is a keyword for the summary.
func isKeyword(s string) bool {
	if len(s) > 20 {
		return false
	}
	var b [20]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return keywords[string(b[:len(s)])]
}

// objectTypeName maps pg_query's ObjectType to db.object.type.
func objectTypeName(t pg.ObjectType) string {
	switch t {
	case pg.ObjectType_OBJECT_TYPE_UNDEFINED:
		return ""
	case pg.ObjectType_OBJECT_MATVIEW:
		return "MATERIALIZED VIEW"
	case pg.ObjectType_OBJECT_FDW:
		return "FOREIGN DATA WRAPPER"
	case pg.ObjectType_OBJECT_FOREIGN_SERVER:
		return "SERVER"
	case pg.ObjectType_OBJECT_TABCONSTRAINT, pg.ObjectType_OBJECT_DOMCONSTRAINT:
		return "CONSTRAINT"
	case pg.ObjectType_OBJECT_LARGEOBJECT:
		return "LARGE OBJECT"
	case pg.ObjectType_OBJECT_TSCONFIGURATION:
		return "TEXT SEARCH CONFIGURATION"
	case pg.ObjectType_OBJECT_TSDICTIONARY:
		return "TEXT SEARCH DICTIONARY"
	case pg.ObjectType_OBJECT_TSPARSER:
		return "TEXT SEARCH PARSER"
	case pg.ObjectType_OBJECT_TSTEMPLATE:
		return "TEXT SEARCH TEMPLATE"
	case pg.ObjectType_OBJECT_STATISTIC_EXT:
		return "STATISTICS"
	case pg.ObjectType_OBJECT_OPCLASS:
		return "OPERATOR CLASS"
	case pg.ObjectType_OBJECT_OPFAMILY:
		return "OPERATOR FAMILY"
	case pg.ObjectType_OBJECT_DEFACL:
		return "DEFAULT PRIVILEGES"
	case pg.ObjectType_OBJECT_PARAMETER_ACL:
		return "PARAMETER"
	case pg.ObjectType_OBJECT_PUBLICATION_NAMESPACE, pg.ObjectType_OBJECT_PUBLICATION_REL:
		return "PUBLICATION"
	}
	s := strings.TrimPrefix(t.String(), "OBJECT_")
	return strings.ReplaceAll(s, "_", " ")
}

// Categories by operation. Anything not listed: CREATE/ALTER/DROP ... ->
// ddl, otherwise query.
var opCategory = map[string]string{
	"SELECT": event.CategoryQuery, "SHOW": event.CategoryQuery, "EXPLAIN": event.CategoryQuery,
	"VALUES": event.CategoryQuery, "FETCH": event.CategoryQuery, "MOVE": event.CategoryQuery,
	"DECLARE CURSOR": event.CategoryQuery, "CLOSE CURSOR": event.CategoryQuery,
	"PREPARE": event.CategoryQuery, "EXECUTE": event.CategoryQuery, "DEALLOCATE": event.CategoryQuery,
	"BEGIN": event.CategoryQuery, "START TRANSACTION": event.CategoryQuery, "COMMIT": event.CategoryQuery,
	"ROLLBACK": event.CategoryQuery, "SAVEPOINT": event.CategoryQuery, "RELEASE": event.CategoryQuery,
	"PREPARE TRANSACTION": event.CategoryQuery, "COMMIT PREPARED": event.CategoryQuery,
	"ROLLBACK PREPARED": event.CategoryQuery, "LISTEN": event.CategoryQuery, "UNLISTEN": event.CategoryQuery,
	"NOTIFY": event.CategoryQuery, "DESCRIBE": event.CategoryQuery, "USE": event.CategoryQuery,

	"INSERT": event.CategoryDML, "UPDATE": event.CategoryDML, "DELETE": event.CategoryDML,
	"MERGE": event.CategoryDML, "TRUNCATE TABLE": event.CategoryDML, "CALL": event.CategoryDML,
	"DO": event.CategoryDML, "LOCK TABLE": event.CategoryDML, "REPLACE": event.CategoryDML,

	"GRANT": event.CategoryDCL, "REVOKE": event.CategoryDCL, "CREATE ROLE": event.CategoryDCL,
	"ALTER ROLE": event.CategoryDCL, "DROP ROLE": event.CategoryDCL,
	"ALTER DEFAULT PRIVILEGES": event.CategoryDCL, "REASSIGN OWNED": event.CategoryDCL,
	"DROP OWNED": event.CategoryDCL, "CREATE USER MAPPING": event.CategoryDCL,
	"ALTER USER MAPPING": event.CategoryDCL, "DROP USER MAPPING": event.CategoryDCL,
	"RENAME USER": event.CategoryDCL, "SET PASSWORD": event.CategoryDCL,

	"SET": event.CategoryAdmin, "RESET": event.CategoryAdmin, "ALTER SYSTEM": event.CategoryAdmin,
	"VACUUM": event.CategoryAdmin, "ANALYZE": event.CategoryAdmin, "CHECKPOINT": event.CategoryAdmin,
	"LOAD": event.CategoryAdmin, "REINDEX": event.CategoryAdmin, "CLUSTER": event.CategoryAdmin,
	"DISCARD": event.CategoryAdmin, "SET CONSTRAINTS": event.CategoryAdmin, "FLUSH": event.CategoryAdmin,
	"KILL": event.CategoryAdmin, "SHUTDOWN": event.CategoryAdmin, "INSTALL PLUGIN": event.CategoryAdmin,
	"UNINSTALL PLUGIN": event.CategoryAdmin,
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
		strings.HasPrefix(op, "COMMENT"), strings.HasPrefix(op, "SECURITY LABEL"),
		strings.HasPrefix(op, "REFRESH "), strings.HasPrefix(op, "IMPORT "), op == "SELECT INTO",
		strings.HasPrefix(op, "RENAME"):
		return event.CategoryDDL
	}
	return event.CategoryQuery
}

// catalogRelations are relations whose reading is catalog enumeration.
var catalogRelations = map[string]bool{
	"pg_shadow": true, "pg_authid": true, "pg_user": true, "pg_roles": true, "pg_group": true,
	"pg_auth_members": true, "pg_database": true, "pg_tables": true, "pg_class": true, "pg_namespace": true,
	"pg_proc": true, "pg_attribute": true, "pg_settings": true, "pg_stat_activity": true,
	"pg_user_mappings": true, "pg_user_mapping": true, "pg_hba_file_rules": true, "pg_file_settings": true,
	"pg_views": true, "pg_stat_statements": true, "pg_largeobject": true, "pg_ident_file_mappings": true,
	"pg_db_role_setting": true, "pg_extension": true, "pg_language": true, "pg_available_extensions": true,
}

// catalogSchemas are schemas whose relations are catalog relations.
var catalogSchemas = map[string]bool{"pg_catalog": true, "information_schema": true}

// isCatalogObject reports whether a collection name (schema-qualified as
// written) is a system catalog.
func isCatalogObject(name string) bool {
	schema, rel, ok := strings.Cut(name, ".")
	if ok {
		if catalogSchemas[schema] {
			return true
		}
		if i := strings.LastIndexByte(rel, '.'); i >= 0 {
			rel = rel[i+1:]
		}
		return catalogRelations[rel] && schema == "pg_catalog"
	}
	return catalogRelations[name]
}

// sleepRoutines make the time_sleep injection shape.
var sleepRoutines = map[string]bool{
	"pg_sleep": true, "pg_sleep_for": true, "pg_sleep_until": true, "sleep": true, "benchmark": true,
	"dbms_lock.sleep": true,
}

// dangerousRoutines make a later statement of a stacked string dangerous.
var dangerousRoutines = map[string]bool{
	"pg_read_file": true, "pg_read_binary_file": true, "pg_ls_dir": true, "pg_stat_file": true,
	"lo_import": true, "lo_export": true, "lo_from_bytea": true, "dblink": true, "dblink_exec": true,
	"dblink_connect": true, "dblink_connect_u": true, "pg_terminate_backend": true, "pg_cancel_backend": true,
	"set_config": true, "pg_reload_conf": true, "pg_rotate_logfile": true, "pg_file_write": true,
	"pg_logdir_ls": true, "pg_ls_logdir": true, "pg_ls_waldir": true, "query_to_xml": true,
	"load_file": true, "sys_exec": true, "sys_eval": true,
}

// trustedLanguages are PLs that cannot reach the server's OS.
var trustedLanguages = map[string]bool{
	"sql": true, "plpgsql": true, "plperl": true, "pltcl": true, "plv8": true, "pljava": true,
	"pllua": true, "plrust": true, "plproxy": true, "plprql": true, "plpgsql_check": true, "js": true,
}

// untrustedLanguage reports whether a routine language can reach the
// operating system or the server's memory: C, internal, and untrusted PLs
// (plpython3u, plperlu, pltclu, plsh, plr ...).
func untrustedLanguage(lang string) bool {
	switch lang {
	case "":
		return false
	case "c", "internal", "plsh", "plr", "plpython", "plpythonu", "plpython2u", "plpython3u":
		return true
	}
	if trustedLanguages[lang] {
		return false
	}
	return strings.HasSuffix(lang, "u")
}

// privilegedSettings are configuration names an attacker changes to hide or
// to gain: a statement string changing several settings reports these first.
func settingRank(s event.Setting) int {
	r := 0
	switch s.Scope {
	case "system":
		r = 4
	case "database":
		r = 3
	case "role":
		r = 2
	case "session":
		r = 1
	}
	n := s.Name
	if strings.HasPrefix(n, "pgaudit.") || strings.HasPrefix(n, "log_") || strings.HasPrefix(n, "logging_") ||
		strings.HasSuffix(n, "_preload_libraries") || n == "session_replication_role" || n == "row_security" ||
		n == "session_authorization" || n == "role" || n == "archive_command" || n == "ssl" ||
		strings.HasPrefix(n, "server_audit") || n == "general_log" || n == "sql_log_off" {
		r += 10
	}
	return r
}
