package config

// The notifiers:, routes: and alert_base_url sections: where alerts are
// sent (package notify does the sending). docs/notify.md is the reference.

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Notifier types.
const (
	NotifierSlack     = "slack"
	NotifierTeams     = "teams"
	NotifierPagerDuty = "pagerduty"
	NotifierWebhook   = "webhook"
	NotifierEmail     = "email"
	NotifierSyslog    = "syslog"
	NotifierNDJSON    = "ndjson"
)

// Notification defaults.
const (
	DefaultNotifyTimeout     = 10 * time.Second
	DefaultNotifyMaxAge      = 24 * time.Hour
	DefaultNotifyConcurrency = 2
	DefaultThrottle          = 15 * time.Minute
	DefaultPagerDutyURL      = "https://events.pagerduty.com/v2/enqueue"
)

// Notifier is one place alerts are sent to. Which fields apply depends on
// Type; secrets (webhook URLs, routing keys, passwords, HMAC keys, header
// values) are Secret values.
type Notifier struct {
	Name string
	Type string // slack, teams, pagerduty, webhook, email, syslog, ndjson
	// Timeout bounds one delivery attempt; MaxAge is how long a delivery
	// is retried before it is given up (and recorded as failed);
	// Concurrency is how many deliveries are in flight at once.
	Timeout     time.Duration
	MaxAge      time.Duration
	Concurrency int

	// slack, teams, webhook: the URL to POST to (a secret: Slack and Teams
	// URLs carry the token). pagerduty: the Events API v2 endpoint, not
	// secret (default DefaultPagerDutyURL).
	URL Secret
	// pagerduty
	RoutingKey Secret
	// webhook: HMAC-SHA256 key of X-Vigil-Signature, and extra headers
	// (their values are secrets: they often carry tokens).
	HMACSecret Secret
	Headers    []Header

	// email
	Host          string
	Port          int
	TLSMode       string // starttls (default), tls, none
	Username      string
	Password      Secret
	From          string
	To            []string
	SubjectPrefix string

	// syslog: Address is udp://, tcp:// or tls:// HOST:PORT; Format
	// rfc5424 (default) or cef; Facility a syslog facility name.
	Address  string
	Format   string
	Facility string
	AppName  string

	// email and syslog over TLS: a PEM bundle of the CAs to trust instead
	// of the system's, and the name to verify (default the host).
	CAFile     string
	ServerName string

	// ndjson: a file to append to, or "-" for standard output.
	Path string

	// Insecure allows plain http:// to a host beyond loopback, or e-mail
	// without TLS beyond loopback.
	Insecure bool

	Pos Pos // of the notifier's first key
}

// Header is one extra HTTP header of a webhook notifier.
type Header struct {
	Name  string
	Value Secret
}

// Route sends the alerts it matches to its notifiers. Routes are tried
// in file order; the first that matches takes the alert unless it has
// Continue set. A route without conditions matches every alert (a
// default route, written last).
type Route struct {
	Name        string
	Notifiers   []string
	MinSeverity string   // info, low, medium, high, critical; "" matches all
	Rules       []string // rule id globs (path.Match), any of
	Tags        []string // alert tags, any of
	Servers     []string // server.address globs, any of
	Databases   []string // db.namespace globs, any of
	Continue    bool
	// GroupBy names the alert fields (group-by fields or entity fields:
	// client.address, user.name, server.address, db.namespace, app.name)
	// that key throttling, with the rule id; empty = the alert's own group.
	GroupBy []string
	// Throttle: at most one message per rule and key per window; the next
	// one carries the running count. 0 = a message for every new alert.
	Throttle   time.Duration
	QuietHours *QuietHours
	Pos        Pos
}

// QuietHours hold a route's messages from Start to End (minutes after
// midnight in Location; End before Start spans midnight) and deliver them
// as one summary per rule and key when quiet hours end. Alerts at or above
// Except (a severity; "" = none) go out anyway.
type QuietHours struct {
	Start, End int
	Location   *time.Location
	Except     string
}

// Active reports whether t falls in quiet hours.
func (q *QuietHours) Active(t time.Time) bool {
	if q == nil || q.Start == q.End {
		return false
	}
	lt := t.In(q.Location)
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// EndAfter returns when the quiet hours that contain t end (t if they do not).
func (q *QuietHours) EndAfter(t time.Time) time.Time {
	if !q.Active(t) {
		return t
	}
	lt := t.In(q.Location)
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), q.End/60, q.End%60, 0, 0, q.Location)
	if !end.After(lt) {
		end = end.AddDate(0, 0, 1)
	}
	return end.UTC()
}

var (
	notifierTypes      = []string{NotifierSlack, NotifierTeams, NotifierPagerDuty, NotifierWebhook, NotifierEmail, NotifierSyslog, NotifierNDJSON}
	notifierCommonKeys = []string{"name", "type", "timeout", "max_age", "concurrency"}
	notifierTypeKeys   = map[string][]string{
		NotifierSlack:     {"url", "insecure"},
		NotifierTeams:     {"url", "insecure"},
		NotifierPagerDuty: {"routing_key", "url", "insecure"},
		NotifierWebhook:   {"url", "secret", "headers", "insecure"},
		NotifierEmail:     {"host", "port", "tls", "username", "password", "from", "to", "subject_prefix", "ca_file", "server_name", "insecure"},
		NotifierSyslog:    {"address", "format", "facility", "app_name", "ca_file", "server_name"},
		NotifierNDJSON:    {"path"},
	}
	routeKeys      = []string{"name", "notifiers", "min_severity", "rules", "tags", "servers", "databases", "continue", "group_by", "throttle", "quiet_hours"}
	severities     = []string{"info", "low", "medium", "high", "critical"}
	syslogFacility = map[string]int{"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
		"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
		"local4": 20, "local5": 21, "local6": 22, "local7": 23}
	headerNameRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
	clockRE      = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)
)

// SyslogFacility is the code of a facility name (local0 = 16); ok is
// false for an unknown name.
func SyslogFacility(name string) (int, bool) {
	f, ok := syslogFacility[name]
	return f, ok
}

func init() {
	topKeys = append(topKeys, "notifiers", "routes", "alert_base_url")
}

// notifyKey reads one of the top-level keys of this file.
func (p *cparser) notifyKey(k string, mv *ast.MappingValueNode, cfg *Config) {
	switch k {
	case "alert_base_url":
		s, ok := p.str(mv, k)
		if !ok || s == "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errorf(p.valPos(mv), k, "must be an http:// or https:// URL (alert links are BASE/alerts/ID), not %q", s)
			return
		}
		cfg.AlertBaseURL = strings.TrimRight(s, "/")
	case "notifiers":
		p.notifiers(mv, cfg)
		cfg.notifySeen |= 1
	case "routes":
		p.routes(mv, cfg)
		cfg.notifySeen |= 2
	}
	if k == "alert_base_url" {
		return
	}
	// Routes name notifiers: check them once both sections are read. A
	// section the file lacks is looked for ahead, so that the check runs
	// exactly once.
	switch {
	case cfg.notifySeen == 3:
		p.checkRouteRefs(cfg)
	case cfg.notifySeen == 2 && !p.hasTopKey("notifiers"):
		p.checkRouteRefs(cfg)
	case cfg.notifySeen == 1 && !p.hasTopKey("routes") && len(cfg.Notifiers) > 0:
		p.errAt("notifiers", "no routes: add a routes section that names these notifiers (a route without conditions sends every alert)")
	}
}

// hasTopKey reports whether the file has key at its top level.
func (p *cparser) hasTopKey(key string) bool {
	f, err := parseYAML(p.data)
	if err != nil {
		return false
	}
	for _, doc := range f.Docs {
		var values []*ast.MappingValueNode
		switch v := doc.Body.(type) {
		case *ast.MappingNode:
			values = v.Values
		case *ast.MappingValueNode:
			values = []*ast.MappingValueNode{v}
		}
		for _, mv := range values {
			if mv.Key != nil && mv.Key.GetToken() != nil && mv.Key.GetToken().Value == key {
				return true
			}
		}
	}
	return false
}

func (p *cparser) checkRouteRefs(cfg *Config) {
	known := map[string]bool{}
	for _, n := range cfg.Notifiers {
		known[n.Name] = true
	}
	for i, r := range cfg.Routes {
		for j, n := range r.Notifiers {
			if !known[n] {
				key := fmt.Sprintf("routes[%d].notifiers[%d]", i, j)
				pos, ok := p.at[key]
				if !ok {
					pos = r.Pos
				}
				if len(cfg.Notifiers) == 0 {
					p.errorf(pos, key, "unknown notifier %q: there is no notifiers section", n)
				} else {
					p.errorf(pos, key, "unknown notifier %q (known: %s)", n, strings.Join(notifierNames(cfg), ", "))
				}
			}
		}
	}
}

func notifierNames(cfg *Config) []string {
	var out []string
	for _, n := range cfg.Notifiers {
		out = append(out, n.Name)
	}
	return out
}

func (p *cparser) listItems(mv *ast.MappingValueNode, key, what string) ([]ast.Node, bool) {
	n, ok := p.resolve(mv.Value, key)
	if !ok {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.SequenceNode:
		return v.Values, true
	case *ast.NullNode, nil:
		return nil, true
	}
	p.errorf(p.valPos(mv), key, "must be a list of %s (`- name: ...`), not a %s", what, nodeKind(n))
	return nil, false
}

func (p *cparser) secret(v *ast.MappingValueNode, full string) (Secret, bool) {
	s, ok := p.scalar(v.Value, full)
	if !ok {
		return Secret{}, false
	}
	sec, err := resolveSecret(s, p.dir)
	if err != nil {
		p.errorf(p.valPos(v), full, "%v", err)
		return Secret{}, false
	}
	if sec.value == "" {
		p.errorf(p.valPos(v), full, "must not be empty")
		return Secret{}, false
	}
	return sec, true
}

func (p *cparser) duration(v *ast.MappingValueNode, full string, allowZero bool) (time.Duration, bool) {
	s, ok := p.str(v, full)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errorf(p.valPos(v), full, "%v", err)
		return 0, false
	}
	if d == 0 && !allowZero {
		p.errorf(p.valPos(v), full, "must be positive")
		return 0, false
	}
	return d, true
}

func (p *cparser) notifiers(mv *ast.MappingValueNode, cfg *Config) {
	items, ok := p.listItems(mv, "notifiers", "notifiers")
	if !ok {
		return
	}
	names := map[string]Pos{}
	for i, item := range items {
		key := fmt.Sprintf("notifiers[%d]", i)
		itemPos := p.pos(item)
		values, ok := p.mappingValues(item, itemPos, key)
		if !ok {
			continue
		}
		n := Notifier{Pos: itemPos, Timeout: DefaultNotifyTimeout, MaxAge: DefaultNotifyMaxAge, Concurrency: DefaultNotifyConcurrency}
		typ, typePos := "", itemPos
		for _, v := range values {
			if k, _ := p.scalar(v.Key, key); k == "type" {
				typ, _ = p.str(v, key+".type")
				typePos = p.valPos(v)
			}
		}
		want := strings.Join(notifierTypes, ", ")
		if !contains(notifierTypes, typ) {
			if typ == "" {
				p.errorf(itemPos, key+".type", "required: one of %s", want)
			} else {
				p.errorf(typePos, key+".type", "unknown notifier type %q (want %s)", typ, want)
			}
			continue
		}
		n.Type = typ
		known := append(append([]string{}, notifierCommonKeys...), notifierTypeKeys[typ]...)
		var namePos Pos
		var rawURL Secret
		urlPos := itemPos
		for _, v := range values {
			k, _ := p.scalar(v.Key, key)
			full := key + "." + k
			if !contains(known, k) {
				var others []string
				for _, t := range notifierTypes {
					if contains(notifierTypeKeys[t], k) {
						others = append(others, t)
					}
				}
				if len(others) > 0 {
					p.errorf(p.pos(v.Key), full, "not a key of %s notifiers (it belongs to %s notifiers)", typ, strings.Join(others, ", "))
				} else {
					p.unknown(v, k, full, known)
				}
				continue
			}
			p.at[full] = p.valPos(v)
			switch k {
			case "name":
				n.Name, _ = p.str(v, full)
				namePos = p.valPos(v)
			case "type":
			case "timeout":
				if d, ok := p.duration(v, full, false); ok {
					n.Timeout = d
				}
			case "max_age":
				if d, ok := p.duration(v, full, false); ok {
					n.MaxAge = d
				}
			case "concurrency":
				s, _ := p.str(v, full)
				c, err := strconv.Atoi(s)
				if err != nil || c < 1 || c > 64 {
					p.errorf(p.valPos(v), full, "must be a number from 1 to 64, not %q", s)
				} else {
					n.Concurrency = c
				}
			case "url":
				if typ == NotifierPagerDuty {
					s, ok := p.str(v, full)
					if ok {
						rawURL = NewSecret(s)
					}
				} else if sec, ok := p.secret(v, full); ok {
					rawURL = sec
				}
				urlPos = p.valPos(v)
			case "routing_key":
				if sec, ok := p.secret(v, full); ok {
					n.RoutingKey = sec
				}
			case "secret":
				if sec, ok := p.secret(v, full); ok {
					if len(sec.value) < MinTokenLength {
						p.errorf(p.valPos(v), full, "too short (%d characters); use at least %d, e.g. the output of `openssl rand -hex 32`", len(sec.value), MinTokenLength)
					} else {
						n.HMACSecret = sec
					}
				}
			case "headers":
				values, _ := p.mappingValues(v.Value, p.valPos(v), full)
				for _, hv := range values {
					name, _ := p.scalar(hv.Key, full)
					hk := full + "." + name
					switch {
					case !headerNameRE.MatchString(name):
						p.errorf(p.pos(hv.Key), hk, "bad header name %q", name)
					case http.CanonicalHeaderKey(name) == "Content-Type" || strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Vigil-"):
						p.errorf(p.pos(hv.Key), hk, "%s is set by Vigil itself", name)
					default:
						if sec, ok := p.secret(hv, hk); ok {
							n.Headers = append(n.Headers, Header{Name: name, Value: sec})
						}
					}
				}
			case "host":
				n.Host, _ = p.str(v, full)
			case "port":
				s, _ := p.str(v, full)
				port, err := strconv.Atoi(s)
				if err != nil || port < 1 || port > 65535 {
					p.errorf(p.valPos(v), full, "must be a number from 1 to 65535, not %q", s)
				} else {
					n.Port = port
				}
			case "tls":
				s, _ := p.str(v, full)
				if !contains([]string{"starttls", "tls", "none"}, s) {
					p.errorf(p.valPos(v), full, "must be starttls, tls (implicit TLS, port 465) or none, not %q", s)
				} else {
					n.TLSMode = s
				}
			case "username":
				n.Username, _ = p.str(v, full)
			case "password":
				n.Password, _ = p.secret(v, full)
			case "from":
				n.From, _ = p.str(v, full)
				if n.From != "" && !strings.Contains(n.From, "@") {
					p.errorf(p.valPos(v), full, "%q is not an e-mail address", n.From)
				}
			case "to":
				to, pos, ok := p.strList(v, full)
				if !ok {
					break
				}
				for j, a := range to {
					if !strings.Contains(a, "@") {
						p.errorf(pos[j], fmt.Sprintf("%s[%d]", full, j), "%q is not an e-mail address", a)
						continue
					}
					n.To = append(n.To, a)
				}
			case "subject_prefix":
				n.SubjectPrefix, _ = p.str(v, full)
			case "ca_file":
				s, _ := p.str(v, full)
				if s != "" {
					path := resolvePath(p.dir, s)
					if _, err := os.Stat(path); err != nil {
						p.errorf(p.valPos(v), full, "%v", err)
					} else {
						n.CAFile = path
					}
				}
			case "server_name":
				n.ServerName, _ = p.str(v, full)
			case "address":
				s, _ := p.str(v, full)
				if err := checkSyslogListen(s); err != nil {
					p.errorf(p.valPos(v), full, "%v", err)
				} else {
					n.Address = s
				}
			case "format":
				s, _ := p.str(v, full)
				if s != "rfc5424" && s != "cef" {
					p.errorf(p.valPos(v), full, "must be rfc5424 or cef, not %q", s)
				} else {
					n.Format = s
				}
			case "facility":
				s, _ := p.str(v, full)
				if _, ok := syslogFacility[s]; !ok {
					p.errorf(p.valPos(v), full, "unknown syslog facility %q (e.g. local0 ... local7, auth, daemon)", s)
				} else {
					n.Facility = s
				}
			case "app_name":
				n.AppName, _ = p.str(v, full)
				if len(n.AppName) > 48 || strings.IndexFunc(n.AppName, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
					p.errorf(p.valPos(v), full, "must be at most 48 printable ASCII characters without spaces")
				}
			case "path":
				s, _ := p.str(v, full)
				if s == "" {
					p.errorf(p.valPos(v), full, "must not be empty (a file, or - for standard output)")
				} else if s == "-" {
					n.Path = s
				} else {
					n.Path = resolvePath(p.dir, s)
				}
			case "insecure":
				n.Insecure, _ = p.boolean(v, full)
			}
		}
		switch {
		case n.Name == "" && namePos.Line == 0:
			p.errorf(itemPos, key+".name", "required: a name for the notifier (routes refer to it)")
		case n.Name == "":
			p.errorf(namePos, key+".name", "must not be empty")
		case !sourceNameRE.MatchString(n.Name):
			p.errorf(namePos, key+".name", "bad notifier name %q: use letters, digits, _, . and -", n.Name)
		default:
			if first, dup := names[n.Name]; dup {
				p.errorf(namePos, key+".name", "duplicate notifier name %q (first used at line %d)", n.Name, first.Line)
			} else {
				names[n.Name] = namePos
			}
		}
		p.checkNotifier(&n, key, rawURL, urlPos)
		cfg.Notifiers = append(cfg.Notifiers, n)
	}
}

// checkNotifier checks the keys a type requires and sets type defaults.
func (p *cparser) checkNotifier(n *Notifier, key string, rawURL Secret, urlPos Pos) {
	required := func(k, what string) {
		if _, set := p.at[key+"."+k]; !set {
			p.errorf(n.Pos, key+"."+k, "required: %s", what)
		}
	}
	switch n.Type {
	case NotifierSlack, NotifierTeams, NotifierWebhook:
		what := map[string]string{NotifierSlack: "the Slack incoming webhook URL (a secret, e.g. ${env:SLACK_WEBHOOK_URL})",
			NotifierTeams:   "the Teams workflow webhook URL (a secret, e.g. ${env:TEAMS_WEBHOOK_URL})",
			NotifierWebhook: "the URL to POST alerts to"}[n.Type]
		required("url", what)
	case NotifierPagerDuty:
		required("routing_key", "the integration key of the PagerDuty service (a secret, e.g. ${env:PAGERDUTY_ROUTING_KEY})")
		if !rawURL.IsSet() {
			rawURL = NewSecret(DefaultPagerDutyURL)
		}
	case NotifierEmail:
		required("host", "the SMTP server")
		required("from", "the sender address")
		required("to", "the recipients")
		if n.TLSMode == "" {
			n.TLSMode = "starttls"
		}
		if n.Port == 0 {
			n.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[n.TLSMode]
		}
		if _, set := p.at[key+".to"]; set && len(n.To) == 0 {
			p.errAt(key+".to", "required: at least one recipient")
		}
		if n.Password.IsSet() && n.Username == "" {
			p.errAt(key+".password", "a password needs a username")
		}
		if n.TLSMode == "none" && n.Host != "" && !isLoopback(n.Host) && !n.Insecure {
			p.errAt(key+".tls", "tls: none to %s (beyond loopback) sends mail and passwords in clear; use starttls or tls, or insecure: true", n.Host)
		}
	case NotifierSyslog:
		required("address", "udp://, tcp:// or tls:// HOST:PORT of the syslog receiver")
		if n.Format == "" {
			n.Format = "rfc5424"
		}
		if n.Facility == "" {
			n.Facility = "local0"
		}
		if n.AppName == "" {
			n.AppName = "vigil"
		}
	case NotifierNDJSON:
		if n.Path == "" {
			n.Path = "-"
		}
	}
	if rawURL.IsSet() {
		u, err := url.Parse(rawURL.Value())
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			// Do not echo the URL: it may carry a token.
			p.errorf(urlPos, key+".url", "must be an https:// URL")
		case u.Scheme == "http" && !isLoopback(u.Hostname()) && !n.Insecure:
			p.errorf(urlPos, key+".url", "http:// to %s (beyond loopback) sends alerts and tokens in clear; use https://, or insecure: true", u.Hostname())
		default:
			n.URL = rawURL
		}
	}
}

func (p *cparser) routes(mv *ast.MappingValueNode, cfg *Config) {
	items, ok := p.listItems(mv, "routes", "routes")
	if !ok {
		return
	}
	names := map[string]Pos{}
	for i, item := range items {
		key := fmt.Sprintf("routes[%d]", i)
		r := Route{Pos: p.pos(item), Throttle: DefaultThrottle}
		var namePos Pos
		haveNotifiers := false
		good := p.fields(item, key, routeKeys, func(k, full string, v *ast.MappingValueNode) {
			switch k {
			case "name":
				r.Name, _ = p.str(v, full)
				namePos = p.valPos(v)
			case "notifiers":
				haveNotifiers = true
				ns, pos, ok := p.strList(v, full)
				if !ok {
					return
				}
				if len(ns) == 0 {
					p.errorf(p.valPos(v), full, "required: at least one notifier")
				}
				for j := range ns {
					p.at[fmt.Sprintf("%s[%d]", full, j)] = pos[j]
				}
				r.Notifiers = ns
			case "min_severity":
				s, _ := p.str(v, full)
				if !contains(severities, s) {
					p.errorf(p.valPos(v), full, "must be one of %s, not %q", strings.Join(severities, ", "), s)
				} else {
					r.MinSeverity = s
				}
			case "rules", "servers", "databases", "tags":
				list, pos, ok := p.strList(v, full)
				if !ok {
					return
				}
				for j, s := range list {
					if _, err := path.Match(s, ""); err != nil || s == "" {
						p.errorf(pos[j], fmt.Sprintf("%s[%d]", full, j), "bad pattern %q", s)
					}
				}
				switch k {
				case "rules":
					r.Rules = list
				case "servers":
					r.Servers = list
				case "databases":
					r.Databases = list
				case "tags":
					r.Tags = list
				}
			case "continue":
				r.Continue, _ = p.boolean(v, full)
			case "group_by":
				r.GroupBy, _, _ = p.strList(v, full)
			case "throttle":
				if d, ok := p.duration(v, full, true); ok {
					r.Throttle = d
				}
			case "quiet_hours":
				r.QuietHours = p.quietHours(v, full)
			}
		})
		if !good {
			continue
		}
		switch {
		case r.Name == "" && namePos.Line == 0:
			p.errorf(r.Pos, key+".name", "required: a name for the route (vigil notify test NAME)")
		case !sourceNameRE.MatchString(r.Name):
			p.errorf(namePos, key+".name", "bad route name %q: use letters, digits, _, . and -", r.Name)
		default:
			if first, dup := names[r.Name]; dup {
				p.errorf(namePos, key+".name", "duplicate route name %q (first used at line %d)", r.Name, first.Line)
			} else {
				names[r.Name] = namePos
			}
		}
		if !haveNotifiers {
			p.errorf(r.Pos, key+".notifiers", "required: the notifiers this route sends to")
		}
		cfg.Routes = append(cfg.Routes, r)
	}
}

func (p *cparser) quietHours(mv *ast.MappingValueNode, key string) *QuietHours {
	q := &QuietHours{Location: time.UTC}
	var haveStart, haveEnd bool
	ok := p.fields(mv.Value, key, []string{"start", "end", "timezone", "except_severity"}, func(k, full string, v *ast.MappingValueNode) {
		s, ok := p.str(v, full)
		if !ok {
			return
		}
		switch k {
		case "start", "end":
			m := clockRE.FindStringSubmatch(s)
			if m == nil {
				p.errorf(p.valPos(v), full, "must be a time of day HH:MM, not %q", s)
				return
			}
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			if k == "start" {
				q.Start, haveStart = h*60+mi, true
			} else {
				q.End, haveEnd = h*60+mi, true
			}
		case "timezone":
			loc, err := time.LoadLocation(s)
			if err != nil {
				p.errorf(p.valPos(v), full, "unknown time zone %q (an IANA name such as Europe/Berlin, or UTC)", s)
				return
			}
			q.Location = loc
		case "except_severity":
			if !contains(severities, s) {
				p.errorf(p.valPos(v), full, "must be one of %s, not %q", strings.Join(severities, ", "), s)
				return
			}
			q.Except = s
		}
	})
	if !ok {
		return nil
	}
	if !haveStart || !haveEnd {
		p.errorf(p.valPos(mv), key, "needs start and end (HH:MM)")
		return nil
	}
	return q
}

// NotifySummary describes the notifiers and routes in a few lines,
// secrets shown as *** with where they come from.
func (c *Config) NotifySummary() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if c.AlertBaseURL != "" {
		w("alert links:    %s/alerts/ID\n", c.AlertBaseURL)
	}
	w("notifiers:      %d\n", len(c.Notifiers))
	for _, n := range c.Notifiers {
		w("  %s (%s): ", n.Name, n.Type)
		switch n.Type {
		case NotifierSlack, NotifierTeams, NotifierWebhook:
			w("url %s", n.URL.Describe())
			if n.HMACSecret.IsSet() {
				w(", signed with %s", n.HMACSecret.Describe())
			}
			for _, h := range n.Headers {
				w(", header %s %s", h.Name, h.Value.Describe())
			}
		case NotifierPagerDuty:
			w("routing key %s", n.RoutingKey.Describe())
			if n.URL.Value() != DefaultPagerDutyURL {
				w(", endpoint %s", n.URL.Value())
			}
		case NotifierEmail:
			w("%s:%d (%s) from %s to %s", n.Host, n.Port, n.TLSMode, n.From, strings.Join(n.To, ", "))
			if n.Username != "" {
				w(", user %s, password %s", n.Username, n.Password.Describe())
			}
		case NotifierSyslog:
			w("%s, %s, facility %s", n.Address, n.Format, n.Facility)
		case NotifierNDJSON:
			if n.Path == "-" {
				w("standard output")
			} else {
				w("%s", n.Path)
			}
		}
		w(", timeout %s, gives up after %s\n", FormatDuration(n.Timeout), FormatDuration(n.MaxAge))
	}
	w("routes:         %d\n", len(c.Routes))
	for _, r := range c.Routes {
		var conds []string
		if r.MinSeverity != "" {
			conds = append(conds, "severity >= "+r.MinSeverity)
		}
		for _, x := range []struct {
			name string
			list []string
		}{{"rule", r.Rules}, {"tag", r.Tags}, {"server", r.Servers}, {"database", r.Databases}} {
			if len(x.list) > 0 {
				conds = append(conds, x.name+" "+strings.Join(x.list, "|"))
			}
		}
		if len(conds) == 0 {
			conds = []string{"every alert"}
		}
		w("  %s: %s -> %s", r.Name, strings.Join(conds, ", "), strings.Join(r.Notifiers, ", "))
		if r.Throttle > 0 {
			w(", one message per rule and key per %s", FormatDuration(r.Throttle))
		}
		if r.QuietHours != nil {
			q := r.QuietHours
			w(", quiet %02d:%02d-%02d:%02d %s", q.Start/60, q.Start%60, q.End/60, q.End%60, q.Location)
		}
		if r.Continue {
			w(", continue")
		}
		w("\n")
	}
	return b.String()
}
