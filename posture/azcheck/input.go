// Package azcheck grades Azure database resources from the JSON the Azure
// CLI prints: Cosmos DB accounts (`az cosmosdb show`), PostgreSQL and
// MySQL flexible servers (`az postgres|mysql flexible-server show`), and,
// for the same resources, their server parameters (`… parameter list`),
// firewall rules (`… firewall-rule list`), Entra administrators
// (`… ad-admin list`), Defender settings (`az security atp cosmosdb show`,
// `az security pricing show`) and diagnostic settings (`az monitor
// diagnostic-settings list`). Raw ARM JSON, with the resource's fields
// nested under "properties", is accepted too.
//
// A check whose input was not supplied is "not assessable" and names the
// command whose output would make it assessable.
package azcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/versions"
)

// Input is one JSON document and the name it came from (for messages).
type Input struct {
	Name string
	Data []byte
}

// Options configure a scan.
type Options struct {
	Versions *versions.Table
	Now      time.Time
}

type obj = map[string]any

// resource is one graded resource with the sub-resources found for it.
type resource struct {
	Kind        string // cosmos, pg, mysql
	ID, Name    string
	Props       obj
	Params      map[string]string // nil: no parameter list given
	Firewall    []obj             // nil: no firewall-rule list given
	FWGiven     bool
	Admins      []obj
	AdminsGiven bool
	ATP         *bool
	Pricing     string // pricing tier of the matching Defender plan, "" when not given
	Diag        []obj
	DiagGiven   bool
	now         time.Time
	versions    *versions.Table
}

const (
	typeCosmos  = "microsoft.documentdb/databaseaccounts"
	typePG      = "microsoft.dbforpostgresql/flexibleservers"
	typeMySQL   = "microsoft.dbformysql/flexibleservers"
	typeATP     = "microsoft.security/advancedthreatprotectionsettings"
	typePricing = "microsoft.security/pricings"
	typeDiag    = "microsoft.insights/diagnosticsettings"
)

// Scan parses the inputs, joins sub-resources to their resources by id and
// evaluates every resource.
func Scan(inputs []Input, o Options) (*posture.Report, error) {
	if o.Versions == nil {
		o.Versions = versions.Default()
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var objs []obj
	var names []string
	for _, in := range inputs {
		list, err := parse(in)
		if err != nil {
			return nil, err
		}
		objs = append(objs, list...)
		names = append(names, in.Name)
	}
	var res []*resource
	byID := map[string]*resource{}
	for _, x := range objs {
		t := strings.ToLower(str(x, "type"))
		kind := ""
		switch t {
		case typeCosmos:
			kind = "cosmos"
		case typePG:
			kind = "pg"
		case typeMySQL:
			kind = "mysql"
		}
		if kind == "" {
			continue
		}
		r := &resource{Kind: kind, ID: str(x, "id"), Name: str(x, "name"), Props: x, now: o.Now, versions: o.Versions}
		if r.Name == "" {
			r.Name = r.ID
		}
		res = append(res, r)
		byID[strings.ToLower(r.ID)] = r
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("%s: no Cosmos DB account or PostgreSQL/MySQL flexible server found (expected the JSON of `az cosmosdb show` or `az postgres|mysql flexible-server show`, with \"type\" Microsoft.DocumentDB/databaseAccounts, Microsoft.DBforPostgreSQL/flexibleServers or Microsoft.DBforMySQL/flexibleServers)", strings.Join(names, ", "))
	}
	var notes []string
	parent := func(id string) *resource {
		l := strings.ToLower(id)
		for rid, r := range byID {
			if rid != "" && strings.HasPrefix(l, rid+"/") {
				return r
			}
		}
		return nil
	}
	for _, x := range objs {
		t := strings.ToLower(str(x, "type"))
		id := str(x, "id")
		switch {
		case t == typeCosmos || t == typePG || t == typeMySQL:
		case strings.HasSuffix(t, "/configurations"):
			if p := parent(id); p != nil {
				if p.Params == nil {
					p.Params = map[string]string{}
				}
				p.Params[strings.ToLower(str(x, "name"))] = str(x, "value")
			} else {
				notes = append(notes, "parameter "+str(x, "name")+" belongs to no resource in the input")
			}
		case strings.HasSuffix(t, "/firewallrules"):
			if p := parent(id); p != nil {
				p.Firewall = append(p.Firewall, x)
				p.FWGiven = true
			}
		case strings.HasSuffix(t, "/administrators"):
			if p := parent(id); p != nil {
				p.Admins = append(p.Admins, x)
				p.AdminsGiven = true
			}
		case t == typeATP:
			if p := parent(id); p != nil {
				b := boolv(x, "isEnabled")
				p.ATP = &b
			}
		case t == typePricing:
			plan := strings.ToLower(str(x, "name"))
			for _, r := range res {
				if (r.Kind == "cosmos" && plan == "cosmosdbs") || (r.Kind != "cosmos" && plan == "opensourcerelationaldatabases") {
					r.Pricing = str(x, "pricingTier")
				}
			}
		case t == typeDiag:
			if p := parent(id); p != nil {
				p.Diag = append(p.Diag, x)
				p.DiagGiven = true
			}
		default:
			notes = append(notes, fmt.Sprintf("ignored an object of type %q", str(x, "type")))
		}
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	rep := &posture.Report{
		ScannedAt: o.Now.UTC(),
		Versions:  posture.VersionsInfo{Date: o.Versions.Date, Source: o.Versions.Source},
		Notes:     dedupe(notes),
	}
	if n := o.Versions.StaleNote(o.Now); n != "" {
		rep.Notes = append(rep.Notes, n)
	}
	kinds := map[string]bool{}
	for _, r := range res {
		kinds[r.Kind] = true
		var fs []posture.Finding
		switch r.Kind {
		case "cosmos":
			fs = posture.Evaluate(cosmosDefs(), r, r.Name)
		case "pg":
			fs = posture.Evaluate(pgDefs(), r, r.Name)
		case "mysql":
			fs = posture.Evaluate(mysqlDefs(), r, r.Name)
		}
		rep.Findings = append(rep.Findings, fs...)
	}
	engineName := map[string]string{"cosmos": "azure-cosmosdb", "pg": "azure-postgres-flexible", "mysql": "azure-mysql-flexible"}
	if len(res) == 1 {
		r := res[0]
		rep.Target = r.ID
		if rep.Target == "" {
			rep.Target = r.Name
		}
		rep.Engine = engineName[r.Kind]
		rep.Version = r.version()
	} else {
		rep.Target = fmt.Sprintf("%d Azure resources (%s)", len(res), strings.Join(names, ", "))
		rep.Engine = "azure"
		if len(kinds) == 1 {
			rep.Engine = engineName[res[0].Kind]
		}
	}
	rep.Finish()
	return rep, nil
}

func (r *resource) version() string {
	switch r.Kind {
	case "cosmos":
		v := str(r.Props, "kind")
		if sv := str(r.Props, "apiProperties.serverVersion"); sv != "" {
			v += " " + sv
		}
		return v
	case "pg":
		v := str(r.Props, "version")
		if m := str(r.Props, "minorVersion"); m != "" && !strings.Contains(m, ".") {
			v += "." + m
		} else if m != "" {
			v = m
		}
		return v
	}
	return str(r.Props, "version")
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// parse reads one document: an object or an array of objects. Raw ARM
// objects have their "properties" merged into the top level.
func parse(in Input) ([]obj, error) {
	d := json.NewDecoder(bytes.NewReader(in.Data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", in.Name, err)
	}
	var list []any
	switch t := v.(type) {
	case []any:
		list = t
	case map[string]any:
		if vals, ok := t["value"].([]any); ok && t["type"] == nil {
			list = vals // ARM list response {"value": [...]}
		} else {
			list = []any{t}
		}
	default:
		return nil, fmt.Errorf("%s: expected a JSON object or an array of objects", in.Name)
	}
	out := make([]obj, 0, len(list))
	for i, x := range list {
		o, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: element %d is not an object", in.Name, i)
		}
		if p, ok := o["properties"].(map[string]any); ok {
			for k, v := range p {
				if _, exists := o[k]; !exists {
					o[k] = v
				}
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// get walks a dotted path.
func get(o obj, path string) (any, bool) {
	var cur any = o
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func str(o obj, path string) string {
	v, ok := get(o, path)
	if !ok {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v)
}

func boolv(o obj, path string) bool {
	v, _ := get(o, path)
	b, _ := v.(bool)
	return b
}

func has(o obj, path string) bool {
	_, ok := get(o, path)
	return ok
}

// present reports whether path exists, also when its value is null (the
// CLI prints unset properties as null).
func present(o obj, path string) bool {
	parts := strings.Split(path, ".")
	cur := o
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return false
		}
		if i == len(parts)-1 {
			return true
		}
		if cur, ok = v.(map[string]any); !ok {
			return false
		}
	}
	return false
}

func arr(o obj, path string) []obj {
	v, _ := get(o, path)
	l, _ := v.([]any)
	var out []obj
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
