package notify

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vigildb/vigil/config"
)

// Teams posts an Adaptive Card (version 1.4) to a Microsoft Teams
// workflow webhook ("Post to a channel when a webhook request is
// received"), in the message envelope the workflow expects.
type teamsNotifier struct {
	url, version string
}

func init() {
	Register(config.NotifierTeams, func(c config.Notifier, env Env) (Notifier, error) {
		return &teamsNotifier{url: c.URL.Value(), version: env.Version}, nil
	})
}

func teamsColor(sev string) string {
	switch sev {
	case "critical", "high":
		return "Attention"
	case "medium":
		return "Warning"
	}
	return "Default"
}

func teamsPayload(m *Message) map[string]any {
	c := buildContent(m)
	body := []any{
		map[string]any{"type": "TextBlock", "text": c.Headline, "size": "Large", "weight": "Bolder", "wrap": true,
			"color": teamsColor(c.Severity), "style": "heading"},
		map[string]any{"type": "TextBlock", "text": c.Summary, "wrap": true, "isSubtle": true},
	}
	facts := make([]map[string]string, 0, len(c.Facts))
	for _, f := range c.Facts {
		facts = append(facts, map[string]string{"title": f.Name, "value": f.Value})
	}
	body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	if len(c.Evidence) > 0 {
		body = append(body, map[string]any{"type": "TextBlock", "text": "Evidence (masked)", "weight": "Bolder", "wrap": true, "spacing": "Medium"})
		for _, e := range c.Evidence {
			body = append(body, map[string]any{"type": "TextBlock", "text": e, "fontType": "Monospace", "wrap": true, "spacing": "Small"})
		}
	}
	for _, s := range []struct{ name, text string }{{"What it means", c.Desc}, {"Impact", c.Impact}, {"What to do", c.Mitig}} {
		if s.text != "" {
			body = append(body,
				map[string]any{"type": "TextBlock", "text": s.name, "weight": "Bolder", "wrap": true, "spacing": "Medium"},
				map[string]any{"type": "TextBlock", "text": s.text, "wrap": true})
		}
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": c.Footer, "isSubtle": true, "size": "Small", "wrap": true})
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
		"msteams": map[string]any{"width": "Full"},
	}
	if c.Link != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open in Vigil", "url": c.Link}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}

func (n *teamsNotifier) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(teamsPayload(m))
	if err != nil {
		return permanent("teams: encode: %v", err)
	}
	_, _, err = post(ctx, n.url, body, http.Header{"User-Agent": {userAgent(n.version)}})
	return err
}
