package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/vigildb/vigil/config"
)

// PagerDuty sends Events API v2 events
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
// dedup_key is the alert id: a re-sent trigger updates the same incident,
// and resolving the alert in Vigil resolves the incident.
type pagerDutyNotifier struct {
	url, key, version, baseURL string
}

func init() {
	Register(config.NotifierPagerDuty, func(c config.Notifier, env Env) (Notifier, error) {
		u := c.URL.Value()
		if u == "" {
			u = config.DefaultPagerDutyURL
		}
		return &pagerDutyNotifier{url: u, key: c.RoutingKey.Value(), version: env.Version, baseURL: env.BaseURL}, nil
	}, KindResolve, KindAck)
}

// pagerDutySeverity maps Vigil's severities onto PagerDuty's four.
func pagerDutySeverity(sev string) string {
	switch sev {
	case "critical":
		return "critical"
	case "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "info"
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

func (n *pagerDutyNotifier) event(m *Message) pdEvent {
	a := &m.Alert
	ev := pdEvent{RoutingKey: n.key, EventAction: m.Kind, DedupKey: a.ID}
	if m.Kind != KindTrigger {
		return ev // resolve and acknowledge carry only the key
	}
	c := buildContent(m)
	source := a.Entity.Server
	if source == "" {
		source = "vigil"
	}
	details := map[string]any{
		"rule_id": a.RuleID, "alert_id": a.ID, "severity": a.Severity, "count": a.Count,
		"first_time": a.FirstTime.UTC().Format(time.RFC3339), "last_time": a.LastTime.UTC().Format(time.RFC3339),
	}
	for _, f := range c.Facts {
		details[f.Name] = f.Value
	}
	if len(c.Evidence) > 0 {
		details["evidence"] = c.Evidence
	}
	for k, v := range map[string]string{"impact": c.Impact, "mitigation": c.Mitig, "description": c.Desc} {
		if v != "" {
			details[k] = v
		}
	}
	if m.Test {
		details["test"] = true
	}
	ev.Payload = &pdPayload{
		Summary:       truncate(c.Headline+" — "+c.Summary, 1024),
		Source:        source,
		Severity:      pagerDutySeverity(a.Severity),
		Component:     a.Entity.Database,
		Group:         a.RuleID,
		Class:         mitreText(a.Mitre),
		CustomDetails: details,
	}
	if !a.LastTime.IsZero() {
		ev.Payload.Timestamp = a.LastTime.UTC().Format(time.RFC3339)
	}
	ev.Client = "Vigil"
	ev.ClientURL = n.baseURL
	if m.Link != "" {
		ev.Links = []pdLink{{Href: m.Link, Text: "Open the alert in Vigil"}}
	}
	return ev
}

func (n *pagerDutyNotifier) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(n.event(m))
	if err != nil {
		return permanent("pagerduty: encode: %v", err)
	}
	_, _, err = post(ctx, n.url, body, http.Header{"User-Agent": {userAgent(n.version)}})
	return err
}
