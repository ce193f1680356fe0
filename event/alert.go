package event

import "time"

// Severity values, in increasing order.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

var severityRank = map[string]int{SeverityInfo: 1, SeverityLow: 2, SeverityMedium: 3, SeverityHigh: 4, SeverityCritical: 5}

// SeverityRank orders severities: 0 for an unknown one, 1 for info ... 5 for critical.
func SeverityRank(s string) int { return severityRank[s] }

// Alert is what a rule raises. One alert stands for one group (the rule's
// group_by values) in one window: later matching events update Count,
// LastTime and Evidence instead of raising a new alert.
//
// Its JSON form is the contract of SPEC §3; keep it stable.
type Alert struct {
	ID          string            `json:"id"`
	RuleID      string            `json:"rule_id"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Mitre       Mitre             `json:"mitre"`
	FirstTime   time.Time         `json:"first_time"`
	LastTime    time.Time         `json:"last_time"`
	Count       int64             `json:"count"`
	Group       map[string]string `json:"group,omitempty"`
	Entity      Entity            `json:"entity"`
	Evidence    []Event           `json:"evidence"`
	Description string            `json:"description,omitempty"`
	Impact      string            `json:"impact,omitempty"`
	Mitigation  string            `json:"mitigation,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
}

// Mitre is the ATT&CK context of an alert.
type Mitre struct {
	Tactic        string `json:"tactic"`                   // e.g. TA0006
	TacticName    string `json:"tactic_name,omitempty"`    // e.g. Credential Access
	Technique     string `json:"technique"`                // e.g. T1110.001
	TechniqueName string `json:"technique_name,omitempty"` // e.g. Brute Force: Password Guessing
}

// Entity names who and where, where known.
type Entity struct {
	User     string `json:"user.name,omitempty"`
	Client   string `json:"client.address,omitempty"`
	Server   string `json:"server.address,omitempty"`
	Database string `json:"db.namespace,omitempty"`
	App      string `json:"app.name,omitempty"`
}
