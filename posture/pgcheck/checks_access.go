package pgcheck

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/vigildb/vigil/posture"
)

// accept reports whether a rule lets a client in (everything but reject).
func (h hbaRule) accept() bool { return h.Method != "reject" && h.Err == "" }

func (h hbaRule) tcp() bool { return strings.HasPrefix(h.Type, "host") }

func (h hbaRule) String() string {
	addr := h.Address
	if h.Netmask != "" {
		addr += "/" + h.Netmask
	}
	s := fmt.Sprintf("line %d: %s %s %s", h.Line, h.Type, strings.Join(h.Database, ","), strings.Join(h.User, ","))
	if addr != "" {
		s += " " + addr
	}
	return s + " " + h.Method
}

// prefixLen is the CIDR prefix of a rule's address, -1 for host names and
// keywords other than all/samenet.
func (h hbaRule) prefixLen() (bits, size int) {
	switch h.Address {
	case "all":
		return 0, 32
	case "samehost", "samenet", "":
		return -1, 0
	}
	ip := net.ParseIP(h.Address)
	if ip == nil {
		return -1, 0
	}
	size = 128
	if ip.To4() != nil {
		size = 32
	}
	if h.Netmask == "" {
		return size, size
	}
	m := net.ParseIP(h.Netmask)
	if m == nil {
		return -1, 0
	}
	var mask net.IPMask
	if size == 32 {
		mask = net.IPMask(m.To4())
	} else {
		mask = net.IPMask(m.To16())
	}
	ones, _ := mask.Size()
	return ones, size
}

// hbaDef checks every accept rule with bad; it is not assessable when
// pg_hba_file_rules cannot be read.
func hbaDef(c posture.Check, bad func(h hbaRule, st *state) bool) Def {
	return Def{Check: c, Eval: func(st *state) posture.Result {
		if st.HBAErr != nil {
			return posture.NA("pg_hba_file_rules: "+st.HBAErr.Error(), needHBA)
		}
		var hits []string
		for _, h := range st.HBA {
			if h.Err == "" && bad(h, st) {
				hits = append(hits, h.String())
			}
		}
		if len(hits) > 0 {
			return posture.Failf("%d rule(s): %s", len(hits), posture.List(hits, 6))
		}
		return posture.Passf("none among %d rules", len(st.HBA))
	}}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func hbaDefs() []Def {
	return []Def{
		hbaDef(chk("pg.hba.trust", "hba", "No trust rules for TCP connections", critical,
			"no host/hostssl/hostnossl rule with method trust",
			"trust lets anyone who can reach the port log in as the matched role without a password.",
			"Change the method of these pg_hba.conf lines to scram-sha-256 (or cert), then SELECT pg_reload_conf();",
			"CIS PostgreSQL 17 5.4", "pgdsat 5.4"),
			func(h hbaRule, _ *state) bool { return h.tcp() && h.Method == "trust" }),
		hbaDef(chk("pg.hba.password", "hba", "No cleartext password rules", high,
			"no rule with method password",
			"password sends the password in clear, readable by anyone on the path when TLS is absent.",
			"Use scram-sha-256 in these pg_hba.conf lines; SELECT pg_reload_conf();", "pgdsat 5.4"),
			func(h hbaRule, _ *state) bool { return h.accept() && h.Method == "password" }),
		hbaDef(chk("pg.hba.md5", "hba", "No md5 rules", medium,
			"no rule with method md5 (use scram-sha-256)",
			"The md5 method accepts MD5 hashes (pass-the-hash) and is deprecated since PostgreSQL 18.",
			"Set password_encryption = scram-sha-256, reset the passwords, then change md5 to scram-sha-256 in pg_hba.conf.",
			"CIS PostgreSQL 17 5.4", "pgdsat 5.4"),
			func(h hbaRule, _ *state) bool { return h.accept() && h.Method == "md5" }),
		hbaDef(chk("pg.hba.ident_tcp", "hba", "No ident over TCP", medium,
			"no host* rule with method ident",
			"ident trusts what the client machine says about its own user.",
			"Use scram-sha-256 or cert for TCP rules.", "pgdsat 5.4"),
			func(h hbaRule, _ *state) bool { return h.tcp() && h.Method == "ident" }),
		hbaDef(chk("pg.hba.hostnossl", "hba", "TCP connections require TLS", high,
			"every accepting TCP rule is hostssl (or hostgssenc); host and hostnossl only with reject",
			"A host or hostnossl rule lets a client connect without encryption even when ssl = on.",
			"Change host to hostssl in pg_hba.conf (add 'hostnossl all all all reject' first); SELECT pg_reload_conf();",
			"CIS PostgreSQL 17 6.8", "pgdsat 5.8", "dev-sec postgres-15"),
			func(h hbaRule, _ *state) bool {
				if !h.accept() || (h.Type != "host" && h.Type != "hostnossl") {
					return false
				}
				return !loopback(h)
			}),
		hbaDef(chk("pg.hba.any_address", "hba", "No rules for any address", high,
			"no accepting rule with all, 0.0.0.0/0 or ::/0",
			"Such a rule admits clients from the whole network, or the Internet.",
			"Replace the address with the client subnets; SELECT pg_reload_conf();", "pgdsat 5.9"),
			func(h hbaRule, _ *state) bool {
				if !h.accept() || !h.tcp() {
					return false
				}
				bits, _ := h.prefixLen()
				return bits == 0
			}),
		hbaDef(chk("pg.hba.wide_cidr", "hba", "No overly wide address ranges", medium,
			"IPv4 prefixes /16 or narrower, IPv6 /64 or narrower",
			"A range of more than 65 536 addresses admits far more hosts than need access.",
			"Narrow the CIDR to the application subnets.", "pgdsat 5.9"),
			func(h hbaRule, _ *state) bool {
				if !h.accept() || !h.tcp() {
					return false
				}
				bits, size := h.prefixLen()
				return bits > 0 && ((size == 32 && bits < 16) || (size == 128 && bits < 64))
			}),
		hbaDef(chk("pg.hba.all_all", "hba", "No rules for all databases and all users", low,
			"TCP rules name their databases and roles",
			"all/all rules let every role try every database.",
			"Replace all with the database and role (or +group) names.", "pgdsat 5.10"),
			func(h hbaRule, _ *state) bool {
				return h.accept() && h.tcp() && contains(h.Database, "all") && contains(h.User, "all") && !loopback(h)
			}),
		hbaDef(chk("pg.hba.superuser_remote", "hba", "Superusers cannot log in over the network", high,
			"no accepting TCP rule that matches a superuser (by name, group or all) from a non-loopback address",
			"A leaked superuser password is a full takeover of the server and its host.",
			"Add 'host all postgres 0.0.0.0/0 reject' (and ::/0) before the other rules, or name roles explicitly.",
			"pgdsat 5.11"),
			func(h hbaRule, st *state) bool {
				if !h.accept() || !h.tcp() || loopback(h) {
					return false
				}
				for _, u := range h.User {
					if u == "all" {
						return len(st.roleNames(func(r role) bool { return r.Super && r.CanLogin })) > 0
					}
					name := strings.TrimPrefix(u, "+")
					if r, ok := st.role(name); ok && r.Super {
						return true
					}
					if strings.HasPrefix(u, "+") {
						for _, m := range st.membersOf(name) {
							if r, ok := st.role(m); ok && r.Super {
								return true
							}
						}
					}
				}
				return false
			}),
		hbaDef(chk("pg.hba.replication", "hba", "Replication rules restricted", medium,
			"replication rules name a role, a narrow address, and use hostssl",
			"A replication connection streams the whole cluster.",
			"Use 'hostssl replication replicator 10.0.0.6/32 scram-sha-256'.", "CIS PostgreSQL 17 7.1", "cnspec postgres"),
			func(h hbaRule, _ *state) bool {
				if !h.accept() || !h.tcp() || !contains(h.Database, "replication") {
					return false
				}
				bits, size := h.prefixLen()
				return contains(h.User, "all") || h.Type != "hostssl" || (bits >= 0 && bits < size-8)
			}),
		hbaDef(chk("pg.hba.cert_verify_full", "hba", "Certificate rules verify the user name", medium,
			"cert rules and clientcert options use verify-full",
			"clientcert=verify-ca accepts any certificate from the CA, for any role.",
			"Add clientcert=verify-full to the rule options.", "cnspec postgres"),
			func(h hbaRule, _ *state) bool {
				for _, o := range h.Options {
					if o == "clientcert=verify-ca" {
						return true
					}
				}
				return false
			}),
		{Check: chk("pg.hba.errors", "hba", "pg_hba.conf has no invalid lines", medium,
			"no rule with an error",
			"An invalid line is skipped at reload; after a restart the server refuses to start or access changes unexpectedly.",
			"Fix the reported lines; SELECT pg_reload_conf();", "OWN"),
			Eval: func(st *state) posture.Result {
				if st.HBAErr != nil {
					return posture.NA("pg_hba_file_rules: "+st.HBAErr.Error(), needHBA)
				}
				var bad []string
				for _, h := range st.HBA {
					if h.Err != "" {
						bad = append(bad, fmt.Sprintf("line %d: %s", h.Line, h.Err))
					}
				}
				return posture.Cond(len(bad) == 0, fmt.Sprintf("%d invalid line(s): %s", len(bad), posture.List(bad, 4)))
			}},
		hbaDef(chk("pg.hba.local_peer", "hba", "Local socket logins use peer", low,
			"local rules use peer (or scram-sha-256), never trust",
			"trust on the socket lets every OS user on the host become any role.",
			"Use 'local all postgres peer' and 'local all all scram-sha-256'.", "CIS PostgreSQL 17 5.3", "pgdsat 5.3", "dev-sec postgres-13"),
			func(h hbaRule, _ *state) bool {
				return h.Type == "local" && h.accept() && (h.Method == "trust" || h.Method == "password" || h.Method == "md5")
			}),
		{Check: chk("pg.ident.superuser_map", "hba", "pg_ident maps do not grant superuser broadly", medium,
			"no map entry with a regular-expression system name mapping to a superuser",
			"A catch-all map to a superuser turns any matching OS or certificate name into a superuser login.",
			"Map each system user explicitly in pg_ident.conf.", "cnspec postgres"),
			Eval: func(st *state) posture.Result {
				if st.IdentErr != nil {
					return posture.NA("pg_ident_file_mappings: "+st.IdentErr.Error(), needIdent)
				}
				var bad []string
				for _, i := range st.Ident {
					if i.Err != "" {
						bad = append(bad, "invalid: "+i.Err)
						continue
					}
					r, ok := st.role(i.PGUser)
					if strings.HasPrefix(i.SysName, "/") && (i.PGUser == "all" || (ok && r.Super)) {
						bad = append(bad, fmt.Sprintf("%s: %s → %s", i.Map, i.SysName, i.PGUser))
					}
				}
				return posture.Cond(len(bad) == 0, fmt.Sprintf("%d map entries, %d risky: %s", len(st.Ident), len(bad), posture.List(bad, 4)))
			}},
	}
}

func loopback(h hbaRule) bool {
	if h.Address == "samehost" {
		return true
	}
	ip := net.ParseIP(h.Address)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	bits, size := h.prefixLen()
	return size == 32 && bits >= 8 || size == 128 && bits == 128
}

func authDefs() []Def {
	return []Def{
		{Check: chk("pg.auth.md5_hashes", "auth", "No MD5 password hashes stored", high,
			"every login role with a password has a SCRAM-SHA-256 verifier",
			"An MD5 hash is enough to log in with md5 auth (pass-the-hash) and is weak against cracking; PostgreSQL 18 deprecates it.",
			"SET password_encryption = 'scram-sha-256'; then ALTER ROLE <role> PASSWORD '…' for each listed role.",
			"dev-sec postgres-07", "cnspec postgres"),
			Eval: func(st *state) posture.Result {
				if st.AuthidErr != nil {
					return posture.NA("pg_authid: "+st.AuthidErr.Error(), needAuthid)
				}
				var md5 []string
				for n, k := range st.Authid {
					if k == "md5" {
						md5 = append(md5, n)
					}
				}
				sort.Strings(md5)
				return posture.Cond(len(md5) == 0, fmt.Sprintf("%d role(s) with MD5 hashes: %s", len(md5), posture.List(md5, 8)))
			}},
		{Check: chk("pg.auth.no_password", "auth", "Login roles without a password are known", medium,
			"every non-superuser login role has a password, or logs in only by peer/cert/gss",
			"A passwordless role matched by a trust rule is open; matched by a password rule it is unusable — either way it needs review.",
			"ALTER ROLE <role> PASSWORD '…'; or ALTER ROLE <role> NOLOGIN;", "dev-sec postgres-06"),
			Eval: func(st *state) posture.Result {
				if st.AuthidErr != nil {
					return posture.NA("pg_authid: "+st.AuthidErr.Error(), needAuthid)
				}
				none := st.roleNames(func(r role) bool { return r.CanLogin && !r.Super && st.Authid[r.Name] == "none" })
				return posture.Cond(len(none) == 0, fmt.Sprintf("%d non-superuser login role(s) without a password: %s", len(none), posture.List(none, 8)))
			}},
		{Check: chk("pg.auth.valid_until", "auth", "Login passwords expire", low,
			"rolvaliduntil set on every non-superuser login role with a password",
			"Passwords that never expire stay valid after they leak.",
			"ALTER ROLE <role> VALID UNTIL '2027-01-01';", "OWN"),
			Eval: func(st *state) posture.Result {
				none := st.roleNames(func(r role) bool {
					return r.CanLogin && !r.Super && r.ValidUntil == nil && (st.AuthidErr != nil || st.Authid[r.Name] != "none")
				})
				return posture.Cond(len(none) == 0, fmt.Sprintf("%d login role(s) without expiry: %s", len(none), posture.List(none, 8)))
			}},
		{Check: chk("pg.auth.expired_login", "auth", "Expired roles are locked", low,
			"roles whose password expired are NOLOGIN",
			"An expired role still logs in with peer, cert or trust rules; lock it explicitly.",
			"ALTER ROLE <role> NOLOGIN;", "CIS PostgreSQL 17 4.4", "pgdsat 4.4"),
			Eval: func(st *state) posture.Result {
				exp := st.roleNames(func(r role) bool { return r.CanLogin && r.ValidUntil != nil && r.ValidUntil.Before(st.now) })
				return posture.Cond(len(exp) == 0, fmt.Sprintf("%d login role(s) past VALID UNTIL: %s", len(exp), posture.List(exp, 8)))
			}},
		{Check: chk("pg.auth.connlimit", "auth", "Login roles have a connection limit", low,
			"rolconnlimit set (not -1) on non-superuser login roles",
			"One role opening every slot is a denial of service; a per-role limit contains it.",
			"ALTER ROLE <role> CONNECTION LIMIT 50;", "CIS PostgreSQL 17 5.5", "pgdsat 5.5"),
			Eval: func(st *state) posture.Result {
				none := st.roleNames(func(r role) bool { return r.CanLogin && !r.Super && r.ConnLimit < 0 })
				return posture.Cond(len(none) == 0, fmt.Sprintf("%d login role(s) without limit: %s", len(none), posture.List(none, 8)))
			}},
		{Check: chk("pg.tls.sessions", "tls", "Remote sessions are encrypted", high,
			"no client session from a network address without TLS",
			"Configuration may allow plaintext fallbacks; the sessions show what actually happens.",
			"Require hostssl in pg_hba.conf and sslmode=verify-full in clients.", "CIS PostgreSQL 17 6.8", "OWN"),
			Eval: func(st *state) posture.Result {
				if st.SSLErr != nil {
					return posture.Errorf("pg_stat_ssl: %v", st.SSLErr)
				}
				if !st.ReadStats {
					if st.NonSSL > 0 {
						return posture.Failf("%d of the role's own %d remote sessions without TLS", st.NonSSL, st.Remote)
					}
					return posture.NA(fmt.Sprintf("only the role's own sessions are visible (%d remote, %d without TLS)", st.Remote, st.NonSSL), needStats)
				}
				return posture.Cond(st.NonSSL == 0, fmt.Sprintf("%d remote session(s), %d without TLS", st.Remote, st.NonSSL))
			}},
		{Check: chk("pg.tls.ca_for_cert", "tls", "Client CA configured when certificates authenticate", medium,
			"ssl_ca_file set when any rule uses cert or clientcert",
			"Without a CA file the server cannot verify client certificates.",
			reload("ssl_ca_file", "'root.crt'"), "cnspec postgres"),
			Eval: func(st *state) posture.Result {
				if st.HBAErr != nil {
					return posture.NA("pg_hba_file_rules: "+st.HBAErr.Error(), needHBA)
				}
				uses := false
				for _, h := range st.HBA {
					if h.Method == "cert" {
						uses = true
					}
					for _, o := range h.Options {
						if strings.HasPrefix(o, "clientcert=") {
							uses = true
						}
					}
				}
				if !uses {
					return posture.Passf("no rule uses client certificates")
				}
				s, r := st.get("ssl_ca_file")
				if r != nil {
					return *r
				}
				return posture.Cond(s.Value != "", "ssl_ca_file = "+quoteEmpty(s.Value))
			}},
	}
}

func roleDefs() []Def {
	predefined := func(id, title, name, sev, why string, refs ...string) Def {
		return Def{Check: chk(id, "roles", title, sev, "no members (or only approved service roles) in "+name, why,
			"REVOKE "+name+" FROM <role>;", refs...),
			Eval: func(st *state) posture.Result {
				if _, ok := st.role(name); !ok {
					return posture.Infof("%s does not exist in PostgreSQL %s", name, st.Version)
				}
				m := st.membersOf(name)
				return posture.Cond(len(m) == 0, fmt.Sprintf("members of %s: %s", name, posture.List(m, 8)))
			}}
	}
	return []Def{
		{Check: chk("pg.role.superusers", "roles", "At most one superuser login", high,
			"one login superuser (the bootstrap role) or none",
			"Every superuser can read any data, change any setting and run OS commands as the server user.",
			"ALTER ROLE <role> NOSUPERUSER; (grant the specific predefined roles it needs instead)",
			"CIS PostgreSQL 17 4.3", "pgdsat 4.3", "dev-sec postgres-08"),
			Eval: func(st *state) posture.Result {
				su := st.roleNames(func(r role) bool { return r.Super && r.CanLogin })
				return posture.Cond(len(su) <= 1, fmt.Sprintf("%d login superuser(s): %s", len(su), posture.List(su, 8)))
			}},
		{Check: chk("pg.role.inherited_superuser", "roles", "No login role inherits superuser through membership", high,
			"no login role that is a member (directly or not) of a superuser role",
			"SET ROLE to a superuser group gives full power without the login showing as a superuser.",
			"REVOKE <superuser role> FROM <role>;", "CIS PostgreSQL 17 4.8", "pgdsat 4.8"),
			Eval: func(st *state) posture.Result {
				var bad []string
				for _, r := range st.Roles {
					if !r.CanLogin || r.Super || strings.HasPrefix(r.Name, "pg_") {
						continue
					}
					for _, a := range st.ancestors(r.Name) {
						if ar, ok := st.role(a); ok && ar.Super {
							bad = append(bad, r.Name+" (via "+a+")")
							break
						}
					}
				}
				return posture.Cond(len(bad) == 0, fmt.Sprintf("%d: %s", len(bad), posture.List(bad, 8)))
			}},
		{Check: chk("pg.role.createrole", "roles", "CREATEROLE only for administrators", medium,
			"no non-superuser role with CREATEROLE, or only the designated user administrator",
			"Before PostgreSQL 16 CREATEROLE can grant itself almost any role; it is close to superuser.",
			"ALTER ROLE <role> NOCREATEROLE;", "CIS PostgreSQL 17 4.3", "dev-sec postgres-08"),
			Eval: func(st *state) posture.Result {
				l := st.roleNames(func(r role) bool { return r.CreateRole && !r.Super })
				return posture.Cond(len(l) <= 1, fmt.Sprintf("non-superuser roles with CREATEROLE: %s", posture.List(l, 8)))
			}},
		{Check: chk("pg.role.createdb", "roles", "CREATEDB only for administrators", low,
			"at most one non-superuser role with CREATEDB",
			"Database owners control their databases' privileges and extensions.",
			"ALTER ROLE <role> NOCREATEDB;", "dev-sec postgres-08"),
			Eval: func(st *state) posture.Result {
				l := st.roleNames(func(r role) bool { return r.CreateDB && !r.Super })
				return posture.Cond(len(l) <= 1, fmt.Sprintf("non-superuser roles with CREATEDB: %s", posture.List(l, 8)))
			}},
		{Check: chk("pg.role.replication", "roles", "REPLICATION held by few roles", medium,
			"at most one non-superuser login role with REPLICATION",
			"REPLICATION can stream every row of every database.",
			"ALTER ROLE <role> NOREPLICATION;", "CIS PostgreSQL 17 7.1", "pgdsat 7.1"),
			Eval: func(st *state) posture.Result {
				l := st.roleNames(func(r role) bool { return r.Replication && !r.Super && r.CanLogin })
				return posture.Cond(len(l) <= 1, fmt.Sprintf("non-superuser login roles with REPLICATION: %s", posture.List(l, 8)))
			}},
		{Check: chk("pg.role.bypassrls", "roles", "No role bypasses row-level security", medium,
			"no non-superuser role with BYPASSRLS",
			"BYPASSRLS ignores every policy, so the RLS design protects nothing from it.",
			"ALTER ROLE <role> NOBYPASSRLS;", "CIS PostgreSQL 17 4.3", "CIS PostgreSQL 17 4.7"),
			Eval: func(st *state) posture.Result {
				l := st.roleNames(func(r role) bool { return r.BypassRLS && !r.Super })
				return posture.Cond(len(l) == 0, fmt.Sprintf("non-superuser roles with BYPASSRLS: %s", posture.List(l, 8)))
			}},
		predefined("pg.role.execute_server_program", "No members of pg_execute_server_program", "pg_execute_server_program", critical,
			"COPY … FROM PROGRAM runs any OS command as the server user.", "CIS PostgreSQL 17 4.9"),
		predefined("pg.role.read_server_files", "No members of pg_read_server_files", "pg_read_server_files", high,
			"Members read any file the server user can (keys, configuration, other clusters' data).", "CIS PostgreSQL 17 4.9"),
		predefined("pg.role.write_server_files", "No members of pg_write_server_files", "pg_write_server_files", high,
			"Members write any file the server user can: configuration, libraries, authorized keys.", "CIS PostgreSQL 17 4.9"),
		predefined("pg.role.read_all_data", "No members of pg_read_all_data", "pg_read_all_data", medium,
			"Members read every table in every database, ignoring grants.", "CIS PostgreSQL 17 4.9"),
		predefined("pg.role.write_all_data", "No members of pg_write_all_data", "pg_write_all_data", high,
			"Members modify every table in every database, ignoring grants.", "CIS PostgreSQL 17 4.9"),
		{Check: chk("pg.role.pg_authid_grants", "roles", "Password catalogs not granted", high,
			"no privileges on pg_authid, pg_shadow or pg_user_mapping for non-superusers",
			"These catalogs hold the password hashes and foreign-server passwords.",
			"REVOKE ALL ON pg_authid FROM <role>;", "dev-sec postgres-09"),
			Eval: func(st *state) posture.Result {
				if st.AuthidACLErr != nil {
					return posture.Errorf("%v", st.AuthidACLErr)
				}
				return posture.Cond(len(st.AuthidACL) == 0, "grants: "+posture.List(st.AuthidACL, 6))
			}},
	}
}

func privDefs() []Def {
	return []Def{
		{Check: chk("pg.priv.public_create", "privileges", "PUBLIC cannot create in the public schema", high,
			"no CREATE for PUBLIC on schema public, in every database",
			"Any role can plant functions or tables that shadow others' through search_path (CVE-2018-1058); PostgreSQL 15 revoked it by default, upgraded databases keep it.",
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC; (in each listed database)", "pgdsat 4.10", "CVE-2018-1058"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					if d.PublicCreate {
						return []string{"PUBLIC has CREATE on schema public"}
					}
					return nil
				})
				return st.dbResult(items, errs, "database(s) where PUBLIC can create in schema public")
			}},
		{Check: chk("pg.priv.secdef_search_path", "privileges", "SECURITY DEFINER functions fix search_path", high,
			"every SECURITY DEFINER function outside extensions has SET search_path",
			"A definer function that resolves names through the caller's search_path can be hijacked to run code as its owner.",
			"ALTER FUNCTION <fn> SET search_path = pg_catalog, pg_temp;", "CIS PostgreSQL 17 4.5", "pgdsat 4.5", "dev-sec postgres-19"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for _, f := range d.SecDef {
						if !strings.Contains(f.Config, "search_path=") {
							out = append(out, f.Name+" owned by "+f.Owner)
						}
					}
					return out
				})
				return st.dbResult(items, errs, "SECURITY DEFINER function(s) without a fixed search_path")
			}},
		{Check: chk("pg.priv.secdef_public_execute", "privileges", "SECURITY DEFINER functions owned by superusers not executable by PUBLIC", high,
			"no superuser-owned SECURITY DEFINER function with EXECUTE for PUBLIC",
			"Every role can run such a function with superuser rights.",
			"REVOKE EXECUTE ON FUNCTION <fn> FROM PUBLIC; GRANT EXECUTE ON FUNCTION <fn> TO <role>;", "CIS PostgreSQL 17 4.5"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for _, f := range d.SecDef {
						if r, ok := st.role(f.Owner); ok && r.Super && f.PublicExec {
							out = append(out, f.Name)
						}
					}
					return out
				})
				return st.dbResult(items, errs, "superuser SECURITY DEFINER function(s) executable by PUBLIC")
			}},
		{Check: chk("pg.priv.untrusted_languages", "privileges", "No untrusted procedural languages", high,
			"no untrusted language other than internal and c installed",
			"plpython3u, plperlu and pltclu run arbitrary OS code as the server user.",
			"DROP EXTENSION plpython3u; (or keep it and make sure only superusers own functions in it)", "dev-sec postgres-04"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for l, trusted := range d.Languages {
						if !trusted {
							out = append(out, l)
						}
					}
					sort.Strings(out)
					return out
				})
				return st.dbResult(items, errs, "untrusted language(s)")
			}},
		{Check: chk("pg.priv.languages", "privileges", "Only standard procedural languages", low,
			"languages ⊆ sql, plpgsql",
			"Each extra language is more code that runs inside the server.",
			"DROP EXTENSION <language>;", "dev-sec postgres-05"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for l := range d.Languages {
						if l != "sql" && l != "plpgsql" {
							out = append(out, l)
						}
					}
					sort.Strings(out)
					return out
				})
				return st.dbResult(items, errs, "extra language(s)")
			}},
		{Check: chk("pg.priv.table_public_grants", "privileges", "No table privileges for PUBLIC", medium,
			"no table, view or sequence privilege granted to PUBLIC outside system schemas",
			"PUBLIC is every role, including ones created later.",
			"REVOKE ALL ON <table> FROM PUBLIC;", "dev-sec postgres-17"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.TablePublic })
				return st.dbResult(items, errs, "table(s) with PUBLIC privileges")
			}},
		{Check: chk("pg.priv.grant_option", "privileges", "No WITH GRANT OPTION to non-owners", medium,
			"table privileges with GRANT OPTION only for owners and superusers",
			"A grantee with GRANT OPTION can hand the privilege on to anyone.",
			"REVOKE GRANT OPTION FOR ALL ON <table> FROM <role>;", "dev-sec postgres-18"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.GrantOption })
				return st.dbResult(items, errs, "grant(s) WITH GRANT OPTION")
			}},
		{Check: chk("pg.priv.default_acl_public", "privileges", "Default privileges grant nothing to PUBLIC", medium,
			"no ALTER DEFAULT PRIVILEGES granting table, sequence or schema privileges to PUBLIC",
			"Every future object would be readable or writable by every role.",
			"ALTER DEFAULT PRIVILEGES FOR ROLE <owner> REVOKE ALL ON TABLES FROM PUBLIC;", "OWN"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.DefaultACLPublic })
				return st.dbResult(items, errs, "default privilege(s) for PUBLIC")
			}},
		{Check: chk("pg.priv.default_acl", "privileges", "Default privileges listed for review", info,
			"each ALTER DEFAULT PRIVILEGES entry intended",
			"Default privileges silently grant access to objects created later.",
			"ALTER DEFAULT PRIVILEGES … REVOKE …;", "CIS PostgreSQL 17 4.6"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.DefaultACL })
				r := st.dbResult(items, errs, "default privilege entries")
				if r.Status == posture.Fail {
					r.Status = posture.Info
				}
				return r
			}},
		{Check: chk("pg.priv.admin_functions", "privileges", "Superuser-only functions not granted", high,
			"no EXECUTE on pg_read_file, pg_ls_dir, lo_import, lo_export, pg_reload_conf, … beyond the defaults",
			"These functions read and write server files or control the server.",
			"REVOKE EXECUTE ON FUNCTION pg_catalog.<fn> FROM <role>;", "CIS PostgreSQL 17 4.5", "OWN"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.AdminFuncGrants })
				return st.dbResult(items, errs, "grant(s) on superuser-only functions")
			}},
		{Check: chk("pg.priv.database_public_create", "privileges", "PUBLIC cannot create schemas in databases", medium,
			"no CREATE privilege for PUBLIC on any database",
			"CREATE on a database lets any role create schemas (and trojan objects) in it.",
			"REVOKE CREATE ON DATABASE <db> FROM PUBLIC;", "OWN"),
			Eval: func(st *state) posture.Result {
				var bad []string
				for _, d := range st.DBs {
					if d.PublicCreate {
						bad = append(bad, d.Name)
					}
				}
				return posture.Cond(len(bad) == 0, "databases: "+posture.List(bad, 8))
			}},
		{Check: chk("pg.priv.database_public_connect", "privileges", "Database access granted explicitly", low,
			"no CONNECT for PUBLIC on application databases",
			"By default every role can connect to every database; explicit CONNECT grants keep roles to their own.",
			"REVOKE CONNECT ON DATABASE <db> FROM PUBLIC; GRANT CONNECT ON DATABASE <db> TO <role>;", "OWN"),
			Eval: func(st *state) posture.Result {
				var bad []string
				for _, d := range st.DBs {
					if d.PublicConnect && d.Name != "postgres" {
						bad = append(bad, d.Name)
					}
				}
				return posture.Cond(len(bad) == 0, "databases with CONNECT for PUBLIC: "+posture.List(bad, 8))
			}},
	}
}

func rlsDefs() []Def {
	return []Def{
		{Check: chk("pg.rls.sensitive", "rls", "Tables marked sensitive have row-level security", high,
			"RLS enabled, with at least one policy, on every table given with --sensitive-table",
			"Without RLS every role with SELECT reads every row of the table.",
			"ALTER TABLE <t> ENABLE ROW LEVEL SECURITY; CREATE POLICY … ON <t> USING (…);", "CIS PostgreSQL 17 4.7", "pgdsat 4.7"),
			Eval: func(st *state) posture.Result {
				return st.sensitiveResult(func(t sensitiveTable) bool { return t.RLS && t.Policies > 0 })
			}},
		{Check: chk("pg.rls.force", "rls", "Sensitive tables force RLS on their owner", medium,
			"FORCE ROW LEVEL SECURITY on every table given with --sensitive-table",
			"The table owner (often the application role) bypasses RLS unless it is forced.",
			"ALTER TABLE <t> FORCE ROW LEVEL SECURITY;", "CIS PostgreSQL 17 4.7"),
			Eval: func(st *state) posture.Result {
				return st.sensitiveResult(func(t sensitiveTable) bool { return t.Force })
			}},
		{Check: chk("pg.rls.policies_without_rls", "rls", "No policies on tables without RLS", high,
			"every table with a policy has row-level security enabled",
			"Policies on a table without RLS are not enforced: someone meant to restrict rows and did not.",
			"ALTER TABLE <t> ENABLE ROW LEVEL SECURITY;", "CIS PostgreSQL 17 4.7", "pgdsat 4.7"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.PolicyNoRLS })
				return st.dbResult(items, errs, "table(s) with policies but RLS disabled")
			}},
		{Check: chk("pg.rls.without_policies", "rls", "RLS tables have policies", info,
			"every table with RLS enabled has at least one policy",
			"RLS without a policy denies all rows to non-owners; usually a forgotten step.",
			"CREATE POLICY … ON <t> USING (…);", "CIS PostgreSQL 17 4.7"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string { return d.RLSNoPolicy })
				return st.dbResult(items, errs, "table(s) with RLS and no policy")
			}},
	}
}

func (st *state) sensitiveResult(ok func(sensitiveTable) bool) posture.Result {
	if len(st.opts.Sensitive) == 0 {
		return posture.Infof("no table marked sensitive: pass --sensitive-table schema.table")
	}
	found := map[string]bool{}
	var bad, good []string
	for _, d := range st.DBInfo {
		for short, t := range d.Tables {
			found[short] = true
			found[d.Name+"."+short] = true
			if ok(t) {
				good = append(good, t.Name)
			} else {
				bad = append(bad, t.Name)
			}
		}
	}
	var missing []string
	for _, s := range st.opts.Sensitive {
		key := s
		if !strings.Contains(s, ".") {
			key = "public." + s
		}
		if !found[key] {
			missing = append(missing, s)
		}
	}
	if len(bad) > 0 {
		return posture.Failf("not protected: %s", posture.List(bad, 8))
	}
	if len(missing) > 0 {
		return posture.NA("not found in the inspected databases: "+strings.Join(missing, ", "), "CONNECT on the database holding the table (and a correct schema.table name)")
	}
	return posture.Passf("protected: %s", posture.List(good, 8))
}

func extDefs() []Def {
	risky := map[string]bool{"adminpack": true, "file_fdw": true, "dblink": true, "postgres_fdw": true, "plpython3u": true,
		"plperlu": true, "pltclu": true, "plpythonu": true, "plpython2u": true, "lo": true, "pg_execute_server_program": true, "pgsql_http": true, "http": true}
	return []Def{
		{Check: chk("pg.ext.risky", "extensions", "No extensions that reach files, network or OS", medium,
			"none of adminpack, file_fdw, dblink, postgres_fdw, untrusted languages, http installed (or each one approved)",
			"These extensions give SQL access to server files, other servers or the operating system.",
			"DROP EXTENSION <name>; in the listed databases", "OWN"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for _, e := range d.Extensions {
						if risky[e.Name] {
							out = append(out, e.Name)
						}
					}
					return out
				})
				return st.dbResult(items, errs, "risky extension(s)")
			}},
		{Check: chk("pg.ext.outdated", "extensions", "Installed extensions are at their packaged version", low,
			"extversion = default_version of the installed package",
			"After a package upgrade the SQL objects keep the old version (and its fixed bugs) until ALTER EXTENSION UPDATE.",
			"ALTER EXTENSION <name> UPDATE;", "OWN"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for _, e := range d.Extensions {
						if e.Default != "" && e.Version != e.Default {
							out = append(out, fmt.Sprintf("%s %s (package has %s)", e.Name, e.Version, e.Default))
						}
					}
					return out
				})
				return st.dbResult(items, errs, "outdated extension(s)")
			}},
		{Check: chk("pg.ext.inventory", "extensions", "Extension inventory", info,
			"only extensions in use",
			"Unused extensions are attack surface.",
			"DROP EXTENSION <unused>;", "CIS PostgreSQL 17 1.8", "pgdsat 1.8"),
			Eval: func(st *state) posture.Result {
				items, errs := st.perDB(func(d dbInfo) []string {
					var out []string
					for _, e := range d.Extensions {
						out = append(out, e.Name+" "+e.Version)
					}
					return out
				})
				r := st.dbResult(items, errs, "extension(s)")
				if r.Status == posture.Fail || r.Status == posture.Pass {
					r.Status = posture.Info
				}
				return r
			}},
		{Check: chk("pg.ext.crypto", "extensions", "Cryptographic extension available", info,
			"pgcrypto or pgsodium available",
			"Column-level encryption in SQL needs one of them.",
			"Install the contrib package; CREATE EXTENSION pgcrypto; where needed", "CIS PostgreSQL 17 6.11", "pgdsat 6.9"),
			Eval: func(st *state) posture.Result {
				return posture.Cond(st.Available["pgcrypto"] || st.Available["pgsodium"],
					fmt.Sprintf("pgcrypto available: %v, pgsodium available: %v", st.Available["pgcrypto"], st.Available["pgsodium"]))
			}},
	}
}

// Defs is the PostgreSQL catalog, in report order.
func Defs() []Def {
	var all []Def
	for _, part := range [][]Def{versionDefs(), networkDefs(), hbaDefs(), authSettingDefs(), authDefs(), tlsSettingDefs(),
		roleDefs(), privDefs(), rlsDefs(), loggingDefs(), auditDefs(), configDefs(), extDefs(), replicationDefs(), hostDefs()} {
		all = append(all, part...)
	}
	return all
}

// Catalog lists every PostgreSQL check.
func Catalog() []posture.Check { return posture.Checks(Defs()) }
