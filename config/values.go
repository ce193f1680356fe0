package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a Go duration ("90s", "10m", "1h30m") with an
// optional leading day count ("7d", "1d12h"). "0" is zero; negative
// durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration: want e.g. 90s, 10m, 4h, 30d")
	}
	orig := s
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("bad duration %q: want e.g. 90s, 10m, 4h, 30d", orig)
		}
		d = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
	}
	if s != "" {
		r, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. 90s, 10m, 4h, 30d", orig)
		}
		if r < 0 {
			return 0, fmt.Errorf("bad duration %q: must not be negative", orig)
		}
		if d > math.MaxInt64-r {
			return 0, fmt.Errorf("bad duration %q: too long", orig)
		}
		d += r
	}
	return d, nil
}

// FormatDuration prints a duration the way config files write it: whole
// days as "30d", otherwise Go's form without trailing zero units ("10m").
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	day := 24 * time.Hour
	prefix := ""
	if d > day {
		prefix = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return prefix + s
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a byte size: a number with an optional unit, decimal
// (KB, MB, GB, TB = powers of 1000) or binary (KiB, MiB, GiB, TiB = powers
// of 1024), e.g. "10GiB", "512MB", "1.5 GiB", "4096". Units are not case
// sensitive.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("bad size %q: want e.g. 512MiB, 10GiB, 500MB", s)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("bad size %q: unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, m[2])
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	v := n * unit
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return int64(v), nil
}

// FormatSize prints a byte size with the largest binary unit that divides
// it exactly ("10GiB"), else in bytes.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// timeLayouts are the ways learn_until may be written; times without a
// zone are UTC (the same as `vigil replay --learn-until`).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time: use RFC 3339 (2026-11-20T00:00:00Z) or '2026-11-20 00:00:00' (UTC)", s)
}

// Secret is a value that must not be printed or logged: a token or a
// password. In a config file a secret is written inline, or as
// ${env:NAME} (the value of an environment variable) or ${file:PATH}
// (the contents of a file, surrounding white space trimmed).
//
// Every way of printing a Secret (fmt's verbs, JSON and text marshalling,
// slog) shows "***" when it is set and "" when it is not; Value returns
// the secret itself.
type Secret struct {
	value string
	// From says where the value came from: "inline", "env:NAME" or
	// "file:PATH". It is not secret.
	From string
}

// NewSecret returns a Secret holding value, as if written inline.
func NewSecret(value string) Secret { return Secret{value: value, From: "inline"} }

// Value is the secret itself.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.value != "" }

// String masks the secret.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return "***"
}

// GoString masks the secret for %#v.
func (s Secret) GoString() string {
	return fmt.Sprintf("config.Secret{%q, From: %q}", s.String(), s.From)
}

// Format masks the secret for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText masks the secret in JSON, YAML and other encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Describe says where the secret comes from without showing it:
// "*** (from env VIGIL_TOKEN)", "*** (from file /etc/vigil/token)",
// "*** (inline)", or "(not set)".
func (s Secret) Describe() string {
	switch {
	case s.value == "":
		return "(not set)"
	case strings.HasPrefix(s.From, "env:"):
		return "*** (from env " + strings.TrimPrefix(s.From, "env:") + ")"
	case strings.HasPrefix(s.From, "file:"):
		return "*** (from file " + strings.TrimPrefix(s.From, "file:") + ")"
	}
	return "*** (inline)"
}

var refRE = regexp.MustCompile(`^\$\{(env|file):(.*)\}$`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolveSecret turns the text of a secret field into its value. dir is
// the directory relative file paths are read from.
func resolveSecret(text, dir string) (Secret, error) {
	m := refRE.FindStringSubmatch(text)
	if m == nil {
		return Secret{value: text, From: "inline"}, nil
	}
	ref := strings.TrimSpace(m[2])
	switch m[1] {
	case "env":
		if !envNameRE.MatchString(ref) {
			return Secret{}, fmt.Errorf("bad environment variable name %q in ${env:...}", ref)
		}
		v, ok := os.LookupEnv(ref)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set", ref)
		}
		if strings.TrimSpace(v) == "" {
			return Secret{}, fmt.Errorf("environment variable %s is empty", ref)
		}
		return Secret{value: v, From: "env:" + ref}, nil
	default:
		if ref == "" {
			return Secret{}, errors.New("empty file name in ${file:...}")
		}
		p := resolvePath(dir, ref)
		b, err := os.ReadFile(p)
		if err != nil {
			return Secret{}, fmt.Errorf("cannot read secret file: %v", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return Secret{}, fmt.Errorf("secret file %s is empty", p)
		}
		return Secret{value: v, From: "file:" + p}, nil
	}
}
