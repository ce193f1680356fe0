package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const notifyBase = minimal + `alert_base_url: https://vigil.example.com/
notifiers:
  - name: slack-sec
    type: slack
    url: ${env:TEST_SLACK_URL}
  - name: pager
    type: pagerduty
    routing_key: ${env:TEST_PD_KEY}
    max_age: 2h
  - name: soar
    type: webhook
    url: https://soar.example.com/hooks/vigil
    secret: ${file:hmac.key}
    headers:
      Authorization: ${env:TEST_HOOK_AUTH}
    timeout: 5s
    concurrency: 4
  - name: mail
    type: email
    host: smtp.example.com
    username: vigil
    password: ${env:TEST_SMTP_PASSWORD}
    from: vigil@example.com
    to: [dba@example.com, soc@example.com]
  - name: siem
    type: syslog
    address: tls://siem.example.com:6514
    format: cef
  - name: file
    type: ndjson
    path: alerts.ndjson
routes:
  - name: pager
    min_severity: critical
    notifiers: [pager]
    continue: true
  - name: iam
    rules: ["iam.*", "dcl.grant"]
    servers: ["prod-*"]
    notifiers: [soar, mail]
    throttle: 30m
    group_by: [user.name]
    quiet_hours: {start: "22:00", end: "07:00", timezone: Europe/Berlin, except_severity: high}
  - name: default
    notifiers: [slack-sec, siem, file]
    throttle: 0
`

func setNotifyEnv(t *testing.T, dir string) {
	t.Setenv("TEST_SLACK_URL", "https://hooks.slack.com/services/T0/B0/s3cr3tslack")
	t.Setenv("TEST_PD_KEY", "pdkey0123456789abcdef")
	t.Setenv("TEST_HOOK_AUTH", "Bearer hooktoken123")
	t.Setenv("TEST_SMTP_PASSWORD", "smtp-pa55word")
	os.WriteFile(filepath.Join(dir, "hmac.key"), []byte("hmac-secret-0123456789\n"), 0o600)
}

func TestNotifyConfig(t *testing.T) {
	dir := t.TempDir()
	setNotifyEnv(t, dir)
	c, err := Parse(filepath.Join(dir, "v.yaml"), []byte(notifyBase))
	if err != nil {
		t.Fatal(err)
	}
	if c.AlertBaseURL != "https://vigil.example.com" || len(c.Notifiers) != 6 || len(c.Routes) != 3 {
		t.Fatalf("config = %+v", c)
	}
	n := c.Notifiers
	if n[0].URL.Value() != "https://hooks.slack.com/services/T0/B0/s3cr3tslack" || n[0].URL.From != "env:TEST_SLACK_URL" ||
		n[0].Timeout != DefaultNotifyTimeout || n[0].MaxAge != DefaultNotifyMaxAge {
		t.Errorf("slack = %+v", n[0])
	}
	if n[1].RoutingKey.Value() != "pdkey0123456789abcdef" || n[1].URL.Value() != DefaultPagerDutyURL || n[1].MaxAge != 2*time.Hour {
		t.Errorf("pagerduty = %+v", n[1])
	}
	if n[2].HMACSecret.Value() != "hmac-secret-0123456789" || len(n[2].Headers) != 1 || n[2].Headers[0].Value.Value() != "Bearer hooktoken123" ||
		n[2].Timeout != 5*time.Second || n[2].Concurrency != 4 {
		t.Errorf("webhook = %+v", n[2])
	}
	if n[3].Port != 587 || n[3].TLSMode != "starttls" || n[3].Password.Value() != "smtp-pa55word" || len(n[3].To) != 2 {
		t.Errorf("email = %+v", n[3])
	}
	if n[4].Format != "cef" || n[4].Facility != "local0" || n[4].AppName != "vigil" || n[4].Address != "tls://siem.example.com:6514" {
		t.Errorf("syslog = %+v", n[4])
	}
	if n[5].Path != filepath.Join(dir, "alerts.ndjson") {
		t.Errorf("ndjson = %+v", n[5])
	}
	r := c.Routes
	if r[0].MinSeverity != "critical" || !r[0].Continue || r[0].Throttle != DefaultThrottle {
		t.Errorf("route 0 = %+v", r[0])
	}
	q := r[1].QuietHours
	if r[1].Throttle != 30*time.Minute || fmt.Sprint(r[1].Rules) != "[iam.* dcl.grant]" || q == nil || q.Start != 22*60 || q.End != 7*60 ||
		q.Location.String() != "Europe/Berlin" || q.Except != "high" || fmt.Sprint(r[1].GroupBy) != "[user.name]" {
		t.Errorf("route 1 = %+v", r[1])
	}
	if r[2].Throttle != 0 || len(r[2].Notifiers) != 3 {
		t.Errorf("route 2 = %+v", r[2])
	}
	// Secrets never print.
	sum := c.NotifySummary() + fmt.Sprintf("%v %+v %#v", c.Notifiers, c.Notifiers, c.Notifiers)
	for _, sec := range []string{"s3cr3tslack", "pdkey0123", "hooktoken123", "smtp-pa55word", "hmac-secret"} {
		if strings.Contains(sum, sec) {
			t.Errorf("secret %q printed:\n%s", sec, sum)
		}
	}
	if !strings.Contains(c.NotifySummary(), "default: every alert -> slack-sec, siem, file") {
		t.Errorf("summary:\n%s", c.NotifySummary())
	}
}

func TestQuietHoursClock(t *testing.T) {
	q := &QuietHours{Start: 22 * 60, End: 7 * 60, Location: time.UTC}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{at(21, 59), false}, {at(22, 0), true}, {at(3, 0), true}, {at(6, 59), true}, {at(7, 0), false}} {
		if q.Active(c.t) != c.want {
			t.Errorf("Active(%s) = %v", c.t, !c.want)
		}
	}
	if end := q.EndAfter(at(23, 0)); !end.Equal(at(7, 0).AddDate(0, 0, 1)) {
		t.Errorf("EndAfter(23:00) = %s", end)
	}
	if end := q.EndAfter(at(3, 0)); !end.Equal(at(7, 0)) {
		t.Errorf("EndAfter(03:00) = %s", end)
	}
}

func TestNotifyConfigInvalid(t *testing.T) {
	dir := t.TempDir()
	setNotifyEnv(t, dir)
	t.Setenv("TEST_EMPTY", "")
	hook := "notifiers:\n  - name: h\n    type: webhook\n    url: https://h.example.com/x\n"
	rt := "routes:\n  - name: r\n    notifiers: [h]\n"
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unknown type", minimal + "notifiers:\n  - name: x\n    type: sms\n", []string{`v.yaml:7:11: notifiers[0].type: unknown notifier type "sms"`}},
		{"missing type", minimal + "notifiers:\n  - name: x\n", []string{"v.yaml:6:5: notifiers[0].type: required"}},
		{"slack without url", minimal + "notifiers:\n  - name: s\n    type: slack\n" + "routes:\n  - {name: r, notifiers: [s]}\n", []string{"v.yaml:6:5: notifiers[0].url: required: the Slack incoming webhook URL"}},
		{"slack url env unset", minimal + "notifiers:\n  - name: s\n    type: slack\n    url: ${env:TEST_NOPE_UNSET}\n", []string{"v.yaml:8:10: notifiers[0].url: environment variable TEST_NOPE_UNSET is not set"}},
		{"slack http remote", minimal + "notifiers:\n  - name: s\n    type: slack\n    url: http://hooks.slack.com/services/T/B/tok3n\n", []string{"v.yaml:8:10: notifiers[0].url: http:// to hooks.slack.com (beyond loopback)"}},
		{"bad url not echoed", minimal + "notifiers:\n  - name: s\n    type: teams\n    url: ftp://x/sekrit\n", []string{"v.yaml:8:10: notifiers[0].url: must be an https:// URL"}},
		{"key of other type", minimal + "notifiers:\n  - name: s\n    type: slack\n    routing_key: abc\n", []string{"v.yaml:8:5: notifiers[0].routing_key: not a key of slack notifiers (it belongs to pagerduty notifiers)"}},
		{"unknown key", minimal + hook + "    secrit: abc\n" + rt, []string{`v.yaml:9:5: notifiers[0].secrit: unknown key (did you mean "secret"?)`}},
		{"short hmac", minimal + hook + "    secret: short\n" + rt, []string{"v.yaml:9:13: notifiers[0].secret: too short"}},
		{"vigil header", minimal + hook + "    headers:\n      X-Vigil-Delivery: x\n" + rt, []string{"v.yaml:10:7: notifiers[0].headers.X-Vigil-Delivery: X-Vigil-Delivery is set by Vigil itself"}},
		{"pagerduty without key", minimal + "notifiers:\n  - name: p\n    type: pagerduty\n", []string{"v.yaml:6:5: notifiers[0].routing_key: required"}},
		{"empty secret env", minimal + "notifiers:\n  - name: p\n    type: pagerduty\n    routing_key: ${env:TEST_EMPTY}\n", []string{"v.yaml:8:18: notifiers[0].routing_key: environment variable TEST_EMPTY is empty"}},
		{"email missing", minimal + "notifiers:\n  - name: m\n    type: email\n", []string{"notifiers[0].host: required", "notifiers[0].from: required", "notifiers[0].to: required"}},
		{"email bad tls", minimal + "notifiers:\n  - {name: m, type: email, host: h, from: a@b, to: c@d, tls: ssl}\n", []string{`v.yaml:6:62: notifiers[0].tls: must be starttls, tls (implicit TLS, port 465) or none, not "ssl"`}},
		{"email none remote", minimal + "notifiers:\n  - {name: m, type: email, host: smtp.example.com, from: a@b, to: c@d, tls: none}\n", []string{"notifiers[0].tls: tls: none to smtp.example.com (beyond loopback)"}},
		{"email bad recipient", minimal + "notifiers:\n  - name: m\n    type: email\n    host: h\n    from: a@b\n    to: [dba]\n", []string{`v.yaml:10:10: notifiers[0].to[0]: "dba" is not an e-mail address`}},
		{"email password without user", minimal + "notifiers:\n  - {name: m, type: email, host: h, from: a@b, to: c@d, password: pw}\n", []string{"notifiers[0].password: a password needs a username"}},
		{"syslog bad address", minimal + "notifiers:\n  - name: s\n    type: syslog\n    address: siem:514\n", []string{"v.yaml:8:14: notifiers[0].address: must be udp://HOST:PORT"}},
		{"syslog bad format", minimal + "notifiers:\n  - {name: s, type: syslog, address: 'udp://h:514', format: leef}\n", []string{`notifiers[0].format: must be rfc5424 or cef, not "leef"`}},
		{"syslog bad facility", minimal + "notifiers:\n  - {name: s, type: syslog, address: 'udp://h:514', facility: local9}\n", []string{`notifiers[0].facility: unknown syslog facility "local9"`}},
		{"duplicate notifier", minimal + "notifiers:\n  - {name: f, type: ndjson}\n  - {name: f, type: ndjson}\n", []string{`v.yaml:7:12: notifiers[1].name: duplicate notifier name "f" (first used at line 6)`}},
		{"bad timeout", minimal + hook + "    timeout: soon\n" + rt, []string{`v.yaml:9:14: notifiers[0].timeout: bad duration "soon"`}},
		{"bad concurrency", minimal + hook + "    concurrency: 0\n" + rt, []string{`v.yaml:9:18: notifiers[0].concurrency: must be a number from 1 to 64`}},
		{"route unknown notifier", minimal + hook + "routes:\n  - name: r\n    notifiers: [h, nope]\n", []string{`v.yaml:11:20: routes[0].notifiers[1]: unknown notifier "nope" (known: h)`}},
		{"route before notifiers", minimal + "routes:\n  - name: r\n    notifiers: [nope]\n" + hook, []string{`v.yaml:7:17: routes[0].notifiers[0]: unknown notifier "nope" (known: h)`}},
		{"routes without notifiers", minimal + "routes:\n  - name: r\n    notifiers: [h]\n", []string{`v.yaml:7:17: routes[0].notifiers[0]: unknown notifier "h": there is no notifiers section`}},
		{"notifiers without routes", minimal + hook, []string{"v.yaml:6:3: notifiers: no routes"}},
		{"route bad severity", minimal + hook + rt + "    min_severity: urgent\n", []string{`v.yaml:12:19: routes[0].min_severity: must be one of info, low, medium, high, critical, not "urgent"`}},
		{"route bad glob", minimal + hook + rt + "    rules: ['iam.[']\n", []string{`v.yaml:12:13: routes[0].rules[0]: bad pattern "iam.["`}},
		{"route without notifiers", minimal + hook + "routes:\n  - name: r\n", []string{"v.yaml:10:5: routes[0].notifiers: required"}},
		{"route duplicate", minimal + hook + rt + "  - name: r\n    notifiers: [h]\n", []string{`v.yaml:12:11: routes[1].name: duplicate route name "r" (first used at line 10)`}},
		{"route bad throttle", minimal + hook + rt + "    throttle: -5m\n", []string{`v.yaml:12:15: routes[0].throttle: bad duration "-5m"`}},
		{"route quiet hours", minimal + hook + rt + "    quiet_hours: {start: '25:00', end: '07:00', timezone: Mars/Olympus}\n",
			[]string{`routes[0].quiet_hours.start: must be a time of day HH:MM, not "25:00"`, `routes[0].quiet_hours.timezone: unknown time zone "Mars/Olympus"`}},
		{"route unknown key", minimal + hook + rt + "    severity: high\n", []string{`v.yaml:12:5: routes[0].severity: unknown key`}},
		{"bad base url", minimal + "alert_base_url: vigil.example.com\n", []string{`v.yaml:5:17: alert_base_url: must be an http:// or https:// URL`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "v.yaml"), []byte(c.src))
			if err == nil {
				t.Fatalf("no error; config:\n%s", cfg.NotifySummary())
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, not Errors", err)
			}
			got := strings.ReplaceAll(err.Error(), dir+"/", "")
			rest := got
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("want %q (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, e := range errs {
				if e.Pos.Line == 0 || e.Key == "" {
					t.Errorf("error without a line or key: %v", e)
				}
			}
			for _, sec := range []string{"tok3n", "sekrit", "s3cr3tslack"} {
				if strings.Contains(got, sec) {
					t.Errorf("error shows a secret: %s", got)
				}
			}
		})
	}
}

// TestExampleNotifySection loads the example with its commented-out
// notifiers and routes switched on.
func TestExampleNotifySection(t *testing.T) {
	ex := Example()
	i, j := strings.Index(ex, "# notifiers:"), strings.Index(ex, "# (end of notifications)")
	if i < 0 || j < i {
		t.Fatal("the example has no commented notifiers section")
	}
	var b strings.Builder
	b.WriteString(ex[:i])
	for _, line := range strings.SplitAfter(ex[i:j], "\n") {
		switch {
		// Commented-out YAML: indented lines and the section keys; the
		// rest is prose.
		case strings.HasPrefix(line, "#  "), strings.HasPrefix(line, "# notifiers:"), strings.HasPrefix(line, "# routes:"),
			strings.HasPrefix(line, "# alert_base_url:"):
			b.WriteString(line[2:])
		default:
			b.WriteString(line)
		}
	}
	b.WriteString(ex[j:])
	dir := t.TempDir()
	for k, v := range map[string]string{"VIGIL_TOKEN": testToken, "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
		"TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/x", "PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef",
		"SMTP_PASSWORD": "pw", "VIGIL_WEBHOOK_SECRET": "0123456789abcdef0123"} {
		t.Setenv(k, v)
	}
	path := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(path, []byte(b.String()), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(c.Notifiers) < 5 || len(c.Routes) < 2 {
		t.Errorf("notifiers %d, routes %d", len(c.Notifiers), len(c.Routes))
	}
}
