package pgcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vigildb/vigil/posture"
)

// fileInfo is what the host checks need of one file.
type fileInfo struct {
	Path  string
	Mode  os.FileMode
	Owner string
	Err   error
}

func statFile(path string) fileInfo {
	fi := fileInfo{Path: path}
	info, err := os.Stat(path)
	if err != nil {
		fi.Err = err
		return fi
	}
	fi.Mode = info.Mode().Perm()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		fi.Owner = strconv.Itoa(int(st.Uid))
		if u, err := user.LookupId(fi.Owner); err == nil {
			fi.Owner = u.Username
		}
	}
	return fi
}

func (f fileInfo) String() string {
	if f.Err != nil {
		return f.Path + ": " + f.Err.Error()
	}
	return fmt.Sprintf("%s %04o owner %s", f.Path, f.Mode, f.Owner)
}

type hostState struct {
	PGData          fileInfo
	Conf            map[string]fileInfo // hba, ident, conf, auto
	SSLKey          *fileInfo
	PGVersion       string
	PGVersionErr    error
	PostmasterUser  string
	PostmasterErr   error
	PGPasswordProcs []string
	Profiles        []string
	History         []string
	Services        []string
	ExtDir          *fileInfo
	LogDir          *fileInfo
	Package         string
	PackageErr      error
	Tablespaces     []string
}

func gatherHost(pgdata string, st *state) *hostState {
	h := &hostState{PGData: statFile(pgdata), Conf: map[string]fileInfo{}}
	pick := func(setting, def string) string {
		if s, ok := st.Settings[setting]; ok && s.Value != "" {
			return s.Value
		}
		return filepath.Join(pgdata, def)
	}
	h.Conf["pg_hba.conf"] = statFile(pick("hba_file", "pg_hba.conf"))
	h.Conf["pg_ident.conf"] = statFile(pick("ident_file", "pg_ident.conf"))
	h.Conf["postgresql.conf"] = statFile(pick("config_file", "postgresql.conf"))
	h.Conf["postgresql.auto.conf"] = statFile(filepath.Join(pgdata, "postgresql.auto.conf"))
	if st.Settings["ssl"].Value == "on" {
		k := "server.key"
		if s, ok := st.Settings["ssl_key_file"]; ok && s.Value != "" {
			k = s.Value
		}
		if !filepath.IsAbs(k) {
			k = filepath.Join(pgdata, k)
		}
		f := statFile(k)
		h.SSLKey = &f
	}
	b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION"))
	h.PGVersion, h.PGVersionErr = strings.TrimSpace(string(b)), err
	if pb, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid")); err != nil {
		h.PostmasterErr = err
	} else {
		first, _, _ := strings.Cut(string(pb), "\n")
		if status, err := os.ReadFile("/proc/" + strings.TrimSpace(first) + "/status"); err != nil {
			h.PostmasterErr = err
		} else {
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
					h.PostmasterUser = f[1]
					if u, err := user.LookupId(f[1]); err == nil {
						h.PostmasterUser = u.Username
					}
				}
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("PGPASSWORD=")) {
			h.PGPasswordProcs = append(h.PGPasswordProcs, strings.TrimSuffix(strings.TrimPrefix(p, "/proc/"), "/environ"))
		}
	}
	homes := []string{"/root"}
	if more, _ := filepath.Glob("/home/*"); more != nil {
		homes = append(homes, more...)
	}
	if u, err := user.Lookup("postgres"); err == nil && u.HomeDir != "" {
		homes = append(homes, u.HomeDir)
	}
	profiles := []string{"/etc/profile", "/etc/environment", "/etc/bash.bashrc"}
	if d, _ := filepath.Glob("/etc/profile.d/*"); d != nil {
		profiles = append(profiles, d...)
	}
	for _, home := range homes {
		for _, f := range []string{".bashrc", ".bash_profile", ".profile", ".zshrc", ".pgsql_profile"} {
			profiles = append(profiles, filepath.Join(home, f))
		}
		if fi, err := os.Stat(filepath.Join(home, ".psql_history")); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			h.History = append(h.History, filepath.Join(home, ".psql_history"))
		}
		h.Services = appendIfPassword(h.Services, filepath.Join(home, ".pg_service.conf"), "password")
	}
	for _, p := range profiles {
		h.Profiles = appendIfPassword(h.Profiles, p, "PGPASSWORD")
	}
	for _, p := range []string{"/etc/postgresql-common/pg_service.conf", "/etc/pg_service.conf", os.Getenv("PGSERVICEFILE")} {
		if p != "" {
			h.Services = appendIfPassword(h.Services, p, "password")
		}
	}
	major := strings.Split(st.Version, ".")[0]
	for _, d := range []string{"/usr/share/postgresql/" + major + "/extension", "/usr/pgsql-" + major + "/share/extension"} {
		if _, err := os.Stat(d); err == nil {
			f := statFile(d)
			h.ExtDir = &f
			break
		}
	}
	if l, ok := st.Settings["log_directory"]; ok && l.Value != "" {
		d := l.Value
		if !filepath.IsAbs(d) {
			d = filepath.Join(pgdata, d)
		}
		f := statFile(d)
		h.LogDir = &f
	}
	h.Package, h.PackageErr = packageVersion(major)
	for n, loc := range st.Tablespaces {
		if loc != "" && strings.HasPrefix(filepath.Clean(loc)+"/", filepath.Clean(pgdata)+"/") {
			h.Tablespaces = append(h.Tablespaces, n+" at "+loc)
		}
	}
	sort.Strings(h.Tablespaces)
	return h
}

func appendIfPassword(list []string, path, word string) []string {
	f, err := os.Open(path)
	if err != nil {
		return list
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, word+"=") || strings.Contains(line, word+" =") {
			return append(list, fmt.Sprintf("%s:%d", path, n))
		}
	}
	return list
}

func packageVersion(major string) (string, error) {
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "postgresql-"+major).Output()
		if err == nil {
			return strings.TrimSpace(string(out)), nil
		}
	}
	if _, err := exec.LookPath("rpm"); err == nil {
		out, err := exec.Command("rpm", "-q", "--qf", "%{VERSION}", "postgresql"+major+"-server").Output()
		if err == nil {
			return strings.TrimSpace(string(out)), nil
		}
	}
	return "", fmt.Errorf("no postgresql-%s package found with dpkg or rpm", major)
}

func hostDef(c posture.Check, eval func(h *hostState, st *state) posture.Result) Def {
	c.Host = true
	return Def{Check: c, Eval: func(st *state) posture.Result {
		if st.Host == nil {
			return posture.NA("host-level check: no --pgdata given", needHost)
		}
		return eval(st.Host, st)
	}}
}

func modeResult(f fileInfo, forbidden os.FileMode, owner string) posture.Result {
	if f.Err != nil {
		if os.IsPermission(f.Err) {
			return posture.NA(f.String(), needHost)
		}
		return posture.Errorf("%s", f.String())
	}
	ok := f.Mode&forbidden == 0 && (owner == "" || f.Owner == owner)
	return posture.Cond(ok, f.String())
}

func hostDefs() []Def {
	pgOwner := func(h *hostState) string { return h.PGData.Owner }
	return []Def{
		hostDef(chk("pg.host.pgdata_mode", "host", "Data directory mode 0700 (or 0750)", high,
			"PGDATA not accessible to other users",
			"The data directory holds every row, the WAL and the server key.",
			"chmod 0700 $PGDATA", "pgdsat 2.7", "dev-sec postgres-20"),
			func(h *hostState, _ *state) posture.Result { return modeResult(h.PGData, 0o027, "") }),
		hostDef(chk("pg.host.pgdata_owner", "host", "Data directory owned by a dedicated non-root user", high,
			"PGDATA owned by the postgres (or another dedicated) user, not root",
			"Ownership by root or a login user widens who can read or replace data files.",
			"chown -R postgres:postgres $PGDATA", "CIS PostgreSQL 17 1.4", "dev-sec postgres-20"),
			func(h *hostState, _ *state) posture.Result {
				if h.PGData.Err != nil {
					return posture.Errorf("%s", h.PGData.String())
				}
				return posture.Cond(h.PGData.Owner != "root" && h.PGData.Owner != "0", h.PGData.String())
			}),
		hostDef(chk("pg.host.not_root", "host", "Server not running as root", critical,
			"the postmaster runs as a dedicated unprivileged user",
			"A compromised server process running as root owns the host (PostgreSQL refuses root, but wrappers exist).",
			"Run the service as the postgres user.", "CIS PostgreSQL 17 4.1", "pgdsat 4.1"),
			func(h *hostState, _ *state) posture.Result {
				if h.PostmasterErr != nil {
					return posture.NA("postmaster.pid/proc: "+h.PostmasterErr.Error(), needHost)
				}
				return posture.Cond(h.PostmasterUser != "root" && h.PostmasterUser != "0", "postmaster runs as "+h.PostmasterUser)
			}),
		hostDef(chk("pg.host.hba_mode", "host", "pg_hba.conf mode 0640 or stricter, owned by the server user", medium,
			"pg_hba.conf not writable by group, not readable by others, owned by the data directory's owner (Debian: root-owned configuration also passes)",
			"Whoever can edit pg_hba.conf decides who logs in.",
			"chmod 0640 pg_hba.conf; chown postgres pg_hba.conf", "pgdsat 2.5", "dev-sec postgres-10"),
			func(h *hostState, _ *state) posture.Result { return confResult(h.Conf["pg_hba.conf"], pgOwner(h)) }),
		hostDef(chk("pg.host.ident_mode", "host", "pg_ident.conf mode 0640 or stricter", medium,
			"pg_ident.conf not writable by group, not readable by others",
			"Ident maps decide which external names become which roles.",
			"chmod 0640 pg_ident.conf", "dev-sec postgres-10"),
			func(h *hostState, _ *state) posture.Result { return confResult(h.Conf["pg_ident.conf"], pgOwner(h)) }),
		hostDef(chk("pg.host.conf_mode", "host", "postgresql.conf mode 0644 or stricter and not writable by others", medium,
			"postgresql.conf and postgresql.auto.conf writable only by their owner",
			"Whoever can edit the configuration can load libraries and run archive_command as the server.",
			"chmod 0640 postgresql.conf postgresql.auto.conf", "dev-sec postgres-10"),
			func(h *hostState, _ *state) posture.Result {
				var bad, all []string
				for _, n := range []string{"postgresql.conf", "postgresql.auto.conf"} {
					f := h.Conf[n]
					if f.Err != nil {
						continue
					}
					all = append(all, f.String())
					if f.Mode&0o022 != 0 {
						bad = append(bad, f.String())
					}
				}
				if len(bad) > 0 {
					return posture.Failf("%s", strings.Join(bad, "; "))
				}
				return posture.Passf("%s", strings.Join(all, "; "))
			}),
		hostDef(chk("pg.host.ssl_key_mode", "host", "TLS private key readable by its owner only", high,
			"server key 0600 (or 0640 owned by root)",
			"A readable key lets others impersonate the server or decrypt captured sessions.",
			"chmod 0600 server.key", "OWN"),
			func(h *hostState, _ *state) posture.Result {
				if h.SSLKey == nil {
					return posture.Infof("ssl is off: no key to check")
				}
				if h.SSLKey.Owner == "root" {
					return modeResult(*h.SSLKey, 0o037, "")
				}
				return modeResult(*h.SSLKey, 0o077, "")
			}),
		hostDef(chk("pg.host.pg_version", "host", "Data directory matches the running major version", info,
			"PG_VERSION equals the server's major version",
			"A mismatch means --pgdata points at another cluster than the one scanned.",
			"Pass the data directory of the scanned server.", "CIS PostgreSQL 17 1.4", "pgdsat 1.4.2"),
			func(h *hostState, st *state) posture.Result {
				if h.PGVersionErr != nil {
					return posture.Errorf("PG_VERSION: %v", h.PGVersionErr)
				}
				major := strings.Split(st.Version, ".")[0]
				return posture.Cond(h.PGVersion == major, fmt.Sprintf("PG_VERSION %s, server %s", h.PGVersion, st.Version))
			}),
		hostDef(chk("pg.host.pgpassword_env", "host", "No process has PGPASSWORD in its environment", high,
			"no /proc/*/environ with PGPASSWORD",
			"Environment variables of a process are readable by its user and by root, and leak into core dumps and child processes.",
			"Use a ~/.pgpass file (mode 0600) instead of PGPASSWORD.", "CIS PostgreSQL 17 1.7", "pgdsat 1.7"),
			func(h *hostState, _ *state) posture.Result {
				return posture.Cond(len(h.PGPasswordProcs) == 0, "pids: "+posture.List(h.PGPasswordProcs, 8))
			}),
		hostDef(chk("pg.host.pgpassword_profiles", "host", "No PGPASSWORD in shell profiles", high,
			"no PGPASSWORD= in /etc/profile*, /etc/environment or users' shell start-up files",
			"A password in a profile is stored in clear and exported to every process.",
			"Remove the line; use ~/.pgpass (0600).", "CIS PostgreSQL 17 1.6", "pgdsat 1.6"),
			func(h *hostState, _ *state) posture.Result {
				return posture.Cond(len(h.Profiles) == 0, "files: "+posture.List(h.Profiles, 8))
			}),
		hostDef(chk("pg.host.psql_history", "host", "psql history disabled", low,
			"no non-empty ~/.psql_history for root, postgres or users",
			"psql history records ALTER ROLE … PASSWORD statements in clear.",
			"ln -sf /dev/null ~/.psql_history (or \\set HISTFILE /dev/null in psqlrc)", "CIS PostgreSQL 17 2.3", "pgdsat 2.3"),
			func(h *hostState, _ *state) posture.Result {
				return posture.Cond(len(h.History) == 0, "files: "+posture.List(h.History, 8))
			}),
		hostDef(chk("pg.host.service_passwords", "host", "No passwords in pg_service.conf", medium,
			"no password= in service files",
			"Service files are often world-readable; passwords belong in ~/.pgpass.",
			"Remove the password lines; use ~/.pgpass.", "CIS PostgreSQL 17 2.4", "pgdsat 2.4"),
			func(h *hostState, _ *state) posture.Result {
				return posture.Cond(len(h.Services) == 0, "files: "+posture.List(h.Services, 8))
			}),
		hostDef(chk("pg.host.extension_dir", "host", "Extension directory owned by root, not writable by others", medium,
			"owner root, mode 0755 or stricter",
			"Whoever writes there can plant an extension a database owner will install.",
			"chown root:root <sharedir>/extension; chmod 0755 <sharedir>/extension", "CIS PostgreSQL 17 2.2", "pgdsat 2.2"),
			func(h *hostState, _ *state) posture.Result {
				if h.ExtDir == nil {
					return posture.Infof("extension directory not found in the usual places")
				}
				return modeResult(*h.ExtDir, 0o022, "root")
			}),
		hostDef(chk("pg.host.log_dir_mode", "host", "Log directory not readable by others", medium,
			"log_directory mode without access for others",
			"Logs hold statements, user names and client addresses.",
			"chmod 0700 <log_directory> (0750 for a log shipper group)", "CIS PostgreSQL 17 3.1.6"),
			func(h *hostState, st *state) posture.Result {
				if h.LogDir == nil {
					if !st.ReadAll {
						return posture.NA("log_directory is hidden from role "+st.User, needSettings)
					}
					return posture.Infof("log_directory not set")
				}
				return modeResult(*h.LogDir, 0o007, "")
			}),
		hostDef(chk("pg.host.package_restart", "host", "Running server matches the installed package", medium,
			"the running version equals the installed package's version",
			"After a package upgrade the old binaries keep running, unpatched, until the server restarts.",
			"Restart PostgreSQL (systemctl restart postgresql).", "CIS PostgreSQL 17 1.5", "pgdsat 1.5"),
			func(h *hostState, st *state) posture.Result {
				if h.PackageErr != nil {
					return posture.Infof("%v", h.PackageErr)
				}
				running := strings.Fields(st.Version)[0]
				pkg := h.Package
				if i := strings.IndexAny(pkg, "-+~"); i >= 0 {
					pkg = pkg[:i]
				}
				if i := strings.Index(pkg, ":"); i >= 0 {
					pkg = pkg[i+1:]
				}
				return posture.Cond(pkg == running, fmt.Sprintf("running %s, package %s", running, h.Package))
			}),
		hostDef(chk("pg.host.tablespaces", "host", "Tablespaces outside the data directory", low,
			"no tablespace location inside PGDATA",
			"A tablespace inside PGDATA breaks backups and upgrades and mixes permissions.",
			"Move the tablespace: ALTER TABLE … SET TABLESPACE to one outside PGDATA.", "pgdsat 1.9", "CIS PostgreSQL 17 8.1"),
			func(h *hostState, _ *state) posture.Result {
				return posture.Cond(len(h.Tablespaces) == 0, "inside PGDATA: "+posture.List(h.Tablespaces, 5))
			}),
	}
}

// confResult grades a configuration file: no group write, nothing for
// others, owned by the data directory's owner or root.
func confResult(f fileInfo, pgOwner string) posture.Result {
	if f.Err != nil {
		if os.IsPermission(f.Err) {
			return posture.NA(f.String(), needHost)
		}
		return posture.Errorf("%s", f.String())
	}
	ok := f.Mode&0o027 == 0 && (f.Owner == pgOwner || f.Owner == "root")
	return posture.Cond(ok, f.String())
}
