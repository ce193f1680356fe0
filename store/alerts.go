package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigildb/vigil/event"
)

// Alert statuses. A new alert is open; an analyst acknowledges it (ack:
// someone is on it) and resolves it. Any status may follow any other, and
// every change is kept in the alert's history.
const (
	StatusOpen     = "open"
	StatusAck      = "ack"
	StatusResolved = "resolved"
)

// Alert is an alert as stored: the engine's alert (its JSON fields, SPEC §3,
// at the top level) plus the analysts' status.
type Alert struct {
	event.Alert
	Status     string    `json:"status"`
	StatusBy   string    `json:"status_by,omitempty"`
	StatusNote string    `json:"status_note,omitempty"`
	StatusTime time.Time `json:"status_time,omitzero"`
	Created    time.Time `json:"created"` // first stored
	Updated    time.Time `json:"updated"` // last stored by the engine
	// History is every status change, oldest first (filled by Store.Alert only).
	History []StatusChange `json:"history,omitempty"`
}

// StatusChange is one entry of an alert's status history.
type StatusChange struct {
	Time     time.Time `json:"time"`
	Status   string    `json:"status"`
	Previous string    `json:"previous,omitempty"`
	By       string    `json:"by,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// UpsertAlerts stores alerts by id, in one transaction. An alert already
// stored gets the new count, times and evidence but keeps its status: the
// engine updates an alert for as long as its window is open, and that must
// not undo an analyst's acknowledgement. An update whose last time is older
// than the stored one (a re-delivery after a restart) is ignored.
func (s *Store) UpsertAlerts(ctx context.Context, alerts []*event.Alert) error {
	return s.Write(ctx, Batch{Alerts: alerts})
}

// encodeAlerts checks and encodes alerts for upsertAlerts.
func encodeAlerts(alerts []*event.Alert) ([]string, error) {
	bodies := make([]string, len(alerts))
	for i, a := range alerts {
		if a == nil {
			return nil, fmt.Errorf("alert %d is nil", i)
		}
		if a.ID == "" {
			return nil, fmt.Errorf("alert %d (%s) has no id", i, a.RuleID)
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", a.ID, err)
		}
		bodies[i] = string(b)
	}
	return bodies, nil
}

func upsertAlerts(ctx context.Context, tx wtx, alerts []*event.Alert, bodies []string, now int64) error {
	for i, a := range alerts {
		first, last, sev := nanos(a.FirstTime), nanos(a.LastTime), event.SeverityRank(a.Severity)
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, rule_id, severity, first_time, last_time, created, updated, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			a.ID, a.RuleID, sev, first, last, now, now, bodies[i])
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, time, status, previous, by, note)
				VALUES (?, ?, ?, '', 'vigil', 'raised')`, a.ID, now, StatusOpen); err != nil {
				return fmt.Errorf("alert %s: %w", a.ID, err)
			}
			if err := logChange(ctx, tx, a.ID, ChangeRaised, now); err != nil {
				return err
			}
			continue
		}
		res, err = tx.ExecContext(ctx, `UPDATE alerts SET rule_id = ?, severity = ?, first_time = ?, last_time = ?,
			updated = ?, body = ? WHERE id = ? AND last_time <= ? AND body <> ?`,
			a.RuleID, sev, first, last, now, bodies[i], a.ID, last, bodies[i])
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := logChange(ctx, tx, a.ID, ChangeUpdated, now); err != nil {
				return err
			}
		}
	}
	return nil
}

const alertCols = `id, status, status_by, status_note, status_time, created, updated, body`

func scanAlert(sc interface{ Scan(...any) error }) (*Alert, error) {
	a := new(Alert)
	var id string
	var body []byte
	var st, created, updated int64
	if err := sc.Scan(&id, &a.Status, &a.StatusBy, &a.StatusNote, &st, &created, &updated, &body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &a.Alert); err != nil {
		return nil, fmt.Errorf("decode stored alert %s: %w", id, err)
	}
	a.StatusTime, a.Created, a.Updated = fromNanos(st), fromNanos(created), fromNanos(updated)
	return a, nil
}

// Alert returns the alert with the given id and its status history, or an
// error wrapping ErrNotFound.
func (s *Store) Alert(ctx context.Context, id string) (*Alert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: alert %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: alert %s: %w", id, err)
	}
	a.History, err = s.history(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("store: alert %s: %w", id, err)
	}
	return a, nil
}

func (s *Store) history(ctx context.Context, id string) ([]StatusChange, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT time, status, previous, by, note FROM alert_history WHERE alert_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var t int64
		if err := rows.Scan(&t, &c.Status, &c.Previous, &c.By, &c.Note); err != nil {
			return nil, err
		}
		c.Time = fromNanos(t)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AlertFilter selects alerts. Zero fields do not filter.
type AlertFilter struct {
	// Since and Until select the alerts active in [Since, Until): last time
	// at or after Since and first time before Until.
	Since, Until time.Time
	MinSeverity  string // info, low, medium, high, critical
	RuleID       string
	Status       string // open, ack, resolved
	Limit        int    // default DefaultLimit
}

// ListAlerts returns the alerts that match f, most recent (by last time)
// first, without their history.
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter) ([]*Alert, error) {
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds, args = append(conds, "last_time >= ?"), append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "first_time < ?"), append(args, nanos(f.Until))
	}
	if f.MinSeverity != "" {
		r := event.SeverityRank(f.MinSeverity)
		if r == 0 {
			return nil, fmt.Errorf("store: list alerts: unknown severity %q", f.MinSeverity)
		}
		conds, args = append(conds, "severity >= ?"), append(args, r)
	}
	if f.RuleID != "" {
		conds, args = append(conds, "rule_id = ?"), append(args, f.RuleID)
	}
	if f.Status != "" {
		if !validStatus(f.Status) {
			return nil, fmt.Errorf("store: list alerts: unknown status %q (want open, ack or resolved)", f.Status)
		}
		conds, args = append(conds, "status = ?"), append(args, f.Status)
	}
	q := `SELECT ` + alertCols + ` FROM alerts`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	q += " ORDER BY last_time DESC, id LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	defer rows.Close()
	var out []*Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	return out, nil
}

func validStatus(s string) bool {
	return s == StatusOpen || s == StatusAck || s == StatusResolved
}

// SetAlertStatus sets the status of alert id (open, ack or resolved) and
// records who changed it and why in its history. Setting the current
// status again is recorded too: a second note is still worth keeping.
func (s *Store) SetAlertStatus(ctx context.Context, id, status, by, note string) error {
	if !validStatus(status) {
		return fmt.Errorf("store: set alert status: unknown status %q (want open, ack or resolved)", status)
	}
	now := time.Now().UnixNano()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT status FROM alerts WHERE id = ?`, id).Scan(&prev)
		if isNoRows(err) {
			return fmt.Errorf("%w: alert %q", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, status_by = ?, status_note = ?, status_time = ? WHERE id = ?`,
			status, by, note, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, time, status, previous, by, note) VALUES (?, ?, ?, ?, ?, ?)`,
			id, now, status, prev, by, note); err != nil {
			return err
		}
		return logChange(ctx, wtx{tx, s}, id, ChangeStatus, now)
	})
	if err != nil {
		return opErr(fmt.Sprintf("set alert %s %s", id, status), err)
	}
	return nil
}
