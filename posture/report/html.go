package report

import (
	"html/template"
	"io"
	"strings"

	"github.com/vigildb/vigil/posture"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"join":  strings.Join,
	"date":  func(r *posture.Report) string { return r.ScannedAt.UTC().Format("2006-01-02 15:04:05 UTC") },
	"count": func(r *posture.Report, st string) int {
		n := 0
		for _, f := range r.Findings {
			if string(f.Status) == st {
				n++
			}
		}
		return n
	},
	"list": func(s ...string) []string { return s },
	"having": func(r *posture.Report, st string) []posture.Finding {
		var out []posture.Finding
		for _, f := range r.Findings {
			if string(f.Status) == st {
				out = append(out, f)
			}
		}
		return out
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil security scan — {{.Target}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:2em auto;max-width:1100px;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:2px solid #dde2ea;padding-bottom:.2em}
.meta{color:#566073}.cards{display:flex;gap:.8em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #dde2ea;border-radius:6px;padding:.6em 1em;min-width:7em}.card b{display:block;font-size:1.6em}
.fail b{color:#b42318}.pass b{color:#067647}.not_assessable b{color:#8a6100}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;vertical-align:top;padding:.35em .5em;border-bottom:1px solid #e7eaf0}
th{background:#f4f6f9;font-weight:600}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;background:#f4f6f9;padding:0 .2em;border-radius:3px;word-break:break-all}
.sev{font-weight:700;font-size:.8em;padding:.1em .45em;border-radius:4px;color:#fff;white-space:nowrap}
.sev-critical{background:#7a1010}.sev-high{background:#b42318}.sev-medium{background:#b54708}.sev-low{background:#026aa2}.sev-info{background:#667085}
.finding{border:1px solid #e7eaf0;border-left:5px solid #b42318;border-radius:4px;padding:.6em .9em;margin:.7em 0;page-break-inside:avoid}
.finding.not_assessable{border-left-color:#8a6100}.finding.info,.finding.error{border-left-color:#667085}
.finding h3{margin:.1em 0 .4em;font-size:1.02em}.finding dl{display:grid;grid-template-columns:7em 1fr;gap:.2em .8em;margin:0}
.finding dt{color:#566073}.finding dd{margin:0}
@media print{body{margin:0;max-width:none;font-size:11px}.finding{break-inside:avoid}h2{break-after:avoid}a{color:inherit}}
</style>
</head>
<body>
<h1>Vigil security scan</h1>
<div class="meta"><code>{{.Target}}</code> · {{.Engine}} {{.Version}} · scanned {{date .}}{{if .Role}} as <code>{{.Role}}</code>{{end}} · versions table of {{.Versions.Date}}</div>
{{range .Notes}}<p class="meta">Note: {{.}}</p>{{end}}
<div class="cards">
<div class="card fail"><b>{{.Summary.Fail}}</b>failed</div>
<div class="card pass"><b>{{.Summary.Pass}}</b>passed</div>
<div class="card not_assessable"><b>{{.Summary.NotAssessable}}</b>not assessable</div>
<div class="card"><b>{{.Summary.Info}}</b>info</div>
<div class="card"><b>{{.Summary.Error}}</b>errors</div>
</div>
{{with .Baseline}}<h2>Since the baseline ({{.File}})</h2>
<table><tr><th>change</th><th>check</th><th>severity</th><th>before → after</th></tr>
{{range .Worse}}<tr><td>worse</td><td><code>{{.Resource}} {{.ID}}</code> {{.Title}}</td><td>{{.Severity}}</td><td>{{.Before}} → {{.After}}</td></tr>{{end}}
{{range .Better}}<tr><td>better</td><td><code>{{.Resource}} {{.ID}}</code> {{.Title}}</td><td>{{.Severity}}</td><td>{{.Before}} → {{.After}}</td></tr>{{end}}
{{range .Changed}}<tr><td>changed</td><td><code>{{.Resource}} {{.ID}}</code> {{.Title}}</td><td>{{.Severity}}</td><td>{{.Before}} → {{.After}}</td></tr>{{end}}
{{range .New}}<tr><td>new</td><td><code>{{.Resource}} {{.ID}}</code> {{.Title}}</td><td>{{.Severity}}</td><td>– → {{.After}}</td></tr>{{end}}
{{range .Gone}}<tr><td>gone</td><td><code>{{.Resource}} {{.ID}}</code> {{.Title}}</td><td>{{.Severity}}</td><td>{{.Before}} → –</td></tr>{{end}}
</table>{{end}}
{{range $st := (list "fail" "error" "not_assessable" "info")}}{{$fs := having $ $st}}{{if $fs}}
<h2>{{if eq $st "fail"}}Failed checks{{else if eq $st "error"}}Errors{{else if eq $st "not_assessable"}}Not assessable{{else}}For information{{end}} ({{len $fs}})</h2>
{{range $fs}}<div class="finding {{.Status}}" id="{{.ID}}">
<h3><span class="sev sev-{{.Severity}}">{{upper .Severity}}</span> {{.Title}} <code>{{if .Resource}}{{.Resource}} {{end}}{{.ID}}</code></h3>
<dl><dt>observed</dt><dd>{{.Observed}}</dd>
{{if eq $st "not_assessable"}}<dt>needs</dt><dd>{{.Needs}}</dd>{{end}}
<dt>expected</dt><dd>{{.Expected}}</dd><dt>why</dt><dd>{{.Why}}</dd><dt>fix</dt><dd><code>{{.Fix}}</code></dd>
{{if .References}}<dt>references</dt><dd>{{join .References "; "}}</dd>{{end}}</dl>
</div>{{end}}{{end}}{{end}}
{{$p := having . "pass"}}{{if $p}}<h2>Passed checks ({{len $p}})</h2>
<table><tr><th>check</th><th>severity</th><th>title</th><th>observed</th></tr>
{{range $p}}<tr><td><code>{{if .Resource}}{{.Resource}} {{end}}{{.ID}}</code></td><td>{{.Severity}}</td><td>{{.Title}}</td><td>{{.Observed}}</td></tr>{{end}}
</table>{{end}}
<p class="meta">Generated by Vigil. Severity: critical, high, medium, low, info. Status "not assessable" means the scanning role could not read the state — it is never counted as a pass.</p>
</body>
</html>
`))

// HTML writes a self-contained report page (no external assets), readable
// on screen and in print.
func HTML(w io.Writer, r *posture.Report) error {
	return page.Execute(w, r)
}
