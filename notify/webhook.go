package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
)

// AlertDocument is the JSON a webhook receives and an NDJSON line holds:
// the alert in the shape of SPEC §3 (its fields at the top level), its
// status and link, and what this delivery is.
type AlertDocument struct {
	event.Alert
	Status   string       `json:"status"`
	URL      string       `json:"url,omitempty"`
	Delivery DeliveryMeta `json:"delivery"`
}

// DeliveryMeta describes one delivery. ID is the same on every retry and
// after a restart: a receiver that sees an ID twice has the message already.
type DeliveryMeta struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // trigger, resolve, acknowledge
	Route    string    `json:"route"`
	Notifier string    `json:"notifier"`
	Time     time.Time `json:"time"`
	Held     *Held     `json:"held,omitempty"`
	Test     bool      `json:"test,omitempty"`
}

func document(m *Message) AlertDocument {
	return AlertDocument{Alert: m.Alert, Status: m.Status, URL: m.Link, Delivery: DeliveryMeta{
		ID: m.DeliveryID, Kind: m.Kind, Route: m.Route, Notifier: m.Notifier, Time: m.Time, Held: m.Held, Test: m.Test}}
}

// Signature is the X-Vigil-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>".
// Receivers recompute it, compare in constant time, and refuse old t.
func Signature(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a X-Vigil-Signature header against body, and
// that its time is within tolerance of now. It is what a receiver in Go
// does; docs/notify.md shows the same in a few lines of Python.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature time %s is outside the tolerance", time.Unix(sec, 0).UTC())
	}
	want := Signature(secret, time.Unix(sec, 0), body)
	_, wantHex, _ := strings.Cut(want, ",v1=")
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(wantHex)) {
			return nil
		}
	}
	return fmt.Errorf("signature mismatch")
}

type webhookNotifier struct {
	url     string
	secret  []byte
	headers http.Header
	version string
	now     func() time.Time
}

func init() {
	Register(config.NotifierWebhook, func(c config.Notifier, env Env) (Notifier, error) {
		n := &webhookNotifier{url: c.URL.Value(), version: env.Version, headers: http.Header{}, now: time.Now}
		if c.HMACSecret.IsSet() {
			n.secret = []byte(c.HMACSecret.Value())
		}
		for _, h := range c.Headers {
			n.headers.Add(h.Name, h.Value.Value())
		}
		return n, nil
	}, KindResolve, KindAck)
}

func (n *webhookNotifier) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(document(m))
	if err != nil {
		return permanent("webhook: encode: %v", err)
	}
	h := n.headers.Clone()
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent(n.version))
	h.Set("X-Vigil-Delivery", m.DeliveryID)
	h.Set("X-Vigil-Event", m.Kind)
	if n.secret != nil {
		h.Set("X-Vigil-Signature", Signature(n.secret, n.now(), body))
	}
	_, _, err = post(ctx, n.url, body, h)
	return err
}
