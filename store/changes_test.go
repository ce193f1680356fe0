package store

import (
	"context"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

func TestAlertChangesJournal(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a := &event.Alert{ID: "a1", RuleID: "auth.failed_login_burst", Severity: "high", FirstTime: t0, LastTime: t0, Count: 6}
	if err := s.UpsertAlerts(ctx, []*event.Alert{a}); err != nil {
		t.Fatal(err)
	}
	// The same alert again: nothing changed, nothing journaled.
	if err := s.UpsertAlerts(ctx, []*event.Alert{a}); err != nil {
		t.Fatal(err)
	}
	b := *a
	b.Count, b.LastTime = 9, t0.Add(time.Minute)
	if err := s.UpsertAlerts(ctx, []*event.Alert{&b}); err != nil {
		t.Fatal(err)
	}
	// An older update (a re-delivery after a restart) changes nothing.
	if err := s.UpsertAlerts(ctx, []*event.Alert{a}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlertStatus(ctx, "a1", StatusResolved, "alice", "fixed"); err != nil {
		t.Fatal(err)
	}
	got, err := s.AlertChanges(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ChangeRaised, ChangeUpdated, ChangeStatus}
	if len(got) != len(want) {
		t.Fatalf("journal = %+v, want kinds %v", got, want)
	}
	for i, c := range got {
		if c.Kind != want[i] || c.AlertID != "a1" || (i > 0 && c.Seq <= got[i-1].Seq) {
			t.Errorf("change %d = %+v, want kind %s in seq order", i, c, want[i])
		}
	}
	rest, err := s.AlertChanges(ctx, got[0].Seq, 1)
	if err != nil || len(rest) != 1 || rest[0].Seq != got[1].Seq {
		t.Fatalf("AlertChanges(after first, 1) = %+v, %v", rest, err)
	}
	if n, err := s.PruneAlertChanges(ctx, got[1].Seq); err != nil || n != 2 {
		t.Fatalf("PruneAlertChanges = %d, %v; want 2", n, err)
	}
	left, _ := s.AlertChanges(ctx, 0, 0)
	if len(left) != 1 || left[0].Kind != ChangeStatus {
		t.Fatalf("after prune: %+v", left)
	}
}
