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
	bodies := make([]string, len(b.Events))
	for i, ev := range b.Events {
		if ev == nil {
			return fmt.Errorf("store: %s: event %d is nil", op, i)
		}
		j, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("store: %s: encode event %q: %w", op, ev.ID, err)
		}
		bodies[i] = string(j) // TEXT, not BLOB: SQLite's JSON functions read a BLOB as JSONB
	}
	alerts, err := encodeAlerts(b.Alerts)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	now := time.Now().UnixNano()
	err = s.writeTx(ctx, func(stx *sql.Tx) error {
		tx := wtx{stx, s}
		if err := insertEvents(ctx, tx, b.Events, bodies); err != nil {
			return err
		}
		if testHookAfterEvents != nil {
			if err := testHookAfterEvents(ctx); err != nil {
				return err
			}
		}
		for _, cp := range b.Checkpoints {
			if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (source, file, data, updated) VALUES (?, ?, ?, ?)
				ON CONFLICT (source, file) DO UPDATE SET data = excluded.data, updated = excluded.updated`,
				cp.Source, cp.File, string(cp.Data), now); err != nil {
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

// insertRows is how many events one INSERT statement carries: one
// statement per row spends as much time in database/sql and the driver
// (argument conversion, bind, step, reset) as in SQLite itself.
const insertRows = 64

const eventCols = 12 // columns of an event row in insertEvents

// insertEvents inserts events (INSERT OR IGNORE), insertRows at a time.
func insertEvents(ctx context.Context, tx wtx, events []*event.Event, bodies []string) error {
	args := make([]any, 0, insertRows*eventCols)
	for start := 0; start < len(events); start += insertRows {
		chunk := events[start:min(start+insertRows, len(events))]
		args = args[:0]
		for i, ev := range chunk {
			args = append(args, ev.Source.Name, nullStr(ev.ID), nanos(ev.Time),
				nullStr(ev.User.Name), nullStr(ev.Client.Address), nullStr(ev.Session.ID),
				nullStr(ev.DB.Namespace), nullStr(ev.Server.Address), nullStr(ev.Event.Category),
				nullStr(ev.Event.Action), nullStr(ev.DB.Operation.Name), bodies[start+i])
		}
		_, err := tx.ExecContext(ctx, insertSQLs[len(chunk)], args...)
		if err != nil {
			return fmt.Errorf("events %q to %q: %w", chunk[0].ID, chunk[len(chunk)-1].ID, err)
		}
	}
	return nil
}

// insertSQLs[n] is the INSERT statement for n events (n <= insertRows).
var insertSQLs = func() []string {
	out := make([]string, insertRows+1)
	for n := 1; n <= insertRows; n++ {
		out[n] = insertSQL(n)
	}
	return out
}()

// insertSQL is the INSERT statement for n events.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO events (source, event_id, ts, user, client, session, db, server, category, action, operation, body) VALUES `)
	row := "(" + placeholders(eventCols) + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

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

// where appends the filter's conditions and arguments.
func (f EventFilter) where(conds []string, args []any) ([]string, []any) {
	if !f.Since.IsZero() {
		conds, args = append(conds, "ts >= ?"), append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "ts < ?"), append(args, nanos(f.Until))
	}
	for _, c := range []struct{ col, v string }{
		{"source", f.Source}, {"user", f.User}, {"client", f.Client}, {"session", f.Session},
		{"db", f.Database}, {"server", f.Server}, {"category", f.Category}, {"action", f.Action},
	} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.Operation != "" {
		conds, args = append(conds, "operation = ? COLLATE NOCASE"), append(args, f.Operation)
	}
	if f.Text != "" {
		conds = append(conds, `json_extract(body, '$.db.query.text') LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.Text)+"%")
	}
	return conds, args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchEvents returns the events that match f, ordered by time.
func (s *Store) SearchEvents(ctx context.Context, f EventFilter) ([]*event.Event, error) {
	conds, args := f.where(nil, nil)
	evs, err := s.queryEvents(ctx, conds, args, f.Order, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: search events: %w", err)
	}
	return evs, nil
}

func (s *Store) queryEvents(ctx context.Context, conds []string, args []any, order string, limit int) ([]*event.Event, error) {
	q := "SELECT body FROM events"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	switch strings.ToLower(order) {
	case "", OldestFirst:
		q += " ORDER BY ts, seq"
	case NewestFirst:
		q += " ORDER BY ts DESC, seq DESC"
	default:
		return nil, fmt.Errorf("unknown order %q (want %q or %q)", order, OldestFirst, NewestFirst)
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	q += " LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*event.Event
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		ev := new(event.Event)
		if err := json.Unmarshal(body, ev); err != nil {
			return nil, fmt.Errorf("decode stored event: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Around returns the activity around an alert, for investigation: the
// events of the same user, the same client address, or the same sessions
// as the alert, from window before its first time to window after its last
// time, oldest first, at most limit (default DefaultLimit).
//
// Who counts as "the same" comes from the alert's entity, its group values
// (user.name, client.address, session.id) and its evidence: the sessions,
// on their server, since session ids such as backend pids are only unique
// per server. A session is matched through its user (or client), which it
// shares with all its events, so that the query stays on the indexes. An
// alert with none of these has no surroundings: the result is empty.
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
	var who []string
	var args []any
	if len(users) > 0 {
		who = append(who, "user IN ("+placeholders(len(users))+")")
		args = append(args, users.args()...)
	}
	if len(clients) > 0 {
		who = append(who, "client IN ("+placeholders(len(clients))+")")
		args = append(args, clients.args()...)
	}
	for k := range sessions {
		switch {
		case users[k.user] || clients[k.client]:
			continue // already matched as a whole
		case k.user != "":
			who, args = append(who, "(user = ? AND session = ?"), append(args, k.user, k.id)
		case k.client != "":
			who, args = append(who, "(client = ? AND session = ?"), append(args, k.client, k.id)
		default: // not indexed: scans the window
			who, args = append(who, "(session = ?"), append(args, k.id)
		}
		if k.server != "" {
			who[len(who)-1] += " AND server = ?"
			args = append(args, k.server)
		}
		who[len(who)-1] += ")"
	}
	if len(who) == 0 {
		return nil, nil
	}
	conds := []string{"ts >= ?", "ts <= ?", "(" + strings.Join(who, " OR ") + ")"}
	args = append([]any{nanos(a.FirstTime.Add(-window)), nanos(a.LastTime.Add(window))}, args...)
	evs, err := s.queryEvents(ctx, conds, args, OldestFirst, limit)
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

func (s set) args() []any {
	out := make([]any, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	return out
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
