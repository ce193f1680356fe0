package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
)

// outputFormat resolves --format: explicit, or table on a terminal and
// NDJSON when piped.
func outputFormat(flag string, w io.Writer) (string, error) {
	switch flag {
	case "":
		if isTerminal(w) {
			return "table", nil
		}
		return "ndjson", nil
	case "table", "json", "ndjson":
		return flag, nil
	}
	return "", usageErr("--format must be table, json or ndjson, not %q", flag)
}

func writeAlerts(w io.Writer, format string, alerts []*event.Alert) error {
	switch format {
	case "json", "ndjson":
		if alerts == nil {
			alerts = []*event.Alert{}
		}
		return writeJSON(w, format, alerts)
	}
	return writeAlertTable(w, alerts, isTerminal(w))
}

var severityColor = map[string]string{
	event.SeverityCritical: "\x1b[1;31m",
	event.SeverityHigh:     "\x1b[31m",
	event.SeverityMedium:   "\x1b[33m",
	event.SeverityLow:      "\x1b[36m",
	event.SeverityInfo:     "\x1b[2m",
}

func writeAlertTable(w io.Writer, alerts []*event.Alert, color bool) error {
	if len(alerts) == 0 {
		_, err := fmt.Fprintln(w, "no alerts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tCOUNT\tFIRST (UTC)\tLAST (UTC)\tWHO / WHERE\tTITLE")
	for _, a := range alerts {
		sev := a.Severity
		if color {
			// Pad before colouring so tabwriter's widths stay right.
			sev = severityColor[a.Severity] + fmt.Sprintf("%-8s", a.Severity) + "\x1b[0m"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", sev, a.RuleID, a.Count,
			a.FirstTime.UTC().Format("2006-01-02 15:04:05"), a.LastTime.UTC().Format("15:04:05"),
			truncate(who(a), 48), truncate(a.Title, 70))
	}
	return tw.Flush()
}

// who renders the alert's group and entity compactly: the group first,
// then whichever of user/client/database are not already in it.
func who(a *event.Alert) string {
	var parts []string
	keys := make([]string, 0, len(a.Group))
	for k := range a.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
		if a.Group[k] != "" {
			parts = append(parts, shortField(k)+"="+a.Group[k])
		}
	}
	add := func(k, v string) {
		if v != "" && !seen[k] {
			parts = append(parts, shortField(k)+"="+v)
		}
	}
	add("user.name", a.Entity.User)
	add("client.address", a.Entity.Client)
	add("db.namespace", a.Entity.Database)
	return strings.Join(parts, " ")
}

func shortField(k string) string {
	switch k {
	case "user.name":
		return "user"
	case "client.address":
		return "ip"
	case "db.namespace":
		return "db"
	case "server.address":
		return "server"
	case "app.name":
		return "app"
	case "source.name":
		return "source"
	case "sql.setting.name":
		return "setting"
	}
	return k
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func writeSummary(w io.Writer, res *pipeline.Result, files int, took time.Duration) {
	secs := took.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "\nreplayed %d input(s): %s lines, %s, %s events in %s (%s events/s)\n",
		files, thousands(res.Lines), byteSize(res.Bytes), thousands(res.Events),
		took.Round(time.Millisecond), thousands(int64(float64(res.Events)/secs)))
	bySev := map[string]int{}
	byRule := map[string]int64{}
	for _, a := range res.Alerts {
		bySev[a.Severity]++
		byRule[a.RuleID]++
	}
	if len(res.Alerts) > 0 {
		var sev []string
		for _, s := range []string{event.SeverityCritical, event.SeverityHigh, event.SeverityMedium, event.SeverityLow, event.SeverityInfo} {
			if bySev[s] > 0 {
				sev = append(sev, fmt.Sprintf("%s %d", s, bySev[s]))
			}
		}
		fmt.Fprintf(w, "alerts: %d (%s)\n", len(res.Alerts), strings.Join(sev, ", "))
		rules := make([]string, 0, len(byRule))
		for r := range byRule {
			rules = append(rules, r)
		}
		sort.Strings(rules)
		for _, r := range rules {
			fmt.Fprintf(w, "  %-40s %d\n", r, byRule[r])
		}
	} else {
		fmt.Fprintln(w, "alerts: 0")
	}
	if res.UnparsedCount > 0 {
		fmt.Fprintf(w, "unparsed lines: %d (skipped; first ones below)\n", res.UnparsedCount)
		for _, u := range res.Unparsed {
			if at := fmt.Sprintf("%s:%d: ", u.File, u.Line); strings.Contains(u.Reason, at) {
				fmt.Fprintf(w, "  %s\n", u.Reason) // the parser already said where
			} else {
				fmt.Fprintf(w, "  %s%s\n", at, u.Reason)
			}
		}
		if res.Events == 0 && res.Format == "stderr" {
			fmt.Fprintf(w, "no line matched the log_line_prefix %q: pass the value PostgreSQL uses (SHOW log_line_prefix;) with --log-line-prefix\n", res.Prefix)
		}
	}
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress draws a one-line progress bar on a terminal, at most 5 times a second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

// update is called with the bytes read so far; -1 clears the line.
func (p *progress) update(read int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if read < 0 {
		fmt.Fprint(p.w, "\r\x1b[K")
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(read) / now.Sub(p.start).Seconds()
	if p.total > 0 {
		frac := float64(read) / float64(p.total)
		if frac > 1 {
			frac = 1
		}
		const width = 30
		bar := strings.Repeat("█", int(frac*width)) + strings.Repeat("░", width-int(frac*width))
		eta := ""
		if rate > 0 {
			eta = " eta " + time.Duration(float64(p.total-read)/rate*float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s %3.0f%% %s/%s %s/s%s", bar, frac*100, byteSize(read), byteSize(p.total), byteSize(int64(rate)), eta)
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s read, %s/s", byteSize(read), byteSize(int64(rate)))
}

func (p *progress) done() { p.update(-1) }
