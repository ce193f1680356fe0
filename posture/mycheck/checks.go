package mycheck

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/posture"
)

// Def is a MySQL/MariaDB check.
type Def = posture.Def[*state]

const (
	critical, high, medium, low, info = posture.SevCritical, posture.SevHigh, posture.SevMedium, posture.SevLow, posture.SevInfo
	needUser                          = "SELECT on the mysql schema: GRANT SELECT ON mysql.* TO <auditor>"
)

func chk(id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
	if refs == nil {
		refs = []string{}
	}
	return posture.Check{ID: id, Engine: "mysql", Group: group, Title: title, Severity: sev,
		Expected: expected, Why: why, Fix: fix, References: refs}
}

func setGlobal(name, value string) string {
	return fmt.Sprintf("SET PERSIST %s = %s; (MariaDB: set %s = %s under [mariadbd] in the server's option file and restart)", name, value, name, value)
}

func cnf(name, value string) string {
	return fmt.Sprintf("set %s = %s under [mysqld] / [mariadbd] in the server's option file and restart", name, value)
}

// v returns a variable, or false.
func (st *state) v(name string) (string, bool) {
	x, ok := st.Vars[name]
	return x, ok
}

func on(v string) bool {
	switch strings.ToUpper(v) {
	case "ON", "1", "YES", "TRUE", "FORCE", "FORCE_PLUS_PERMANENT":
		return true
	}
	return false
}

// varDef grades one variable; a variable the server does not have is
// reported as info (not applicable to this engine or version).
func varDef(c posture.Check, name string, ok func(string) bool) Def {
	return Def{Check: c, Eval: func(st *state) posture.Result {
		val, has := st.v(name)
		if !has {
			return posture.Infof("%s does not exist in %s: not applicable", name, st.Version)
		}
		return posture.Cond(ok(val), fmt.Sprintf("%s = %s", name, quote(val)))
	}}
}

// firstVarDef grades the first of names the server has (MySQL and
// MariaDB name some settings differently).
func firstVarDef(c posture.Check, names []string, ok func(string) bool) Def {
	return Def{Check: c, Eval: func(st *state) posture.Result {
		for _, n := range names {
			if val, has := st.v(n); has {
				return posture.Cond(ok(val), fmt.Sprintf("%s = %s", n, quote(val)))
			}
		}
		return posture.Infof("none of %s exists in %s: not applicable", strings.Join(names, ", "), st.Version)
	}}
}

func quote(v string) string {
	if v == "" {
		return "''"
	}
	return v
}

func isOn(v string) bool  { return on(v) }
func isOff(v string) bool { return !on(v) }

// accDef grades accounts: bad picks the offending ones.
func accDef(c posture.Check, bad func(a account, st *state) bool) Def {
	return Def{Check: c, Eval: func(st *state) posture.Result {
		if st.AccErr != nil {
			return posture.NA("mysql.user: "+st.AccErr.Error(), needUser)
		}
		var hits []string
		for _, a := range st.Accounts {
			if bad(a, st) {
				hits = append(hits, a.String())
			}
		}
		sort.Strings(hits)
		return posture.Cond(len(hits) == 0, fmt.Sprintf("%d of %d accounts: %s", len(hits), len(st.Accounts), posture.List(hits, 8)))
	}}
}

func privDef(id, title, priv, sev, why string, refs ...string) Def {
	return accDef(chk(id, "privileges", title, sev, "only root@localhost (and system or locked accounts) hold the "+strings.ToUpper(strings.ReplaceAll(priv, "_", " "))+" privilege", why,
		fmt.Sprintf("REVOKE %s ON *.* FROM '<user>'@'<host>';", strings.ToUpper(strings.ReplaceAll(priv, "_", " "))), refs...),
		func(a account, _ *state) bool { return a.Privs[priv] && !a.admin() })
}

func (st *state) product() string {
	if st.MariaDB {
		return "mariadb"
	}
	return "mysql"
}

func versionDefs() []Def {
	return []Def{
		{Check: chk("my.version.eol", "version", "Release series still supported", high,
			"a series that has not reached end of life",
			"Series past end of life get no security fixes.",
			"Upgrade to a supported series (MySQL 8.4 LTS, MariaDB 10.11/11.4/11.8 LTS).",
			"CIS MySQL 8.4 4.1", "CIS MariaDB 10.11 4.1", "dev-sec mysql-db-01"),
			Eval: func(st *state) posture.Result { return st.versions.EOLResult(st.product(), st.Version, st.now) }},
		{Check: chk("my.version.latest", "version", "Latest patch release installed", high,
			"the latest release of the series",
			"Patch releases carry the security fixes.",
			"Install the latest packages of the series and restart.", "CIS MySQL 8.4 4.1", "CIS MariaDB 10.11 4.1"),
			Eval: func(st *state) posture.Result { return st.versions.LatestResult(st.product(), st.Version) }},
		{Check: chk("my.version.eol_soon", "version", "Series not ending within a year", low,
			"more than 365 days of support left",
			"An upgrade takes planning.", "Plan the upgrade to a newer LTS series.", "OWN"),
			Eval: func(st *state) posture.Result {
				return st.versions.EOLSoonResult(st.product(), st.Version, st.now, 365*24*time.Hour)
			}},
		{Check: chk("my.version.prerelease", "version", "No alpha, beta, RC or debug build", medium,
			"a GA release", "Pre-release and debug builds are not meant for production.",
			"Install a GA release.", "dev-sec mysql-db-01"),
			Eval: func(st *state) posture.Result {
				v := strings.ToLower(st.Version + " " + st.Comment)
				bad := strings.Contains(v, "alpha") || strings.Contains(v, "beta") || strings.Contains(v, "-rc") || strings.Contains(v, "debug")
				return posture.Cond(!bad, "version "+st.Version+" ("+st.Comment+")")
			}},
	}
}

func accountDefs() []Def {
	return []Def{
		accDef(chk("my.acc.anonymous", "accounts", "No anonymous accounts", critical,
			"no account with an empty user name",
			"Anonymous accounts let anyone log in without knowing a user name.",
			"DROP USER ''@'localhost'; DROP USER ''@'%'; (or run mariadb-secure-installation)",
			"CIS MySQL 8.4 7.7", "CIS MariaDB 10.11 7.6", "dev-sec mysql-db-04"),
			func(a account, _ *state) bool { return a.User == "" }),
		accDef(chk("my.acc.empty_password", "accounts", "No accounts with an empty password", critical,
			"every unlocked password-authenticated account has a password",
			"An empty password is no authentication.",
			"ALTER USER '<user>'@'<host>' IDENTIFIED BY '…'; or ACCOUNT LOCK",
			"CIS MySQL 8.4 7.3", "CIS MariaDB 10.11 7.3", "dev-sec mysql-db-05"),
			func(a account, _ *state) bool { return a.EmptyPassword && !a.Locked && !a.system() }),
		accDef(chk("my.acc.wildcard_host", "accounts", "No accounts allowed from any host", high,
			"no account with host '%' (or other wildcards spanning networks)",
			"An account usable from anywhere can be attacked from anywhere.",
			"RENAME USER '<user>'@'%' TO '<user>'@'10.0.0.%';", "CIS MySQL 8.4 7.6", "CIS MariaDB 10.11 7.5", "dev-sec mysql-db-07"),
			func(a account, _ *state) bool { return a.Host == "%" || a.Host == "" || a.Host == "%.%" }),
		accDef(chk("my.acc.root_remote", "accounts", "root only from the local host", high,
			"root accounts only for localhost, 127.0.0.1, ::1",
			"A remote root login is full control of the server from the network.",
			"DROP USER 'root'@'<host>';", "dev-sec mysql-db-08"),
			func(a account, _ *state) bool { return a.User == "root" && !a.local() && !a.Locked }),
		accDef(chk("my.acc.weak_plugin", "accounts", "No accounts on weak authentication plugins", medium,
			"no mysql_old_password or mysql_native_password accounts (MySQL: caching_sha2_password; MariaDB: ed25519 or parsec)",
			"mysql_native_password stores an unsalted SHA1 double hash; MySQL disabled it by default in 8.4 and removed it in 9.0.",
			"ALTER USER '<user>'@'<host>' IDENTIFIED WITH caching_sha2_password BY '…'; (MariaDB: IDENTIFIED VIA ed25519 USING PASSWORD('…'))",
			"CIS MySQL 8.4 7.1", "CIS MariaDB 10.11 7.1"),
			func(a account, _ *state) bool {
				return (a.Plugin == "mysql_old_password" || a.Plugin == "mysql_native_password" || a.Plugin == "") && !a.Locked && !a.system() && !a.EmptyPassword
			}),
		accDef(chk("my.acc.remote_tls", "accounts", "Remote accounts require TLS", medium,
			"accounts for non-local hosts have REQUIRE SSL or X509",
			"Without REQUIRE, a client may fall back to a plaintext session.",
			"ALTER USER '<user>'@'<host>' REQUIRE SSL;", "CIS MySQL 8.4 8.2", "CIS MariaDB 10.11 8.2"),
			func(a account, st *state) bool {
				if a.local() || a.Locked || a.system() {
					return false
				}
				return a.SSLType == "" && !on(st.Vars["require_secure_transport"])
			}),
		firstVarDef(chk("my.acc.password_lifetime", "accounts", "Passwords expire", low,
			"default_password_lifetime between 1 and 365 days",
			"Passwords that never expire stay valid after they leak.",
			setGlobal("default_password_lifetime", "365"), "CIS MySQL 8.4 2.7", "CIS MariaDB 10.11 2.6"),
			[]string{"default_password_lifetime"}, func(v string) bool { n, _ := strconv.Atoi(v); return n > 0 && n <= 365 }),
		{Check: chk("my.acc.password_reuse", "accounts", "Password reuse limited", low,
			"MySQL: password_history ≥ 5 and password_reuse_interval ≥ 365; MariaDB: password_reuse_check plugin active",
			"Users cycling back to an old password undo a rotation.",
			setGlobal("password_history", "5")+"; MariaDB: INSTALL SONAME 'password_reuse_check';", "CIS MySQL 8.4 2.8", "CIS MariaDB 10.11 7.7"),
			Eval: func(st *state) posture.Result {
				if st.MariaDB {
					p := st.Plugins["password_reuse_check"]
					return posture.Cond(p.Status == "ACTIVE", "password_reuse_check plugin: "+quote(p.Status))
				}
				h, _ := strconv.Atoi(st.Vars["password_history"])
				i, _ := strconv.Atoi(st.Vars["password_reuse_interval"])
				return posture.Cond(h >= 5 && i >= 365, fmt.Sprintf("password_history = %d, password_reuse_interval = %d", h, i))
			}},
		varDef(chk("my.acc.password_require_current", "accounts", "Changing a password requires the current one", low,
			"password_require_current = ON (MySQL 8.0.13+)",
			"A hijacked session cannot then lock the owner out by changing the password.",
			setGlobal("password_require_current", "ON"), "CIS MySQL 8.4 2.9"), "password_require_current", isOn),
		{Check: chk("my.acc.password_validation", "accounts", "Password strength validated", medium,
			"MySQL: validate_password component; MariaDB: simple_password_check or cracklib_password_check active",
			"Without validation, weak passwords are accepted.",
			"MySQL: INSTALL COMPONENT 'file://component_validate_password'; MariaDB: INSTALL SONAME 'simple_password_check';",
			"CIS MySQL 8.4 7.5", "CIS MariaDB 10.11 7.4"),
			Eval: func(st *state) posture.Result {
				for _, n := range []string{"simple_password_check", "cracklib_password_check", "validate_password"} {
					if st.Plugins[n].Status == "ACTIVE" {
						return posture.Passf("%s plugin active", n)
					}
				}
				for _, c := range st.Components {
					if strings.Contains(c, "validate_password") {
						return posture.Passf("component %s", c)
					}
				}
				if !st.MariaDB && st.CompErr != nil {
					return posture.NA("mysql.component: "+st.CompErr.Error(), needUser)
				}
				return posture.Failf("no password validation plugin or component")
			}},
		{Check: chk("my.acc.password_length", "accounts", "Minimum password length 14", medium,
			"validate_password.length / simple_password_check_minimal_length ≥ 14",
			"Short passwords fall to brute force.",
			setGlobal("validate_password.length", "14")+" (MariaDB: simple_password_check_minimal_length = 14)",
			"CIS MySQL 8.4 7.5", "CIS MariaDB 10.11 7.4"),
			Eval: func(st *state) posture.Result {
				for _, n := range []string{"validate_password.length", "validate_password_length", "simple_password_check_minimal_length"} {
					if v, ok := st.v(n); ok {
						l, _ := strconv.Atoi(v)
						return posture.Cond(l >= 14, n+" = "+v)
					}
				}
				return posture.Failf("no password validation plugin or component enforces a length")
			}},
		varDef(chk("my.acc.strict_password_validation", "accounts", "Password validation cannot be bypassed with hashes", low,
			"strict_password_validation = ON (MariaDB)",
			"Otherwise CREATE USER … IDENTIFIED BY PASSWORD '<hash>' skips the validation plugins.",
			"set strict_password_validation = ON under [mariadbd]", "CIS MariaDB 10.11 7.4"), "strict_password_validation", isOn),
		{Check: chk("my.acc.login_throttle", "accounts", "Failed logins throttled", medium,
			"MySQL: connection_control plugin with a threshold; MariaDB: max_password_errors set (≤ 10)",
			"Unthrottled logins allow fast online password guessing.",
			"MySQL: INSTALL PLUGIN connection_control SONAME 'connection_control.so'; MariaDB: max_password_errors = 5",
			"CIS MySQL 8.4 2.18"),
			Eval: func(st *state) posture.Result {
				if v, ok := st.v("max_password_errors"); ok {
					n, _ := strconv.ParseUint(v, 10, 64)
					return posture.Cond(n > 0 && n <= 10, "max_password_errors = "+v)
				}
				if st.Plugins["connection_control"].Status == "ACTIVE" {
					t, _ := strconv.Atoi(st.Vars["connection_control_failed_connections_threshold"])
					return posture.Cond(t > 0, fmt.Sprintf("connection_control active, threshold %d", t))
				}
				return posture.Failf("no failed-login throttling (connection_control not active)")
			}},
		varDef(chk("my.acc.max_user_connections", "accounts", "Per-account connection limit", low,
			"max_user_connections > 0",
			"One account opening every connection is a denial of service.",
			setGlobal("max_user_connections", "100"), "CIS MySQL 8.4 8.3", "CIS MariaDB 10.11 8.3"), "max_user_connections",
			func(v string) bool { n, _ := strconv.Atoi(v); return n > 0 }),
	}
}

func privilegeDefs() []Def {
	return []Def{
		privDef("my.priv.super", "SUPER only for administrators", "super", high,
			"SUPER can change any global setting, kill sessions, bypass read_only and write the binary log's definers.",
			"CIS MySQL 8.4 5.4", "CIS MariaDB 10.11 5.4"),
		privDef("my.priv.file", "FILE only for administrators", "file", high,
			"FILE reads and writes server files (LOAD DATA INFILE, SELECT … INTO OUTFILE).",
			"CIS MySQL 8.4 5.2", "CIS MariaDB 10.11 5.2"),
		privDef("my.priv.process", "PROCESS only for administrators", "process", medium,
			"PROCESS shows every session's statements, including passwords in them.",
			"CIS MySQL 8.4 5.3", "CIS MariaDB 10.11 5.3"),
		privDef("my.priv.grant_option", "GRANT OPTION only for administrators", "grant", medium,
			"GRANT OPTION lets an account hand its privileges to others.",
			"CIS MySQL 8.4 5.7", "CIS MariaDB 10.11 5.7", "dev-sec mysql-db-06"),
		privDef("my.priv.shutdown", "SHUTDOWN only for administrators", "shutdown", medium,
			"SHUTDOWN stops the server: a denial of service.", "CIS MySQL 8.4 5.5", "CIS MariaDB 10.11 5.5"),
		privDef("my.priv.create_user", "CREATE USER only for administrators", "create_user", high,
			"CREATE USER creates, renames and drops any account.", "CIS MySQL 8.4 5.6", "CIS MariaDB 10.11 5.6"),
		privDef("my.priv.reload", "RELOAD only for administrators", "reload", low,
			"RELOAD flushes privileges, logs and caches.", "CIS MySQL 8.4 5.8", "CIS MariaDB 10.11 5.8"),
		accDef(chk("my.priv.all_global", "privileges", "No ALL PRIVILEGES ON *.* for non-administrators", critical,
			"only root@localhost holds every global privilege",
			"ALL ON *.* is a second root.", "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '<user>'@'<host>';", "CIS MySQL 8.4 5.1", "CIS MariaDB 10.11 5.1"),
			func(a account, _ *state) bool {
				return !a.admin() && a.Privs["super"] && a.Privs["file"] && a.Privs["process"] && a.Privs["grant"] && a.Privs["create_user"] && a.Privs["select"]
			}),
		accDef(chk("my.priv.repl_super", "privileges", "Replication accounts without SUPER", medium,
			"accounts with REPLICATION SLAVE do not hold SUPER",
			"A replication account only needs to read the binary log.",
			"REVOKE SUPER ON *.* FROM '<repl>'@'<host>';", "CIS MySQL 8.4 9.4", "CIS MariaDB 10.11 9.3"),
			func(a account, _ *state) bool { return !a.admin() && a.Privs["repl_slave"] && a.Privs["super"] }),
		accDef(chk("my.priv.global_dml", "privileges", "Data privileges granted per database, not globally", medium,
			"no global SELECT, INSERT, UPDATE, DELETE for non-administrators",
			"Global data privileges include the mysql schema and every future database.",
			"REVOKE SELECT, INSERT, UPDATE, DELETE ON *.* FROM '<user>'@'<host>'; GRANT … ON app.* TO …;", "CIS MySQL 8.4 5.9"),
			func(a account, st *state) bool {
				if a.admin() {
					return false
				}
				return a.Privs["insert"] || a.Privs["update"] || a.Privs["delete"] || a.Privs["select"]
			}),
		{Check: chk("my.priv.mysql_schema", "privileges", "No database grants on the mysql schema", high,
			"no mysql.db entries for the mysql schema except administrators",
			"The mysql schema holds the accounts and their password hashes.",
			"REVOKE ALL ON mysql.* FROM '<user>'@'<host>';", "CIS MySQL 8.4 5.9"),
			Eval: func(st *state) posture.Result {
				if st.MySchemaErr != nil {
					return posture.NA("mysql.db: "+st.MySchemaErr.Error(), needUser)
				}
				var others []string
				for _, g := range st.MySchemaGrants {
					if !strings.HasPrefix(g, "'"+st.userName()+"'@") {
						others = append(others, g)
					}
				}
				return posture.Cond(len(others) == 0, "accounts: "+posture.List(others, 8))
			}},
		{Check: chk("my.priv.definer_routines", "privileges", "Routines do not run as root or wildcard definers", medium,
			"SQL SECURITY DEFINER routines have a dedicated, non-root definer (or use INVOKER)",
			"A definer routine runs with its definer's privileges for every caller.",
			"ALTER PROCEDURE … SQL SECURITY INVOKER; or recreate with DEFINER = a least-privilege account", "CIS MySQL 8.4 5.10"),
			Eval: func(st *state) posture.Result {
				if st.DefErr != nil {
					return posture.Errorf("%v", st.DefErr)
				}
				return posture.Cond(len(st.Definers) == 0, "routines: "+posture.List(st.Definers, 8))
			}},
		{Check: chk("my.priv.dynamic", "privileges", "Dynamic administrative privileges only for administrators", high,
			"no SYSTEM_VARIABLES_ADMIN, CONNECTION_ADMIN, SET_ANY_DEFINER, … for non-root accounts (MySQL 8+)",
			"Dynamic privileges split SUPER; each one is an administrative power.",
			"REVOKE <PRIV> ON *.* FROM '<user>'@'<host>';", "CIS MySQL 8.4 5.11", "CIS MySQL 8.4 5.12"),
			Eval: func(st *state) posture.Result {
				if st.MariaDB {
					return posture.Infof("MariaDB has no dynamic privileges: not applicable")
				}
				if st.DynErr != nil {
					return posture.NA("mysql.global_grants: "+st.DynErr.Error(), needUser)
				}
				return posture.Cond(len(st.Dynamic) == 0, "grants: "+posture.List(st.Dynamic, 8))
			}},
	}
}

func (st *state) userName() string {
	u, _, _ := strings.Cut(st.User, "@")
	return u
}

func networkDefs() []Def {
	return []Def{
		varDef(chk("my.net.bind_address", "network", "bind_address restricted", medium,
			"a specific address, not *, 0.0.0.0, :: or empty",
			"Listening on every interface exposes the server to every network the host is on.",
			cnf("bind_address", "10.0.0.5"), "CIS MySQL 8.4 2.14", "CIS MariaDB 10.11 2.9"), "bind_address",
			func(v string) bool { return v != "" && v != "*" && v != "0.0.0.0" && v != "::" }),
		varDef(chk("my.net.skip_name_resolve", "network", "Host names not resolved", low,
			"skip_name_resolve = ON",
			"Host-based accounts matched through DNS can be spoofed by whoever controls reverse DNS.",
			cnf("skip_name_resolve", "ON"), "cnspec mysql"), "skip_name_resolve", isOn),
		{Check: chk("my.net.port", "network", "Port recorded", info, "any",
			"Part of the exposure review.", "None needed.", "OWN"),
			Eval: func(st *state) posture.Result {
				if on(st.Vars["skip_networking"]) {
					return posture.Infof("skip_networking = ON: no TCP listener")
				}
				return posture.Infof("port = %s", st.Vars["port"])
			}},
	}
}

func tlsDefs() []Def {
	return []Def{
		varDef(chk("my.tls.require_secure_transport", "tls", "TLS required for every connection", high,
			"require_secure_transport = ON",
			"Without it clients may connect in plaintext, exposing credentials and data.",
			setGlobal("require_secure_transport", "ON"), "CIS MySQL 8.4 8.1", "CIS MariaDB 10.11 8.1"), "require_secure_transport", isOn),
		{Check: chk("my.tls.enabled", "tls", "TLS available", high,
			"have_ssl = YES (a certificate and key configured)",
			"Without TLS, no client can encrypt its session.",
			cnf("ssl_cert", "/etc/mysql/server-cert.pem")+"; and ssl_key", "CIS MySQL 8.4 2.15", "CIS MariaDB 10.11 2.10"),
			Eval: func(st *state) posture.Result {
				if v, ok := st.v("have_ssl"); ok {
					return posture.Cond(strings.EqualFold(v, "YES"), "have_ssl = "+v)
				}
				if v, ok := st.Status["ssl_server_not_after"]; ok {
					return posture.Cond(v != "", "Ssl_server_not_after = "+quote(v))
				}
				return posture.Infof("have_ssl not reported")
			}},
		varDef(chk("my.tls.version", "tls", "Only TLS 1.2 and 1.3", medium,
			"tls_version without TLSv1 and TLSv1.1",
			"TLS 1.0 and 1.1 are deprecated and have known weaknesses.",
			cnf("tls_version", "TLSv1.2,TLSv1.3"), "CIS MySQL 8.4 2.15", "CIS MariaDB 10.11 2.10"), "tls_version",
			func(v string) bool {
				for _, p := range strings.Split(v, ",") {
					p = strings.TrimSpace(p)
					if p == "TLSv1" || p == "TLSv1.0" || p == "TLSv1.1" {
						return false
					}
				}
				return true
			}),
		varDef(chk("my.tls.ciphers", "tls", "No weak TLS ciphers configured", medium,
			"ssl_cipher empty (library defaults) or without NULL, EXPORT, RC4, DES, MD5",
			"Weak suites can be negotiated and broken.",
			cnf("ssl_cipher", "'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'"), "CIS MySQL 8.4 2.17", "CIS MariaDB 10.11 2.12"), "ssl_cipher",
			func(v string) bool {
				u := strings.ToUpper(v)
				for _, w := range []string{"NULL", "EXPORT", "RC4", "DES", "MD5"} {
					for _, p := range strings.Split(u, ":") {
						if strings.Contains(p, w) && !strings.HasPrefix(p, "!") {
							return false
						}
					}
				}
				return true
			}),
		{Check: chk("my.tls.cert_expiry", "tls", "Server certificate not about to expire", medium,
			"the server certificate valid for more than 30 days",
			"An expired certificate breaks verifying clients or pushes them to disable verification.",
			"Install a renewed certificate and run ALTER INSTANCE RELOAD TLS (MariaDB: FLUSH SSL).", "OWN"),
			Eval: func(st *state) posture.Result {
				v := st.Status["ssl_server_not_after"]
				if v == "" {
					return posture.Infof("no server certificate loaded")
				}
				t, err := time.Parse("Jan _2 15:04:05 2006 MST", v)
				if err != nil {
					return posture.Infof("Ssl_server_not_after = %s", v)
				}
				return posture.Cond(t.Sub(st.now) > 30*24*time.Hour, "certificate valid until "+t.Format(time.DateOnly))
			}},
	}
}

func configDefs() []Def {
	return []Def{
		varDef(chk("my.cfg.local_infile", "config", "LOAD DATA LOCAL disabled", medium,
			"local_infile = OFF",
			"A malicious or compromised server, or an injected query, can read client-side files.",
			setGlobal("local_infile", "OFF"), "CIS MySQL 8.4 4.4", "CIS MariaDB 10.11 4.4", "dev-sec mysql-conf-03"), "local_infile", isOff),
		varDef(chk("my.cfg.secure_file_priv", "config", "Server file access confined", medium,
			"secure_file_priv set to a dedicated directory (or NULL to disable)",
			"Empty means FILE holders may read and write any file the server user can.",
			cnf("secure_file_priv", "/var/lib/mysql-files"), "CIS MySQL 8.4 4.8", "CIS MariaDB 10.11 4.7", "dev-sec mysql-conf-03"),
			"secure_file_priv", func(v string) bool { return v != "" }),
		varDef(chk("my.cfg.symlinks", "config", "Symbolic links disabled", low,
			"have_symlink = DISABLED",
			"Symlinked table files can point outside the data directory.",
			cnf("skip_symbolic_links", "ON"), "CIS MySQL 8.4 4.6", "CIS MariaDB 10.11 4.6", "dev-sec mysql-conf-03"), "have_symlink",
			func(v string) bool { return !strings.EqualFold(v, "YES") }),
		{Check: chk("my.cfg.test_db", "config", "No test or sample databases", low,
			"no test, sakila, world, employees databases",
			"Sample databases come with open grants (test: every user may create tables in test%).",
			"DROP DATABASE test; DELETE FROM mysql.db WHERE Db LIKE 'test%'; FLUSH PRIVILEGES;", "CIS MySQL 8.4 4.2", "dev-sec mysql-db-03"),
			Eval: func(st *state) posture.Result {
				if st.DBErr != nil {
					return posture.NA("SHOW DATABASES: "+st.DBErr.Error(), "the SHOW DATABASES privilege")
				}
				var bad []string
				for _, d := range st.DBs {
					switch strings.ToLower(d) {
					case "test", "sakila", "world", "world_x", "employees", "menagerie":
						bad = append(bad, d)
					}
				}
				return posture.Cond(len(bad) == 0, "databases: "+posture.List(bad, 5))
			}},
		varDef(chk("my.cfg.skip_show_database", "config", "Database names not listed to everyone", low,
			"skip_show_database = ON",
			"Listing every database name helps an attacker map the server.",
			cnf("skip_show_database", "ON"), "dev-sec mysql-conf-03", "cnspec mysql"), "skip_show_database", isOn),
		varDef(chk("my.cfg.log_bin_trust_function_creators", "config", "Function creators not trusted blindly", low,
			"log_bin_trust_function_creators = OFF",
			"ON lets users without SUPER create routines that can break replication safety and escalate.",
			setGlobal("log_bin_trust_function_creators", "OFF"), "cnspec mysql"), "log_bin_trust_function_creators", isOff),
		varDef(chk("my.cfg.automatic_sp_privileges", "config", "No automatic routine privileges", low,
			"automatic_sp_privileges = OFF",
			"ON grants ALTER/EXECUTE on every routine to its creator automatically.",
			setGlobal("automatic_sp_privileges", "OFF"), "cnspec mysql"), "automatic_sp_privileges", isOff),
		varDef(chk("my.cfg.sql_mode_strict", "config", "Strict SQL mode", low,
			"sql_mode contains STRICT_ALL_TABLES or STRICT_TRANS_TABLES",
			"Non-strict mode silently truncates and converts data, hiding injection artefacts and errors.",
			setGlobal("sql_mode", "'STRICT_ALL_TABLES,…'"), "CIS MySQL 8.4 4.9", "CIS MariaDB 10.11 4.8"), "sql_mode",
			func(v string) bool {
				return strings.Contains(v, "STRICT_ALL_TABLES") || strings.Contains(v, "STRICT_TRANS_TABLES")
			}),
		{Check: chk("my.cfg.memcached", "config", "No memcached plugin", medium,
			"daemon_memcached not installed",
			"The memcached interface reads and writes InnoDB data without SQL authentication.",
			"UNINSTALL PLUGIN daemon_memcached;", "CIS MySQL 8.4 4.7"),
			Eval: func(st *state) posture.Result {
				p, ok := st.Plugins["daemon_memcached"]
				return posture.Cond(!ok || p.Status != "ACTIVE", "daemon_memcached: "+quote(p.Status))
			}},
		varDef(chk("my.cfg.block_encryption_mode", "config", "AES functions use 256-bit keys", low,
			"block_encryption_mode aes-256-* (MySQL)",
			"The default aes-128-ecb leaks patterns of the plaintext.",
			setGlobal("block_encryption_mode", "'aes-256-cbc'"), "CIS MySQL 8.4 2.12"), "block_encryption_mode",
			func(v string) bool { return strings.HasPrefix(strings.ToLower(v), "aes-256") }),
		varDef(chk("my.cfg.old_passwords", "config", "Old password hashing off", high,
			"old_passwords = OFF (MariaDB)",
			"The pre-4.1 hash is trivially reversible.",
			"set old_passwords = OFF under [mariadbd]", "CIS MariaDB 10.11 7.2"), "old_passwords", isOff),
		varDef(chk("my.cfg.secure_auth", "config", "Old password protocol refused", high,
			"secure_auth = ON (MariaDB)",
			"Clients using the pre-4.1 protocol send crackable responses.",
			"set secure_auth = ON under [mariadbd]", "CIS MariaDB 10.11 7.3"), "secure_auth", isOn),
		varDef(chk("my.cfg.secure_timestamp", "config", "Sessions cannot fake the timestamp", low,
			"secure_timestamp YES or REPLICATION (MariaDB)",
			"With NO any user can SET timestamp, falsifying times in the binary and audit logs.",
			"set secure_timestamp = YES under [mariadbd]", "OWN"), "secure_timestamp",
			func(v string) bool {
				return strings.EqualFold(v, "YES") || strings.EqualFold(v, "REPLICATION") || strings.EqualFold(v, "SUPER")
			}),
	}
}

func loggingDefs() []Def {
	return []Def{
		varDef(chk("my.log.error", "logging", "Error log written to a file", low,
			"log_error set to a file path",
			"Start-up failures, crashes and access-denied messages belong in a kept file.",
			cnf("log_error", "/var/log/mysql/error.log"), "CIS MySQL 8.4 6.1", "CIS MariaDB 10.11 6.1"), "log_error",
			func(v string) bool { return v != "" && v != "stderr" && v != "./"+"stderr" }),
		firstVarDef(chk("my.log.verbosity", "logging", "Warnings written to the error log", low,
			"MySQL log_error_verbosity ≥ 2; MariaDB log_warnings ≥ 2",
			"Access-denied and aborted-connection messages are warnings.",
			setGlobal("log_error_verbosity", "2")+" (MariaDB: log_warnings = 2)", "CIS MySQL 8.4 6.3", "CIS MariaDB 10.11 6.3"),
			[]string{"log_error_verbosity", "log_warnings"}, func(v string) bool { n, _ := strconv.Atoi(v); return n >= 2 }),
		varDef(chk("my.log.general_log", "logging", "General query log off", medium,
			"general_log = OFF (use the audit plugin)",
			"The general log records statements in clear, including passwords in CREATE USER and SET PASSWORD.",
			setGlobal("general_log", "OFF"), "CIS MySQL 8.4 6.4", "cnspec mysql"), "general_log", isOff),
		varDef(chk("my.log.binlog", "logging", "Binary log on", low,
			"log_bin = ON",
			"The binary log is needed for point-in-time recovery and shows every change.",
			cnf("log_bin", "mysql-bin"), "CIS MySQL 8.4 2.1.4"), "log_bin", isOn),
		firstVarDef(chk("my.log.binlog_expire", "logging", "Binary logs expire", low,
			"binlog_expire_logs_seconds > 0 (or expire_logs_days > 0)",
			"Binary logs kept forever fill the disk; kept too briefly they do not cover recovery.",
			setGlobal("binlog_expire_logs_seconds", "604800"), "CIS MySQL 8.4 2.1.4"),
			[]string{"binlog_expire_logs_seconds", "expire_logs_days"}, func(v string) bool { f, _ := strconv.ParseFloat(v, 64); return f > 0 }),
	}
}

func auditDefs() []Def {
	audit := func(st *state) (string, bool) {
		for _, n := range []string{"server_audit", "audit_log"} {
			if st.Plugins[n].Status == "ACTIVE" {
				return n, true
			}
		}
		return "", false
	}
	needsAudit := func(st *state, f func() posture.Result) posture.Result {
		if _, ok := audit(st); !ok {
			return posture.Failf("no audit plugin active")
		}
		return f()
	}
	return []Def{
		{Check: chk("my.audit.plugin", "audit", "Audit plugin loaded", high,
			"server_audit (MariaDB) or audit_log (MySQL Enterprise, Percona) active",
			"Without an audit plugin logins and statements leave no trail (the general log is no substitute).",
			"MariaDB: plugin_load_add = server_audit under [mariadbd] (or INSTALL SONAME 'server_audit')",
			"CIS MariaDB 10.11 6.4", "cnspec mariadb"),
			Eval: func(st *state) posture.Result {
				n, ok := audit(st)
				if ok {
					return posture.Passf("%s active", n)
				}
				return posture.Failf("no audit plugin active")
			}},
		{Check: chk("my.audit.logging", "audit", "Audit logging switched on", high,
			"server_audit_logging = ON (MariaDB) / audit_log enabled",
			"A loaded plugin with logging off records nothing.",
			"SET GLOBAL server_audit_logging = ON; and server_audit_logging = ON in the option file", "CIS MariaDB 10.11 6.4"),
			Eval: func(st *state) posture.Result {
				return needsAudit(st, func() posture.Result {
					if v, ok := st.v("server_audit_logging"); ok {
						return posture.Cond(on(v), "server_audit_logging = "+v)
					}
					return posture.Passf("audit_log plugin active")
				})
			}},
		{Check: chk("my.audit.connect", "audit", "Audit records connections", high,
			"server_audit_events empty (all) or containing CONNECT",
			"Logins and failed logins are the first thing an investigation needs.",
			"SET GLOBAL server_audit_events = 'CONNECT,QUERY_DDL,QUERY_DCL';", "CIS MariaDB 10.11 6.4", "CIS Azure Database Services 6.4"),
			Eval: func(st *state) posture.Result {
				return needsAudit(st, func() posture.Result {
					v, ok := st.v("server_audit_events")
					if !ok {
						return posture.Infof("server_audit_events not present (not MariaDB's server_audit)")
					}
					return posture.Cond(v == "" || strings.Contains(strings.ToUpper(v), "CONNECT"), "server_audit_events = "+quote(v))
				})
			}},
		{Check: chk("my.audit.query", "audit", "Audit records DDL and privilege statements", medium,
			"server_audit_events empty (all) or containing QUERY, or QUERY_DDL and QUERY_DCL",
			"Schema and privilege changes must leave a trace.",
			"SET GLOBAL server_audit_events = 'CONNECT,QUERY_DDL,QUERY_DCL';", "CIS MariaDB 10.11 6.4"),
			Eval: func(st *state) posture.Result {
				return needsAudit(st, func() posture.Result {
					v, ok := st.v("server_audit_events")
					if !ok {
						return posture.Infof("server_audit_events not present")
					}
					u := strings.ToUpper(v)
					has := func(e string) bool {
						for _, p := range strings.Split(u, ",") {
							if strings.TrimSpace(p) == e {
								return true
							}
						}
						return false
					}
					return posture.Cond(v == "" || has("QUERY") || (has("QUERY_DDL") && has("QUERY_DCL")), "server_audit_events = "+quote(v))
				})
			}},
		{Check: chk("my.audit.excluded_users", "audit", "No users excluded from audit", medium,
			"server_audit_excl_users empty, server_audit_incl_users empty",
			"Excluded (or not included) accounts act without a trace.",
			"SET GLOBAL server_audit_excl_users = ''; SET GLOBAL server_audit_incl_users = '';", "CIS MariaDB 10.11 6.4"),
			Eval: func(st *state) posture.Result {
				return needsAudit(st, func() posture.Result {
					ex, ok := st.v("server_audit_excl_users")
					if !ok {
						return posture.Infof("server_audit_excl_users not present")
					}
					in := st.Vars["server_audit_incl_users"]
					return posture.Cond(ex == "" && in == "", fmt.Sprintf("server_audit_excl_users = %s, server_audit_incl_users = %s", quote(ex), quote(in)))
				})
			}},
		{Check: chk("my.audit.permanent", "audit", "Audit plugin cannot be unloaded at runtime", medium,
			"load option FORCE_PLUS_PERMANENT",
			"An administrator (or attacker with SUPER) can otherwise UNINSTALL the plugin and act unaudited.",
			"plugin_load_add = server_audit and server_audit = FORCE_PLUS_PERMANENT under [mariadbd]", "CIS MariaDB 10.11 6.5"),
			Eval: func(st *state) posture.Result {
				return needsAudit(st, func() posture.Result {
					n, _ := audit(st)
					p := st.Plugins[n]
					return posture.Cond(p.LoadOption == "FORCE_PLUS_PERMANENT", n+" load option "+quote(p.LoadOption))
				})
			}},
		{Check: chk("my.audit.output", "audit", "Audit output destination", info,
			"file (with rotation) or syslog, collected centrally",
			"Where the audit goes decides whether it survives a compromise of the host.",
			"server_audit_output_type = file|syslog", "OWN"),
			Eval: func(st *state) posture.Result {
				if _, ok := audit(st); !ok {
					return posture.Infof("no audit plugin active")
				}
				return posture.Infof("server_audit_output_type = %s, server_audit_file_path = %s", quote(st.Vars["server_audit_output_type"]), quote(st.Vars["server_audit_file_path"]))
			}},
	}
}

func encryptionDefs() []Def {
	return []Def{
		firstVarDef(chk("my.enc.tables", "encryption", "Tables encrypted at rest", medium,
			"MariaDB innodb_encrypt_tables ON/FORCE; MySQL default_table_encryption ON",
			"Stolen disks, snapshots and backups expose unencrypted table files.",
			"MariaDB: load file_key_management and set innodb_encrypt_tables = ON; MySQL: "+setGlobal("default_table_encryption", "ON"),
			"CIS MySQL 8.4 4.10", "CIS MariaDB 10.11 4.9"),
			[]string{"innodb_encrypt_tables", "default_table_encryption"}, isOn),
		firstVarDef(chk("my.enc.redo_log", "encryption", "Redo log encrypted", medium,
			"MariaDB innodb_encrypt_log ON; MySQL innodb_redo_log_encrypt ON",
			"The redo log holds recent changes in clear otherwise.",
			"MariaDB: innodb_encrypt_log = ON; MySQL: "+setGlobal("innodb_redo_log_encrypt", "ON"), "CIS MySQL 8.4 4.10", "CIS MariaDB 10.11 4.9"),
			[]string{"innodb_encrypt_log", "innodb_redo_log_encrypt"}, isOn),
		firstVarDef(chk("my.enc.binlog", "encryption", "Binary and relay logs encrypted", medium,
			"MariaDB encrypt_binlog ON; MySQL binlog_encryption ON",
			"Binary logs contain every change to the data.",
			"MariaDB: encrypt_binlog = ON; MySQL: "+setGlobal("binlog_encryption", "ON"), "CIS MySQL 8.4 2.2.1", "CIS MariaDB 10.11 6.6"),
			[]string{"encrypt_binlog", "binlog_encryption"}, isOn),
		firstVarDef(chk("my.enc.temp", "encryption", "Temporary files encrypted", low,
			"MariaDB encrypt_tmp_files ON; MySQL innodb_undo_log_encrypt ON",
			"Sort and temporary files hold query results in clear.",
			"MariaDB: encrypt_tmp_files = ON; MySQL: "+setGlobal("innodb_undo_log_encrypt", "ON"), "CIS MariaDB 10.11 4.9"),
			[]string{"encrypt_tmp_files", "innodb_undo_log_encrypt"}, isOn),
	}
}

func replicationDefs() []Def {
	return []Def{
		{Check: chk("my.rep.ssl_verify", "replication", "Replica verifies its source over TLS", high,
			"not a replica, or Master_SSL_Allowed = Yes with Master_SSL_Verify_Server_Cert = Yes",
			"Replication streams every change; without verified TLS it can be read or altered in transit.",
			"CHANGE MASTER TO MASTER_SSL = 1, MASTER_SSL_VERIFY_SERVER_CERT = 1; (MySQL: CHANGE REPLICATION SOURCE TO SOURCE_SSL = 1, SOURCE_SSL_VERIFY_SERVER_CERT = 1)",
			"CIS MySQL 8.4 9.2", "CIS MariaDB 10.11 9.2"),
			Eval: func(st *state) posture.Result {
				if st.RepErr != nil {
					return posture.NA("replica status: "+st.RepErr.Error(), "REPLICATION CLIENT (MariaDB: SLAVE MONITOR / REPLICA MONITOR)")
				}
				if len(st.Replica) == 0 {
					return posture.Passf("not a replica")
				}
				allowed := st.Replica["Master_SSL_Allowed"] + st.Replica["Source_SSL_Allowed"]
				verify := st.Replica["Master_SSL_Verify_Server_Cert"] + st.Replica["Source_SSL_Verify_Server_Cert"]
				return posture.Cond(allowed == "Yes" && verify == "Yes", fmt.Sprintf("SSL allowed %s, verify server cert %s", allowed, verify))
			}},
	}
}

// Defs is the MySQL/MariaDB catalog.
func Defs() []Def {
	var all []Def
	for _, p := range [][]Def{versionDefs(), accountDefs(), privilegeDefs(), networkDefs(), tlsDefs(), configDefs(),
		loggingDefs(), auditDefs(), encryptionDefs(), replicationDefs()} {
		all = append(all, p...)
	}
	return all
}

// Catalog lists every MySQL/MariaDB check.
func Catalog() []posture.Check { return posture.Checks(Defs()) }
