// Package posture grades the security configuration of a database server or
// a cloud database resource: every check reads one piece of state (a
// setting, a catalog, a resource property), compares it with what the
// benchmarks ask (CIS, pgdsat, dev-sec, the Azure rule sets), and says pass,
// fail or "not assessable" — the last when the scanning role cannot read the
// state, together with the privilege that would let it. A check never passes
// on state it could not see.
//
// The engines live in subpackages (pgcheck, mycheck, azcheck); each gathers
// the state once, read-only, and evaluates its catalog of checks over it.
// Package report renders a Report as text, JSON, SARIF or HTML.
package posture

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

const (
	// Pass: the state was read and meets the expectation.
	Pass Status = "pass"
	// Fail: the state was read and does not meet it.
	Fail Status = "fail"
	// NotAssessable: the state could not be read with the privileges or
	// inputs at hand; Finding.Needs says what would make it assessable.
	NotAssessable Status = "not_assessable"
	// Error: reading the state failed for another reason.
	Error Status = "error"
	// Info: reported for context, or the check does not apply here.
	Info Status = "info"
)

// Severities, lowest first.
const (
	SevInfo     = "info"
	SevLow      = "low"
	SevMedium   = "medium"
	SevHigh     = "high"
	SevCritical = "critical"
)

var sevRank = map[string]int{SevInfo: 1, SevLow: 2, SevMedium: 3, SevHigh: 4, SevCritical: 5}

// SeverityRank orders severities: 0 for an unknown one, 1 for info … 5 for
// critical.
func SeverityRank(s string) int { return sevRank[s] }

// Check describes one check of a catalog: what it looks at and what it
// expects. Its ID is stable across releases (baselines compare by it).
type Check struct {
	ID       string `json:"id"`
	Engine   string `json:"engine"` // postgres, mysql, azure-cosmosdb, azure-postgres-flexible, azure-mysql-flexible
	Group    string `json:"group"`  // version, network, hba, auth, tls, roles, ...
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Expected string `json:"expected"`
	Why      string `json:"why"`
	Fix      string `json:"fix"`
	// References: benchmark ids, e.g. "CIS PostgreSQL 17 3.1.20",
	// "pgdsat 5.4", "dev-sec postgres-07", "Prowler cosmosdb_…".
	References []string `json:"references"`
	// Host is set on checks that need access to the database host (the
	// files of the data directory), not only a connection.
	Host bool `json:"host,omitempty"`
}

// Result is what evaluating a check on gathered state gives.
type Result struct {
	Status   Status
	Observed string
	// Needs names the privilege or input that would make a not_assessable
	// check assessable.
	Needs string
}

// Passf, Failf, Infof and NA build Results.
func Passf(format string, a ...any) Result {
	return Result{Status: Pass, Observed: fmt.Sprintf(format, a...)}
}

// Failf builds a failing Result.
func Failf(format string, a ...any) Result {
	return Result{Status: Fail, Observed: fmt.Sprintf(format, a...)}
}

// Infof builds an informational Result.
func Infof(format string, a ...any) Result {
	return Result{Status: Info, Observed: fmt.Sprintf(format, a...)}
}

// NA builds a not_assessable Result: observed says what could not be read,
// needs what would make it readable.
func NA(observed, needs string) Result {
	return Result{Status: NotAssessable, Observed: observed, Needs: needs}
}

// Errorf builds an error Result.
func Errorf(format string, a ...any) Result {
	return Result{Status: Error, Observed: fmt.Sprintf(format, a...)}
}

// Cond passes or fails on ok with the same observation.
func Cond(ok bool, observed string) Result {
	if ok {
		return Result{Status: Pass, Observed: observed}
	}
	return Result{Status: Fail, Observed: observed}
}

// Def is a check with its evaluation over an engine's gathered state S.
type Def[S any] struct {
	Check
	Eval func(S) Result
}

// Checks lists the Check part of defs.
func Checks[S any](defs []Def[S]) []Check {
	out := make([]Check, len(defs))
	for i, d := range defs {
		out[i] = d.Check
	}
	return out
}

// Evaluate runs every def over st. A panicking evaluation becomes an error
// finding instead of ending the scan.
func Evaluate[S any](defs []Def[S], st S, resource string) []Finding {
	out := make([]Finding, 0, len(defs))
	for _, d := range defs {
		r := safeEval(d, st)
		out = append(out, NewFinding(d.Check, r, resource))
	}
	return out
}

func safeEval[S any](d Def[S], st S) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Errorf("internal error evaluating %s: %v", d.ID, p)
		}
	}()
	return d.Eval(st)
}

// Finding is one check's outcome on one target: the JSON contract of
// docs/posture.md.
type Finding struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Status     Status   `json:"status"`
	Severity   string   `json:"severity"`
	Observed   string   `json:"observed"`
	Expected   string   `json:"expected"`
	Why        string   `json:"why"`
	Fix        string   `json:"fix"`
	References []string `json:"references"`
	Needs      string   `json:"needs,omitempty"`
	Group      string   `json:"group,omitempty"`
	// Resource names the resource a finding is about when a report covers
	// several (Azure files with more than one resource).
	Resource string `json:"resource,omitempty"`
}

// NewFinding joins a check and its result.
func NewFinding(c Check, r Result, resource string) Finding {
	refs := c.References
	if refs == nil {
		refs = []string{}
	}
	return Finding{ID: c.ID, Title: c.Title, Status: r.Status, Severity: c.Severity,
		Observed: r.Observed, Expected: c.Expected, Why: c.Why, Fix: c.Fix,
		References: refs, Needs: r.Needs, Group: c.Group, Resource: resource}
}

// Key identifies a finding across scans: resource and check id.
func (f Finding) Key() string {
	if f.Resource == "" {
		return f.ID
	}
	return f.Resource + " " + f.ID
}

// VersionsInfo says which end-of-life table the version checks used.
type VersionsInfo struct {
	Date   string `json:"date"`
	Source string `json:"source"`
}

// Summary counts findings by status, and failures by severity.
type Summary struct {
	Pass          int            `json:"pass"`
	Fail          int            `json:"fail"`
	NotAssessable int            `json:"not_assessable"`
	Error         int            `json:"error"`
	Info          int            `json:"info"`
	FailBySev     map[string]int `json:"fail_by_severity"`
}

// Report is the outcome of one scan.
type Report struct {
	Tool      string       `json:"tool"`
	Target    string       `json:"target"` // never carries a password
	Engine    string       `json:"engine"`
	Version   string       `json:"version"`
	ScannedAt time.Time    `json:"scanned_at"`
	Role      string       `json:"role,omitempty"` // the role the scan connected as
	Versions  VersionsInfo `json:"versions_table"`
	Summary   Summary      `json:"summary"`
	Findings  []Finding    `json:"findings"`
	Baseline  *Diff        `json:"baseline,omitempty"`
	// Notes are scan-wide remarks (databases skipped, inputs missing).
	Notes []string `json:"notes,omitempty"`
}

// Finish sorts the findings (failures first, by severity) and fills the
// summary.
func (r *Report) Finish() {
	if r.Tool == "" {
		r.Tool = "vigil"
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if statusRank[a.Status] != statusRank[b.Status] {
			return statusRank[a.Status] < statusRank[b.Status]
		}
		if sevRank[a.Severity] != sevRank[b.Severity] {
			return sevRank[a.Severity] > sevRank[b.Severity]
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.ID < b.ID
	})
	s := Summary{FailBySev: map[string]int{}}
	for _, f := range r.Findings {
		switch f.Status {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
			s.FailBySev[f.Severity]++
		case NotAssessable:
			s.NotAssessable++
		case Error:
			s.Error++
		default:
			s.Info++
		}
	}
	r.Summary = s
}

var statusRank = map[Status]int{Fail: 0, Error: 1, NotAssessable: 2, Info: 3, Pass: 4}

// Failing lists the failed findings at or above severity minSev.
func (r *Report) Failing(minSev string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Status == Fail && sevRank[f.Severity] >= sevRank[minSev] {
			out = append(out, f)
		}
	}
	return out
}

// Find returns the finding with id (on any resource), or false.
func (r *Report) Find(id string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

// List renders a short comma-separated list of at most n items, with a
// count of the rest.
func List(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
