// Package event defines the two types every stage of Vigil exchanges: the
// normalized Event (one login, statement, error or control-plane call) and
// the Alert a rule raises from events.
//
// The field names follow the OpenTelemetry semantic conventions for
// databases (db.system.name, db.namespace, db.operation.name, ...). The Go
// struct nests them so that the same dotted name works everywhere:
//
//   - in rule conditions (expr), through the `expr` struct tags:
//     db.operation.name == "DROP TABLE" and user.name != "postgres"
//   - in group_by / distinct / exception fields of rules: "client.address"
//   - in JSON output, as nested objects: {"db":{"operation":{"name":"DROP TABLE"}}}
//
// Keep this shape stable: alerts and evidence in this form are consumed by
// other tools (SPEC §2 and §3). Add fields; do not rename them.
package event

import "time"

// Category values (event.category).
const (
	CategoryAuthentication = "authentication"
	CategoryQuery          = "query" // SELECT and other reads
	CategoryDDL            = "ddl"
	CategoryDCL            = "dcl" // GRANT/REVOKE, role management
	CategoryDML            = "dml"
	CategoryAdmin          = "admin" // SET, ALTER SYSTEM, VACUUM, CHECKPOINT, server lifecycle ...
	CategoryError          = "error"
	CategoryControlPlane   = "control_plane"
	CategoryDataPlane      = "data_plane"
)

// Action values (event.action) for logins and statements; cloud sources use
// the operation name instead.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
	ActionStatement   = "statement"
	ActionError       = "error"  // an error-level entry that is not a failed login
	ActionServer      = "server" // server lifecycle / configuration messages
)

// Outcome values (event.outcome).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Event is one normalized thing that happened at a monitored database.
// The zero value of every field means "unknown".
type Event struct {
	// ID identifies the event: stable for the same input (source, file,
	// offset), so a re-read of the same bytes yields the same ID.
	ID      string    `json:"id,omitempty" expr:"id"`
	Time    time.Time `json:"time" expr:"time"` // at the source, UTC
	Source  Source    `json:"source" expr:"source"`
	DB      DB        `json:"db" expr:"db"`
	Server  Server    `json:"server,omitzero" expr:"server"`
	User    User      `json:"user,omitzero" expr:"user"`
	Client  Client    `json:"client,omitzero" expr:"client"`
	App     App       `json:"app,omitzero" expr:"app"`
	Session Session   `json:"session,omitzero" expr:"session"`
	Event   Kind      `json:"event" expr:"event"`
	Log     Log       `json:"log,omitzero" expr:"log"`
	Error   Error     `json:"error,omitzero" expr:"error"`
	SQL     SQL       `json:"sql,omitzero" expr:"sql"`
}

// Source says where the event came from (source.name, source.kind).
type Source struct {
	Name string `json:"name,omitempty" expr:"name"` // configured source name, or the file name in replay
	Kind string `json:"kind,omitempty" expr:"kind"` // postgres_log, pgaudit, mariadb_audit, ...
}

// DB holds the db.* fields.
type DB struct {
	System     Name       `json:"system,omitzero" expr:"system"`         // db.system.name: postgresql, mysql, mariadb, cosmosdb
	Namespace  string     `json:"namespace,omitempty" expr:"namespace"`  // db.namespace: database
	Operation  Name       `json:"operation,omitzero" expr:"operation"`   // db.operation.name: SELECT, DROP TABLE, GRANT ...
	Object     ObjectType `json:"object,omitzero" expr:"object"`         // db.object.type: TABLE, VIEW, FUNCTION, ROLE ...
	Collection Names      `json:"collection,omitzero" expr:"collection"` // db.collection.name: schema-qualified objects
	Query      Query      `json:"query,omitzero" expr:"query"`
	Response   Response   `json:"response,omitzero" expr:"response"`
}

// Name is a single `name` attribute (db.system.name, db.operation.name).
type Name struct {
	Name string `json:"name,omitempty" expr:"name"`
}

// Names is a list-valued `name` attribute (db.collection.name).
type Names struct {
	Name []string `json:"name,omitempty" expr:"name"`
}

// ObjectType is db.object.type.
type ObjectType struct {
	Type string `json:"type,omitempty" expr:"type"`
}

// Query holds the statement: Text is always masked (no secret in clear);
// Summary is its fingerprint with literals removed.
type Query struct {
	Text    string `json:"text,omitempty" expr:"text"`
	Summary string `json:"summary,omitempty" expr:"summary"`
}

// Response holds what the server answered.
type Response struct {
	StatusCode   string `json:"status_code,omitempty" expr:"status_code"`     // SQLSTATE, MySQL error code, HTTP status
	ReturnedRows int64  `json:"returned_rows,omitempty" expr:"returned_rows"` // rows returned/affected where known
	Bytes        int64  `json:"bytes,omitempty" expr:"bytes"`                 // response size where known
}

// Server is server.address: the monitored server, instance or cloud resource id.
type Server struct {
	Address string `json:"address,omitempty" expr:"address"`
}

// User is user.name: the database principal (or cloud caller).
type User struct {
	Name string `json:"name,omitempty" expr:"name"`
}

// Client is the client end of the connection, with enrichment.
type Client struct {
	Address string `json:"address,omitempty" expr:"address"` // IP, or "[local]" for a Unix socket
	Port    int    `json:"port,omitempty" expr:"port"`
	Geo     Geo    `json:"geo,omitzero" expr:"geo"`
	Cloud   Cloud  `json:"cloud,omitzero" expr:"cloud"`
}

// Geo is client.geo.*.
type Geo struct {
	Country string `json:"country,omitempty" expr:"country"` // ISO 3166 alpha-2
	City    string `json:"city,omitempty" expr:"city"`
}

// Cloud is client.cloud.*.
type Cloud struct {
	Provider string `json:"provider,omitempty" expr:"provider"`
	Region   string `json:"region,omitempty" expr:"region"`
}

// App is app.name: application_name, client program or HTTP user agent.
type App struct {
	Name string `json:"name,omitempty" expr:"name"`
}

// Session is session.id: backend session id / pid, connection id, activity id.
type Session struct {
	ID string `json:"id,omitempty" expr:"id"`
}

// Kind holds event.category, event.action, event.outcome and event.duration.
type Kind struct {
	Category string `json:"category,omitempty" expr:"category"`
	Action   string `json:"action,omitempty" expr:"action"`
	Outcome  string `json:"outcome,omitempty" expr:"outcome"`
	// Duration of the statement in nanoseconds where the source logged it.
	Duration int64 `json:"duration,omitempty" expr:"duration"`
}

// Log holds log.level (severity at the source) and where the record was read.
type Log struct {
	Level string `json:"level,omitempty" expr:"level"` // LOG, ERROR, FATAL, ... as the source wrote it
	File  string `json:"file,omitempty" expr:"file"`   // file the record was read from (replay, tail)
	Line  int64  `json:"line,omitempty" expr:"line"`   // 1-based line of the record's first line in File
}

// Error holds error.message and, for PostgreSQL, the DETAIL/HINT text (masked).
type Error struct {
	Message string `json:"message,omitempty" expr:"message"`
	Detail  string `json:"detail,omitempty" expr:"detail"`
}

// SQL is what the statement classifier understood beyond the OTel fields:
// everything the rules need to decide. Filled by the stmt packages.
type SQL struct {
	// Operations lists every command in the event: the statement itself,
	// each statement of a multi-statement string, the statements inside a DO
	// block or an EXECUTE'd literal, and pgaudit sub-statements. The primary
	// one is also in db.operation.name.
	Operations []string `json:"operations,omitempty" expr:"operations"`
	// ObjectTypes lists the object kinds of Operations (TABLE, VIEW ...).
	ObjectTypes []string `json:"object_types,omitempty" expr:"object_types"`
	// Routines are the functions and procedures called (schema-qualified
	// when written so), lower case: pg_read_file, lo_export, public.add_one.
	Routines []string `json:"routines,omitempty" expr:"routines"`
	// NoWhere: a DELETE or UPDATE without a WHERE clause.
	NoWhere bool `json:"no_where,omitempty" expr:"no_where"`
	// Copy describes a COPY statement (or SELECT ... INTO OUTFILE/DUMPFILE,
	// LOAD DATA INFILE for MySQL).
	Copy Copy `json:"copy,omitzero" expr:"copy"`
	// Language of a created or replaced routine (plpgsql, sql, c, plpython3u ...).
	Language string `json:"language,omitempty" expr:"language"`
	// Untrusted: the routine's language is C, internal or an untrusted PL (…u).
	Untrusted bool `json:"untrusted,omitempty" expr:"untrusted"`
	// Library is the shared library path of CREATE FUNCTION ... AS 'lib', LOAD 'lib', SONAME.
	Library string `json:"library,omitempty" expr:"library"`
	// DynamicExec: the statement (or routine body) EXECUTEs text that it builds
	// at run time from decoded/concatenated pieces (decode(), convert_from(), chr(), ||).
	DynamicExec bool `json:"dynamic_exec,omitempty" expr:"dynamic_exec"`
	// Replace: CREATE OR REPLACE.
	Replace bool `json:"replace,omitempty" expr:"replace"`
	// Role describes CREATE/ALTER ROLE/USER.
	Role Role `json:"role,omitzero" expr:"role"`
	// Grant describes GRANT/REVOKE.
	Grant Grant `json:"grant,omitzero" expr:"grant"`
	// Setting describes SET / ALTER SYSTEM / ALTER ROLE|DATABASE ... SET / RESET.
	Setting Setting `json:"setting,omitzero" expr:"setting"`
	// Injection lists SQL-injection shapes found: tautology, union_probe,
	// stacked, time_sleep, catalog_enum, comment_truncation.
	Injection []string `json:"injection,omitempty" expr:"injection"`
	// Stacked: the text held more than one statement.
	Stacked bool `json:"stacked,omitempty" expr:"stacked"`
	// ParseError: the real parser rejected the text; the classification is a
	// lexical best effort.
	ParseError bool `json:"parse_error,omitempty" expr:"parse_error"`
	// Audit is the pgaudit (or other audit plugin) view of the statement.
	Audit Audit `json:"audit,omitzero" expr:"audit"`
}

// Copy describes data moving in or out of the server.
type Copy struct {
	Direction string `json:"direction,omitempty" expr:"direction"` // "to" (out of the DB) or "from" (into it)
	Target    string `json:"target,omitempty" expr:"target"`       // file, program, stdout, stdin
	Path      string `json:"path,omitempty" expr:"path"`           // file path or program command (masked)
}

// Role describes a role/user statement.
type Role struct {
	Names      []string `json:"names,omitempty" expr:"names"`           // roles created/altered/dropped
	Login      bool     `json:"login,omitempty" expr:"login"`           // the role can log in (CREATE USER, LOGIN)
	Attributes []string `json:"attributes,omitempty" expr:"attributes"` // upper case: SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS, REPLICATION, LOGIN
	Password   bool     `json:"password,omitempty" expr:"password"`     // a password was set (its value is masked)
}

// Grant describes a GRANT or REVOKE.
type Grant struct {
	Revoke          bool     `json:"revoke,omitempty" expr:"revoke"`
	Privileges      []string `json:"privileges,omitempty" expr:"privileges"` // upper case: SELECT, ALL, EXECUTE ...
	All             bool     `json:"all,omitempty" expr:"all"`               // ALL [PRIVILEGES]
	Public          bool     `json:"public,omitempty" expr:"public"`         // granted to PUBLIC
	WithGrantOption bool     `json:"with_grant_option,omitempty" expr:"with_grant_option"`
	Roles           []string `json:"roles,omitempty" expr:"roles"` // role memberships granted (GRANT role TO user)
	Grantees        []string `json:"grantees,omitempty" expr:"grantees"`
	ObjectType      string   `json:"object_type,omitempty" expr:"object_type"` // TABLE, SCHEMA, DATABASE, FUNCTION ...
}

// Setting describes a configuration change.
type Setting struct {
	Scope string `json:"scope,omitempty" expr:"scope"` // session, system, role, database
	Name  string `json:"name,omitempty" expr:"name"`   // lower case: pgaudit.log, log_statement
	Value string `json:"value,omitempty" expr:"value"` // as written, unquoted; "" for RESET / DEFAULT
	Reset bool   `json:"reset,omitempty" expr:"reset"`
}

// Audit is what an audit plugin said about the statement (pgaudit).
type Audit struct {
	Type        string   `json:"type,omitempty" expr:"type"`       // SESSION or OBJECT
	Classes     []string `json:"classes,omitempty" expr:"classes"` // READ, WRITE, FUNCTION, ROLE, DDL, MISC, MISC_SET
	StatementID int64    `json:"statement_id,omitempty" expr:"statement_id"`
	Parameter   string   `json:"parameter,omitempty" expr:"parameter"` // masked
}
