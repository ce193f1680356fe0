package notify

import (
	"context"
	"database/sql"
	"encoding/json"

	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigildb/vigil/store"
)

func encodeMessage(m *Message) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode message: %w", err)
	}
	return string(b), nil
}

// delivery is one outbox row being worked on.
type delivery struct {
	seq      int64
	id       string
	alertID  string
	created  time.Time
	attempts int
	body     string
}

// runSender works t's part of the outbox until ctx ends: up to
// Concurrency deliveries at once, the oldest first, and for one alert
// one at a time and in order (a resolve never overtakes its trigger).
func (s *Service) runSender(ctx context.Context, t *target) {
	inflight := map[int64]bool{}
	done := make(chan int64)
	for {
		if n := t.cfg.Concurrency - len(inflight); n > 0 && ctx.Err() == nil {
			ds, err := s.claim(ctx, t, n, inflight)
			if err != nil && ctx.Err() == nil {
				s.log.Error("notify: read outbox", "notifier", t.cfg.Name, "err", err)
			}
			for _, d := range ds {
				inflight[d.seq] = true
				go func() {
					s.attempt(ctx, t, d)
					done <- d.seq
				}()
			}
		}
		wait := s.opts.PollInterval * 30
		if len(inflight) < t.cfg.Concurrency {
			if next, ok := s.nextDue(ctx, t, inflight); ok {
				wait = min(wait, max(next.Sub(s.opts.Now()), time.Millisecond))
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			for len(inflight) > 0 {
				delete(inflight, <-done)
			}
			return
		case seq := <-done:
			delete(inflight, seq)
		case <-t.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// claim returns up to n due deliveries of t not in flight.
func (s *Service) claim(ctx context.Context, t *target, n int, inflight map[int64]bool) ([]delivery, error) {
	rows, err := s.st.Reader().QueryContext(ctx, `SELECT seq, id, alert_id, created, attempts, body FROM notify_outbox o
		WHERE notifier = ? AND status = 'pending' AND next_attempt <= ?
		AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.alert_id = o.alert_id AND p.notifier = o.notifier
			AND p.status = 'pending' AND p.seq < o.seq)
		ORDER BY seq LIMIT ?`, t.cfg.Name, s.opts.Now().UnixNano(), n+len(inflight))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		var created int64
		if err := rows.Scan(&d.seq, &d.id, &d.alertID, &created, &d.attempts, &d.body); err != nil {
			return nil, err
		}
		if inflight[d.seq] || len(out) == n {
			continue
		}
		d.created = time.Unix(0, created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// nextDue is when t's next pending delivery not in flight is due.
func (s *Service) nextDue(ctx context.Context, t *target, inflight map[int64]bool) (time.Time, bool) {
	rows, err := s.st.Reader().QueryContext(ctx, `SELECT seq, next_attempt FROM notify_outbox
		WHERE notifier = ? AND status = 'pending' ORDER BY next_attempt LIMIT ?`, t.cfg.Name, len(inflight)+1)
	if err != nil {
		return time.Time{}, false
	}
	defer rows.Close()
	for rows.Next() {
		var seq, next int64
		if rows.Scan(&seq, &next) == nil && !inflight[seq] {
			return time.Unix(0, next), true
		}
	}
	return time.Time{}, false
}

// attempt sends one delivery and records the outcome. When ctx ends
// during the attempt nothing is recorded: the delivery stays pending and
// the next run sends it again (same id).
func (s *Service) attempt(ctx context.Context, t *target, d delivery) {
	var m Message
	if err := json.Unmarshal([]byte(d.body), &m); err != nil {
		s.record(ctx, t, d, permanent("stored message unreadable: %v", err))
		return
	}
	sctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	err := t.n.Send(sctx, &m)
	cancel()
	if err != nil && ctx.Err() != nil {
		return
	}
	s.record(ctx, t, d, err)
}

func (s *Service) backoff(attempts int) time.Duration {
	d := s.opts.RetryBase
	for i := 1; i < attempts && d < s.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.opts.RetryMax)
	// Jitter: somewhere in [d/2, d], so that many deliveries failed by one
	// outage do not all come back at once.
	return d/2 + rand.N(d/2+1)
}

func (s *Service) record(ctx context.Context, t *target, d delivery, sendErr error) {
	// Record even when ctx ends now: a delivery the receiver took must
	// not stay pending, or it is sent again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.opts.Now()
	attempts := d.attempts + 1
	name := t.cfg.Name
	var q string
	var args []any
	var gaveUp bool
	var msg string
	switch {
	case sendErr == nil:
		q, args = `UPDATE notify_outbox SET status = 'sent', attempts = ?, last_attempt = ?, done = ?, last_error = '' WHERE seq = ?`,
			[]any{attempts, now.UnixNano(), now.UnixNano(), d.seq}
	default:
		msg = scrub(sendErr.Error(), t.secrets...)
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		deadline := d.created.Add(t.cfg.MaxAge)
		if isPermanent(sendErr) || !now.Before(deadline) {
			gaveUp = true
			why := fmt.Sprintf("gave up after %d attempt(s) over %s: %s", attempts, now.Sub(d.created).Round(time.Millisecond), msg)
			if isPermanent(sendErr) {
				why = fmt.Sprintf("refused by the receiver (not retried) after %d attempt(s): %s", attempts, msg)
			}
			q, args = `UPDATE notify_outbox SET status = 'failed', attempts = ?, last_attempt = ?, done = ?, last_error = ? WHERE seq = ?`,
				[]any{attempts, now.UnixNano(), now.UnixNano(), why, d.seq}
			msg = why
		} else {
			wait := s.backoff(attempts)
			if ra := retryAfter(sendErr); ra > 0 {
				wait = ra
			}
			next := now.Add(wait)
			if next.After(deadline) {
				next = deadline // one last try at max_age
			}
			q, args = `UPDATE notify_outbox SET attempts = ?, last_attempt = ?, next_attempt = ?, last_error = ? WHERE seq = ?`,
				[]any{attempts, now.UnixNano(), next.UnixNano(), msg, d.seq}
		}
	}
	err := s.st.WriteTx(rctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(rctx, q, args...)
		return err
	})
	if err != nil {
		s.log.Error("notify: record delivery", "notifier", name, "delivery", d.id, "err", err)
		return
	}
	switch {
	case sendErr == nil:
		s.metrics.sent.WithLabelValues(name).Inc()
		s.log.Debug("notify: delivered", "notifier", name, "delivery", d.id, "alert", d.alertID, "attempts", attempts)
	case gaveUp:
		s.metrics.failed.WithLabelValues(name).Inc()
		s.metrics.gaveUp.WithLabelValues(name).Inc()
		s.log.Error("notify: delivery failed", "notifier", name, "delivery", d.id, "alert", d.alertID, "err", msg)
	default:
		s.metrics.failed.WithLabelValues(name).Inc()
		s.metrics.retried.WithLabelValues(name).Inc()
		s.log.Warn("notify: delivery attempt failed; will retry", "notifier", name, "delivery", d.id, "alert", d.alertID,
			"attempt", attempts, "err", msg)
	}
}

type metrics struct {
	sent, failed, retried, gaveUp *prometheus.CounterVec
	pending                       *pendingCollector
}

func newMetrics(st *store.Store) *metrics {
	c := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"notifier"})
	}
	return &metrics{
		sent:    c("vigil_notify_sent_total", "Deliveries the receiver took, by notifier."),
		failed:  c("vigil_notify_failed_total", "Failed delivery attempts, by notifier."),
		retried: c("vigil_notify_retried_total", "Failed attempts scheduled for a retry, by notifier."),
		gaveUp:  c("vigil_notify_gave_up_total", "Deliveries given up (max_age reached or refused by the receiver), by notifier."),
		pending: &pendingCollector{st: st, desc: prometheus.NewDesc("vigil_notify_outbox_pending",
			"Deliveries waiting in the outbox, by notifier.", []string{"notifier"}, nil)},
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sent, m.failed, m.retried, m.gaveUp, m.pending}
}

// pendingCollector counts the outbox at scrape time, so the gauge is
// right across restarts and other processes.
type pendingCollector struct {
	st   *store.Store
	desc *prometheus.Desc
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	if c.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.st.Reader().QueryContext(ctx, `SELECT notifier, count(*) FROM notify_outbox WHERE status = 'pending' GROUP BY notifier`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n float64
		if rows.Scan(&name, &n) == nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, name)
		}
	}
}

// Delivery is the state of one delivery of an alert to a notifier.
type Delivery struct {
	ID          string    `json:"id"`
	Notifier    string    `json:"notifier"`
	Route       string    `json:"route"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"` // pending, sent, failed
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"` // while pending
	Done        time.Time `json:"done,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Deliveries lists the deliveries of an alert, oldest first. A store
// without notification tables has none.
func Deliveries(ctx context.Context, st *store.Store, alertID string) ([]Delivery, error) {
	rows, err := st.Reader().QueryContext(ctx, `SELECT id, notifier, route, kind, status, attempts, created, last_attempt,
		next_attempt, done, last_error FROM notify_outbox WHERE alert_id = ? ORDER BY seq`, alertID)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, fmt.Errorf("notify: deliveries of %s: %w", alertID, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var created, last, next, done int64
		if err := rows.Scan(&d.ID, &d.Notifier, &d.Route, &d.Kind, &d.Status, &d.Attempts, &created, &last, &next, &done, &d.LastError); err != nil {
			return nil, err
		}
		d.Created = unixNano(created)
		d.LastAttempt = unixNano(last)
		if d.Status == "pending" {
			d.NextAttempt = unixNano(next)
		}
		d.Done = unixNano(done)
		out = append(out, d)
	}
	return out, rows.Err()
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
