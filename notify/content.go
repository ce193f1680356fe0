package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigildb/vigil/event"
)

// Bounds of what a message shows; the alert JSON (webhook, NDJSON) is
// sent whole.
const (
	maxEvidence     = 3   // statements shown
	maxStatementLen = 400 // characters of each
	maxTextLen      = 1500
)

// Fact is one labelled value of a message.
type Fact struct{ Name, Value string }

// content is a message as a person reads it, shared by the notifiers
// that write for people (Slack, Teams, e-mail, syslog).
type content struct {
	Headline string // "[HIGH] Failed logins burst"
	Title    string
	Severity string
	Summary  string // one line: what, where, how many
	Facts    []Fact
	Evidence []string // masked statements, bounded
	More     int      // evidence events not shown
	Desc     string
	Impact   string
	Mitig    string
	Link     string
	Footer   string // rule, alert id, delivery id
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// mitreText is "TA0006 Credential Access / T1110.001 Brute Force: Password Guessing".
func mitreText(m event.Mitre) string {
	if m.Tactic == "" && m.Technique == "" {
		return ""
	}
	t := strings.TrimSpace(m.Tactic + " " + m.TacticName)
	q := strings.TrimSpace(m.Technique + " " + m.TechniqueName)
	if t == "" {
		return q
	}
	if q == "" {
		return t
	}
	return t + " / " + q
}

func buildContent(m *Message) content {
	a := &m.Alert
	c := content{Title: a.Title, Severity: a.Severity, Link: m.Link}
	if c.Title == "" {
		c.Title = a.RuleID
	}
	prefix := "[" + strings.ToUpper(a.Severity) + "]"
	switch m.Kind {
	case KindResolve:
		prefix = "[RESOLVED]"
	case KindAck:
		prefix = "[ACK]"
	}
	if m.Test {
		prefix = "[TEST] " + prefix
	}
	c.Headline = prefix + " " + c.Title
	where := a.Entity.Server
	if a.Entity.Database != "" {
		if where != "" {
			where += " / "
		}
		where += a.Entity.Database
	}
	sum := fmt.Sprintf("%s: %d event(s)", a.RuleID, a.Count)
	if where != "" {
		sum += " on " + where
	}
	if a.Entity.User != "" {
		sum += " by " + a.Entity.User
	}
	if a.Entity.Client != "" {
		sum += " from " + a.Entity.Client
	}
	c.Summary = sum
	add := func(name, v string) {
		if v != "" {
			c.Facts = append(c.Facts, Fact{name, v})
		}
	}
	add("Severity", a.Severity)
	add("Rule", a.RuleID)
	add("MITRE ATT&CK", mitreText(a.Mitre))
	add("Server", a.Entity.Server)
	add("Database", a.Entity.Database)
	add("User", a.Entity.User)
	add("Client IP", a.Entity.Client)
	add("Application", a.Entity.App)
	if !a.FirstTime.IsZero() {
		add("First / last seen", timeText(a.FirstTime)+" / "+timeText(a.LastTime))
	}
	add("Count", fmt.Sprint(a.Count))
	if m.Status != "" && m.Status != "open" {
		add("Status", m.Status)
	}
	{
		keys := make([]string, 0, len(a.Group))
		for k := range a.Group {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		shown := map[string]string{"user.name": a.Entity.User, "client.address": a.Entity.Client,
			"server.address": a.Entity.Server, "db.namespace": a.Entity.Database, "app.name": a.Entity.App}
		for _, k := range keys {
			if shown[k] != a.Group[k] { // the entity facts show the others
				parts = append(parts, k+"="+a.Group[k])
			}
		}
		add("Group", strings.Join(parts, ", ")) // "" adds nothing
	}
	if h := m.Held; h != nil && h.Changes > 0 {
		why := "throttled"
		if h.Quiet {
			why = "held in quiet hours"
		}
		text := fmt.Sprintf("%d update(s) of %d alert(s) %s", h.Changes, h.Alerts, why)
		if !h.Since.IsZero() {
			text += " since " + timeText(h.Since)
		}
		add("Since last message", text)
	}
	for _, ev := range a.Evidence {
		text := oneLine(ev.DB.Query.Text)
		if text == "" {
			text = oneLine(strings.TrimSpace(ev.Event.Action + " " + ev.Error.Message))
		}
		if text == "" {
			continue
		}
		if len(c.Evidence) == maxEvidence {
			c.More++
			continue
		}
		c.Evidence = append(c.Evidence, truncate(text, maxStatementLen))
	}
	c.Desc = truncate(a.Description, maxTextLen)
	c.Impact = truncate(a.Impact, maxTextLen)
	c.Mitig = truncate(a.Mitigation, maxTextLen)
	c.Footer = "Vigil · rule " + a.RuleID + " · alert " + a.ID
	return c
}

// alertLink is BASE/alerts/ID.
func alertLink(base, id string) string {
	if base == "" || id == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/alerts/" + id
}

// sampleAlert is what `vigil notify test` sends.
func sampleAlert(now time.Time) event.Alert {
	t0 := now.Add(-3 * time.Minute).UTC().Truncate(time.Second)
	ev := event.Event{Time: t0}
	ev.Event.Action = "login_failed"
	ev.Event.Category = "authentication"
	ev.Event.Outcome = "failure"
	ev.Error.Message = `password authentication failed for user "app"`
	ev.User.Name = "app"
	ev.Client.Address = "203.0.113.7"
	ev2 := event.Event{Time: now.UTC().Truncate(time.Second)}
	ev2.DB.Query.Text = "SELECT * FROM pg_catalog.pg_shadow WHERE usename = '***'"
	return event.Alert{
		ID:        fmt.Sprintf("test-%d", now.UnixNano()),
		RuleID:    "auth.failed_login_burst",
		Title:     "Burst of failed logins from one client (test message)",
		Severity:  event.SeverityHigh,
		Mitre:     event.Mitre{Tactic: "TA0006", TacticName: "Credential Access", Technique: "T1110.001", TechniqueName: "Brute Force: Password Guessing"},
		FirstTime: t0,
		LastTime:  now.UTC().Truncate(time.Second),
		Count:     12,
		Group:     map[string]string{"client.address": "203.0.113.7"},
		Entity: event.Entity{User: "app", Client: "203.0.113.7", Server: "db1.example.com:5432", Database: "shop",
			App: "psql"},
		Evidence:    []event.Event{ev, ev2},
		Description: "This is a test message sent by `vigil notify test`; no alert was raised.",
		Impact:      "Someone may be guessing passwords; a success would give them the database user's access.",
		Mitigation:  "Block the client address, check the user's password strength, and look for a successful login from it.",
		Tags:        []string{"test"},
	}
}
