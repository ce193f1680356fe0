package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
)

// Checkpoint is how far one source has read one file (or stream). Its
// Data is opaque to the store — each source defines its own JSON (offset,
// inode, size, partition offsets ...) — and must be valid JSON.
type Checkpoint struct {
	Source  string          `json:"source"`  // source.name
	File    string          `json:"file"`    // file identity; "" for sources without files
	Data    json.RawMessage `json:"data"`    // opaque, valid JSON
	Updated time.Time       `json:"updated"` // set by the store when saved
}

// testHookAfterEvents, when set (by tests), runs inside a write
// transaction between the events and the checkpoints.
var testHookAfterEvents func(ctx context.Context) error

// AppendEvents stores events and the checkpoints of the input they were
// read from in one transaction: after a crash either both are there or
// neither is, so the source resumes exactly after the last stored event.
//
// Events whose (time, source.name, id) is already stored are skipped
// (INSERT OR IGNORE): ids and times are deterministic from the source's
// file and offset, so lines re-read after a crash, or a batch retried after
// ErrDiskFull, are not stored twice. Events without an id are always stored.
//
// Batches of hundreds to thousands of events amortize the commit; see
// BenchmarkAppendEvents. Write does the same and can add alerts and the
// engine's state to the transaction.
func (s *Store) AppendEvents(ctx context.Context, events []*event.Event, checkpoints []Checkpoint) error {
	return s.Write(ctx, Batch{Events: events, Checkpoints: checkpoints})
}

// Batch is what the daemon writes after processing a run of input: the
// events, the checkpoints of the input they came from, the alerts they
// raised or updated and, now and then, the engine's state.
type Batch struct {
	Events      []*event.Event
	Checkpoints []Checkpoint
	Alerts      []*event.Alert    // as UpsertAlerts
	States      map[string][]byte // as SaveState, by name
	Quarantine  []Quarantined     // lines no parser understood
}

// describe names the batch in errors: "append 1000 events", "write 2 alerts".
func (b Batch) describe() string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{len(b.Events), "events"}, {len(b.Checkpoints), "checkpoints"}, {len(b.Alerts), "alerts"}, {len(b.States), "states"}, {len(b.Quarantine), "quarantined lines"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(b.Alerts) == 0 && len(b.States) == 0 && len(b.Quarantine) == 0 {
		return fmt.Sprintf("append %d events", len(b.Events))
	}
	return "write " + strings.Join(parts, ", ")
}

// Write stores b in one transaction. Saving the engine's state with the
// checkpoints of the events it has seen keeps the two consistent across a
// crash: on restart the sources resume exactly where the engine's windows
// and baselines stopped, so no event is counted twice in a window and none
// is missed.
func (s *Store) Write(ctx context.Context, b Batch) error {
	if len(b.Events) == 0 && len(b.Checkpoints) == 0 && len(b.Alerts) == 0 && len(b.States) == 0 && len(b.Quarantine) == 0 {
		return nil
	}
	op := b.describe()
	for i, cp := range b.Checkpoints {
		if cp.Source == "" {
			return fmt.Errorf("store: %s: checkpoint %d has no source", op, i)
		}
	}
	// Encode outside the transaction: the write lock is held for less time.
	blocks, err := encodeBlocks(b.Events)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	alerts, err := encodeAlerts(b.Alerts)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	now := time.Now().UnixNano()
	err = s.writeTx(ctx, func(stx *sql.Tx) error {
		tx := wtx{stx, s}
		if _, err := insertBlocks(ctx, tx, blocks); err != nil {
			return err
		}
		if testHookAfterEvents != nil {
			if err := testHookAfterEvents(ctx); err != nil {
				return err
			}
		}
		for _, cp := range b.Checkpoints {
			if _, err := tx.ExecContext(ctx, saveCheckpointSQL, cp.Source, cp.File, string(cp.Data), now); err != nil {
				return fmt.Errorf("checkpoint %s %q: %w", cp.Source, cp.File, err)
			}
		}
		if err := upsertAlerts(ctx, tx, b.Alerts, alerts, now); err != nil {
			return err
		}
		if err := insertQuarantine(ctx, tx, b.Quarantine, now); err != nil {
			return err
		}
		for name, data := range b.States {
			if err := saveState(ctx, tx, name, data, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return opErr(op, err)
	}
	return nil
}

const saveCheckpointSQL = `INSERT INTO checkpoints (source, file, data, updated) VALUES (?, ?, ?, ?)
	ON CONFLICT (source, file) DO UPDATE SET data = excluded.data, updated = excluded.updated`

// Checkpoints returns the saved checkpoints of source, one per file
// identity, ordered by file.
func (s *Store) Checkpoints(ctx context.Context, source string) ([]Checkpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT file, data, updated FROM checkpoints WHERE source = ? ORDER BY file`, source)
	if err != nil {
		return nil, fmt.Errorf("store: checkpoints of %s: %w", source, err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp := Checkpoint{Source: source}
		var data string
		var updated int64
		if err := rows.Scan(&cp.File, &data, &updated); err != nil {
			return nil, fmt.Errorf("store: checkpoints of %s: %w", source, err)
		}
		cp.Data, cp.Updated = json.RawMessage(data), fromNanos(updated)
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: checkpoints of %s: %w", source, err)
	}
	return out, nil
}

// Order of SearchEvents results.
const (
	OldestFirst = "asc"
	NewestFirst = "desc"
)

// DefaultLimit caps searches that set no Limit, so that a forgotten
// filter cannot load the whole audit trail into memory.
const DefaultLimit = 1000

// EventFilter selects events. Zero fields do not filter; string fields
// match exactly, except Text.
type EventFilter struct {
	Since, Until time.Time // Since <= time < Until
	Source       string    // source.name
	User         string    // user.name
	Client       string    // client.address
	Session      string    // session.id (not indexed: give a time range or a user or client too)
	Database     string    // db.namespace
	Server       string    // server.address
	Category     string    // event.category
	Action       string    // event.action
	Operation    string    // db.operation.name, case-insensitive (SELECT, DROP TABLE ...)
	// Text is a case-insensitive (ASCII) substring of db.query.text. It is
	// not indexed: combine it with a time range or another field on large
	// stores.
	Text  string
	Limit int    // default DefaultLimit
	Order string // OldestFirst (default) or NewestFirst
}

// query turns f into a scan: the time range, the buckets to read (those
// of the user or client when given), the blocks worth decompressing and
// the test of each event.
func (f EventFilter) query() (scanQuery, error) {
	q := scanQuery{lo: minTS, hi: maxTS, limit: f.Limit}
	if !f.Since.IsZero() {
		q.lo = nanos(f.Since)
	}
	if !f.Until.IsZero() {
		q.hi = nanos(f.Until) - 1
	}
	switch strings.ToLower(f.Order) {
	case "", OldestFirst:
	case NewestFirst:
		q.desc = true
	default:
		return q, fmt.Errorf("unknown order %q (want %q or %q)", f.Order, OldestFirst, NewestFirst)
	}
	var need []string // keys every block read must name
	switch {
	case f.User != "":
		q.keys = []string{userKey(f.User)}
	case f.Client != "":
		q.keys = []string{clientKey(f.Client)}
	}
	if f.User != "" {
		need = append(need, userKey(f.User))
	}
	if f.Client != "" {
		need = append(need, clientKey(f.Client))
	}
	if f.Session != "" {
		need = append(need, sessionKey(f.Session))
	}
	if len(need) > 0 {
		q.block = func(keys []byte) bool {
			for _, k := range need {
				if !hasKey(keys, k) {
					return false
				}
			}
			return true
		}
	}
	for _, v := range []string{f.Source, f.User, f.Client, f.Session, f.Database, f.Server, f.Category, f.Action} {
		if n := needle(v, true); v != "" && n != nil {
			q.line.all = append(q.line.all, n)
		}
	}
	text := asciiLower(f.Text)
	if n := needle(text, false); text != "" && n != nil {
		q.line.fold = n
	}
	q.match = func(ev *event.Event) bool {
		for _, c := range [...]struct{ want, got string }{
			{f.Source, ev.Source.Name}, {f.User, ev.User.Name}, {f.Client, ev.Client.Address},
			{f.Session, ev.Session.ID}, {f.Database, ev.DB.Namespace}, {f.Server, ev.Server.Address},
			{f.Category, ev.Event.Category}, {f.Action, ev.Event.Action},
		} {
			if c.want != "" && c.want != c.got {
				return false
			}
		}
		if f.Operation != "" && asciiLower(f.Operation) != asciiLower(ev.DB.Operation.Name) {
			return false
		}
		return text == "" || strings.Contains(asciiLower(ev.DB.Query.Text), text)
	}
	return q, nil
}

// The widest time range: events of unknown time are stored as 0.
const (
	minTS = -1 << 63
	maxTS = 1<<63 - 1
)

// asciiLower lowers ASCII letters only, as SQLite's LIKE did: a search is
// case-insensitive for ASCII and exact for the rest.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// SearchEvents returns the events that match f, ordered by time.
func (s *Store) SearchEvents(ctx context.Context, f EventFilter) ([]*event.Event, error) {
	q, err := f.query()
	if err != nil {
		return nil, fmt.Errorf("store: search events: %w", err)
	}
	evs, err := s.scan(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: search events: %w", err)
	}
	return evs, nil
}

// Around returns the activity around an alert, for investigation: the
// events of the same user, the same client address, or the same sessions
// as the alert, from window before its first time to window after its last
// time, oldest first, at most limit (default DefaultLimit).
//
// Who counts as "the same" comes from the alert's entity, its group values
// (user.name, client.address, session.id) and its evidence: the sessions,
// on their server, since session ids such as backend pids are only unique
// per server. An alert with none of these has no surroundings: the result
// is empty.
func (s *Store) Around(ctx context.Context, alertID string, window time.Duration, limit int) ([]*event.Event, error) {
	a, err := s.Alert(ctx, alertID)
	if err != nil {
		return nil, fmt.Errorf("store: around: %w", err)
	}
	users, clients := set{}, set{}
	users.add(a.Entity.User)
	clients.add(a.Entity.Client)
	users.add(a.Group["user.name"])
	clients.add(a.Group["client.address"])
	type sess struct{ server, id, user, client string }
	sessions := map[sess]bool{}
	if id := a.Group["session.id"]; id != "" {
		sessions[sess{a.Entity.Server, id, a.Entity.User, a.Entity.Client}] = true
	}
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		if ev.Session.ID != "" {
			sessions[sess{ev.Server.Address, ev.Session.ID, ev.User.Name, ev.Client.Address}] = true
		}
	}
	if len(users) == 0 && len(clients) == 0 && len(sessions) == 0 {
		return nil, nil
	}
	// The buckets to read are those of the users and clients, and of the
	// sessions' users or clients (a session shares them with all its
	// events); a session known by neither means reading the whole window.
	var keys, blockKeys []string
	for u := range users {
		keys = append(keys, userKey(u))
	}
	for c := range clients {
		keys = append(keys, clientKey(c))
	}
	everyBucket := false
	var extra []sess // sessions not matched through their user or client as a whole
	for k := range sessions {
		if users[k.user] || clients[k.client] {
			continue
		}
		extra = append(extra, k)
		switch {
		case k.user != "":
			keys = append(keys, userKey(k.user))
		case k.client != "":
			keys = append(keys, clientKey(k.client))
		default:
			everyBucket = true
		}
		blockKeys = append(blockKeys, sessionKey(k.id))
	}
	blockKeys = append(blockKeys, keys...)
	q := scanQuery{
		lo: nanos(a.FirstTime.Add(-window)), hi: nanos(a.LastTime.Add(window)), limit: limit, keys: keys,
		block: func(b []byte) bool {
			for _, k := range blockKeys {
				if hasKey(b, k) {
					return true
				}
			}
			return false
		},
		match: func(ev *event.Event) bool {
			if users[ev.User.Name] || clients[ev.Client.Address] {
				return true
			}
			for _, k := range extra {
				if ev.Session.ID == k.id && (k.server == "" || ev.Server.Address == k.server) &&
					(k.user != "" && ev.User.Name == k.user ||
						k.user == "" && k.client != "" && ev.Client.Address == k.client ||
						k.user == "" && k.client == "") {
					return true
				}
			}
			return false
		},
	}
	if everyBucket {
		q.keys = nil
	}
	values := append(users.list(), clients.list()...)
	for _, k := range extra {
		values = append(values, k.id)
	}
	for _, v := range values {
		n := needle(v, true)
		if n == nil {
			q.line.any = nil // cannot be checked on the JSON: decode every event
			break
		}
		q.line.any = append(q.line.any, n)
	}
	evs, err := s.scan(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: around alert %s: %w", alertID, err)
	}
	return evs, nil
}

type set map[string]bool

func (s set) add(v string) {
	if v != "" {
		s[v] = true
	}
}

func (s set) list() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	return out
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
