package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/vigildb/vigil/config"
)

// Slack posts a Block Kit message to an incoming webhook
// (https://api.slack.com/messaging/webhooks): a header with severity and
// title, a summary, the facts as section fields, the evidence, impact and
// mitigation, a button to the alert, and a context line.
type slackNotifier struct {
	url, version string
}

func init() {
	Register(config.NotifierSlack, func(c config.Notifier, env Env) (Notifier, error) {
		return &slackNotifier{url: c.URL.Value(), version: env.Version}, nil
	})
}

// Slack's limits: header text 150 characters, section text 3000, at
// most 10 fields of 2000.
const (
	slackHeaderMax  = 150
	slackTextMax    = 3000
	slackFieldsMax  = 10
	slackFieldTxMax = 2000
)

// mrkdwn escapes the three characters Slack's mrkdwn gives meaning to.
func mrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []any       `json:"elements,omitempty"`
}

type slackButton struct {
	Type     string    `json:"type"`
	Text     slackText `json:"text"`
	URL      string    `json:"url"`
	ActionID string    `json:"action_id"`
}

func slackPayload(m *Message) map[string]any {
	c := buildContent(m)
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(c.Headline, slackHeaderMax), Emoji: true}},
		{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(mrkdwn(c.Summary), slackTextMax)}},
	}
	var fields []slackText
	var rest []string
	for _, f := range c.Facts {
		if len(fields) == slackFieldsMax {
			rest = append(rest, "*"+mrkdwn(f.Name)+":* "+mrkdwn(f.Value))
			continue
		}
		fields = append(fields, slackText{Type: "mrkdwn", Text: truncate("*"+mrkdwn(f.Name)+"*\n"+mrkdwn(f.Value), slackFieldTxMax)})
	}
	blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	if len(rest) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(strings.Join(rest, "\n"), slackTextMax)}})
	}
	if len(c.Evidence) > 0 {
		var b strings.Builder
		b.WriteString("*Evidence* (masked)")
		for _, e := range c.Evidence {
			b.WriteString("\n```" + mrkdwn(strings.ReplaceAll(e, "```", "'''")) + "```")
		}
		if c.More > 0 {
			b.WriteString("\n_… and more in Vigil_")
		}
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(b.String(), slackTextMax)}})
	}
	for _, s := range []struct{ name, text string }{{"What it means", c.Desc}, {"Impact", c.Impact}, {"What to do", c.Mitig}} {
		if s.text != "" {
			blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate("*"+s.name+"*\n"+mrkdwn(s.text), slackTextMax)}})
		}
	}
	if c.Link != "" {
		blocks = append(blocks, slackBlock{Type: "actions", Elements: []any{slackButton{Type: "button",
			Text: slackText{Type: "plain_text", Text: "Open in Vigil"}, URL: c.Link, ActionID: "vigil-open-alert"}}})
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []any{slackText{Type: "mrkdwn", Text: mrkdwn(c.Footer)}}})
	// text is the notification's fallback (push notifications, screen readers).
	return map[string]any{"text": truncate(c.Headline+" — "+c.Summary, slackTextMax), "blocks": blocks}
}

func (n *slackNotifier) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(slackPayload(m))
	if err != nil {
		return permanent("slack: encode: %v", err)
	}
	h := http.Header{"User-Agent": {userAgent(n.version)}}
	_, _, err = post(ctx, n.url, body, h)
	return err
}
