package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/pipeline"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print an example daemon configuration, or check one",
		Long: `The daemon's configuration is one YAML file: sources (files, syslog, HTTP
ingest), rules and list overrides, the store and its retention, the HTTP
listener (loopback by default, bearer token required, TLS) and the log level.
The reference is docs/config.md.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a complete, commented configuration to start from",
		Example: `  vigil config example > /etc/vigil/vigil.yaml
  VIGIL_TOKEN=$(openssl rand -hex 24) vigil config check -c /etc/vigil/vigil.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), config.Example())
			return err
		},
	})
	var path string
	check := &cobra.Command{
		Use:   "check -c FILE",
		Short: "Validate everything the daemon would load, with file:line:column for each problem",
		Long: `Check loads the configuration file the way the daemon would — YAML, every key and
value, secrets from the environment or files, TLS files, rule paths — and then the
rules (the built-in pack, your rule files and the list overrides of the config),
and reports every problem with its position. On success it prints what the daemon
would run, secrets shown as ***.`,
		Example: `  vigil config check -c /etc/vigil/vigil.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageErr("give the file with -c FILE")
			}
			cfg, err := config.Load(path)
			if err != nil {
				var errs config.Errors
				if errors.As(err, &errs) {
					for _, e := range errs {
						fmt.Fprintln(cmd.OutOrStdout(), e.Error())
					}
					return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", path, len(errs))}
				}
				return err
			}
			if _, err := detect.Load(append([]detect.Source{pipeline.BuiltinSource()}, cfg.RuleSources()...)...); err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err.Error())
				return &exitError{code: 1, msg: path + ": the rules it loads are refused"}
			}
			fmt.Fprint(cmd.OutOrStdout(), cfg.Summary())
			fmt.Fprintf(cmd.OutOrStdout(), "\n%s: ok\n", path)
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "", "configuration `FILE`")
	cmd.AddCommand(check)
	return cmd
}
