// Package notify sends alerts where people look: Slack, Microsoft Teams,
// PagerDuty, webhooks, e-mail, syslog/CEF and NDJSON files.
//
// Delivery is at least once and never a flood:
//
//   - The store journals every alert change in the transaction that makes
//     it (store.AlertChanges). A dispatcher reads the journal after its
//     cursor, routes each change (config.Route), applies the route's
//     throttle and quiet hours, and inserts one delivery per notifier into
//     the outbox (table notify_outbox) — in one transaction with the
//     cursor and the throttle state, so a crash neither loses nor doubles
//     a delivery.
//   - A sender per notifier works the outbox: it retries with exponential
//     backoff and jitter, honours Retry-After, gives up after the
//     notifier's max_age and records why. Pending deliveries resume after
//     a restart.
//   - A delivery may be sent twice (a crash after the receiver took it and
//     before the outbox said so). Each carries a stable id (the
//     X-Vigil-Delivery header, the "delivery.id" field) and PagerDuty
//     events carry dedup_key = alert id, so receivers can tell.
//
// Notifiers register themselves by type name (Register); each is one file.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
)

// Kinds of message.
const (
	KindTrigger = "trigger" // an alert was raised or grew
	KindResolve = "resolve" // an analyst resolved it
	KindAck     = "acknowledge"
)

// Message is what a notifier sends: one alert (as the store holds it) and
// why it is sent. Messages are kept in the outbox as JSON, so a retry
// sends exactly what the first attempt did.
type Message struct {
	// DeliveryID is stable across retries and restarts.
	DeliveryID string `json:"id"`
	Kind       string `json:"kind"` // trigger, resolve, acknowledge
	Route      string `json:"route"`
	Notifier   string `json:"notifier"`
	// Time is when the message was queued.
	Time  time.Time   `json:"time"`
	Alert event.Alert `json:"alert"`
	// Status is the alert's status (open, ack, resolved).
	Status string `json:"status"`
	// Link is the alert in Vigil's UI/API ("" without alert_base_url).
	Link string `json:"link,omitempty"`
	// Held counts what the route's throttle or quiet hours held back since
	// the previous message of this rule and key: the alert changes and
	// the distinct alerts. Zero when nothing was held.
	Held *Held `json:"held,omitempty"`
	// Test marks `vigil notify test` messages.
	Test bool `json:"test,omitempty"`
}

// Held is what a message summarizes.
type Held struct {
	Changes int64     `json:"changes"` // alert changes (new alerts and updates) not sent one by one
	Alerts  int64     `json:"alerts"`  // distinct alerts among them
	Since   time.Time `json:"since"`   // the previous message of this rule and key
	Quiet   bool      `json:"quiet,omitempty"`
}

// Notifier sends messages to one destination. Send must be safe for
// concurrent use; it returns nil when the receiver took the message, a
// *SendError to say whether and when to retry, or another error (retried).
type Notifier interface {
	Send(ctx context.Context, m *Message) error
}

// Env is what a notifier's constructor gets besides its config.
type Env struct {
	Version string // Vigil's version, for User-Agent and CEF headers
	BaseURL string // alert_base_url
	// Hostname is the HOSTNAME field of syslog messages.
	Hostname string
}

// Factory makes a notifier from its config.
type Factory func(c config.Notifier, env Env) (Notifier, error)

type registration struct {
	factory Factory
	kinds   []string // message kinds it sends besides trigger
}

var (
	regMu    sync.RWMutex
	registry = map[string]registration{}
)

// Register makes a notifier type available by name. kinds are the message
// kinds it sends besides trigger (KindResolve, KindAck): a Slack message
// for every resolved alert would be noise, a PagerDuty resolve is not.
func Register(typ string, f Factory, kinds ...string) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("notify: notifier type registered twice: " + typ)
	}
	registry[typ] = registration{factory: f, kinds: kinds}
}

// Types lists the registered notifier types.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func lookup(typ string) (registration, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	r, ok := registry[typ]
	return r, ok
}

func (r registration) sends(kind string) bool {
	if kind == KindTrigger {
		return true
	}
	for _, k := range r.kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// SendError is a failed attempt with what the receiver said about
// retrying.
type SendError struct {
	Err error
	// Permanent: retrying cannot help (a 400 or 404 from the receiver, a
	// rejected recipient); the delivery is failed at once.
	Permanent bool
	// RetryAfter is the receiver's Retry-After, if it gave one.
	RetryAfter time.Duration
	Status     int // HTTP status, if any
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &SendError{Err: fmt.Errorf(format, args...), Permanent: true}
}

// isPermanent reports whether err says not to retry.
func isPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

func retryAfter(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// RedactURL shows where a URL points without what makes it secret: the
// scheme and host only ("https://hooks.slack.com/***"). Slack and Teams
// webhook URLs are credentials.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "***"
	}
	return u.Scheme + "://" + u.Host + "/***"
}

// scrub removes a secret from a text (an error message) where it appears.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}
