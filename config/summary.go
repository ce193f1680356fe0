package config

import (
	"fmt"
	"strings"
	"time"
)

// Summary says, in a few lines, what the daemon would run with this
// config: sources, rules, store, HTTP listener. Secrets are shown as ***
// with where they come from. It is what `vigil config check` prints.
func (c *Config) Summary() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("config:         %s\n", c.File)
	w("log level:      %s\n", c.LogLevel)
	w("data dir:       %s\n", c.DataDir)
	if c.ServerAddress != "" {
		w("server address: %s (for events that lack one)\n", c.ServerAddress)
	}
	if !c.LearnUntil.IsZero() {
		w("learn until:    %s\n", c.LearnUntil.Format(time.RFC3339))
	}
	w("rules:          built-in pack")
	for _, p := range c.Rules.Paths {
		w(" + %s", p)
	}
	w("\n")
	for _, l := range c.Rules.Lists {
		verb := "replaced"
		if l.Append {
			verb = "extended"
		}
		w("  list %s %s with %d item(s)\n", l.Name, verb, len(l.Items))
	}
	w("sources:        %d\n", len(c.Sources))
	for _, s := range c.Sources {
		w("  %s (%s): ", s.Name, s.Type)
		switch s.Type {
		case TypeFile:
			w("%s, format %s", strings.Join(s.Paths, ", "), s.Format)
			if s.LogLinePrefix != "" {
				w(", log_line_prefix %q", s.LogLinePrefix)
			}
			w(", poll every %s, max line %s", FormatDuration(s.PollInterval), FormatSize(s.MaxLineBytes))
			if s.ReadGzip {
				w(", reads .gz")
			}
			if s.FromEnd {
				w(", starts at end of existing files")
			}
		case TypeSyslog:
			w("%s, format %s", strings.Join(s.Listen, ", "), s.Format)
			if s.Insecure {
				w(", beyond loopback allowed (insecure: true)")
			}
		case TypeHTTP:
			if c.HTTP.Enabled() {
				w("POST %s%s, format %s", c.httpBase(), s.Path, s.Format)
			} else {
				w("POST %s, format %s", s.Path, s.Format)
			}
		case TypeKafka:
			if s.ConnectionString.IsSet() {
				w("Event Hubs connection string %s", s.ConnectionString.Describe())
			} else {
				w("brokers %s", strings.Join(s.Brokers, ", "))
			}
			if len(s.Topics) > 0 {
				w(", topics %s", strings.Join(s.Topics, ", "))
			}
			w(", format %s", s.Format)
			if s.SASLUser != "" {
				w(", SASL user %s password %s", s.SASLUser, s.SASLPassword.Describe())
			}
		}
		if a := c.SourceServerAddress(s); a != "" {
			w(", server %s", a)
		}
		if s.TimeZone != "" {
			w(", zone-less times in %s", s.TimeZone)
		}
		w("\n")
	}
	r := c.Store.Retention
	age, size := "no limit", "no limit"
	if r.MaxAge > 0 {
		age = FormatDuration(r.MaxAge)
	}
	if r.MaxSize > 0 {
		size = FormatSize(r.MaxSize)
	}
	w("retention:      max age %s, max size %s\n", age, size)
	if !c.HTTP.Enabled() {
		w("http:           off\n")
	} else {
		w("http:           %s, token %s", c.httpBase(), c.HTTP.Token.Describe())
		if c.HTTP.TLS != nil {
			w(", cert %s, key %s", c.HTTP.TLS.CertFile, c.HTTP.TLS.KeyFile)
		} else if c.HTTP.Insecure {
			w(", WITHOUT TLS beyond loopback (insecure: true)")
		}
		w("\n")
	}
	b.WriteString(c.NotifySummary())
	return b.String()
}

func (c *Config) httpBase() string {
	if c.HTTP.TLS != nil {
		return "https://" + c.HTTP.Listen
	}
	return "http://" + c.HTTP.Listen
}

// String is Summary: a Config prints with its secrets masked.
func (c *Config) String() string { return c.Summary() }
