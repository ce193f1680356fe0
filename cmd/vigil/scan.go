package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/azcheck"
	"github.com/vigildb/vigil/posture/mycheck"
	"github.com/vigildb/vigil/posture/pgcheck"
	"github.com/vigildb/vigil/posture/report"
	"github.com/vigildb/vigil/posture/versions"
)

type scanFlags struct {
	format     string
	output     string
	failOn     string
	baseline   string
	versions   string
	pgdata     string
	sensitive  []string
	azure      []string
	listChecks bool
	timeout    time.Duration
	noColor    bool
}

func init() { moreCommands = append(moreCommands, newScanCmd) }

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [postgres://…|mysql://…] [--azure-resource FILE …]",
		Short: "Grade the security configuration of PostgreSQL, MySQL/MariaDB or Azure database resources",
		Long: `Scan connects to a database server read-only (or reads Azure resource JSON) and
grades its security configuration against a catalog deeper than pgdsat and the
CIS benchmarks: network exposure, pg_hba.conf rules, TLS, password hashes,
superusers and dangerous role grants, logging and pgAudit, public schema
privileges, SECURITY DEFINER functions, row-level security, backups, patch level
and end of life — and the MySQL/MariaDB and Azure equivalents.

Every finding says what was observed, what is expected, why it matters, the exact
fix, and the CIS / pgdsat references. A check the connecting role cannot read is
reported "not assessable", with the privilege that would make it assessable —
never as a pass. For full PostgreSQL coverage without superuser:
  GRANT pg_monitor TO auditor;
  GRANT SELECT ON pg_hba_file_rules, pg_file_settings TO auditor;
  GRANT EXECUTE ON FUNCTION pg_hba_file_rules(), pg_show_all_file_settings() TO auditor;
(password hash types need a superuser scan). See docs/posture.md.

Targets:
  postgres://USER@HOST:5432/DB   PostgreSQL (libpq URL or "host=… user=…" string;
                                 the password from the URL, PGPASSWORD or ~/.pgpass)
  mysql://USER:PASS@HOST:3306/   MySQL or MariaDB (?tls=true|skip-verify|preferred,
                                 ?socket=/run/mysqld/mysqld.sock)
  --azure-resource FILE          JSON printed by 'az cosmosdb show',
                                 'az postgres flexible-server show', 'az mysql
                                 flexible-server show' (one object or an array), plus
                                 optionally the output of '… parameter list',
                                 '… firewall-rule list', 'az security atp cosmosdb
                                 show' and 'az monitor diagnostic-settings list'
                                 for the same resources (repeat the flag)

Passwords are never printed: the target is shown with the password masked.
The versions table built in is dated (see the report); --versions FILE supplies
a newer one in the same JSON shape (posture/versions/versions.json).

Exit status: 0; 3 when --fail-on is given and a failed check is at or above that
severity; 1 when the scan could not run (unreachable server, failed login, bad
JSON); 2 on bad usage.`,
		Example: `  vigil scan postgres://auditor@db1:5432/postgres
  vigil scan --format html -o report.html postgres://auditor@db1/postgres
  vigil scan --format sarif --fail-on high mysql://auditor:secret@db2:3306/
  vigil scan --azure-resource cosmos-account.json
  az postgres flexible-server show -g rg -n pg1 > pg1.json
  az postgres flexible-server parameter list -g rg -s pg1 > pg1-params.json
  vigil scan --azure-resource pg1.json --azure-resource pg1-params.json
  vigil scan --format json -o last.json postgres://auditor@db1/postgres
  vigil scan --baseline last.json postgres://auditor@db1/postgres
  vigil scan --sensitive-table public.patients --sensitive-table billing.cards postgres://…
  sudo -u postgres vigil scan --pgdata /var/lib/postgresql/17/main "host=/var/run/postgresql dbname=postgres"
  vigil scan --list-checks --format markdown`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif, html (with --list-checks: text, markdown, json)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 if a check of this severity or above failed (info, low, medium, high, critical)")
	fl.StringVar(&f.baseline, "baseline", "", "a previous report written with --format json: show what got better or worse")
	fl.StringVar(&f.versions, "versions", "", "a newer release/end-of-life table (JSON, same shape as the built-in one)")
	fl.StringVar(&f.pgdata, "pgdata", "", "PostgreSQL data directory: also run the host-level checks (run on the database host)")
	fl.StringArrayVar(&f.sensitive, "sensitive-table", nil, "schema.table (or db.schema.table) that must have row-level security (repeatable)")
	fl.StringArrayVar(&f.azure, "azure-resource", nil, "Azure CLI JSON of a Cosmos DB account or PostgreSQL/MySQL flexible server, or its parameters/firewall rules (repeatable; - for stdin)")
	fl.BoolVar(&f.listChecks, "list-checks", false, "list every check with its engine, severity and references, and exit")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "statement timeout for each query of the scan")
	fl.BoolVar(&f.noColor, "no-color", false, "no colours in text output, even on a terminal")
	return cmd
}

// allChecks is the whole catalog, PostgreSQL first.
func allChecks() []posture.Check {
	var all []posture.Check
	all = append(all, pgcheck.Catalog()...)
	all = append(all, mycheck.Catalog()...)
	all = append(all, azcheck.Catalog()...)
	return all
}

func runScan(cmd *cobra.Command, args []string, f scanFlags) error {
	stdout := cmd.OutOrStdout()
	if f.listChecks {
		format := f.format
		if format == "" || format == "text" {
			format = "text"
		} else if format != "markdown" && format != "json" {
			return usageErr("--list-checks --format must be text, markdown or json, not %q", f.format)
		}
		return withOutput(stdout, f.output, func(w io.Writer) error { return report.Catalog(w, format, allChecks()) })
	}
	switch f.format {
	case "text", "json", "sarif", "html":
	default:
		return usageErr("--format must be text, json, sarif or html, not %q", f.format)
	}
	if f.failOn != "" && posture.SeverityRank(f.failOn) == 0 {
		return usageErr("--fail-on must be one of info, low, medium, high, critical, not %q", f.failOn)
	}
	if len(args) == 0 && len(f.azure) == 0 {
		return usageErr("nothing to scan: give a postgres:// or mysql:// connection string, or --azure-resource FILE (see vigil scan --help)")
	}
	if len(args) == 1 && len(f.azure) > 0 {
		return usageErr("scan either a server or Azure resources, not both in one run")
	}
	table := versions.Default()
	if f.versions != "" {
		t, err := versions.Load(f.versions)
		if err != nil {
			return usageErr("--versions: %v", err)
		}
		table = t
	}
	var base *posture.Report
	if f.baseline != "" {
		b, err := posture.LoadReport(f.baseline)
		if err != nil {
			return usageErr("--baseline: %v", err)
		}
		base = b
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
	defer cancel()

	var rep *posture.Report
	var err error
	if len(f.azure) > 0 {
		if f.pgdata != "" || len(f.sensitive) > 0 {
			return usageErr("--pgdata and --sensitive-table apply to PostgreSQL servers, not Azure resource files")
		}
		var inputs []azcheck.Input
		for _, name := range f.azure {
			var data []byte
			if name == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(name)
			}
			if err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("--azure-resource: %v", err)}
			}
			inputs = append(inputs, azcheck.Input{Name: name, Data: data})
		}
		rep, err = azcheck.Scan(inputs, azcheck.Options{Versions: table})
	} else {
		dsn := args[0]
		switch engineOf(dsn) {
		case "postgres":
			rep, err = pgcheck.Scan(ctx, pgcheck.Options{DSN: dsn, Sensitive: f.sensitive, PGData: f.pgdata,
				Versions: table, StatementTimeout: f.timeout})
		case "mysql":
			if f.pgdata != "" || len(f.sensitive) > 0 {
				return usageErr("--pgdata and --sensitive-table apply to PostgreSQL servers only")
			}
			rep, err = mycheck.Scan(ctx, mycheck.Options{DSN: dsn, Versions: table, StatementTimeout: f.timeout})
		default:
			return usageErr("cannot tell the engine of %s: use postgres://… or mysql://… (or a libpq \"host=… dbname=…\" string)", posture.MaskDSN(dsn))
		}
	}
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	if base != nil {
		rep.Baseline = posture.Compare(base, rep, f.baseline)
	}
	color := f.output == "" && !f.noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	if err := withOutput(stdout, f.output, func(w io.Writer) error {
		if f.format == "sarif" {
			return report.SARIF(w, rep, version)
		}
		return report.Write(w, f.format, rep, color)
	}); err != nil {
		return err
	}
	if f.output != "" {
		s := rep.Summary
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %d checks: %d failed, %d passed, %d not assessable; report written to %s\n",
			len(rep.Findings), s.Fail, s.Pass, s.NotAssessable, f.output)
	}
	if f.failOn != "" {
		if failing := rep.Failing(f.failOn); len(failing) > 0 {
			ids := make([]string, 0, len(failing))
			for _, x := range failing {
				ids = append(ids, x.ID)
			}
			return &exitError{code: 3, msg: fmt.Sprintf("%d failed check(s) at or above %s (--fail-on): %s", len(failing), f.failOn, posture.List(ids, 10))}
		}
	}
	return nil
}

// engineOf tells the engine from a connection string.
func engineOf(dsn string) string {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
		return "mysql"
	case !strings.Contains(lower, "://") && strings.Contains(lower, "="):
		return "postgres"
	}
	return ""
}

// withOutput runs write against the file (written whole, only on success)
// or stdout.
func withOutput(stdout io.Writer, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	return nil
}
