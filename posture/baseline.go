package posture

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Change is one finding whose status differs from the baseline's.
type Change struct {
	ID       string `json:"id"`
	Resource string `json:"resource,omitempty"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Before   Status `json:"before,omitempty"`
	After    Status `json:"after,omitempty"`
}

// Diff is what changed since a baseline report: Better are failures that
// now pass, Worse passes (or unassessed checks) that now fail, Changed other
// status moves (e.g. pass → not_assessable), New checks the baseline did not
// have, Gone checks it had that this scan no longer reports.
type Diff struct {
	File      string    `json:"file"`
	ScannedAt time.Time `json:"scanned_at"`
	Better    []Change  `json:"better"`
	Worse     []Change  `json:"worse"`
	Changed   []Change  `json:"changed"`
	New       []Change  `json:"new"`
	Gone      []Change  `json:"gone"`
}

// LoadReport reads a report written by `vigil scan --format json`.
func LoadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is not a vigil scan JSON report: %v", path, err)
	}
	if r.Findings == nil {
		return nil, fmt.Errorf("%s is not a vigil scan JSON report: no \"findings\"", path)
	}
	return &r, nil
}

// Compare computes the diff of cur against base.
func Compare(base, cur *Report, file string) *Diff {
	d := &Diff{File: file, ScannedAt: base.ScannedAt,
		Better: []Change{}, Worse: []Change{}, Changed: []Change{}, New: []Change{}, Gone: []Change{}}
	old := map[string]Finding{}
	for _, f := range base.Findings {
		old[f.Key()] = f
	}
	seen := map[string]bool{}
	for _, f := range cur.Findings {
		seen[f.Key()] = true
		c := Change{ID: f.ID, Resource: f.Resource, Title: f.Title, Severity: f.Severity, After: f.Status}
		b, ok := old[f.Key()]
		if !ok {
			d.New = append(d.New, c)
			continue
		}
		c.Before = b.Status
		switch {
		case b.Status == f.Status:
		case f.Status == Fail:
			d.Worse = append(d.Worse, c)
		case b.Status == Fail && f.Status == Pass:
			d.Better = append(d.Better, c)
		default:
			d.Changed = append(d.Changed, c)
		}
	}
	for _, f := range base.Findings {
		if !seen[f.Key()] {
			d.Gone = append(d.Gone, Change{ID: f.ID, Resource: f.Resource, Title: f.Title, Severity: f.Severity, Before: f.Status})
		}
	}
	for _, l := range [][]Change{d.Better, d.Worse, d.Changed, d.New, d.Gone} {
		sort.Slice(l, func(i, j int) bool {
			if sevRank[l[i].Severity] != sevRank[l[j].Severity] {
				return sevRank[l[i].Severity] > sevRank[l[j].Severity]
			}
			return l[i].Resource+l[i].ID < l[j].Resource+l[j].ID
		})
	}
	return d
}
