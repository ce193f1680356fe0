package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/rules"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, explain, test and lint detection rules",
		Long: `Vigil's detections are YAML rules: a built-in pack embedded in the binary, plus
your own files given with --rules, which add rules, override built-in ones by id
(thresholds, windows, severity, enabled), extend named lists and add exceptions
without copying a rule. The format is in docs/rules.md.`,
	}
	cmd.AddCommand(newRulesListCmd(), newRulesShowCmd(), newRulesTestCmd(), newRulesLintCmd(), newRulesFieldsCmd())
	return cmd
}

func loadRules(paths []string) (*pipeline.Rules, error) {
	rs, err := pipeline.LoadRules(paths)
	if err != nil {
		var errs detect.Errors
		if errors.As(err, &errs) {
			return nil, fmt.Errorf("rules refused:\n%s", err)
		}
		return nil, err
	}
	return rs, nil
}

func newRulesListCmd() *cobra.Command {
	var paths []string
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rules with their kind, severity and MITRE ATT&CK technique",
		Example: `  vigil rules list
  vigil rules list --rules ./my-rules/ --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := loadRules(paths)
			if err != nil {
				return err
			}
			list := rs.ListRules()
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			case "markdown":
				fmt.Fprintln(w, "| id | kind | severity | MITRE | title |")
				fmt.Fprintln(w, "|---|---|---|---|---|")
				for _, r := range list {
					fmt.Fprintf(w, "| `%s` | %s | %s | %s %s | %s |\n", r.ID, r.Kind, r.Severity, r.Tactic, r.Technique, r.Title)
				}
				return nil
			case "table", "":
			default:
				return usageErr("--format must be table, json or markdown, not %q", format)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tMITRE\tTITLE")
			for _, r := range list {
				id := r.ID
				if !r.Enabled {
					id += " (disabled)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\n", id, r.Kind, r.Severity, r.Tactic, r.Technique, r.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringArrayVar(&paths, "rules", nil, "rule file or directory to load after the built-in pack (repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or markdown")
	return cmd
}

func newRulesShowCmd() *cobra.Command {
	var paths []string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show everything about one rule, as YAML you can copy into your own file",
		Long: `Show prints the rule as a YAML entry (after your overrides), with where it was
defined and overridden and the names of its MITRE ATT&CK tactic and technique.
To tune it, copy the fields you want to change into your own file with
"override: true" and pass that file with --rules.`,
		Example: `  vigil rules show ddl.drop_table
  vigil rules show auth.failed_login_burst --rules ./my-rules/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := loadRules(paths)
			if err != nil {
				return err
			}
			if !rs.Has(args[0]) {
				return fmt.Errorf("no rule %q (vigil rules list shows them all)", args[0])
			}
			return rs.Show(cmd.OutOrStdout(), args[0])
		},
	}
	cmd.Flags().StringArrayVar(&paths, "rules", nil, "rule file or directory to load after the built-in pack (repeatable)")
	return cmd
}

func newRulesTestCmd() *cobra.Command {
	var paths []string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR|FILE ...]",
		Short: "Run rule tests: log lines or events in, the alerts expected out",
		Long: `Test runs promtool-style rule tests (format in docs/rules.md): each test feeds
PostgreSQL log lines or events through the whole pipeline and compares the alerts
of the rules it names with the ones it expects.

With no argument it runs the fixtures of the built-in pack. Given directories, it
loads the rule files in them on top of the built-in pack and runs the test files
in them (YAML files with a top-level "tests:" key).`,
		Example: `  vigil rules test
  vigil rules test ./my-rules/
  vigil rules test --rules ./my-rules/ ./my-tests/ddl.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var sources []pipeline.TestSource
			rulePaths := append([]string(nil), paths...)
			for _, a := range args {
				sources = append(sources, pipeline.TestSource{Path: a})
				if isRuleDir(a) {
					rulePaths = append(rulePaths, a)
				}
			}
			if len(args) == 0 {
				sources = []pipeline.TestSource{{FS: rules.Tests}}
			}
			rs, err := loadRules(rulePaths)
			if err != nil {
				return err
			}
			results, err := pipeline.RunRuleTests(cmd.Context(), rs, sources...)
			if err != nil {
				return err
			}
			return reportTests(cmd.OutOrStdout(), results, verbose)
		},
	}
	cmd.Flags().StringArrayVar(&paths, "rules", nil, "rule file or directory to load after the built-in pack (repeatable)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing tests too")
	return cmd
}

// isRuleDir: directories given to `rules test` hold both rules and tests.
func isRuleDir(p string) bool {
	st, err := osStat(p)
	return err == nil && st.IsDir()
}

func reportTests(w io.Writer, results []pipeline.TestResult, verbose bool) error {
	failed := 0
	for _, r := range results {
		if r.Passed() {
			if verbose {
				fmt.Fprintf(w, "ok    %s: %s\n", r.File, r.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL  %s: %s [%s]\n", r.File, r.Name, strings.Join(r.Rules, ", "))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "        %s\n", f)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(results)-failed, failed)
	if len(results) == 0 {
		return &exitError{code: 1, msg: "no tests found"}
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func newRulesLintCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lint FILE|DIR ...",
		Short: "Check rule files: every error and warning, with file:line:column",
		Long: `Lint loads the given rule files on top of the built-in pack, the way the daemon
and replay would, and reports every problem: YAML errors, unknown fields, bad
durations or severities, conditions that do not type-check against the event
schema, unknown lists, overrides of unknown rules, and warnings (for example a
condition that cannot be indexed and so runs for every event).`,
		Example: `  vigil rules lint ./my-rules/tuning.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, problems := detect.Lint(append([]detect.Source{pipeline.BuiltinSource()}, detect.PathSources(args...)...)...)
			errs := 0
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.Error())
				if !p.Warning {
					errs++
				}
			}
			if errs > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d error(s)", errs)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d warning(s)\n", len(problems))
			return nil
		},
	}
	return cmd
}

func newRulesFieldsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "fields",
		Short: "List the event fields usable in conditions, group_by and exceptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FIELD\tTYPE\tGROUP_BY/EXCEPTIONS")
			for _, f := range detect.Fields() {
				g := ""
				if f.Groupable {
					g = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, f.Type, g)
			}
			return tw.Flush()
		},
	}
}
