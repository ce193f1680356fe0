package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

func newAlertsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, inspect, acknowledge and resolve the stored alerts",
		Long: `The alerts commands read the Vigil store: the alerts that ` + "`vigil replay --data-dir`" + `
or the live daemon stored, with their status (open, ack, resolved) and the
history of who changed it.

The store is the directory given with --data-dir (default ` + defaultDataDir + `).`,
		Example: `  vigil alerts list --since 24h --severity high
  vigil alerts show a6f2ddc593a4436f774144846d386cd6
  vigil alerts ack a6f2ddc593a4436f774144846d386cd6 --note "checking with ops"
  vigil alerts resolve a6f2ddc593a4436f774144846d386cd6 --note "password rotated"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	addDataDirFlag(cmd, &dir)
	cmd.AddCommand(newAlertsListCmd(&dir), newAlertsShowCmd(&dir),
		newAlertStatusCmd(&dir, "ack", store.StatusAck, "Acknowledge an alert: someone is on it"),
		newAlertStatusCmd(&dir, "resolve", store.StatusResolved, "Resolve an alert: dealt with, or a false positive"),
		newAlertStatusCmd(&dir, "reopen", store.StatusOpen, "Reopen an acknowledged or resolved alert"))
	return cmd
}

type alertsListFlags struct {
	since, until, severity, rule, status, format string
	limit                                        int
}

func newAlertsListCmd(dir *string) *cobra.Command {
	var f alertsListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the stored alerts, most recent first",
		Long: `List the stored alerts that match the filters, most recent (by last event time)
first. --since and --until select the alerts active in that period; each takes a
duration back from now (30m, 1h, 2d; d = 24 hours) or a time (RFC 3339, or
'YYYY-MM-DD HH:MM:SS' in UTC). --severity keeps that severity and above.

Output: a table on a terminal, NDJSON (the alert shape of docs/alerts.md plus
status, status_by, status_note, status_time, created, updated) otherwise;
--format overrides.`,
		Example: `  vigil alerts list
  vigil alerts list --since 24h --severity high --status open
  vigil alerts list --rule auth.bruteforce_success --format json
  vigil alerts list --since '2026-11-20 00:00:00' --until '2026-11-21 00:00:00' --limit 0
  vigil alerts list --data-dir /var/lib/vigil --format ndjson | jq .rule_id`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAlertsList(cmd, *dir, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "alerts active since: a duration back from now (1h, 2d) or a time")
	fl.StringVar(&f.until, "until", "", "alerts that started before: a duration back from now or a time")
	fl.StringVar(&f.severity, "severity", "", "this severity and above: info, low, medium, high, critical")
	fl.StringVar(&f.rule, "rule", "", "only this rule id")
	fl.StringVar(&f.status, "status", "", "only this status: open, ack, resolved")
	fl.StringVar(&f.format, "format", "", "output format: table, json, ndjson (default: table on a terminal, ndjson otherwise)")
	fl.IntVar(&f.limit, "limit", 100, "at most this many alerts (0 = all)")
	return cmd
}

func runAlertsList(cmd *cobra.Command, dir string, f alertsListFlags) error {
	now := time.Now()
	var flt store.AlertFilter
	var err error
	if flt.Since, err = parseWhen("since", f.since, now); err != nil {
		return err
	}
	if flt.Until, err = parseWhen("until", f.until, now); err != nil {
		return err
	}
	if f.severity != "" && event.SeverityRank(f.severity) == 0 {
		return usageErr("--severity must be one of info, low, medium, high, critical, not %q", f.severity)
	}
	switch f.status {
	case "", store.StatusOpen, store.StatusAck, store.StatusResolved:
	default:
		return usageErr("--status must be open, ack or resolved, not %q", f.status)
	}
	if flt.Limit, err = limitArg(f.limit); err != nil {
		return err
	}
	flt.MinSeverity, flt.RuleID, flt.Status = f.severity, f.rule, f.status
	stdout := cmd.OutOrStdout()
	format, err := outputFormat(f.format, stdout)
	if err != nil {
		return err
	}
	st, err := openExistingStore(dir)
	if err != nil {
		return err
	}
	defer st.Close()
	alerts, err := st.ListAlerts(cmd.Context(), flt)
	if err != nil {
		return err
	}
	switch format {
	case "json", "ndjson":
		if alerts == nil {
			alerts = []*store.Alert{}
		}
		return writeJSON(stdout, format, alerts)
	}
	return writeStoredAlertTable(stdout, alerts, isTerminal(stdout))
}

// writeJSON writes a slice as one indented JSON array (json) or one value
// per line (ndjson).
func writeJSON[T any](w io.Writer, format string, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if format == "json" {
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

func writeStoredAlertTable(w io.Writer, alerts []*store.Alert, color bool) error {
	if len(alerts) == 0 {
		_, err := fmt.Fprintln(w, "no alerts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tRULE\tCOUNT\tFIRST (UTC)\tLAST (UTC)\tWHO / WHERE\tTITLE")
	for _, a := range alerts {
		sev := a.Severity
		if color {
			sev = severityColor[a.Severity] + fmt.Sprintf("%-8s", a.Severity) + "\x1b[0m"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.ID, sev, a.Status, a.RuleID, a.Count,
			a.FirstTime.UTC().Format("2006-01-02 15:04:05"), lastTime(a.FirstTime, a.LastTime),
			truncate(who(&a.Alert), 40), truncate(a.Title, 60))
	}
	return tw.Flush()
}

// lastTime prints the last time as a clock time when it is on the first
// time's day, in full otherwise.
func lastTime(first, last time.Time) string {
	first, last = first.UTC(), last.UTC()
	if first.Format(time.DateOnly) == last.Format(time.DateOnly) {
		return last.Format("15:04:05")
	}
	return last.Format("2006-01-02 15:04:05")
}

func newAlertsShowCmd(dir *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Everything about one stored alert: fields, status history, evidence",
		Long: `Show one stored alert: its rule, severity, MITRE ATT&CK context, times, count,
group and entity, what it means and what to do, its status and every status
change, and its evidence events (the first and last events it counted).

--format json prints the stored alert as JSON (the alert shape of
docs/alerts.md plus status fields and history).`,
		Example: `  vigil alerts show a6f2ddc593a4436f774144846d386cd6
  vigil alerts show --format json a6f2ddc593a4436f774144846d386cd6 | jq .evidence
  vigil events search --around a6f2ddc593a4436f774144846d386cd6 --window 10m`,
		Args: exactArgs(1, "give the alert ID (see `vigil alerts list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "", "text", "table":
			case "json":
			default:
				return usageErr("--format must be text or json, not %q", format)
			}
			st, err := openExistingStore(*dir)
			if err != nil {
				return err
			}
			defer st.Close()
			a, err := st.Alert(cmd.Context(), args[0])
			if err != nil {
				return notFound(err, args[0], *dir)
			}
			if format == "json" {
				return writeAlertJSON(cmd.Context(), cmd.OutOrStdout(), st, a) // with deliveries: notify.go
			}
			return writeAlertDetailAndDeliveries(cmd.Context(), cmd.OutOrStdout(), st, a) // deliveries: notify.go
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeAlertDetail(w io.Writer, a *store.Alert) error {
	const tf = "2006-01-02 15:04:05.000 UTC"
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("id", a.ID)
	row("rule", a.RuleID)
	row("title", a.Title)
	row("severity", a.Severity)
	status := a.Status
	if a.StatusBy != "" {
		status += " (by " + a.StatusBy
		if !a.StatusTime.IsZero() {
			status += " at " + a.StatusTime.UTC().Format(tf)
		}
		status += ")"
	}
	row("status", status)
	row("status note", a.StatusNote)
	m := a.Mitre
	row("mitre", strings.TrimSpace(fmt.Sprintf("%s %s / %s %s", m.Tactic, m.TacticName, m.Technique, m.TechniqueName)))
	row("first", a.FirstTime.UTC().Format(tf))
	row("last", a.LastTime.UTC().Format(tf))
	row("count", fmt.Sprint(a.Count))
	row("group", kv(a.Group))
	row("entity", kv(map[string]string{"user.name": a.Entity.User, "client.address": a.Entity.Client,
		"server.address": a.Entity.Server, "db.namespace": a.Entity.Database, "app.name": a.Entity.App}))
	row("tags", strings.Join(a.Tags, ", "))
	row("stored", a.Created.UTC().Format(tf))
	if !a.Updated.Equal(a.Created) {
		row("updated", a.Updated.UTC().Format(tf))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range []struct{ title, text string }{{"Description", a.Description}, {"Impact", a.Impact}, {"Mitigation", a.Mitigation}} {
		if s.text != "" {
			fmt.Fprintf(w, "\n%s:\n%s\n", s.title, indent(wrap(s.text, 96), "  "))
		}
	}
	fmt.Fprintf(w, "\nHistory:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range a.History {
		change := h.Status
		if h.Previous != "" {
			change = h.Previous + " -> " + h.Status
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Time.UTC().Format(tf), change, h.By, h.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEvidence (%d events; the first and last the alert counted):\n", len(a.Evidence))
	evs := make([]*event.Event, len(a.Evidence))
	for i := range a.Evidence {
		evs[i] = &a.Evidence[i]
	}
	if err := writeEventDetail(w, evs); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nAll activity around it: vigil events search --around %s --window 10m\n", a.ID)
	return err
}

// writeEventDetail prints events one block each, every known field.
func writeEventDetail(w io.Writer, evs []*event.Event) error {
	for _, ev := range evs {
		fmt.Fprintf(w, "  %s  %s", ev.Time.UTC().Format("2006-01-02 15:04:05.000"), categoryAction(ev))
		if ev.Event.Outcome != "" {
			fmt.Fprintf(w, " (%s)", ev.Event.Outcome)
		}
		if ev.DB.Operation.Name != "" {
			fmt.Fprintf(w, "  %s", ev.DB.Operation.Name)
		}
		fmt.Fprintln(w)
		var where []string
		add := func(k, v string) {
			if v != "" {
				where = append(where, k+"="+v)
			}
		}
		add("user", ev.User.Name)
		client := ev.Client.Address
		if client != "" && ev.Client.Port != 0 {
			client = fmt.Sprintf("%s:%d", client, ev.Client.Port)
		}
		add("client", client)
		add("db", ev.DB.Namespace)
		add("app", ev.App.Name)
		add("session", ev.Session.ID)
		add("server", ev.Server.Address)
		if ev.Log.File != "" {
			add("at", fmt.Sprintf("%s:%d", ev.Log.File, ev.Log.Line))
		}
		add("id", ev.ID)
		if len(where) > 0 {
			fmt.Fprintf(w, "      %s\n", strings.Join(where, " "))
		}
		if ev.DB.Query.Text != "" {
			fmt.Fprintf(w, "      sql: %s\n", oneLine(ev.DB.Query.Text))
		}
		if ev.Error.Message != "" {
			code := ""
			if ev.DB.Response.StatusCode != "" {
				code = " [" + ev.DB.Response.StatusCode + "]"
			}
			fmt.Fprintf(w, "      error%s: %s\n", code, oneLine(ev.Error.Message))
		}
		if ev.Error.Detail != "" {
			fmt.Fprintf(w, "      detail: %s\n", oneLine(ev.Error.Detail))
		}
	}
	return nil
}

func categoryAction(ev *event.Event) string {
	switch {
	case ev.Event.Category == "":
		return ev.Event.Action
	case ev.Event.Action == "":
		return ev.Event.Category
	}
	return ev.Event.Category + "/" + ev.Event.Action
}

// oneLine folds the whitespace runs of s (newlines of multi-line SQL) into spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

func wrap(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		var line string
		for _, word := range strings.Fields(para) {
			if line != "" && len(line)+1+len(word) > width {
				out = append(out, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

type alertStatusFlags struct {
	note, by string
}

func newAlertStatusCmd(dir *string, verb, status, short string) *cobra.Command {
	var f alertStatusFlags
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long: short + `.

The change, who made it (--by, default $USER) and why (--note) are kept in the
alert's history (vigil alerts show ID). Later events of the same alert update
its count and evidence but keep its status.`,
		Example: fmt.Sprintf(`  vigil alerts %[1]s a6f2ddc593a4436f774144846d386cd6 --note "ticket SEC-142"
  vigil alerts %[1]s a6f2ddc593a4436f774144846d386cd6 --by alice --data-dir /var/lib/vigil`, verb),
		Args: exactArgs(1, "give the alert ID (see `vigil alerts list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			by := f.by
			if by == "" {
				by = os.Getenv("USER")
			}
			st, err := openExistingStore(*dir)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			prev, err := st.Alert(ctx, args[0])
			if err != nil {
				return notFound(err, args[0], *dir)
			}
			if err := st.SetAlertStatus(ctx, args[0], status, by, f.note); err != nil {
				return notFound(err, args[0], *dir)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "alert %s (%s): %s -> %s\n", args[0], prev.RuleID, prev.Status, status)
			return err
		},
	}
	cmd.Flags().StringVar(&f.note, "note", "", "why: kept in the alert's history")
	cmd.Flags().StringVar(&f.by, "by", "", "who made the change (default $USER)")
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error (exit 2) that says what to give.
func exactArgs(n int, hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s takes %d argument(s), got %d: %s", cmd.CommandPath(), n, len(args), hint)
		}
		return nil
	}
}
