package config

import (
	"encoding/json"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/vigildb/vigil/detect"
)

// RuleSources is the user's part of the rule set, to load after the
// built-in pack:
//
//	detect.Load(append([]detect.Source{pipeline.BuiltinSource()}, cfg.RuleSources()...)...)
//
// It is rules.paths, then (when rules.lists is set) a generated rule file
// of `- list:` entries for the overrides. That file is named like the
// config file and each entry sits on the line of its list in the config
// (and, where the layout allows, at its column), so rule-loading errors
// about a list override (append to an unknown list, a reserved name) point
// into the config file.
func (c *Config) RuleSources() []detect.Source {
	out := detect.PathSources(c.Rules.Paths...)
	if len(c.Rules.Lists) == 0 {
		return out
	}
	dir, base := filepath.Dir(c.File), filepath.Base(c.File)
	if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
		base += ".yaml"
	}
	if dir == "." {
		dir = ""
	}
	return append(out, detect.FSSource(filepath.ToSlash(dir), fstest.MapFS{
		path.Clean(base): &fstest.MapFile{Data: c.listsYAML()},
	}))
}

// listsYAML writes the list overrides as one flow sequence of flow
// mappings, `{list:` at the end of the line before the list's config line
// and the name on its config line and column, so that positions in the
// generated file are positions in the config. (Several lists on one config
// line share a line here too, with columns that are off.)
func (c *Config) listsYAML() []byte {
	lines := []string{"["}
	last := 0
	for _, l := range c.Rules.Lists {
		items, _ := json.Marshal(l.Items)
		if l.Items == nil {
			items = []byte("[]")
		}
		// Names are identifiers (checked by the parser): no quoting needed.
		entry := l.Name + ", items: " + string(items)
		if l.Append {
			entry += ", append: true"
		}
		entry += "},"
		line := l.Pos.Line
		if line < 2 || line <= last {
			lines[len(lines)-1] += " {list: " + entry
			continue
		}
		for len(lines) < line-1 {
			lines = append(lines, "")
		}
		lines[line-2] += " {list:"
		lines = append(lines, strings.Repeat(" ", max(l.Pos.Column-1, 1))+entry)
		last = line
	}
	lines = append(lines, "]")
	return []byte(strings.Join(lines, "\n") + "\n")
}
