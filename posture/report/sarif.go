package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vigildb/vigil/posture"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	EndTimeUTC          string `json:"endTimeUtc"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Kind       string          `json:"kind"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

// SARIFLevel maps a severity to a SARIF level.
func SARIFLevel(sev string) string {
	switch sev {
	case posture.SevCritical, posture.SevHigh:
		return "error"
	case posture.SevMedium:
		return "warning"
	}
	return "note"
}

var securitySeverity = map[string]string{
	posture.SevCritical: "9.5", posture.SevHigh: "8.0", posture.SevMedium: "5.5", posture.SevLow: "3.0", posture.SevInfo: "0.0",
}

// SARIF writes a SARIF 2.1.0 log: one rule per check in the report, one
// result per failed check (kind fail) and per check that could not be
// assessed (kind review, level none). toolVersion may be empty.
func SARIF(w io.Writer, r *posture.Report, toolVersion string) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: "vigil", InformationURI: "https://github.com/vigildb/vigil",
			Version: toolVersion, Rules: []sarifRule{}}},
		Results:     []sarifResult{},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true, EndTimeUTC: r.ScannedAt.UTC().Format("2006-01-02T15:04:05Z")}},
		Properties:  map[string]any{"target": r.Target, "engine": r.Engine, "version": r.Version, "versionsTable": r.Versions.Date},
	}
	index := map[string]int{}
	for _, f := range r.Findings {
		if _, ok := index[f.ID]; ok {
			continue
		}
		index[f.ID] = len(run.Tool.Driver.Rules)
		tags := append([]string{"security", r.Engine}, f.References...)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: f.ID, Name: ruleName(f.ID),
			ShortDescription: sarifText{Text: f.Title},
			FullDescription:  sarifText{Text: f.Why},
			Help: sarifText{Text: fmt.Sprintf("Expected: %s\nFix: %s\nReferences: %s", f.Expected, f.Fix, strings.Join(f.References, "; ")),
				Markdown: fmt.Sprintf("**Expected:** %s\n\n**Fix:** `%s`\n\n**References:** %s", f.Expected, f.Fix, strings.Join(f.References, "; "))},
			DefaultConfiguration: sarifConfig{Level: SARIFLevel(f.Severity)},
			Properties:           map[string]any{"security-severity": securitySeverity[f.Severity], "tags": tags, "problem.severity": f.Severity},
		})
	}
	uri := artifactURI(r.Target)
	for _, f := range r.Findings {
		if f.Status != posture.Fail && f.Status != posture.NotAssessable {
			continue
		}
		res := sarifResult{RuleID: f.ID, RuleIndex: index[f.ID], Kind: "fail", Level: SARIFLevel(f.Severity),
			Message: sarifText{Text: fmt.Sprintf("%s: observed %s; expected %s. Fix: %s", f.Title, f.Observed, f.Expected, f.Fix)}}
		if f.Status == posture.NotAssessable {
			res.Kind, res.Level = "review", "none"
			res.Message.Text = fmt.Sprintf("%s: not assessable (%s); needs %s", f.Title, f.Observed, f.Needs)
		}
		name := r.Target
		if f.Resource != "" {
			name = f.Resource
		}
		res.Locations = []sarifLocation{{
			PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}},
			LogicalLocations: []sarifLogical{{Name: name, FullyQualifiedName: name + "/" + f.ID, Kind: "resource"}},
		}}
		res.Properties = map[string]any{"status": string(f.Status), "severity": f.Severity}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// ruleName turns pg.hba.trust into PgHbaTrust (SARIF rule names are
// identifiers).
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '.' || r == '_' || r == '-' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// artifactURI makes the target usable as a URI reference: DSNs are URLs
// already; file names and resource ids are relative references.
func artifactURI(target string) string {
	if strings.Contains(target, "://") {
		return target
	}
	t := strings.TrimPrefix(target, "/")
	return strings.ReplaceAll(t, " ", "%20")
}
