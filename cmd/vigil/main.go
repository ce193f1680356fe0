// Command vigil is the Vigil database activity monitor: it reads what
// PostgreSQL logs, understands every login and statement, and raises alerts.
//
// One file per subcommand; each is a thin layer over the library packages.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	// VIGIL_CPUPROFILE=FILE writes a CPU profile of the whole command
	// (for benchmarks: go tool pprof bin/vigil FILE).
	profiling := false
	if path := os.Getenv("VIGIL_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			profiling = pprof.StartCPUProfile(f) == nil
		}
	}
	code := execute()
	if profiling {
		pprof.StopCPUProfile()
	}
	os.Exit(code)
}

func execute() int {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "vigil:", ee.msg)
			}
			return ee.code
		}
		fmt.Fprintln(os.Stderr, "vigil:", err)
		return 1
	}
	return 0
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Database activity monitoring and threat detection for PostgreSQL, MySQL/MariaDB and Azure",
		Long: `Vigil reads the logs databases write (PostgreSQL stderr/csvlog/jsonlog and
pgaudit, MariaDB server_audit, MySQL/Percona audit JSON, general and error logs,
Azure resource logs and the Activity Log), understands every login and SQL
statement with a real SQL parser, masks secrets, and raises alerts tagged with
MITRE ATT&CK: brute force, password spraying, unusual principals, attack
tools, DROP/ALTER/GRANT, new users, privileged operations, disabled auditing,
routine tampering, data exfiltration, SQL injection and missing logs. It
notifies people (Slack, Teams, PagerDuty, e-mail, webhooks, syslog/CEF) and
grades server configuration (vigil scan).

Start with:
  vigil replay /var/log/postgresql/postgresql-15-main.log
  vigil rules list
  vigil replay --data-dir ./vigil-data postgresql.log
  vigil alerts list --data-dir ./vigil-data
  vigil scan postgres://auditor@127.0.0.1:5432/postgres`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newReplayCmd(), newRulesCmd(), newConfigCmd(), newAlertsCmd(), newEventsCmd(), newRunCmd())
	for _, c := range moreCommands {
		root.AddCommand(c())
	}
	return root
}

// moreCommands are the subcommands that files register in their init
// (`func init() { moreCommands = append(moreCommands, newScanCmd) }`), so
// that adding a command touches only its own file.
var moreCommands []func() *cobra.Command

// Config files may name every registered input format.
func init() { config.MoreFormats = pipeline.Formats() }

var osStat = os.Stat
