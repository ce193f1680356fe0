package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

func newEventsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Search the stored audit trail (masked events)",
		Long: `The events commands read the audit trail in the Vigil store: every login,
statement and error that ` + "`vigil replay --data-dir`" + ` or the live daemon read, masked
(no password or secret in clear).

The store is the directory given with --data-dir (default ` + defaultDataDir + `).`,
		Example: `  vigil events search --user ops_admin --since 1h
  vigil events search --around a6f2ddc593a4436f774144846d386cd6 --window 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	addDataDirFlag(cmd, &dir)
	cmd.AddCommand(newEventsSearchCmd(&dir), newEventsUnparsedCmd(&dir))
	return cmd
}

type eventsSearchFlags struct {
	since, until                              string
	user, client, session, database, server   string
	category, action, operation, text, source string
	around                                    string
	window                                    time.Duration
	format                                    string
	limit                                     int
}

func newEventsSearchCmd(dir *string) *cobra.Command {
	var f eventsSearchFlags
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find stored events by time, who, where, kind or statement text",
		Long: `Search the stored events. Filters combine (AND); each matches exactly except
--operation (case-insensitive) and --text (a case-insensitive substring of the
masked statement text). --since and --until take a duration back from now
(30m, 1h, 2d; d = 24 hours) or a time (RFC 3339, or 'YYYY-MM-DD HH:MM:SS' in UTC).
Without --limit the latest 100 matching events are printed, oldest first.

--around ALERT_ID gives the activity around an alert instead: the events of
its users, client addresses and sessions, from --window before its first event
to --window after its last, oldest first. It takes no other filter.

Output: a table on a terminal (TIME, USER, CLIENT, DB, CATEGORY/ACTION,
OUTCOME, OPERATION, TEXT), NDJSON events (the event schema, event/event.go)
otherwise; --format overrides.`,
		Example: `  vigil events search --user ops_admin --since 1h
  vigil events search --client 127.0.0.2 --category authentication --action login_failed
  vigil events search --operation 'DROP TABLE' --since 7d --format json
  vigil events search --text pg_read_file --database shop
  vigil events search --around a6f2ddc593a4436f774144846d386cd6 --window 10m
  vigil events search --since '2026-11-25 11:00:00' --until '2026-11-25 12:00:00' --limit 0 --format ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEventsSearch(cmd, *dir, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "events at or after: a duration back from now (1h, 2d) or a time")
	fl.StringVar(&f.until, "until", "", "events before: a duration back from now or a time")
	fl.StringVar(&f.user, "user", "", "user.name")
	fl.StringVar(&f.client, "client", "", "client.address (IP, or [local])")
	fl.StringVar(&f.session, "session", "", "session.id (give a time range, --user or --client too on large stores)")
	fl.StringVar(&f.database, "database", "", "db.namespace")
	fl.StringVar(&f.server, "server", "", "server.address")
	fl.StringVar(&f.source, "source", "", "source.name (\"replay\" for replayed logs)")
	fl.StringVar(&f.category, "category", "", "event.category: authentication, query, ddl, dcl, dml, admin, error ...")
	fl.StringVar(&f.action, "action", "", "event.action: login, login_failed, logout, statement, error, server")
	fl.StringVar(&f.operation, "operation", "", "db.operation.name, e.g. SELECT, 'DROP TABLE' (case-insensitive)")
	fl.StringVar(&f.text, "text", "", "substring of the (masked) statement text, case-insensitive")
	fl.StringVar(&f.around, "around", "", "the activity around this alert id (its users, clients and sessions)")
	fl.DurationVar(&f.window, "window", 10*time.Minute, "with --around: how far before and after the alert")
	fl.StringVar(&f.format, "format", "", "output format: table, json, ndjson (default: table on a terminal, ndjson otherwise)")
	fl.IntVar(&f.limit, "limit", 100, "at most this many events (0 = all)")
	return cmd
}

func runEventsSearch(cmd *cobra.Command, dir string, f eventsSearchFlags) error {
	now := time.Now()
	flt := store.EventFilter{User: f.user, Client: f.client, Session: f.session, Database: f.database,
		Server: f.server, Source: f.source, Category: f.category, Action: f.action, Operation: f.operation, Text: f.text}
	var err error
	if flt.Since, err = parseWhen("since", f.since, now); err != nil {
		return err
	}
	if flt.Until, err = parseWhen("until", f.until, now); err != nil {
		return err
	}
	if flt.Limit, err = limitArg(f.limit); err != nil {
		return err
	}
	if f.around != "" {
		for _, name := range []string{"since", "until", "user", "client", "session", "database", "server", "source", "category", "action", "operation", "text"} {
			if cmd.Flags().Changed(name) {
				return usageErr("--around takes no other filter (--%s): it selects the alert's users, clients and sessions itself", name)
			}
		}
		if f.window < 0 {
			return usageErr("--window must not be negative")
		}
	} else if cmd.Flags().Changed("window") {
		return usageErr("--window goes with --around ALERT_ID")
	}
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
	ctx := cmd.Context()
	var evs []*event.Event
	if f.around != "" {
		if evs, err = st.Around(ctx, f.around, f.window, flt.Limit); err != nil {
			return notFound(err, f.around, dir)
		}
	} else {
		// The latest matches, printed in time order.
		flt.Order = store.NewestFirst
		if evs, err = st.SearchEvents(ctx, flt); err != nil {
			return err
		}
		slices.Reverse(evs)
	}
	switch format {
	case "json", "ndjson":
		if evs == nil {
			evs = []*event.Event{}
		}
		return writeJSON(stdout, format, evs)
	}
	return writeEventTable(stdout, evs)
}

func writeEventTable(w io.Writer, evs []*event.Event) error {
	if len(evs) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tUSER\tCLIENT\tDB\tCATEGORY/ACTION\tOUTCOME\tOPERATION\tTEXT")
	for _, ev := range evs {
		text := ev.DB.Query.Text
		if text == "" {
			text = ev.Error.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format("2006-01-02 15:04:05.000"),
			dash(truncate(ev.User.Name, 20)), dash(ev.Client.Address), dash(truncate(ev.DB.Namespace, 20)),
			dash(categoryAction(ev)), dash(ev.Event.Outcome), dash(truncate(ev.DB.Operation.Name, 24)),
			truncate(oneLine(text), 80))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
