package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/notify"
	"github.com/vigildb/vigil/store"
)

func init() { moreCommands = append(moreCommands, newNotifyCmd) }

func newNotifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Check where alerts are sent: list notifiers and routes, send a test alert",
		Long: `Alerts are sent by the notifiers and routes of the daemon's configuration file
(docs/notify.md): Slack, Microsoft Teams, PagerDuty, webhooks, e-mail, syslog/CEF
and NDJSON. vigil notify list shows them (secrets as ***); vigil notify test
sends a sample alert through one route right away, outside the outbox and the
throttle, and prints what each notifier's receiver answered.`,
	}
	var path string
	load := func() (*config.Config, error) {
		if path == "" {
			return nil, usageErr("give the configuration file with -c FILE")
		}
		cfg, err := config.Load(path)
		if err != nil {
			var errs config.Errors
			if errors.As(err, &errs) {
				return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s):\n%s", path, len(errs), errs.Error())}
			}
			return nil, err
		}
		return cfg, nil
	}
	list := &cobra.Command{
		Use:   "list -c FILE",
		Short: "List the notifiers and routes of a configuration, secrets shown as ***",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), cfg.NotifySummary())
			return err
		},
	}
	test := &cobra.Command{
		Use:   "test ROUTE -c FILE",
		Short: "Send a sample alert through a route and print each notifier's result",
		Example: `  vigil notify test pager -c /etc/vigil/vigil.yaml
  vigil notify list -c /etc/vigil/vigil.yaml`,
		Args: exactArgs(1, "give the route's name (see `vigil notify list -c FILE`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			svc, err := notify.New(notify.FromConfig(cfg), nil, notify.Options{Version: version})
			if err != nil {
				return err
			}
			results, err := svc.Test(cmd.Context(), args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			return writeNotifyResults(cmd.OutOrStdout(), args[0], results)
		},
	}
	for _, c := range []*cobra.Command{list, test} {
		c.Flags().StringVarP(&path, "config", "c", "", "configuration `FILE`")
		cmd.AddCommand(c)
	}
	return cmd
}

func writeNotifyResults(w io.Writer, route string, results []notify.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed := 0
	for _, r := range results {
		status := "ok"
		if r.Err != nil {
			status = "FAILED: " + r.Err.Error()
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Notifier, r.Type, r.Duration.Round(time.Millisecond), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("route %s: %d of %d notifier(s) failed", route, failed, len(results))}
	}
	_, err := fmt.Fprintf(w, "route %s: the sample alert reached %d notifier(s)\n", route, len(results))
	return err
}

// writeAlertDeliveries adds the notification state of an alert to
// `vigil alerts show`: one line per delivery (notifier, kind, status,
// attempts, last error). Nothing when the alert was never sent.
func writeAlertDeliveries(ctx context.Context, w io.Writer, st *store.Store, alertID string) error {
	ds, err := notify.Deliveries(ctx, st, alertID)
	if err != nil || len(ds) == 0 {
		return err
	}
	const tf = "2006-01-02 15:04:05 UTC"
	fmt.Fprintf(w, "\nNotifications:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range ds {
		when := d.Created
		detail := ""
		switch d.Status {
		case "sent", "failed":
			when = d.Done
		case "pending":
			if !d.NextAttempt.IsZero() {
				detail = "next attempt " + d.NextAttempt.Format(tf)
			}
		}
		if d.LastError != "" {
			if detail != "" {
				detail += "; "
			}
			detail += d.LastError
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d attempt(s)\troute %s\t%s\n", d.Notifier, d.Kind, d.Status, when.Format(tf), d.Attempts, d.Route, detail)
	}
	return tw.Flush()
}

// writeAlertDetailAndDeliveries is `vigil alerts show`'s text output:
// the alert, then its notifications.
// writeAlertJSON writes the stored alert as JSON with its notification
// deliveries (`deliveries`, omitted when there are none).
func writeAlertJSON(ctx context.Context, w io.Writer, st *store.Store, a *store.Alert) error {
	ds, err := notify.Deliveries(ctx, st, a.ID)
	if err != nil {
		return err
	}
	out := struct {
		*store.Alert
		Deliveries []notify.Delivery `json:"deliveries,omitempty"`
	}{a, ds}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeAlertDetailAndDeliveries(ctx context.Context, w io.Writer, st *store.Store, a *store.Alert) error {
	if err := writeAlertDetail(w, a); err != nil {
		return err
	}
	return writeAlertDeliveries(ctx, w, st, a.ID)
}
