package pipeline

// The parse packages below register their input formats (parse.Register)
// in init: importing them here makes replay, `vigil rules test` and the
// daemon know them, by name and by detection.
import (
	_ "github.com/vigildb/vigil/parse/azure"      // azure (resource logs: records envelope and NDJSON)
	_ "github.com/vigildb/vigil/parse/mysqlaudit" // mariadb_audit, mysql_audit_json, percona_audit_json, mysql_general, mysql_error
)
