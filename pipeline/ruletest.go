package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/vigildb/vigil/event"
)

// TestFile is a rule test file: promtool-style tests that feed log lines or
// events through the whole pipeline and state the alerts expected.
type TestFile struct {
	Tests []RuleTest `yaml:"tests"`
}

// RuleTest is one test case. See docs/rules.md.
type RuleTest struct {
	Name          string           `yaml:"name"`
	Rules         []string         `yaml:"rules"`
	Format        string           `yaml:"format"`
	LogLinePrefix string           `yaml:"log_line_prefix"`
	LearnUntil    string           `yaml:"learn_until"`
	Input         string           `yaml:"input"`
	Events        []map[string]any `yaml:"events"`
	Expect        []Expectation    `yaml:"expect"`
}

// Expectation is one alert a test expects. Zero fields are not checked.
type Expectation struct {
	Rule     string            `yaml:"rule"`
	Count    int64             `yaml:"count"`
	Group    map[string]string `yaml:"group"`
	Severity string            `yaml:"severity"`
}

// TestResult is the outcome of one test case.
type TestResult struct {
	File     string
	Name     string
	Rules    []string
	Failures []string // empty when the test passed
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// TestSource is a set of test files: an fs.FS (the embedded built-in
// fixtures) or a directory/file on disk.
type TestSource struct {
	FS   fs.FS  // when set, every *.yaml file in it
	Path string // otherwise a file or a directory (its *.yaml/*.yml files with a top-level tests: key)
}

// RunRuleTests runs every test found in sources against rs.
func RunRuleTests(ctx context.Context, rs *Rules, sources ...TestSource) ([]TestResult, error) {
	var results []TestResult
	for _, src := range sources {
		files, err := testFiles(src)
		if err != nil {
			return results, err
		}
		for _, tf := range files {
			var file TestFile
			if err := yaml.UnmarshalWithOptions(tf.data, &file, yaml.Strict()); err != nil {
				return results, fmt.Errorf("%s: %s", tf.name, yaml.FormatError(err, false, true))
			}
			for i, t := range file.Tests {
				name := t.Name
				if name == "" {
					name = fmt.Sprintf("test #%d", i+1)
				}
				results = append(results, runOne(ctx, rs, tf.name, name, t))
			}
		}
	}
	return results, nil
}

type namedData struct {
	name string
	data []byte
}

func testFiles(src TestSource) ([]namedData, error) {
	var out []namedData
	if src.FS != nil {
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isYAML(p) {
				return err
			}
			b, err := fs.ReadFile(src.FS, p)
			if err != nil {
				return err
			}
			out = append(out, namedData{"builtin:" + p, b})
			return nil
		})
		return out, err
	}
	st, err := os.Stat(src.Path)
	if err != nil {
		return nil, err
	}
	paths := []string{src.Path}
	if st.IsDir() {
		paths = nil
		err := filepath.WalkDir(src.Path, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isYAML(p) {
				paths = append(paths, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		// In a directory, only files whose top level has a tests: key are
		// tests; the others are rule files.
		if st.IsDir() && !hasTestsKey(b) {
			continue
		}
		out = append(out, namedData{p, b})
	}
	return out, nil
}

func isYAML(p string) bool {
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

func hasTestsKey(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "tests:") {
			return true
		}
	}
	return false
}

func runOne(ctx context.Context, rs *Rules, file, name string, t RuleTest) TestResult {
	r := TestResult{File: file, Name: name, Rules: t.Rules}
	fail := func(format string, a ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, a...)) }
	if len(t.Rules) == 0 {
		fail("the test names no rules under test (rules: [...])")
		return r
	}
	for _, id := range t.Rules {
		if !rs.Has(id) {
			fail("unknown rule %q", id)
		}
	}
	opts := Options{InputFormat: t.Format, LogLinePrefix: t.LogLinePrefix, SourceName: "test", Workers: 1}
	if t.LearnUntil != "" {
		lu, err := ParseTime(t.LearnUntil)
		if err != nil {
			fail("learn_until: %v", err)
			return r
		}
		opts.LearnUntil = lu
	}
	input := t.Input
	if len(t.Events) > 0 {
		if input != "" {
			fail("give input or events, not both")
			return r
		}
		var b strings.Builder
		for i, ev := range t.Events {
			j, err := json.Marshal(ev)
			if err != nil {
				fail("event %d: %v", i+1, err)
				return r
			}
			b.Write(j)
			b.WriteByte('\n')
		}
		input = b.String()
		opts.InputFormat = "events"
	}
	if opts.InputFormat == "auto" {
		opts.InputFormat = ""
	}
	res, err := ReplayRules(ctx, rs, opts, Input{Name: name, R: strings.NewReader(input), Size: int64(len(input))})
	if err != nil {
		fail("replay: %v", err)
		return r
	}
	for _, u := range res.Unparsed {
		fail("input line %d not understood: %s", u.Line, u.Reason)
	}
	under := map[string]bool{}
	for _, id := range t.Rules {
		under[id] = true
	}
	var got []*event.Alert
	for _, a := range res.Alerts {
		if under[a.RuleID] {
			got = append(got, a)
		}
	}
	used := make([]bool, len(got))
	for _, want := range t.Expect {
		found := false
		for i, a := range got {
			if !used[i] && matches(want, a) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			fail("expected %s, got %s", describeWant(want), describeAlerts(got))
		}
	}
	for i, a := range got {
		if !used[i] {
			fail("unexpected alert %s", describeAlert(a))
		}
	}
	return r
}

func matches(want Expectation, a *event.Alert) bool {
	if want.Rule != a.RuleID {
		return false
	}
	if want.Count != 0 && want.Count != a.Count {
		return false
	}
	if want.Severity != "" && want.Severity != a.Severity {
		return false
	}
	for k, v := range want.Group {
		if a.Group[k] != v {
			return false
		}
	}
	return true
}

func describeWant(w Expectation) string {
	s := w.Rule
	if w.Count != 0 {
		s += fmt.Sprintf(" count=%d", w.Count)
	}
	if w.Severity != "" {
		s += " severity=" + w.Severity
	}
	if len(w.Group) > 0 {
		s += " group=" + groupString(w.Group)
	}
	return s
}

func describeAlert(a *event.Alert) string {
	return fmt.Sprintf("%s count=%d severity=%s group=%s", a.RuleID, a.Count, a.Severity, groupString(a.Group))
}

func describeAlerts(as []*event.Alert) string {
	if len(as) == 0 {
		return "no alert from the rules under test"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = describeAlert(a)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func groupString(g map[string]string) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + g[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
