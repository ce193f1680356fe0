package pgcheck

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vigildb/vigil/posture"
)

// Def is a PostgreSQL check.
type Def = posture.Def[*state]

const engine = "postgres"

// Privilege hints for not_assessable findings.
const (
	needSettings = "superuser, or membership in pg_read_all_settings (included in pg_monitor): GRANT pg_monitor TO <auditor>"
	needStats    = "superuser, or membership in pg_read_all_stats (included in pg_monitor): GRANT pg_monitor TO <auditor>"
	needHBA      = "superuser, or GRANT SELECT ON pg_hba_file_rules TO <auditor> plus GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO <auditor>"
	needIdent    = "superuser, or GRANT SELECT ON pg_ident_file_mappings TO <auditor> plus GRANT EXECUTE ON FUNCTION pg_ident_file_mappings() TO <auditor> (PostgreSQL 15+)"
	needAuthid   = "superuser (pg_authid, where the password hashes are, is readable only by superusers)"
	needFileSet  = "superuser, or GRANT SELECT ON pg_file_settings TO <auditor> plus GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO <auditor>"
	needHost     = "run `vigil scan --pgdata DIR` on the database host, as root or the postgres OS user"
)

// hidden are settings pg_settings shows only to superusers and members of
// pg_read_all_settings.
var hidden = map[string]bool{
	"config_file": true, "data_directory": true, "hba_file": true, "ident_file": true, "external_pid_file": true,
	"dynamic_library_path": true, "jit_provider": true, "krb_server_keyfile": true, "log_directory": true,
	"log_filename": true, "primary_conninfo": true, "shared_preload_libraries": true, "session_preload_libraries": true,
	"ssl_ciphers": true, "ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"ssl_passphrase_command": true, "ssl_dh_params_file": true, "ssl_ecdh_curve": true, "ssl_groups": true,
	"ssl_cert_file": true, "ssl_key_file": true, "ssl_ca_file": true, "ssl_crl_file": true, "ssl_crl_dir": true,
	"unix_socket_directories": true, "unix_socket_group": true, "archive_command": true, "archive_library": true,
	"restore_command": true, "extension_control_path": true, "ssl_tls13_ciphers": true,
}

func chk(id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
	if refs == nil {
		refs = []string{}
	}
	return posture.Check{ID: id, Engine: engine, Group: group, Title: title, Severity: sev,
		Expected: expected, Why: why, Fix: fix, References: refs}
}

// get returns a setting, or the Result to report when it cannot be read.
func (st *state) get(name string) (setting, *posture.Result) {
	if s, ok := st.Settings[name]; ok {
		return s, nil
	}
	if !st.ReadAll && (hidden[name] || strings.Contains(name, ".")) {
		r := posture.NA(name+" is hidden from role "+st.User, needSettings)
		return setting{}, &r
	}
	if strings.Contains(name, ".") {
		r := posture.Infof("%s is not set (its extension is not loaded)", name)
		return setting{}, &r
	}
	r := posture.Infof("%s does not exist in PostgreSQL %s: not applicable", name, st.Version)
	return setting{}, &r
}

func (s setting) String() string {
	if s.Unit == "" || s.Value == "-1" || s.Value == "0" {
		return s.Value
	}
	return s.Value + s.Unit
}

func (s setting) on() bool { return s.Value == "on" }

func (s setting) int() int {
	v := strings.TrimSpace(s.Value)
	base := 10
	if len(v) > 1 && v[0] == '0' {
		base = 8
	}
	n, err := strconv.ParseInt(v, base, 64)
	if err != nil {
		return 0
	}
	return int(n)
}

// seconds converts a time setting to seconds.
func (s setting) seconds() float64 {
	n := float64(s.int())
	switch s.Unit {
	case "ms":
		return n / 1000
	case "min":
		return n * 60
	case "h":
		return n * 3600
	case "d":
		return n * 86400
	}
	return n
}

// setDef is a check on one setting: ok decides on its value.
func setDef(c posture.Check, name string, ok func(s setting, st *state) bool) Def {
	return Def{Check: c, Eval: func(st *state) posture.Result {
		s, r := st.get(name)
		if r != nil {
			return *r
		}
		return posture.Cond(ok(s, st), fmt.Sprintf("%s = %s", name, quoteEmpty(s.String())))
	}}
}

func quoteEmpty(v string) string {
	if v == "" {
		return "''"
	}
	return v
}

func is(vals ...string) func(setting, *state) bool {
	return func(s setting, _ *state) bool {
		for _, v := range vals {
			if strings.EqualFold(s.Value, v) {
				return true
			}
		}
		return false
	}
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.Trim(strings.TrimSpace(p), `"`)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func hasItem(v, item string) bool {
	for _, p := range splitList(v) {
		if strings.EqualFold(p, item) {
			return true
		}
	}
	return false
}

// roleNames lists the names of roles for which pred holds, skipping the
// predefined pg_* roles.
func (st *state) roleNames(pred func(role) bool) []string {
	var out []string
	for _, r := range st.Roles {
		if strings.HasPrefix(r.Name, "pg_") {
			continue
		}
		if pred(r) {
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return out
}

func (st *state) role(name string) (role, bool) {
	for _, r := range st.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return role{}, false
}

// membersOf lists every role that is a member of name, directly or
// through other roles.
func (st *state) membersOf(name string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(r string) {
		for _, m := range st.members[r] {
			if !seen[m] {
				seen[m] = true
				walk(m)
			}
		}
	}
	walk(name)
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// ancestors lists every role name is a member of, transitively.
func (st *state) ancestors(name string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(r string) {
		for _, p := range st.parents[r] {
			if !seen[p] {
				seen[p] = true
				walk(p)
			}
		}
	}
	walk(name)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// perDB gathers a list over every inspected database; errs lists the
// databases that could not be read.
func (st *state) perDB(f func(d dbInfo) []string) (items, errs []string) {
	for _, d := range st.DBInfo {
		if d.Err != nil {
			errs = append(errs, d.Name+": "+d.Err.Error())
			continue
		}
		for _, it := range f(d) {
			items = append(items, d.Name+": "+it)
		}
	}
	return items, errs
}

// dbResult turns per-database findings into a Result: fail on any item,
// not assessable when no database could be read.
func (st *state) dbResult(items, errs []string, what string) posture.Result {
	if len(items) > 0 {
		return posture.Failf("%d %s: %s", len(items), what, posture.List(items, 8))
	}
	if len(st.DBInfo) == 0 || len(errs) == len(st.DBInfo) {
		return posture.NA("no database could be inspected: "+posture.List(append(errs, st.Skipped...), 4),
			"CONNECT privilege on the databases (GRANT CONNECT ON DATABASE <db> TO <auditor>)")
	}
	obs := fmt.Sprintf("no %s in %d database(s)", what, len(st.DBInfo)-len(errs))
	if len(errs) > 0 || len(st.Skipped) > 0 {
		return posture.Result{Status: posture.NotAssessable, Observed: obs + "; not inspected: " + posture.List(append(errs, st.Skipped...), 3),
			Needs: "CONNECT privilege on every database (GRANT CONNECT ON DATABASE <db> TO <auditor>)"}
	}
	return posture.Passf("%s", obs)
}
