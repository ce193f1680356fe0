package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

// Config is what the service sends and where: the notifiers and routes
// of the config file and the base of alert links.
type Config struct {
	Notifiers []config.Notifier
	Routes    []config.Route
	// BaseURL makes alert links: BaseURL/alerts/ID ("" = no links).
	BaseURL string
}

// FromConfig takes the notification sections of a loaded config file.
func FromConfig(c *config.Config) Config {
	return Config{Notifiers: c.Notifiers, Routes: c.Routes, BaseURL: c.AlertBaseURL}
}

// Enabled reports whether there is anything to send to.
func (c Config) Enabled() bool { return len(c.Notifiers) > 0 && len(c.Routes) > 0 }

// Options tunes a Service. The zero value is what `vigil run` uses.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (default time.Now). Throttle windows, quiet hours,
	// retry times and ages are measured with it.
	Now func() time.Time
	// PollInterval is how often the journal is read for changes made by
	// other processes (`vigil alerts resolve`) and throttle windows are
	// checked; Wake makes the service look at once. Default 1s.
	PollInterval time.Duration
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts (defaults 2s and 10m); a receiver's Retry-After wins.
	RetryBase, RetryMax time.Duration
	// BatchSize is how many journal entries one transaction handles
	// (default 500).
	BatchSize int
	// Version is Vigil's version (User-Agent, CEF header).
	Version string
	// Hostname is the HOSTNAME of syslog messages (default os.Hostname).
	Hostname string
	// KeepDone is how long sent and failed deliveries stay in the outbox
	// for `vigil alerts show` (default 30 days).
	KeepDone time.Duration
	// PruneJournal deletes the alert change journal up to the cursor once
	// handled. Leave it off while other consumers read the journal.
	PruneJournal bool
}

// Service routes alert changes to notifiers and delivers them.
type Service struct {
	cfg     Config
	st      *store.Store
	opts    Options
	log     *slog.Logger
	routes  []*route
	byRoute map[string]*route
	targets map[string]*target
	names   []string // notifier names, sorted
	metrics *metrics
	wake    chan struct{}

	mu      sync.Mutex
	running bool
}

type route struct {
	config.Route
}

// target is one configured notifier.
type target struct {
	cfg  config.Notifier
	n    Notifier
	reg  registration
	wake chan struct{}
	// secrets are scrubbed from error texts before they are logged or kept.
	secrets []string
}

// New builds the notifiers and routes of cfg. st may be nil for a service
// that only runs Test. With a store, New creates the notify_* tables and,
// on the first start, places the journal cursor after the changes already
// there: alerts raised before notifications were configured are not sent.
func New(cfg Config, st *store.Store, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 2 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 10 * time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.KeepDone <= 0 {
		opts.KeepDone = 30 * 24 * time.Hour
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Service{cfg: cfg, st: st, opts: opts, log: opts.Logger.With("component", "notify"),
		byRoute: map[string]*route{}, targets: map[string]*target{}, wake: make(chan struct{}, 1), metrics: newMetrics(st)}
	env := Env{Version: opts.Version, BaseURL: cfg.BaseURL, Hostname: opts.Hostname}
	for _, nc := range cfg.Notifiers {
		reg, ok := lookup(nc.Type)
		if !ok {
			return nil, fmt.Errorf("notify: notifier %s: unknown type %q (known: %s)", nc.Name, nc.Type, strings.Join(Types(), ", "))
		}
		if _, dup := s.targets[nc.Name]; dup {
			return nil, fmt.Errorf("notify: notifier %s: defined twice", nc.Name)
		}
		if nc.Timeout <= 0 {
			nc.Timeout = config.DefaultNotifyTimeout
		}
		if nc.MaxAge <= 0 {
			nc.MaxAge = config.DefaultNotifyMaxAge
		}
		if nc.Concurrency <= 0 {
			nc.Concurrency = config.DefaultNotifyConcurrency
		}
		n, err := reg.factory(nc, env)
		if err != nil {
			return nil, fmt.Errorf("notify: notifier %s (%s): %w", nc.Name, nc.Type, err)
		}
		t := &target{cfg: nc, n: n, reg: reg, wake: make(chan struct{}, 1)}
		for _, sec := range []config.Secret{nc.URL, nc.RoutingKey, nc.HMACSecret, nc.Password} {
			if sec.IsSet() {
				t.secrets = append(t.secrets, sec.Value())
			}
		}
		for _, h := range nc.Headers {
			t.secrets = append(t.secrets, h.Value.Value())
		}
		// A receiver may echo a webhook URL's path or query (its token).
		if u, err := url.Parse(nc.URL.Value()); err == nil && nc.Type != config.NotifierPagerDuty {
			if len(u.Path) > 1 {
				t.secrets = append(t.secrets, u.Path)
			}
			if u.RawQuery != "" {
				t.secrets = append(t.secrets, u.RawQuery)
			}
		}
		s.targets[nc.Name] = t
		s.names = append(s.names, nc.Name)
	}
	sort.Strings(s.names)
	for _, rc := range cfg.Routes {
		if _, dup := s.byRoute[rc.Name]; dup {
			return nil, fmt.Errorf("notify: route %s: defined twice", rc.Name)
		}
		for _, n := range rc.Notifiers {
			if s.targets[n] == nil {
				return nil, fmt.Errorf("notify: route %s: unknown notifier %q", rc.Name, n)
			}
		}
		r := &route{Route: rc}
		s.routes = append(s.routes, r)
		s.byRoute[rc.Name] = r
	}
	if st != nil {
		if err := s.initStore(context.Background()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS notify_cursor (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL            -- last alert_changes.seq handled
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notify_throttle (
	route      TEXT NOT NULL,
	rule_id    TEXT NOT NULL,
	gkey       TEXT NOT NULL,        -- the group key values
	sent_at    INTEGER NOT NULL,     -- last message (unix ns)
	next_at    INTEGER NOT NULL,     -- no message before this
	pending    INTEGER NOT NULL DEFAULT 0,  -- changes held since sent_at
	alerts     INTEGER NOT NULL DEFAULT 0,  -- distinct alerts among them
	last_alert TEXT NOT NULL DEFAULT '',
	flush_at   INTEGER NOT NULL DEFAULT 0,  -- when held changes are summarized
	quiet      INTEGER NOT NULL DEFAULT 0,  -- held by quiet hours
	PRIMARY KEY (route, rule_id, gkey)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notify_throttle_flush ON notify_throttle(flush_at) WHERE pending > 0;
CREATE TABLE IF NOT EXISTS notify_outbox (
	seq          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,   -- delivery id, stable across retries
	alert_id     TEXT NOT NULL,
	route        TEXT NOT NULL,
	notifier     TEXT NOT NULL,
	kind         TEXT NOT NULL,          -- trigger, resolve, acknowledge
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_attempt INTEGER NOT NULL DEFAULT 0,
	status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
	done         INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	body         TEXT NOT NULL           -- the Message as JSON
);
CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox(notifier, status, next_attempt);
CREATE INDEX IF NOT EXISTS notify_outbox_alert ON notify_outbox(alert_id, notifier, seq);
`

const cursorName = "dispatcher"

func (s *Service) initStore(ctx context.Context) error {
	var have bool
	err := s.st.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM notify_cursor WHERE name = ?`, cursorName).Scan(&seq)
		if err == nil {
			have = true
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: create tables: %w", err)
	}
	if have {
		return nil
	}
	// First start: begin after what the journal holds.
	var head int64
	for {
		chs, err := s.st.AlertChanges(ctx, head, 10000)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		if len(chs) == 0 {
			break
		}
		head = chs[len(chs)-1].Seq
	}
	err = s.st.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_cursor (name, seq) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, cursorName, head)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: init cursor: %w", err)
	}
	if head > 0 {
		s.log.Info("notifications start after the alert changes already stored", "journal_seq", head)
	}
	return nil
}

// Wake makes the dispatcher read the journal now rather than at its next
// poll (call it after storing alerts).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run dispatches and delivers until ctx is cancelled; it returns nil then.
// Deliveries in flight when ctx ends stay pending and are sent by the
// next Run (a receiver may then see them twice, with the same delivery id).
func (s *Service) Run(ctx context.Context) error {
	if s.st == nil {
		return errors.New("notify: Run needs a store")
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("notify: Run called twice")
	}
	s.running = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, name := range s.names {
		t := s.targets[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runSender(ctx, t)
		}()
	}
	err := s.runDispatcher(ctx)
	wg.Wait()
	for _, t := range s.targets {
		if c, ok := t.n.(io.Closer); ok {
			c.Close() // e.g. the syslog stream; reopened when needed
		}
	}
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	return err
}

func (s *Service) runDispatcher(ctx context.Context) error {
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		for {
			n, err := s.dispatch(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				s.log.Error("notify: dispatch failed; retrying", "err", err)
				break
			}
			if n < s.opts.BatchSize {
				break
			}
		}
		if now := s.opts.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if err := s.prune(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("notify: prune outbox", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.wake:
		}
	}
}

func (s *Service) cursor(ctx context.Context) (int64, error) {
	var seq int64
	err := s.st.Reader().QueryRowContext(ctx, `SELECT seq FROM notify_cursor WHERE name = ?`, cursorName).Scan(&seq)
	return seq, err
}

// dispatch handles one batch of journal entries and the throttle windows
// that ended, in one transaction. It returns the number of entries read.
func (s *Service) dispatch(ctx context.Context) (int, error) {
	cur, err := s.cursor(ctx)
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	changes, err := s.st.AlertChanges(ctx, cur, s.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	now := s.opts.Now()
	if len(changes) == 0 {
		var one int
		err := s.st.Reader().QueryRowContext(ctx, `SELECT 1 FROM notify_throttle WHERE pending > 0 AND flush_at <= ? LIMIT 1`, now.UnixNano()).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
	// The alerts as they are now: a change is routed with the alert's
	// latest state (count, status), which is what a person wants to read.
	alerts := map[string]*store.Alert{}
	for _, c := range changes {
		if _, seen := alerts[c.AlertID]; seen {
			continue
		}
		a, err := s.st.Alert(ctx, c.AlertID)
		if errors.Is(err, store.ErrNotFound) {
			alerts[c.AlertID] = nil // pruned since
			continue
		}
		if err != nil && strings.Contains(err.Error(), "decode stored alert") {
			// One unreadable alert must not stop every notification.
			s.log.Error("notify: alert cannot be read; not sent", "alert", c.AlertID, "err", err)
			alerts[c.AlertID] = nil
			continue
		}
		if err != nil {
			return 0, err
		}
		alerts[c.AlertID] = a
	}
	woken := map[*target]bool{}
	err = s.st.WriteTx(ctx, func(tx *sql.Tx) error {
		q := &queue{s: s, tx: tx, now: now, woken: woken}
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM notify_cursor WHERE name = ?`, cursorName).Scan(&seq); err != nil {
			return err
		}
		if seq != cur {
			return fmt.Errorf("journal cursor moved from %d to %d under this dispatcher: is another vigil run using this store?", cur, seq)
		}
		for _, c := range changes {
			if a := alerts[c.AlertID]; a != nil {
				if err := q.change(ctx, c, a); err != nil {
					return err
				}
			}
		}
		if err := q.flush(ctx); err != nil {
			return err
		}
		if len(changes) > 0 {
			last := changes[len(changes)-1].Seq
			if _, err := tx.ExecContext(ctx, `UPDATE notify_cursor SET seq = ? WHERE name = ?`, last, cursorName); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Nothing was committed: the same changes are read again.
		for t := range woken {
			delete(woken, t)
		}
		return 0, err
	}
	for t := range woken {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	if s.opts.PruneJournal && len(changes) > 0 {
		if _, err := s.st.PruneAlertChanges(ctx, changes[len(changes)-1].Seq); err != nil {
			s.log.Warn("notify: prune alert journal", "err", err)
		}
	}
	return len(changes), nil
}

// queue routes changes inside one dispatch transaction.
type queue struct {
	s     *Service
	tx    *sql.Tx
	now   time.Time
	woken map[*target]bool
}

func messageKind(c store.AlertChange, a *store.Alert) string {
	switch c.Kind {
	case store.ChangeRaised, store.ChangeUpdated:
		if a.Status == store.StatusResolved {
			return "" // an analyst closed it; later updates of its window are not news
		}
		return KindTrigger
	case store.ChangeStatus:
		switch a.Status {
		case store.StatusResolved:
			return KindResolve
		case store.StatusAck:
			return KindAck
		}
	}
	return ""
}

func (q *queue) change(ctx context.Context, c store.AlertChange, a *store.Alert) error {
	kind := messageKind(c, a)
	if kind == "" {
		return nil
	}
	sentTo := map[string]bool{} // one delivery per notifier and change, however many routes match
	for _, r := range q.s.routes {
		if !r.matches(&a.Alert) {
			continue
		}
		var err error
		if kind == KindTrigger {
			err = q.trigger(ctx, r, c, a, sentTo)
		} else {
			err = q.status(ctx, r, c, a, kind, sentTo)
		}
		if err != nil {
			return err
		}
		if !r.Continue {
			break
		}
	}
	return nil
}

// status queues a resolve or acknowledge to the route's notifiers that
// send them, once per status, and only where the alert was sent before.
func (q *queue) status(ctx context.Context, r *route, c store.AlertChange, a *store.Alert, kind string, sentTo map[string]bool) error {
	for _, name := range r.Notifiers {
		t := q.s.targets[name]
		if sentTo[name] || !t.reg.sends(kind) {
			continue
		}
		var last string
		err := q.tx.QueryRowContext(ctx, `SELECT kind FROM notify_outbox WHERE alert_id = ? AND notifier = ? ORDER BY seq DESC LIMIT 1`, a.ID, name).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) || last == kind {
			continue
		}
		if err != nil {
			return err
		}
		sentTo[name] = true
		if err := q.enqueue(ctx, t, r.Name, kind, a, nil, fmt.Sprintf("c%d", c.Seq)); err != nil {
			return err
		}
	}
	return nil
}

func (q *queue) trigger(ctx context.Context, r *route, c store.AlertChange, a *store.Alert, sentTo map[string]bool) error {
	quiet := r.quietFor(&a.Alert, q.now)
	if r.Throttle <= 0 && !quiet {
		if c.Kind != store.ChangeRaised {
			return nil // without a throttle window only new alerts are sent
		}
		return q.send(ctx, r, a, nil, fmt.Sprintf("c%d", c.Seq), sentTo)
	}
	gkey := r.groupKey(&a.Alert)
	var st throttleRow
	err := q.tx.QueryRowContext(ctx, `SELECT sent_at, next_at, pending, alerts, last_alert, quiet FROM notify_throttle
		WHERE route = ? AND rule_id = ? AND gkey = ?`, r.Name, a.RuleID, gkey).
		Scan(&st.sentAt, &st.nextAt, &st.pending, &st.alerts, &st.lastAlert, &st.quiet)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	now := q.now.UnixNano()
	if !quiet && (!exists || now >= st.nextAt) {
		var held *Held
		if exists && st.pending > 0 {
			held = &Held{Changes: st.pending, Alerts: st.alerts, Since: time.Unix(0, st.sentAt).UTC(), Quiet: st.quiet != 0}
		}
		if err := q.send(ctx, r, a, held, fmt.Sprintf("c%d", c.Seq), sentTo); err != nil {
			return err
		}
		_, err := q.tx.ExecContext(ctx, `INSERT INTO notify_throttle (route, rule_id, gkey, sent_at, next_at, pending, alerts, last_alert, flush_at, quiet)
			VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, 0)
			ON CONFLICT (route, rule_id, gkey) DO UPDATE SET sent_at = excluded.sent_at, next_at = excluded.next_at,
			pending = 0, alerts = 0, last_alert = excluded.last_alert, flush_at = 0, quiet = 0`,
			r.Name, a.RuleID, gkey, now, now+int64(r.Throttle), a.ID)
		return err
	}
	// Held: counted now, summarized when the window (or quiet hours) ends.
	if st.pending == 0 || st.lastAlert != a.ID {
		st.alerts++
	}
	st.pending++
	flush := st.nextAt
	if !exists {
		st.sentAt = 0
		flush = now
	}
	if quiet {
		st.quiet = 1
		if end := r.QuietHours.EndAfter(q.now).UnixNano(); end > flush {
			flush = end
		}
	}
	_, err = q.tx.ExecContext(ctx, `INSERT INTO notify_throttle (route, rule_id, gkey, sent_at, next_at, pending, alerts, last_alert, flush_at, quiet)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (route, rule_id, gkey) DO UPDATE SET pending = excluded.pending, alerts = excluded.alerts,
		last_alert = excluded.last_alert, flush_at = excluded.flush_at, quiet = excluded.quiet`,
		r.Name, a.RuleID, gkey, st.sentAt, st.nextAt, st.pending, st.alerts, a.ID, flush, st.quiet)
	return err
}

type throttleRow struct {
	sentAt, nextAt, pending, alerts int64
	lastAlert                       string
	quiet                           int64
}

// flush sends a summary for every rule and key whose window (or quiet
// hours) ended with changes held.
func (q *queue) flush(ctx context.Context) error {
	now := q.now.UnixNano()
	rows, err := q.tx.QueryContext(ctx, `SELECT route, rule_id, gkey, sent_at, pending, alerts, last_alert, quiet FROM notify_throttle
		WHERE pending > 0 AND flush_at <= ?`, now)
	if err != nil {
		return err
	}
	type due struct {
		route, rule, gkey string
		throttleRow
	}
	var dues []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.route, &d.rule, &d.gkey, &d.sentAt, &d.pending, &d.alerts, &d.lastAlert, &d.quiet); err != nil {
			rows.Close()
			return err
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range dues {
		r := q.s.byRoute[d.route]
		var a *store.Alert
		if r != nil {
			a, err = q.s.st.Alert(ctx, d.lastAlert)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if r == nil || a == nil || a.Status == store.StatusResolved {
			// The route is gone, or the alert was pruned or resolved: nothing to summarize.
			if _, err := q.tx.ExecContext(ctx, `UPDATE notify_throttle SET pending = 0, alerts = 0, flush_at = 0, quiet = 0
				WHERE route = ? AND rule_id = ? AND gkey = ?`, d.route, d.rule, d.gkey); err != nil {
				return err
			}
			continue
		}
		if r.quietFor(&a.Alert, q.now) {
			if _, err := q.tx.ExecContext(ctx, `UPDATE notify_throttle SET flush_at = ?, quiet = 1 WHERE route = ? AND rule_id = ? AND gkey = ?`,
				r.QuietHours.EndAfter(q.now).UnixNano(), d.route, d.rule, d.gkey); err != nil {
				return err
			}
			continue
		}
		held := &Held{Changes: d.pending, Alerts: d.alerts, Quiet: d.quiet != 0}
		if d.sentAt > 0 {
			held.Since = time.Unix(0, d.sentAt).UTC()
		}
		seed := fmt.Sprintf("f|%s|%s|%d", d.rule, d.gkey, now)
		if err := q.send(ctx, r, a, held, seed, map[string]bool{}); err != nil {
			return err
		}
		if _, err := q.tx.ExecContext(ctx, `UPDATE notify_throttle SET sent_at = ?, next_at = ?, pending = 0, alerts = 0, flush_at = 0, quiet = 0
			WHERE route = ? AND rule_id = ? AND gkey = ?`, now, now+int64(r.Throttle), d.route, d.rule, d.gkey); err != nil {
			return err
		}
	}
	return nil
}

// send queues a trigger to every notifier of the route.
func (q *queue) send(ctx context.Context, r *route, a *store.Alert, held *Held, seed string, sentTo map[string]bool) error {
	for _, name := range r.Notifiers {
		if sentTo[name] {
			continue
		}
		sentTo[name] = true
		if err := q.enqueue(ctx, q.s.targets[name], r.Name, KindTrigger, a, held, seed); err != nil {
			return err
		}
	}
	return nil
}

// deliveryID is stable for the same change, route and notifier, so a
// dispatch that is redone after a crash inserts nothing new.
func deliveryID(seed, route, notifier string) string {
	h := sha256.Sum256([]byte(seed + "\x00" + route + "\x00" + notifier))
	return hex.EncodeToString(h[:12])
}

func (q *queue) enqueue(ctx context.Context, t *target, routeName, kind string, a *store.Alert, held *Held, seed string) error {
	m := &Message{
		DeliveryID: deliveryID(seed, routeName, t.cfg.Name),
		Kind:       kind,
		Route:      routeName,
		Notifier:   t.cfg.Name,
		Time:       q.now.UTC(),
		Alert:      a.Alert,
		Status:     a.Status,
		Link:       alertLink(q.s.cfg.BaseURL, a.ID),
		Held:       held,
	}
	body, err := encodeMessage(m)
	if err != nil {
		return err
	}
	now := q.now.UnixNano()
	if _, err := q.tx.ExecContext(ctx, `INSERT INTO notify_outbox (id, alert_id, route, notifier, kind, created, next_attempt, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		m.DeliveryID, a.ID, routeName, t.cfg.Name, kind, now, now, body); err != nil {
		return fmt.Errorf("queue delivery: %w", err)
	}
	q.woken[t] = true
	return nil
}

// matches reports whether the route takes the alert.
func (r *route) matches(a *event.Alert) bool {
	if r.MinSeverity != "" && event.SeverityRank(a.Severity) < event.SeverityRank(r.MinSeverity) {
		return false
	}
	if len(r.Rules) > 0 && !anyGlob(r.Rules, a.RuleID) {
		return false
	}
	if len(r.Servers) > 0 && !anyGlob(r.Servers, a.Entity.Server) {
		return false
	}
	if len(r.Databases) > 0 && !anyGlob(r.Databases, a.Entity.Database) {
		return false
	}
	if len(r.Tags) > 0 {
		found := false
		for _, tag := range a.Tags {
			if anyGlob(r.Tags, tag) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func anyGlob(pats []string, s string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// quietFor reports whether the route holds this alert at t.
func (r *route) quietFor(a *event.Alert, t time.Time) bool {
	qh := r.QuietHours
	if qh == nil || !qh.Active(t) {
		return false
	}
	return qh.Except == "" || event.SeverityRank(a.Severity) < event.SeverityRank(qh.Except)
}

// groupKey is what throttling counts per, with the rule id.
func (r *route) groupKey(a *event.Alert) string {
	var parts []string
	if len(r.GroupBy) == 0 {
		keys := make([]string, 0, len(a.Group))
		for k := range a.Group {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+"="+a.Group[k])
		}
		return strings.Join(parts, "\x1f")
	}
	for _, f := range r.GroupBy {
		v, ok := a.Group[f]
		if !ok {
			switch f {
			case "user.name":
				v = a.Entity.User
			case "client.address":
				v = a.Entity.Client
			case "server.address":
				v = a.Entity.Server
			case "db.namespace":
				v = a.Entity.Database
			case "app.name":
				v = a.Entity.App
			}
		}
		parts = append(parts, f+"="+v)
	}
	return strings.Join(parts, "\x1f")
}

func (s *Service) prune(ctx context.Context, now time.Time) error {
	before := now.Add(-s.opts.KeepDone).UnixNano()
	return s.st.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM notify_outbox WHERE status <> 'pending' AND done < ?`, before); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM notify_throttle WHERE pending = 0 AND next_at < ?`, now.Add(-24*time.Hour).UnixNano())
		return err
	})
}

// Collectors are the service's Prometheus metrics, for the daemon to
// register: vigil_notify_sent_total, vigil_notify_failed_total (failed
// attempts), vigil_notify_retried_total, vigil_notify_gave_up_total (all
// by notifier) and vigil_notify_outbox_pending{notifier}.
func (s *Service) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// Result is what one notifier did with a test message.
type Result struct {
	Notifier string
	Type     string
	Err      error
	Duration time.Duration
}

// Test sends a sample alert through a route's notifiers at once (no
// outbox, no throttle) and reports each notifier's result. A PagerDuty
// test incident is resolved right after it is triggered.
func (s *Service) Test(ctx context.Context, routeName string) ([]Result, error) {
	r := s.byRoute[routeName]
	if r == nil {
		var names []string
		for _, r := range s.routes {
			names = append(names, r.Name)
		}
		return nil, fmt.Errorf("no route %q (routes: %s)", routeName, strings.Join(names, ", "))
	}
	now := s.opts.Now()
	a := sampleAlert(now)
	var out []Result
	for _, name := range r.Notifiers {
		t := s.targets[name]
		m := &Message{DeliveryID: "test-" + deliveryID(a.ID, r.Name, name), Kind: KindTrigger, Route: r.Name, Notifier: name,
			Time: now.UTC(), Alert: a, Status: store.StatusOpen, Link: alertLink(s.cfg.BaseURL, a.ID), Test: true}
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
		err := t.n.Send(sctx, m)
		cancel()
		if err == nil && t.cfg.Type == config.NotifierPagerDuty {
			// Do not leave a test incident open.
			res := *m
			res.Kind = KindResolve
			sctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
			if rerr := t.n.Send(sctx, &res); rerr != nil {
				err = fmt.Errorf("the test incident was triggered, but resolving it failed: %w", rerr)
			}
			cancel()
		}
		if err != nil {
			err = errors.New(scrub(err.Error(), t.secrets...))
		}
		out = append(out, Result{Notifier: name, Type: t.cfg.Type, Err: err, Duration: time.Since(start)})
	}
	return out, nil
}
