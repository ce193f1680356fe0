package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

var (
	topKeys     = []string{"log_level", "data_dir", "server_address", "learn_until", "rules", "sources", "store", "http"}
	logLevels   = []string{"debug", "info", "warn", "error"}
	sourceTypes = []string{TypeFile, TypeSyslog, TypeHTTP, TypeKafka}
	commonKeys  = []string{"name", "type", "format", "server_address", "timezone"}
	typeKeys    = map[string][]string{TypeFile: {"paths", "log_line_prefix", "read_gzip", "from_end", "poll_interval", "max_line_bytes"}, TypeSyslog: {"listen", "tls", "insecure", "log_line_prefix"}, TypeHTTP: {"path", "log_line_prefix"},
		TypeKafka: {"brokers", "topics", "group", "connection_string", "tls", "ca_file", "sasl_user", "sasl_password", "start_from", "log_line_prefix"}}
	fileFormats = []string{"auto", "stderr", "csvlog", "jsonlog", "events"}
	// MoreFormats are the other input formats a source may name (the
	// registered log families: mariadb_audit, azure, ...); cmd/vigil sets
	// it from the parse registry, which config does not import.
	MoreFormats   []string
	syslogFormats = []string{"auto", "rfc5424", "rfc3164"}
	sourceNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)
	listNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (p *cparser) parse() *Config {
	cfg := &Config{File: p.name, LogLevel: DefaultLogLevel, DataDir: resolvePath(p.dir, DefaultDataDir)}
	file, err := parseYAML(p.data)
	if err != nil {
		p.syntax(err)
		return nil
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if isNull(doc.Body) {
			continue
		}
		if body != nil {
			p.errorf(p.pos(doc.Body), "", "a config file holds one YAML document; remove the `---` and what follows, or merge it into the first")
			break
		}
		body = doc.Body
	}
	var haveSources bool
	isMap := p.fields(body, "", topKeys, func(k, full string, mv *ast.MappingValueNode) {
		switch k {
		case "log_level":
			if s, ok := p.str(mv, k); ok {
				if !contains(logLevels, s) {
					p.errorf(p.valPos(mv), k, "must be one of debug, info, warn, error, not %q", s)
				} else {
					cfg.LogLevel = s
				}
			}
		case "data_dir":
			if s, ok := p.str(mv, k); ok {
				if s == "" {
					p.errorf(p.valPos(mv), k, "must not be empty (default %s)", DefaultDataDir)
				} else {
					cfg.DataDir = resolvePath(p.dir, s)
				}
			}
		case "server_address":
			cfg.ServerAddress, _ = p.str(mv, k)
		case "learn_until":
			if s, ok := p.str(mv, k); ok && s != "" {
				t, err := parseTime(s)
				if err != nil {
					p.errorf(p.valPos(mv), k, "%v", err)
				}
				cfg.LearnUntil = t
			}
		case "rules":
			p.rules(mv.Value, cfg)
		case "sources":
			haveSources = true
			p.sources(mv, cfg)
		case "store":
			p.store(mv.Value, cfg)
		case "http":
			p.http(mv, cfg)
		case "notifiers", "routes", "alert_base_url":
			p.notifyKey(k, mv, cfg)
		}
	})
	if isMap && !haveSources {
		p.errorf(Pos{File: p.name, Line: 1, Column: 1}, "sources", "required: at least one source (file, syslog or http) to read events from")
	}
	for i, s := range cfg.Sources {
		if s.Type == TypeHTTP && !cfg.HTTP.Enabled() {
			p.errorf(s.Pos, fmt.Sprintf("sources[%d].type", i), "an http source needs the HTTP listener: configure http.listen and http.token")
		}
	}
	return cfg
}

func (p *cparser) rules(n ast.Node, cfg *Config) {
	p.fields(n, "rules", []string{"paths", "lists"}, func(k, full string, mv *ast.MappingValueNode) {
		switch k {
		case "paths":
			paths, pos, ok := p.strList(mv, full)
			if !ok {
				return
			}
			for i, s := range paths {
				key := fmt.Sprintf("%s[%d]", full, i)
				if s == "" {
					p.errorf(pos[i], key, "empty path")
					continue
				}
				path := resolvePath(p.dir, s)
				if _, err := os.Stat(path); err != nil {
					p.errorf(pos[i], key, "%v", err)
					continue
				}
				cfg.Rules.Paths = append(cfg.Rules.Paths, path)
			}
		case "lists":
			p.lists(mv, full, cfg)
		}
	})
}

func (p *cparser) mappingValues(n ast.Node, pos Pos, key string) ([]*ast.MappingValueNode, bool) {
	n, ok := p.resolve(n, key)
	if !ok {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	case *ast.NullNode, nil:
		return nil, true
	}
	p.errorf(pos, key, "must be a mapping, not a %s", nodeKind(n))
	return nil, false
}

func (p *cparser) lists(mv *ast.MappingValueNode, key string, cfg *Config) {
	values, ok := p.mappingValues(mv.Value, p.valPos(mv), key)
	if !ok {
		return
	}
	for _, lv := range values {
		name, _ := p.scalar(lv.Key, key)
		full := key + "." + name
		namePos := p.pos(lv.Key)
		if !listNameRE.MatchString(name) {
			p.errorf(namePos, full, "bad list name %q: use letters, digits and _ (it is an identifier in rule conditions)", name)
			continue
		}
		li := List{Name: name, Pos: namePos}
		haveItems := false
		good := p.fields(lv.Value, full, []string{"items", "append"}, func(k, kfull string, v *ast.MappingValueNode) {
			switch k {
			case "items":
				haveItems = true
				items, _, ok := p.strList(v, kfull)
				if ok {
					li.Items = items
				}
			case "append":
				li.Append, _ = p.boolean(v, kfull)
			}
		})
		if !good {
			continue
		}
		if !haveItems {
			p.errorf(namePos, full+".items", "required (write `items: []` to empty the list)")
			continue
		}
		cfg.Rules.Lists = append(cfg.Rules.Lists, li)
	}
}

func (p *cparser) sources(mv *ast.MappingValueNode, cfg *Config) {
	n, ok := p.resolve(mv.Value, "sources")
	if !ok {
		return
	}
	var items []ast.Node
	switch v := n.(type) {
	case *ast.SequenceNode:
		items = v.Values
	case *ast.NullNode, nil:
	default:
		p.errorf(p.valPos(mv), "sources", "must be a list of sources (`- name: ...`), not a %s", nodeKind(n))
		return
	}
	if len(items) == 0 {
		p.errorf(p.valPos(mv), "sources", "required: at least one source (file, syslog or http) to read events from")
		return
	}
	names := map[string]Pos{}
	listens := map[string]Pos{} // host:port of stream or datagram listeners
	paths := map[string]Pos{}
	for i, item := range items {
		key := fmt.Sprintf("sources[%d]", i)
		itemPos := p.pos(item)
		values, ok := p.mappingValues(item, itemPos, key)
		if !ok {
			continue
		}
		src := Source{Pos: itemPos, Format: "auto"}
		// The type decides which keys are allowed, so read it first.
		typ, typePos := "", itemPos
		for _, v := range values {
			if k, _ := p.scalar(v.Key, key); k == "type" {
				typ, _ = p.str(v, key+".type")
				typePos = p.valPos(v)
			}
		}
		if typ == "" || !contains(sourceTypes, typ) {
			if typ == "" {
				p.errorf(itemPos, key+".type", "required: file, syslog, http or kafka")
			} else {
				p.errorf(typePos, key+".type", "unknown source type %q (want file, syslog, http or kafka)", typ)
			}
			// Still claim the name, so a duplicate is reported once.
			for _, v := range values {
				if k, _ := p.scalar(v.Key, key); k == "name" {
					if name, ok := p.str(v, key+".name"); ok && name != "" {
						if _, dup := names[name]; !dup {
							names[name] = p.valPos(v)
						}
					}
				}
			}
			continue
		}
		src.Type = typ
		known := append(append([]string{}, commonKeys...), typeKeys[typ]...)
		var namePos Pos
		var haveListen, havePath bool
		var listenPos []Pos
		for _, v := range values {
			k, _ := p.scalar(v.Key, key)
			full := key + "." + k
			if !contains(known, k) {
				if other := otherType(k); other != "" {
					p.errorf(p.pos(v.Key), full, "not a key of %s sources (it belongs to %s sources)", typ, other)
				} else {
					p.unknown(v, k, full, known)
				}
				continue
			}
			p.at[full] = p.valPos(v)
			switch k {
			case "name":
				src.Name, _ = p.str(v, full)
				namePos = p.valPos(v)
			case "type":
			case "format":
				s, ok := p.str(v, full)
				formats := append(append([]string{}, fileFormats...), MoreFormats...)
				if typ == TypeSyslog {
					formats = syslogFormats
				}
				switch {
				case !ok:
				case s == "":
				case !contains(formats, s):
					p.errorf(p.valPos(v), full, "unknown format %q for a %s source (want %s)", s, typ, strings.Join(formats, ", "))
				default:
					src.Format = s
				}
			case "server_address":
				src.ServerAddress, _ = p.str(v, full)
			case "timezone":
				if s, ok := p.str(v, full); ok {
					loc, err := LoadTimezone(s)
					if err != nil {
						p.errorf(p.valPos(v), full, "%v", err)
						break
					}
					src.TimeZone, src.Location = s, loc
				}
			case "log_line_prefix":
				src.LogLinePrefix, _ = p.str(v, full)
			case "paths":
				pats, pos, ok := p.strList(v, full)
				if !ok {
					break
				}
				if len(pats) == 0 {
					p.errorf(p.valPos(v), full, "required: at least one file or glob pattern")
				}
				for j, pat := range pats {
					pk := fmt.Sprintf("%s[%d]", full, j)
					if pat == "" {
						p.errorf(pos[j], pk, "empty pattern")
						continue
					}
					if _, err := filepath.Match(pat, ""); err != nil {
						p.errorf(pos[j], pk, "bad glob pattern %q: %v", pat, err)
						continue
					}
					src.Paths = append(src.Paths, resolvePath(p.dir, pat))
				}
			case "read_gzip":
				src.ReadGzip, _ = p.boolean(v, full)
			case "from_end":
				src.FromEnd, _ = p.boolean(v, full)
			case "poll_interval":
				if s, ok := p.str(v, full); ok {
					d, err := ParseDuration(s)
					switch {
					case err != nil:
						p.errorf(p.valPos(v), full, "%v", err)
					case d <= 0:
						p.errorf(p.valPos(v), full, "must be positive (default %s)", DefaultPollInterval)
					default:
						src.PollInterval = d
					}
				}
			case "max_line_bytes":
				if s, ok := p.str(v, full); ok {
					n, err := ParseSize(s)
					switch {
					case err != nil:
						p.errorf(p.valPos(v), full, "%v", err)
					case n < 1024:
						p.errorf(p.valPos(v), full, "must be at least 1KiB (default 8MiB)")
					default:
						src.MaxLineBytes = n
					}
				}
			case "listen":
				haveListen = true
				ls, pos, ok := p.strList(v, full)
				if !ok {
					break
				}
				if len(ls) == 0 {
					p.errorf(p.valPos(v), full, "required: at least one udp://, tcp:// or tls:// HOST:PORT")
				}
				for j, l := range ls {
					if err := checkSyslogListen(l); err != nil {
						p.errorf(pos[j], fmt.Sprintf("%s[%d]", full, j), "%v", err)
						continue
					}
					src.Listen = append(src.Listen, l)
					listenPos = append(listenPos, pos[j])
				}
			case "tls":
				if typ == TypeKafka {
					src.KafkaTLS, _ = p.boolean(v, full)
				} else {
					src.TLS = p.tls(v, full)
				}
			case "brokers":
				src.Brokers, _, _ = p.strList(v, full)
			case "topics":
				src.Topics, _, _ = p.strList(v, full)
			case "group":
				src.Group, _ = p.str(v, full)
			case "connection_string":
				src.ConnectionString, _ = p.secret(v, full)
			case "ca_file":
				if s, ok := p.str(v, full); ok && s != "" {
					src.CAFile = resolvePath(p.dir, s)
				}
			case "sasl_user":
				src.SASLUser, _ = p.str(v, full)
			case "sasl_password":
				src.SASLPassword, _ = p.secret(v, full)
			case "start_from":
				if s, ok := p.str(v, full); ok {
					if s != "earliest" && s != "latest" {
						p.errorf(p.valPos(v), full, "must be earliest or latest, not %q", s)
					}
					src.StartFrom = s
				}
			case "insecure":
				src.Insecure, _ = p.boolean(v, full)
			case "path":
				havePath = true
				if s, ok := p.str(v, full); ok {
					switch {
					case !strings.HasPrefix(s, "/"):
						p.errorf(p.valPos(v), full, "must be a URL path starting with /, not %q", s)
					case strings.ContainsAny(s, " \t?#"):
						p.errorf(p.valPos(v), full, "must be a plain URL path (no spaces, ? or #), not %q", s)
					case s == "/healthz" || s == "/" || strings.HasPrefix(s, "/api/"):
						p.errorf(p.valPos(v), full, "%q is used by the HTTP server itself; use e.g. /ingest/NAME", s)
					default:
						src.Path = s
					}
				}
			}
		}
		switch {
		case src.Name == "" && namePos.Line == 0:
			p.errorf(itemPos, key+".name", "required: a name for the source (it is stamped on events as source.name)")
		case src.Name == "":
			p.errorf(namePos, key+".name", "must not be empty")
		case !sourceNameRE.MatchString(src.Name):
			p.errorf(namePos, key+".name", "bad source name %q: use letters, digits, _, . and -", src.Name)
			src.Name = ""
		default:
			if first, dup := names[src.Name]; dup {
				p.errorf(namePos, key+".name", "duplicate source name %q (first used at line %d)", src.Name, first.Line)
			} else {
				names[src.Name] = namePos
			}
		}
		switch typ {
		case TypeFile:
			if _, set := p.at[key+".paths"]; !set {
				p.errorf(itemPos, key+".paths", "required: the log files to read (glob patterns, e.g. /var/log/postgresql/*.csv)")
			}
			if src.PollInterval == 0 {
				src.PollInterval = DefaultPollInterval
			}
			if src.MaxLineBytes == 0 {
				src.MaxLineBytes = DefaultMaxLineBytes
			}
		case TypeSyslog:
			if !haveListen {
				src.Listen = []string{DefaultSyslogListen}
				listenPos = []Pos{itemPos}
			}
			hasTLS := false
			for j, l := range src.Listen {
				lk := fmt.Sprintf("%s.listen[%d]", key, j)
				scheme, hostport, _ := strings.Cut(l, "://")
				hasTLS = hasTLS || scheme == "tls"
				host, _ := splitHostPort(hostport)
				if scheme == "tls" && src.TLS == nil {
					p.errorf(listenPos[j], lk, "a tls:// listener needs tls.cert_file and tls.key_file")
				}
				if !isLoopback(host) && !src.Insecure {
					where := host
					if where == "" {
						where = "every interface"
					}
					p.errorf(listenPos[j], lk, "listening on %s (beyond loopback) needs insecure: true: syslog is unauthenticated, anyone who can reach it can write audit records", where)
				}
				// udp and tcp/tls ports are separate name spaces.
				proto := "tcp"
				if scheme == "udp" {
					proto = "udp"
				}
				if first, dup := listens[proto+" "+hostport]; dup {
					p.errorf(listenPos[j], lk, "%s port %s is already used by the listener at line %d", proto, hostport, first.Line)
				} else {
					listens[proto+" "+hostport] = listenPos[j]
				}
			}
			if src.TLS != nil && !hasTLS {
				p.errorf(p.at[key+".tls"], key+".tls", "no tls:// listener to use it (listen: tls://HOST:PORT)")
			}
		case TypeKafka:
			cs := src.ConnectionString.IsSet()
			if len(src.Brokers) == 0 && !cs {
				p.errorf(itemPos, key+".brokers", "required: the Kafka brokers (host:port), or an Event Hubs connection_string")
			}
			if len(src.Topics) == 0 && !cs {
				p.errorf(itemPos, key+".topics", "required: the topics to consume")
			}
			if cs && (src.SASLUser != "" || src.SASLPassword.IsSet()) {
				p.errorf(p.at[key+".sasl_user"], key+".sasl_user", "an Event Hubs connection_string sets the SASL credentials itself; drop sasl_user/sasl_password")
			}
		case TypeHTTP:
			if !havePath && src.Name != "" {
				src.Path = "/ingest/" + src.Name
			}
			if src.Path != "" {
				pp, set := p.at[key+".path"]
				if !set {
					pp = namePos
				}
				if first, dup := paths[src.Path]; dup {
					p.errorf(pp, key+".path", "%s is already used by the source at line %d", src.Path, first.Line)
				} else {
					paths[src.Path] = pp
				}
			}
		}
		cfg.Sources = append(cfg.Sources, src)
	}
}

func otherType(k string) string {
	var out []string
	for _, t := range sourceTypes {
		if contains(typeKeys[t], k) {
			out = append(out, t)
		}
	}
	return strings.Join(out, " and ")
}

// checkSyslogListen checks udp://HOST:PORT, tcp://HOST:PORT or
// tls://HOST:PORT.
func checkSyslogListen(s string) error {
	scheme, addr, ok := strings.Cut(s, "://")
	if !ok || (scheme != "udp" && scheme != "tcp" && scheme != "tls") {
		return fmt.Errorf("must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT, not %q", s)
	}
	_, err := splitHostPort(addr)
	return err
}

// splitHostPort checks host:port and returns the host.
func splitHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not HOST:PORT (e.g. 127.0.0.1:9187, [::1]:9187, or :9187 for every interface)", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q in %q must be a number from 1 to 65535", port, s)
	}
	return host, nil
}

// isLoopback reports whether a listen host accepts only local connections.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *cparser) tls(mv *ast.MappingValueNode, key string) *TLS {
	t := &TLS{}
	ok := p.fields(mv.Value, key, []string{"cert_file", "key_file"}, func(k, full string, v *ast.MappingValueNode) {
		s, ok := p.str(v, full)
		if !ok {
			return
		}
		if s == "" {
			p.errorf(p.valPos(v), full, "must not be empty")
			return
		}
		path := resolvePath(p.dir, s)
		if st, err := os.Stat(path); err != nil {
			p.errorf(p.valPos(v), full, "%v", err)
			return
		} else if st.IsDir() {
			p.errorf(p.valPos(v), full, "%s is a directory, not a PEM file", path)
			return
		}
		if k == "cert_file" {
			t.CertFile = path
		} else {
			t.KeyFile = path
		}
	})
	if !ok {
		return nil
	}
	for _, k := range []string{"cert_file", "key_file"} {
		if _, set := p.at[key+"."+k]; !set {
			p.errorf(p.valPos(mv), key+"."+k, "required with tls (a PEM file)")
		}
	}
	return t
}

func (p *cparser) store(n ast.Node, cfg *Config) {
	p.fields(n, "store", []string{"retention"}, func(k, full string, mv *ast.MappingValueNode) {
		p.fields(mv.Value, full, []string{"max_age", "max_size"}, func(k, full string, v *ast.MappingValueNode) {
			s, ok := p.str(v, full)
			if !ok || s == "" {
				return
			}
			switch k {
			case "max_age":
				d, err := ParseDuration(s)
				if err != nil {
					p.errorf(p.valPos(v), full, "%v", err)
					return
				}
				if d > 0 && d < 60e9 {
					p.errorf(p.valPos(v), full, "%s is too short to keep an audit trail; use at least 1m (or 0 for no limit)", s)
					return
				}
				cfg.Store.Retention.MaxAge = d
			case "max_size":
				n, err := ParseSize(s)
				if err != nil {
					p.errorf(p.valPos(v), full, "%v", err)
					return
				}
				if n > 0 && n < 1<<20 {
					p.errorf(p.valPos(v), full, "%s is less than 1MiB; write a unit (e.g. 10GiB), or 0 for no limit", s)
					return
				}
				cfg.Store.Retention.MaxSize = n
			}
		})
	})
}

func (p *cparser) http(mv *ast.MappingValueNode, cfg *Config) {
	h := &cfg.HTTP
	h.Listen = DefaultHTTPListen
	tokenSet := false
	ok := p.fields(mv.Value, "http", []string{"listen", "token", "tls", "insecure"}, func(k, full string, v *ast.MappingValueNode) {
		switch k {
		case "listen":
			s, ok := p.str(v, full)
			if !ok {
				h.Listen = ""
				return
			}
			h.Listen = s
			if s == "" {
				return
			}
			if _, err := splitHostPort(s); err != nil {
				p.errorf(p.valPos(v), full, "%v", err)
				h.Listen = ""
			}
		case "token":
			tokenSet = true
			s, ok := p.scalar(v.Value, full)
			if !ok {
				return
			}
			sec, err := resolveSecret(s, p.dir)
			if err != nil {
				p.errorf(p.valPos(v), full, "%v", err)
				return
			}
			switch {
			case sec.value == "":
				p.errorf(p.valPos(v), full, "must not be empty")
			case len(sec.value) < MinTokenLength:
				p.errorf(p.valPos(v), full, "too short (%d characters); use at least %d, e.g. the output of `openssl rand -hex 32`", len(sec.value), MinTokenLength)
			case strings.IndexFunc(sec.value, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
				p.errorf(p.valPos(v), full, "must not contain spaces or control characters")
			default:
				h.Token = sec
			}
		case "tls":
			h.TLS = p.tls(v, full)
		case "insecure":
			h.Insecure, _ = p.boolean(v, full)
		}
	})
	if !ok || h.Listen == "" {
		return
	}
	if !tokenSet {
		pos, set := p.at["http"]
		if !set {
			pos = p.pos(mv.Key)
		}
		p.errorf(pos, "http.token", "required: the bearer token for the API and UI (e.g. token: ${env:VIGIL_TOKEN}), or listen: \"\" to turn the listener off")
	}
	host, _ := splitHostPort(h.Listen)
	if !isLoopback(host) && h.TLS == nil && !h.Insecure {
		where := host
		if where == "" {
			where = "every interface"
		}
		p.errorf(p.at["http.listen"], "http.listen", "listening on %s (beyond loopback) needs TLS: set http.tls, or insecure: true if a TLS proxy is in front", where)
	}
}
