package pgcheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigildb/vigil/posture"
)

const (
	high, medium, low, info, critical = posture.SevHigh, posture.SevMedium, posture.SevLow, posture.SevInfo, posture.SevCritical
)

func reload(name, value string) string {
	return fmt.Sprintf("ALTER SYSTEM SET %s = %s; SELECT pg_reload_conf();", name, value)
}

func restart(name, value string) string {
	return fmt.Sprintf("ALTER SYSTEM SET %s = %s; then restart PostgreSQL", name, value)
}

func versionDefs() []Def {
	return []Def{
		{Check: chk("pg.version.eol", "version", "Major version still supported", high,
			"a major version that has not reached end of life",
			"Majors past end of life get no security fixes; every CVE published since stays open.",
			"Upgrade to a supported major with pg_upgrade or dump/restore.",
			"CIS PostgreSQL 17 1.5", "pgdsat 1.5", "dev-sec postgres-02"),
			Eval: func(st *state) posture.Result { return st.versions.EOLResult("postgresql", st.Version, st.now) }},
		{Check: chk("pg.version.minor", "version", "Latest minor release installed", high,
			"the latest minor release of the major version",
			"Minor releases carry only bug and security fixes; the project recommends always running the latest one.",
			"Install the latest minor release packages and restart (no dump/restore needed).",
			"CIS PostgreSQL 17 1.5", "pgdsat 1.5"),
			Eval: func(st *state) posture.Result { return st.versions.LatestResult("postgresql", st.Version) }},
		{Check: chk("pg.version.eol_soon", "version", "Major version not ending within a year", low,
			"more than 365 days of support left",
			"An upgrade takes planning; a major close to end of life needs one scheduled now.",
			"Plan the upgrade to a newer major.", "OWN"),
			Eval: func(st *state) posture.Result {
				return st.versions.EOLSoonResult("postgresql", st.Version, st.now, 365*24*time.Hour)
			}},
		{Check: chk("pg.version.prerelease", "version", "No beta, RC or development build", medium,
			"a released version",
			"Pre-release builds are not meant for production data and are not supported.",
			"Install a released version.", "dev-sec postgres-02"),
			Eval: func(st *state) posture.Result {
				v := strings.ToLower(st.Version)
				return posture.Cond(!strings.Contains(v, "beta") && !strings.Contains(v, "rc") && !strings.Contains(v, "devel"),
					"server_version = "+st.Version)
			}},
	}
}

func networkDefs() []Def {
	return []Def{
		setDef(chk("pg.net.listen_addresses", "network", "listen_addresses restricted", medium,
			"specific addresses, not * / 0.0.0.0 / ::",
			"Listening on every interface exposes the server to every network the host is on.",
			restart("listen_addresses", "'10.0.0.5'")+" (the addresses clients use)",
			"CIS PostgreSQL 17 5.2", "pgdsat 5.2"), "listen_addresses", func(s setting, _ *state) bool {
			for _, a := range splitList(s.Value) {
				if a == "*" || a == "0.0.0.0" || a == "::" {
					return false
				}
			}
			return true
		}),
		{Check: chk("pg.net.port", "network", "Port recorded", info,
			"any; a non-default port only reduces noise from scanners",
			"Knowing the port is part of the exposure review; moving off 5432 is not a control by itself.",
			"None needed.", "OWN"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("port")
				if r != nil {
					return *r
				}
				return posture.Infof("port = %s", s.Value)
			}},
		setDef(chk("pg.net.unix_socket_permissions", "network", "Unix socket not open to every local user", low,
			"unix_socket_permissions 0770 or stricter",
			"A world-accessible socket lets every OS user on the host attempt logins.",
			restart("unix_socket_permissions", "0770"), "pgdsat 2.6"), "unix_socket_permissions",
			func(s setting, _ *state) bool { return s.int()&0o007 == 0 }),
	}
}

func authSettingDefs() []Def {
	return []Def{
		setDef(chk("pg.auth.password_encryption", "auth", "password_encryption = scram-sha-256", high,
			"scram-sha-256",
			"New and changed passwords are stored as MD5 hashes otherwise, which are pass-the-hash material.",
			reload("password_encryption", "'scram-sha-256'")+" Then have every role set its password again.",
			"pgdsat 5.12", "dev-sec postgres-07"), "password_encryption", is("scram-sha-256")),
		{Check: chk("pg.auth.passwordcheck", "auth", "Password complexity enforced", medium,
			"passwordcheck or credcheck in shared_preload_libraries",
			"Without a check, any password (also 'postgres') is accepted by CREATE/ALTER ROLE.",
			restart("shared_preload_libraries", "'pgaudit,passwordcheck'")+" (keep the libraries already there)",
			"CIS PostgreSQL 17 5.6", "pgdsat 5.6"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("shared_preload_libraries")
				if r != nil {
					return *r
				}
				return posture.Cond(hasItem(s.Value, "passwordcheck") || hasItem(s.Value, "credcheck"),
					"shared_preload_libraries = "+quoteEmpty(s.Value))
			}},
		{Check: chk("pg.auth.auth_delay", "auth", "Failed logins are delayed", medium,
			"auth_delay.milliseconds > 0 or credcheck.auth_delay_ms > 0",
			"A delay after each failed login slows online password guessing.",
			restart("shared_preload_libraries", "'…,auth_delay'")+"; ALTER SYSTEM SET auth_delay.milliseconds = 500",
			"pgdsat 5.7"),
			Eval: func(st *state) posture.Result {
				for _, n := range []string{"auth_delay.milliseconds", "credcheck.auth_delay_ms"} {
					if s, ok := st.Settings[n]; ok && s.int() > 0 {
						return posture.Passf("%s = %s", n, s.String())
					}
				}
				if !st.ReadAll {
					if _, ok := st.Settings["shared_preload_libraries"]; !ok {
						return posture.NA("auth_delay/credcheck settings not visible to role "+st.User, needSettings)
					}
				}
				return posture.Failf("neither auth_delay nor credcheck is loaded with a delay")
			}},
		setDef(chk("pg.auth.authentication_timeout", "auth", "authentication_timeout at most 60 s", low,
			"≤ 60s",
			"Slow or stalled handshakes hold connection slots; a short timeout limits that denial of service.",
			reload("authentication_timeout", "'30s'"), "pgdsat 5.7"), "authentication_timeout",
			func(s setting, _ *state) bool { return s.seconds() <= 60 }),
		setDef(chk("pg.auth.db_user_namespace", "auth", "db_user_namespace off", low,
			"off (removed in PostgreSQL 17)",
			"Per-database user names confuse role-based access reviews and pg_hba matching.",
			restart("db_user_namespace", "off"), "OWN"), "db_user_namespace", is("off")),
		setDef(chk("pg.auth.scram_iterations", "auth", "SCRAM iteration count not lowered", low,
			"scram_iterations ≥ 4096 (PostgreSQL 16+)",
			"Fewer iterations make stolen SCRAM verifiers cheaper to brute-force.",
			reload("scram_iterations", "4096"), "OWN"), "scram_iterations",
			func(s setting, _ *state) bool { return s.int() >= 4096 }),
	}
}

func tlsSettingDefs() []Def {
	return []Def{
		setDef(chk("pg.tls.ssl", "tls", "TLS enabled", high, "ssl = on",
			"Without TLS, passwords (for password/md5 rules) and all data cross the network in clear.",
			"Install a certificate and key (ssl_cert_file, ssl_key_file); "+reload("ssl", "on"),
			"CIS PostgreSQL 17 6.8", "pgdsat 6.8", "dev-sec postgres-11"), "ssl", is("on")),
		setDef(chk("pg.tls.min_protocol", "tls", "Minimum TLS protocol 1.2 or later", medium,
			"ssl_min_protocol_version TLSv1.2 or TLSv1.3 (CIS 17 and pgdsat ask TLSv1.3)",
			"TLS 1.0 and 1.1 have known weaknesses and are deprecated.",
			reload("ssl_min_protocol_version", "'TLSv1.3'"), "CIS PostgreSQL 17 6.9", "pgdsat 6.8"),
			"ssl_min_protocol_version", is("TLSv1.2", "TLSv1.3")),
		setDef(chk("pg.tls.max_protocol", "tls", "Maximum TLS protocol not capped low", low,
			"ssl_max_protocol_version empty (no cap) or TLSv1.3",
			"Capping the protocol at an old version forces weak TLS on every client.",
			reload("ssl_max_protocol_version", "''"), "OWN"), "ssl_max_protocol_version", is("", "TLSv1.3")),
		setDef(chk("pg.tls.ciphers", "tls", "No weak TLS ciphers", medium,
			"ssl_ciphers excludes aNULL, eNULL, EXPORT, RC4, DES, 3DES, MD5 (e.g. HIGH:!aNULL:!MD5:!3DES:!RC4 or the CIS list)",
			"Weak cipher suites can be downgraded to and broken.",
			reload("ssl_ciphers", "'HIGH:!aNULL:!eNULL:!MD5:!3DES:!RC4:!DES:!EXPORT'"), "CIS PostgreSQL 17 6.10", "pgdsat 6.10"),
			"ssl_ciphers", func(s setting, _ *state) bool {
				v := strings.ToUpper(s.Value)
				if v == "" || strings.Contains(v, "ALL") && !strings.Contains(v, "!") {
					return false
				}
				for _, weak := range []string{"NULL", "EXPORT", "RC4", "DES", "MD5"} {
					for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
						if strings.Contains(part, weak) && !strings.HasPrefix(part, "!") && !strings.HasPrefix(part, "-") {
							return false
						}
					}
				}
				return true
			}),
		setDef(chk("pg.tls.prefer_server_ciphers", "tls", "Server cipher order preferred", low,
			"ssl_prefer_server_ciphers = on",
			"Letting the client choose can select a weaker suite than the server offers.",
			reload("ssl_prefer_server_ciphers", "on"), "cnspec postgres"), "ssl_prefer_server_ciphers", is("on")),
		{Check: chk("pg.tls.passphrase", "tls", "Private key passphrase command", info,
			"ssl_passphrase_command set where keys must be encrypted at rest",
			"An encrypted key protects it if the data directory is copied; only some environments require it.",
			reload("ssl_passphrase_command", "'/usr/local/bin/get-key-passphrase'"), "CIS PostgreSQL 17 6.8", "pgdsat 6.8"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("ssl_passphrase_command")
				if r != nil {
					return *r
				}
				return posture.Infof("ssl_passphrase_command = %s", quoteEmpty(s.Value))
			}},
	}
}

func loggingDefs() []Def {
	syslogOnly := func(st *state, name string, ok func(setting) bool) posture.Result {
		d, r := st.get("log_destination")
		if r != nil {
			return *r
		}
		s, r := st.get(name)
		if r != nil {
			return *r
		}
		if !hasItem(d.Value, "syslog") {
			return posture.Passf("log_destination = %s (syslog not used); %s = %s", d.Value, name, s.String())
		}
		return posture.Cond(ok(s), fmt.Sprintf("%s = %s", name, quoteEmpty(s.String())))
	}
	return []Def{
		setDef(chk("pg.log.destination", "logging", "log_destination set", medium,
			"stderr, csvlog, jsonlog or syslog",
			"Messages that go nowhere leave no trail.", reload("log_destination", "'csvlog'"),
			"CIS PostgreSQL 17 3.1.2", "pgdsat 3.1.2"), "log_destination",
			func(s setting, _ *state) bool { return strings.TrimSpace(s.Value) != "" }),
		{Check: chk("pg.log.collector", "logging", "logging_collector on", medium,
			"on (or log_destination syslog/eventlog)",
			"Without the collector, stderr output goes wherever the service manager sends it and can be lost.",
			restart("logging_collector", "on"), "CIS PostgreSQL 17 3.1.3", "pgdsat 3.1.3", "dev-sec postgres-16"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("logging_collector")
				if r != nil {
					return *r
				}
				d := st.Settings["log_destination"]
				return posture.Cond(s.on() || hasItem(d.Value, "syslog") || hasItem(d.Value, "eventlog"),
					fmt.Sprintf("logging_collector = %s, log_destination = %s", s.Value, d.Value))
			}},
		setDef(chk("pg.log.directory", "logging", "log_directory set", low,
			"a non-empty directory",
			"The collector's files need a known, protected place.",
			reload("log_directory", "'/var/log/postgresql'"), "CIS PostgreSQL 17 3.1.4", "pgdsat 3.1.4"), "log_directory",
			func(s setting, _ *state) bool { return s.Value != "" }),
		{Check: chk("pg.log.directory_outside_pgdata", "logging", "Logs written outside the data directory", low,
			"an absolute log_directory not under data_directory",
			"Logs inside PGDATA are copied by base backups and replicas, spreading what they contain.",
			reload("log_directory", "'/var/log/postgresql'"), "CIS PostgreSQL 17 8.1", "pgdsat 3.1.27"),
			Eval: func(st *state) posture.Result {
				l, r := st.get("log_directory")
				if r != nil {
					return *r
				}
				d, r := st.get("data_directory")
				if r != nil {
					return *r
				}
				dir := l.Value
				if !filepath.IsAbs(dir) {
					return posture.Failf("log_directory = %s (relative: inside %s)", dir, d.Value)
				}
				inside := dir == d.Value || strings.HasPrefix(filepath.Clean(dir)+"/", filepath.Clean(d.Value)+"/")
				return posture.Cond(!inside, fmt.Sprintf("log_directory = %s, data_directory = %s", dir, d.Value))
			}},
		setDef(chk("pg.log.filename", "logging", "log_filename rotates by time", info,
			"a pattern with strftime escapes (e.g. postgresql-%Y-%m-%d_%H%M%S.log)",
			"A time-based file name keeps each period in its own file for retention.",
			reload("log_filename", "'postgresql-%Y-%m-%d_%H%M%S.log'"), "CIS PostgreSQL 17 3.1.5", "pgdsat 3.1.5"), "log_filename",
			func(s setting, _ *state) bool { return strings.Contains(s.Value, "%") }),
		setDef(chk("pg.log.file_mode", "logging", "Log files readable by the owner only", medium,
			"log_file_mode 0600 (0640 when a log shipper's group must read them)",
			"Logs hold statements, user names and error details.",
			reload("log_file_mode", "0600"), "CIS PostgreSQL 17 3.1.6", "pgdsat 3.1.6"), "log_file_mode",
			func(s setting, _ *state) bool { return s.int()&0o137 == 0 }),
		setDef(chk("pg.log.truncate_on_rotation", "logging", "Time-rotated logs overwrite old files", low,
			"log_truncate_on_rotation = on",
			"Without it, reused file names append forever and retention cannot work.",
			reload("log_truncate_on_rotation", "on"), "CIS PostgreSQL 17 3.1.7", "pgdsat 3.1.7"), "log_truncate_on_rotation", is("on")),
		setDef(chk("pg.log.rotation_age", "logging", "Logs rotate at least daily", low,
			"log_rotation_age between 1 minute and 1 day",
			"One file per day bounds file size and matches retention periods.",
			reload("log_rotation_age", "'1d'"), "CIS PostgreSQL 17 3.1.8", "pgdsat 3.1.8"), "log_rotation_age",
			func(s setting, _ *state) bool { sec := s.seconds(); return sec > 0 && sec <= 86400 }),
		setDef(chk("pg.log.rotation_size", "logging", "Logs rotate by size", low,
			"log_rotation_size > 0 (e.g. 1GB)",
			"A size limit keeps a burst of activity from filling the log file system.",
			reload("log_rotation_size", "'1GB'"), "CIS PostgreSQL 17 3.1.9", "pgdsat 3.1.9"), "log_rotation_size",
			func(s setting, _ *state) bool { return s.int() > 0 }),
		{Check: chk("pg.log.syslog_facility", "logging", "syslog facility set (when syslog is used)", low,
			"a LOCAL0–LOCAL7 facility when log_destination includes syslog",
			"A dedicated facility routes database messages to their own protected file.",
			reload("syslog_facility", "'LOCAL1'"), "CIS PostgreSQL 17 3.1.10", "pgdsat 3.1.10"),
			Eval: func(st *state) posture.Result {
				return syslogOnly(st, "syslog_facility", func(s setting) bool { return strings.HasPrefix(strings.ToLower(s.Value), "local") })
			}},
		{Check: chk("pg.log.syslog_sequence_numbers", "logging", "syslog sequence numbers on (when syslog is used)", low,
			"syslog_sequence_numbers = on",
			"syslog drops repeated lines; numbers keep each message distinct and show gaps.",
			reload("syslog_sequence_numbers", "on"), "CIS PostgreSQL 17 3.1.11", "pgdsat 3.1.11"),
			Eval: func(st *state) posture.Result { return syslogOnly(st, "syslog_sequence_numbers", setting.on) }},
		{Check: chk("pg.log.syslog_split_messages", "logging", "syslog messages split (when syslog is used)", low,
			"syslog_split_messages = on",
			"Long messages are truncated by many syslog daemons unless split.",
			reload("syslog_split_messages", "on"), "CIS PostgreSQL 17 3.1.12", "pgdsat 3.1.12"),
			Eval: func(st *state) posture.Result { return syslogOnly(st, "syslog_split_messages", setting.on) }},
		{Check: chk("pg.log.syslog_ident", "logging", "syslog ident set (when syslog is used)", info,
			"a program name that identifies this cluster",
			"Several clusters on one syslog need distinct names.",
			reload("syslog_ident", "'postgres-main'"), "CIS PostgreSQL 17 3.1.13", "pgdsat 3.1.13"),
			Eval: func(st *state) posture.Result {
				return syslogOnly(st, "syslog_ident", func(s setting) bool { return s.Value != "" })
			}},
		setDef(chk("pg.log.min_messages", "logging", "log_min_messages warning or more detailed", low,
			"warning, notice, info or debug*",
			"Higher thresholds drop warnings an investigation needs.",
			reload("log_min_messages", "'warning'"), "CIS PostgreSQL 17 3.1.14", "pgdsat 3.1.14"), "log_min_messages",
			func(s setting, _ *state) bool { return levelRank(s.Value) <= levelRank("warning") }),
		setDef(chk("pg.log.min_error_statement", "logging", "Statements causing errors are logged", low,
			"log_min_error_statement error or more detailed",
			"The statement that caused an error is the evidence of an injection or probing attempt.",
			reload("log_min_error_statement", "'error'"), "CIS PostgreSQL 17 3.1.15", "pgdsat 3.1.15"), "log_min_error_statement",
			func(s setting, _ *state) bool { return levelRank(s.Value) <= levelRank("error") }),
		setDef(chk("pg.log.debug_print_parse", "logging", "debug_print_parse off", medium, "off",
			"Parse trees in the log carry statement literals, including secrets.",
			reload("debug_print_parse", "off"), "CIS PostgreSQL 17 3.1.16", "pgdsat 3.1.16"), "debug_print_parse", is("off")),
		setDef(chk("pg.log.debug_print_rewritten", "logging", "debug_print_rewritten off", medium, "off",
			"Rewritten query trees in the log carry literals.",
			reload("debug_print_rewritten", "off"), "CIS PostgreSQL 17 3.1.17", "pgdsat 3.1.17"), "debug_print_rewritten", is("off")),
		setDef(chk("pg.log.debug_print_plan", "logging", "debug_print_plan off", medium, "off",
			"Plan trees in the log carry literals.",
			reload("debug_print_plan", "off"), "CIS PostgreSQL 17 3.1.18", "pgdsat 3.1.18"), "debug_print_plan", is("off")),
		setDef(chk("pg.log.debug_pretty_print", "logging", "debug_pretty_print on", low, "on",
			"If debug output is ever enabled, indented output is readable.",
			reload("debug_pretty_print", "on"), "CIS PostgreSQL 17 3.1.19", "pgdsat 3.1.19"), "debug_pretty_print", is("on")),
		setDef(chk("pg.log.connections", "logging", "Connections logged", high,
			"log_connections = on (PostgreSQL 18: receipt,authentication,authorization or all)",
			"Who connected from where is the first question of every investigation; Vigil's login rules need it.",
			reload("log_connections", "on"), "CIS PostgreSQL 17 3.1.20", "pgdsat 3.1.20", "dev-sec postgres-16", "CIS Azure Database Services 7.3"),
			"log_connections", func(s setting, _ *state) bool {
				v := strings.ToLower(s.Value)
				if v == "on" || v == "true" || v == "all" || hasItem(v, "all") {
					return true
				}
				return hasItem(v, "receipt") && hasItem(v, "authentication") && hasItem(v, "authorization")
			}),
		setDef(chk("pg.log.disconnections", "logging", "Disconnections logged", medium,
			"log_disconnections = on",
			"Session end and duration complete the connection trail.",
			reload("log_disconnections", "on"), "CIS PostgreSQL 17 3.1.21", "pgdsat 3.1.21", "CIS Azure Database Services 7.4"),
			"log_disconnections", is("on")),
		setDef(chk("pg.log.error_verbosity", "logging", "log_error_verbosity not terse", low,
			"default or verbose (CIS asks verbose)",
			"Terse messages drop the DETAIL, HINT and CONTEXT lines investigations need.",
			reload("log_error_verbosity", "'verbose'"), "CIS PostgreSQL 17 3.1.22", "pgdsat 3.1.22"), "log_error_verbosity",
			is("default", "verbose")),
		setDef(chk("pg.log.hostname", "logging", "log_hostname off", low, "off",
			"A reverse DNS lookup per connection slows logins and can be spoofed; log the address.",
			reload("log_hostname", "off"), "CIS PostgreSQL 17 3.1.23", "pgdsat 3.1.23"), "log_hostname", is("off")),
		setDef(chk("pg.log.line_prefix", "logging", "log_line_prefix identifies time, process, user, database, application and client", medium,
			"contains %m or %t (or %n), %p, %u, %d, %a and %h or %r (e.g. '%m [%p] %q%u@%d,app=%a,client=%h ')",
			"Each line must say who did what, when and from where; without it stderr logs cannot be attributed.",
			reload("log_line_prefix", "'%m [%p] %q%u@%d,app=%a,client=%h '"), "CIS PostgreSQL 17 3.1.24", "pgdsat 3.1.24"),
			"log_line_prefix", func(s setting, st *state) bool {
				d := st.Settings["log_destination"].Value
				if d != "" && !hasItem(d, "stderr") && !hasItem(d, "syslog") {
					return true // csvlog/jsonlog carry every field
				}
				v := s.Value
				has := func(any ...string) bool {
					for _, e := range any {
						if strings.Contains(v, e) {
							return true
						}
					}
					return false
				}
				return has("%m", "%t", "%n") && has("%p", "%c") && has("%u") && has("%d") && has("%a") && has("%h", "%r")
			}),
		setDef(chk("pg.log.statement", "logging", "Statements logged (at least DDL)", medium,
			"log_statement ddl, mod or all",
			"Schema and privilege changes must leave a trace; with none, DROP and GRANT are invisible.",
			reload("log_statement", "'ddl'"), "CIS PostgreSQL 17 3.1.25", "pgdsat 3.1.25"), "log_statement",
			is("ddl", "mod", "all")),
		setDef(chk("pg.log.timezone", "logging", "Log time zone UTC", low, "log_timezone GMT or UTC",
			"Correlating logs of several hosts needs one time zone.",
			reload("log_timezone", "'UTC'"), "CIS PostgreSQL 17 3.1.26", "pgdsat 3.1.26"), "log_timezone",
			is("UTC", "GMT", "Etc/UTC", "Etc/GMT", "Zulu", "UCT", "Etc/UCT", "Universal")),
		setDef(chk("pg.log.replication_commands", "logging", "Replication commands logged", low,
			"log_replication_commands = on",
			"A replication connection can copy the whole cluster; it must leave a trace.",
			reload("log_replication_commands", "on"), "CIS PostgreSQL 17 7.2", "pgdsat 7.2"), "log_replication_commands", is("on")),
		setDef(chk("pg.log.checkpoints", "logging", "Checkpoints logged", info, "log_checkpoints = on",
			"Checkpoint timing is operational evidence (and an Azure CIS item).",
			reload("log_checkpoints", "on"), "CIS Azure Database Services 7.2"), "log_checkpoints", is("on")),
		setDef(chk("pg.log.lock_waits", "logging", "Lock waits logged", info, "log_lock_waits = on",
			"Long lock waits show blocking, including deliberate denial of service.",
			reload("log_lock_waits", "on"), "OWN"), "log_lock_waits", is("on")),
	}
}

var levels = []string{"debug5", "debug4", "debug3", "debug2", "debug1", "debug", "info", "notice", "warning", "error", "log", "fatal", "panic"}

func levelRank(v string) int {
	for i, l := range levels {
		if strings.EqualFold(v, l) {
			return i
		}
	}
	return len(levels)
}

func auditDefs() []Def {
	return []Def{
		{Check: chk("pg.audit.preload", "audit", "pgAudit loaded", high,
			"pgaudit in shared_preload_libraries",
			"Statement logging alone misses what pgAudit records: object names, roles, the class of every statement.",
			restart("shared_preload_libraries", "'pgaudit'")+"; then CREATE EXTENSION pgaudit in each database",
			"CIS PostgreSQL 17 3.2", "pgdsat 3.2"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("shared_preload_libraries")
				if r != nil {
					return *r
				}
				return posture.Cond(hasItem(s.Value, "pgaudit"), "shared_preload_libraries = "+quoteEmpty(s.Value))
			}},
		{Check: chk("pg.audit.extension", "audit", "pgAudit extension created", medium,
			"CREATE EXTENSION pgaudit in every database",
			"Without the extension pgAudit cannot fire its event triggers, so some DDL is logged without object details.",
			"CREATE EXTENSION pgaudit; (in each database)", "CIS PostgreSQL 17 3.2"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					for _, e := range d.Extensions {
						if e.Name == "pgaudit" {
							return nil
						}
					}
					return []string{"no pgaudit"}
				})
				return st.dbResult(items, errs, "database(s) without the pgaudit extension")
			}},
		{Check: chk("pg.audit.classes", "audit", "pgAudit logs DDL, role and write statements", medium,
			"pgaudit.log includes ddl, role and write (or all)",
			"These classes cover schema changes, privilege changes and data modification.",
			reload("pgaudit.log", "'ddl,role,write'"), "CIS PostgreSQL 17 3.2", "pgdsat 3.2"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("pgaudit.log")
				if r != nil {
					return *r
				}
				v := strings.ToLower(s.Value)
				if hasItem(v, "all") && !strings.Contains(v, "-") {
					return posture.Passf("pgaudit.log = %s", s.Value)
				}
				ok := (hasItem(v, "ddl") || hasItem(v, "all")) && (hasItem(v, "role") || hasItem(v, "all")) && (hasItem(v, "write") || hasItem(v, "all"))
				for _, p := range splitList(v) {
					if strings.HasPrefix(p, "-") && (p == "-ddl" || p == "-role" || p == "-write") {
						ok = false
					}
				}
				return posture.Cond(ok, "pgaudit.log = "+quoteEmpty(s.Value))
			}},
		{Check: chk("pg.audit.set_user", "audit", "set_user available for audited escalation", low,
			"the set_user extension available",
			"set_user lets administrators become superuser with an audit record instead of logging in as one.",
			"Install set_user (e.g. postgresql-17-set-user) and CREATE EXTENSION set_user.",
			"CIS PostgreSQL 17 4.8", "pgdsat 4.8"),
			Eval: func(st *state) posture.Result {
				return posture.Cond(st.Available["set_user"], fmt.Sprintf("set_user available: %v", st.Available["set_user"]))
			}},
	}
}

func configDefs() []Def {
	knownLibs := map[string]bool{"pgaudit": true, "pg_stat_statements": true, "passwordcheck": true, "auth_delay": true,
		"credcheck": true, "set_user": true, "auto_explain": true, "pg_cron": true, "timescaledb": true, "citus": true,
		"pglogical": true, "pg_partman_bgw": true, "pg_squeeze": true, "pg_wait_sampling": true, "pg_qualstats": true,
		"pg_stat_kcache": true, "pg_hint_plan": true, "pg_prewarm": true, "anon": true, "pgsodium": true, "supabase_vault": true,
		"pg_tle": true, "pgaudit_set_user": true, "postgis-3": true, "plpgsql": true, "pg_failover_slots": true}
	return []Def{
		{Check: chk("pg.cfg.backend_params", "config", "Debugging backend parameters off", medium,
			"ignore_system_indexes, jit_debugging_support, jit_profiling_support off; post_auth_delay 0",
			"These are debugging hooks that slow or destabilise the server and can be abused for denial of service.",
			"Remove them from postgresql.conf (and from ALTER ROLE/DATABASE ... SET).",
			"CIS PostgreSQL 17 6.2", "pgdsat 6.2"),
			Eval: func(st *state) posture.Result {
				var bad, seen []string
				for _, n := range []string{"ignore_system_indexes", "jit_debugging_support", "jit_profiling_support", "post_auth_delay"} {
					s, ok := st.Settings[n]
					if !ok {
						continue
					}
					seen = append(seen, n+"="+s.String())
					if s.Value != "off" && s.Value != "0" {
						bad = append(bad, n+"="+s.String())
					}
				}
				if len(bad) > 0 {
					return posture.Failf("%s", strings.Join(bad, ", "))
				}
				return posture.Passf("%s", strings.Join(seen, ", "))
			}},
		setDef(chk("pg.cfg.data_checksums", "config", "Data checksums on", low, "data_checksums = on",
			"Checksums detect silent corruption (and tampering with data files) on read.",
			"Stop the server and run pg_checksums --enable -D $PGDATA (or initdb --data-checksums).", "pgdsat 1.4.3"),
			"data_checksums", is("on")),
		setDef(chk("pg.cfg.allow_system_table_mods", "config", "System catalog modification off", medium,
			"allow_system_table_mods = off", "Direct catalog edits can corrupt the cluster and bypass privilege checks.",
			restart("allow_system_table_mods", "off"), "OWN (CIS 6.5 review)"), "allow_system_table_mods", is("off")),
		setDef(chk("pg.cfg.zero_damaged_pages", "config", "zero_damaged_pages off", medium, "off",
			"Silently zeroing damaged pages destroys data and hides corruption.",
			reload("zero_damaged_pages", "off"), "OWN (CIS 6.5 review)"), "zero_damaged_pages", is("off")),
		setDef(chk("pg.cfg.ignore_checksum_failure", "config", "ignore_checksum_failure off", medium, "off",
			"Ignoring checksum failures reads corrupted or tampered pages as valid.",
			reload("ignore_checksum_failure", "off"), "OWN (CIS 6.5 review)"), "ignore_checksum_failure", is("off")),
		setDef(chk("pg.cfg.fsync", "config", "fsync on", high, "fsync = on",
			"With fsync off a crash can corrupt the cluster and lose committed transactions.",
			reload("fsync", "on"), "OWN (CIS 6.4 review)"), "fsync", is("on")),
		setDef(chk("pg.cfg.full_page_writes", "config", "full_page_writes on", medium, "full_page_writes = on",
			"Without full-page images a crash during a write can leave torn pages.",
			reload("full_page_writes", "on"), "OWN (CIS 6.4 review)"), "full_page_writes", is("on")),
		setDef(chk("pg.cfg.dynamic_library_path", "config", "Libraries load only from the install directory", medium,
			"dynamic_library_path = '$libdir'",
			"Extra directories let whoever can write there plant a library the server will load.",
			restart("dynamic_library_path", "'$libdir'"), "CIS PostgreSQL 17 8.3", "pgdsat 8.3"), "dynamic_library_path",
			is("$libdir")),
		setDef(chk("pg.cfg.local_preload_libraries", "config", "No user-loadable preload libraries", medium,
			"local_preload_libraries empty",
			"Any user can set local_preload_libraries for their own sessions (from $libdir/plugins); it should be unused.",
			reload("local_preload_libraries", "''"), "CIS PostgreSQL 17 8.3", "cnspec postgres"), "local_preload_libraries",
			is("")),
		setDef(chk("pg.cfg.session_preload_libraries", "config", "session_preload_libraries reviewed", low,
			"empty or only known libraries",
			"Libraries loaded into every session run with server privileges.",
			reload("session_preload_libraries", "''"), "CIS PostgreSQL 17 8.3", "pgdsat 8.3"), "session_preload_libraries",
			func(s setting, _ *state) bool {
				for _, l := range splitList(s.Value) {
					if !knownLibs[l] {
						return false
					}
				}
				return true
			}),
		{Check: chk("pg.cfg.shared_preload_libraries", "config", "Only known libraries preloaded", medium,
			"every entry of shared_preload_libraries is a known extension library",
			"A preloaded library runs inside every server process; an unknown one needs review.",
			"Remove unneeded libraries: "+restart("shared_preload_libraries", "'pgaudit,…'"), "CIS PostgreSQL 17 8.3", "pgdsat 8.3"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("shared_preload_libraries")
				if r != nil {
					return *r
				}
				var unknown []string
				for _, l := range splitList(s.Value) {
					if !knownLibs[strings.TrimPrefix(l, "$libdir/")] {
						unknown = append(unknown, l)
					}
				}
				if len(unknown) > 0 {
					return posture.Failf("shared_preload_libraries = %s; unknown: %s", s.Value, strings.Join(unknown, ", "))
				}
				return posture.Passf("shared_preload_libraries = %s", quoteEmpty(s.Value))
			}},
		setDef(chk("pg.cfg.allow_alter_system", "config", "ALTER SYSTEM disabled where configuration is managed", info,
			"allow_alter_system = off when files are managed by configuration management (PostgreSQL 17+)",
			"ALTER SYSTEM lets a superuser change settings outside the managed files.",
			restart("allow_alter_system", "off")+" (in postgresql.conf)", "OWN"), "allow_alter_system", is("off")),
		{Check: chk("pg.cfg.file_errors", "config", "No errors in the configuration files", medium,
			"pg_file_settings shows no errors",
			"A line the server rejects is silently ignored: the setting you think is active is not.",
			"Fix the reported lines, then SELECT pg_reload_conf();", "OWN"),
			Eval: func(st *state) posture.Result {
				if st.FileErr != nil {
					return posture.NA("pg_file_settings: "+st.FileErr.Error(), needFileSet)
				}
				return posture.Cond(len(st.FileErrs) == 0, fmt.Sprintf("%d error(s): %s", len(st.FileErrs), posture.List(st.FileErrs, 4)))
			}},
		setDef(chk("pg.priv.lo_compat_privileges", "privileges", "Large-object privilege checks on", medium,
			"lo_compat_privileges = off",
			"With it on, any role can read and write every large object.",
			reload("lo_compat_privileges", "off"), "OWN"), "lo_compat_privileges", is("off")),
		setDef(chk("pg.rls.row_security", "rls", "row_security on", low, "row_security = on",
			"With row_security off, queries on RLS tables fail instead of being filtered, and tools work around it.",
			reload("row_security", "on"), "CIS PostgreSQL 17 4.7"), "row_security", is("on")),
	}
}

func replicationDefs() []Def {
	return []Def{
		setDef(chk("pg.backup.wal_level", "backup", "WAL level allows archiving and replication", low,
			"wal_level replica or logical",
			"minimal WAL cannot be archived: no point-in-time recovery.",
			restart("wal_level", "'replica'"), "CIS PostgreSQL 17 7.4"), "wal_level", is("replica", "logical")),
		setDef(chk("pg.backup.archive_mode", "backup", "WAL archiving on", low,
			"archive_mode on or always",
			"Without archived WAL there is no point-in-time recovery after ransomware or a bad DELETE.",
			restart("archive_mode", "on"), "CIS PostgreSQL 17 7.4", "pgdsat 7.4"), "archive_mode", is("on", "always")),
		{Check: chk("pg.backup.archive_command", "backup", "WAL archive destination configured", low,
			"archive_command or archive_library set",
			"archive_mode without a command keeps WAL on disk and archives nothing.",
			reload("archive_command", "'pgbackrest --stanza=main archive-push %p'"), "CIS PostgreSQL 17 7.4", "pgdsat 7.4", "pgdsat 8.2"),
			Eval: func(st *state) posture.Result {
				c, r := st.get("archive_command")
				if r != nil {
					return *r
				}
				l := st.Settings["archive_library"]
				return posture.Cond((c.Value != "" && c.Value != "(disabled)") || l.Value != "",
					fmt.Sprintf("archive_command = %s, archive_library = %s", quoteEmpty(c.Value), quoteEmpty(l.Value)))
			}},
		{Check: chk("pg.rep.primary_conninfo_ssl", "replication", "Standby connects to its primary over verified TLS", high,
			"primary_conninfo with sslmode=verify-full (or verify-ca / require), or no standby",
			"WAL carries every change; a replica connecting in clear exposes all of it.",
			reload("primary_conninfo", "'host=primary user=replicator sslmode=verify-full'"), "CIS PostgreSQL 17 7.5", "pgdsat 7.5"),
			Eval: func(st *state) posture.Result {
				s, r := st.get("primary_conninfo")
				if r != nil {
					return *r
				}
				if s.Value == "" {
					return posture.Passf("not a standby (primary_conninfo empty)")
				}
				v := s.Value
				ok := strings.Contains(v, "sslmode=verify-full") || strings.Contains(v, "sslmode=verify-ca") || strings.Contains(v, "sslmode=require")
				mode := "sslmode not set (defaults to prefer)"
				if i := strings.Index(v, "sslmode="); i >= 0 {
					mode = strings.Fields(v[i:])[0]
				}
				return posture.Cond(ok, "primary_conninfo has "+mode)
			}},
		{Check: chk("pg.rep.dedicated_role", "replication", "Replication uses a dedicated non-superuser role", medium,
			"REPLICATION only on login roles that are not superusers and hold no CREATEROLE/CREATEDB/BYPASSRLS",
			"A replication role should be able to stream WAL and nothing else.",
			"CREATE ROLE replicator LOGIN REPLICATION PASSWORD '…'; ALTER ROLE <other> NOREPLICATION;",
			"CIS PostgreSQL 17 7.1", "pgdsat 7.1"),
			Eval: func(st *state) posture.Result {
				mixed := st.roleNames(func(r role) bool {
					return r.Replication && !r.Super && (r.CreateRole || r.CreateDB || r.BypassRLS)
				})
				dedicated := st.roleNames(func(r role) bool { return r.Replication && !r.Super && !r.CreateRole && !r.CreateDB && !r.BypassRLS })
				if len(mixed) > 0 {
					return posture.Failf("replication roles with other powers: %s", strings.Join(mixed, ", "))
				}
				return posture.Passf("dedicated replication roles: %s", posture.List(dedicated, 5))
			}},
		{Check: chk("pg.rep.inactive_slots", "replication", "No inactive replication slots", low,
			"every replication slot active",
			"An abandoned slot retains WAL forever (disk full) and a copy of all changes for whoever resumes it.",
			"SELECT pg_drop_replication_slot('<slot>');", "OWN"),
			Eval: func(st *state) posture.Result {
				if st.SlotsErr != nil {
					return posture.NA("pg_replication_slots: "+st.SlotsErr.Error(), "pg_monitor")
				}
				return posture.Cond(len(st.Slots) == 0, "inactive slots: "+posture.List(st.Slots, 5))
			}},
	}
}
