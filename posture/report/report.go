// Package report renders posture reports: text for people at a terminal
// (grouped, coloured when asked), JSON (the contract of docs/posture.md),
// SARIF 2.1.0 for code-scanning dashboards, a single-file HTML page, and
// the check catalog as Markdown or JSON.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vigildb/vigil/posture"
)

// Formats lists the report formats.
var Formats = []string{"text", "json", "sarif", "html"}

// Write renders r in format.
func Write(w io.Writer, format string, r *posture.Report, color bool) error {
	switch format {
	case "text", "":
		return Text(w, r, color)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r, "")
	case "html":
		return HTML(w, r)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r *posture.Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

const (
	reset = "\x1b[0m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
	green = "\x1b[32m"
)

var sevColor = map[string]string{
	posture.SevCritical: "\x1b[1;31m",
	posture.SevHigh:     "\x1b[31m",
	posture.SevMedium:   "\x1b[33m",
	posture.SevLow:      "\x1b[36m",
	posture.SevInfo:     "\x1b[2m",
}

// Text writes the report for a person: failures with what was seen, what
// is expected and how to fix it; then what could not be assessed and why;
// then one line per pass.
func Text(w io.Writer, r *posture.Report, color bool) error {
	c := func(code, s string) string {
		if !color || code == "" {
			return s
		}
		return code + s + reset
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s %s\n", c(bold, "Vigil security scan of"), r.Target)
	fmt.Fprintf(b, "engine %s, version %s, scanned %s", r.Engine, r.Version, r.ScannedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if r.Role != "" {
		fmt.Fprintf(b, ", as %s", r.Role)
	}
	fmt.Fprintf(b, "\nversions table of %s\n", r.Versions.Date)
	for _, n := range r.Notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}
	label := func(f posture.Finding) string {
		id := f.ID
		if f.Resource != "" {
			id = f.Resource + " " + f.ID
		}
		return id
	}
	section := func(title string, st posture.Status, detail bool) {
		var fs []posture.Finding
		for _, f := range r.Findings {
			if f.Status == st {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(b, "\n%s (%d)\n", c(bold, title), len(fs))
		for _, f := range fs {
			sev := fmt.Sprintf("%-8s", strings.ToUpper(f.Severity))
			fmt.Fprintf(b, "  %s %s  %s\n", c(sevColor[f.Severity], sev), label(f), f.Title)
			if !detail {
				continue
			}
			fmt.Fprintf(b, "           observed: %s\n", f.Observed)
			if st == posture.NotAssessable {
				fmt.Fprintf(b, "           needs:    %s\n", f.Needs)
				continue
			}
			if st == posture.Info || st == posture.Error {
				continue
			}
			fmt.Fprintf(b, "           expected: %s\n", f.Expected)
			fmt.Fprintf(b, "           why:      %s\n", f.Why)
			fmt.Fprintf(b, "           fix:      %s\n", f.Fix)
			if len(f.References) > 0 {
				fmt.Fprintf(b, "           refs:     %s\n", strings.Join(f.References, "; "))
			}
		}
	}
	section("FAILED", posture.Fail, true)
	section("ERRORS", posture.Error, true)
	section("NOT ASSESSABLE", posture.NotAssessable, true)
	section("INFO", posture.Info, true)
	var passed []string
	for _, f := range r.Findings {
		if f.Status == posture.Pass {
			passed = append(passed, label(f))
		}
	}
	if len(passed) > 0 {
		fmt.Fprintf(b, "\n%s (%d)\n", c(bold, "PASSED"), len(passed))
		line := "  "
		for _, p := range passed {
			if len(line)+len(p) > 100 {
				fmt.Fprintln(b, c(green, strings.TrimRight(line, " ")))
				line = "  "
			}
			line += p + "  "
		}
		fmt.Fprintln(b, c(green, strings.TrimRight(line, " ")))
	}
	if d := r.Baseline; d != nil {
		fmt.Fprintf(b, "\n%s %s (scanned %s)\n", c(bold, "SINCE BASELINE"), d.File, d.ScannedAt.UTC().Format("2006-01-02 15:04"))
		list := func(name string, cs []posture.Change, code string) {
			if len(cs) == 0 {
				return
			}
			fmt.Fprintf(b, "  %s (%d):\n", c(code, name), len(cs))
			for _, ch := range cs {
				id := ch.ID
				if ch.Resource != "" {
					id = ch.Resource + " " + ch.ID
				}
				fmt.Fprintf(b, "    %-8s %s  %s → %s  %s\n", ch.Severity, id, orDash(ch.Before), orDash(ch.After), ch.Title)
			}
		}
		list("worse", d.Worse, sevColor[posture.SevHigh])
		list("better", d.Better, green)
		list("changed", d.Changed, "")
		list("new checks", d.New, "")
		list("gone", d.Gone, dim)
		if len(d.Worse)+len(d.Better)+len(d.Changed)+len(d.New)+len(d.Gone) == 0 {
			fmt.Fprintln(b, "  no changes")
		}
	}
	s := r.Summary
	var sevs []string
	for _, sv := range []string{posture.SevCritical, posture.SevHigh, posture.SevMedium, posture.SevLow, posture.SevInfo} {
		if n := s.FailBySev[sv]; n > 0 {
			sevs = append(sevs, fmt.Sprintf("%d %s", n, sv))
		}
	}
	sum := fmt.Sprintf("\n%d checks: %d failed", len(r.Findings), s.Fail)
	if len(sevs) > 0 {
		sum += " (" + strings.Join(sevs, ", ") + ")"
	}
	sum += fmt.Sprintf(", %d passed, %d not assessable, %d info, %d errors\n", s.Pass, s.NotAssessable, s.Info, s.Error)
	b.WriteString(c(bold, sum))
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s posture.Status) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

// Catalog writes the check catalog: "markdown" (a table per engine),
// "json", or "text".
func Catalog(w io.Writer, format string, checks []posture.Check) error {
	sorted := append([]posture.Check(nil), checks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Engine < sorted[j].Engine })
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	case "markdown":
		b := &strings.Builder{}
		counts := map[string]int{}
		var engines []string
		for _, c := range checks {
			if counts[c.Engine] == 0 {
				engines = append(engines, c.Engine)
			}
			counts[c.Engine]++
		}
		b.WriteString("| engine | checks |\n|---|---|\n")
		for _, e := range engines {
			fmt.Fprintf(b, "| %s | %d |\n", e, counts[e])
		}
		fmt.Fprintf(b, "| **total** | **%d** |\n", len(checks))
		for _, e := range engines {
			fmt.Fprintf(b, "\n### %s (%d checks)\n\n| id | severity | title | expected | references |\n|---|---|---|---|---|\n", e, counts[e])
			for _, c := range checks {
				if c.Engine != e {
					continue
				}
				title := c.Title
				if c.Host {
					title += " (host, --pgdata)"
				}
				fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", c.ID, c.Severity, mdEscape(title), mdEscape(c.Expected), mdEscape(strings.Join(c.References, "; ")))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "text", "":
		b := &strings.Builder{}
		for _, c := range checks {
			fmt.Fprintf(b, "%-24s %-40s %-8s %s\n", c.Engine, c.ID, c.Severity, c.Title)
		}
		fmt.Fprintf(b, "%d checks\n", len(checks))
		_, err := io.WriteString(w, b.String())
		return err
	}
	return fmt.Errorf("--list-checks: unknown format %q (want text, markdown or json)", format)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
