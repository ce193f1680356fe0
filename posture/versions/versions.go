// Package versions is the release and end-of-life table the patch-level
// checks use. A table ships in the binary (with the date it was taken); a
// newer one in the same JSON shape can be supplied with `vigil scan
// --versions FILE`, so the checks do not need the Internet.
package versions

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

//go:embed versions.json
var embedded []byte

// Cycle is one release series (a PostgreSQL major, a MySQL 8.4, …).
type Cycle struct {
	Cycle    string `json:"cycle"`
	Released string `json:"released,omitempty"`
	// EOL is the last day of support (YYYY-MM-DD); empty when not
	// announced.
	EOL string `json:"eol"`
	// Latest is the newest release of the series when the table was taken.
	Latest string `json:"latest,omitempty"`
	LTS    bool   `json:"lts,omitempty"`
}

// Table is the whole file.
type Table struct {
	Date     string             `json:"date"`
	Source   string             `json:"source"`
	Products map[string][]Cycle `json:"products"`
}

// Default is the table built into the binary.
func Default() *Table {
	t, err := Parse(embedded)
	if err != nil {
		panic("posture/versions: embedded table: " + err.Error())
	}
	return t
}

// Load reads a table file.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return t, nil
}

// Parse decodes and validates a table.
func Parse(b []byte) (*Table, error) {
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("not a versions table: %v", err)
	}
	if _, err := time.Parse(time.DateOnly, t.Date); err != nil {
		return nil, fmt.Errorf("versions table: \"date\" must be YYYY-MM-DD, not %q", t.Date)
	}
	if len(t.Products) == 0 {
		return nil, fmt.Errorf("versions table: no \"products\"")
	}
	for p, cs := range t.Products {
		for _, c := range cs {
			if c.Cycle == "" {
				return nil, fmt.Errorf("versions table: %s: a cycle without \"cycle\"", p)
			}
			if c.EOL != "" {
				if _, err := time.Parse(time.DateOnly, c.EOL); err != nil {
					return nil, fmt.Errorf("versions table: %s %s: bad eol %q", p, c.Cycle, c.EOL)
				}
			}
		}
	}
	return &t, nil
}

// Lookup finds the cycle of version (e.g. "15.4" in postgresql → "15",
// "10.11.6" in mariadb → "10.11"): the longest cycle that is a
// dot-prefix of version.
func (t *Table) Lookup(product, version string) (Cycle, bool) {
	var best Cycle
	found := false
	for _, c := range t.Products[product] {
		if version == c.Cycle || strings.HasPrefix(version, c.Cycle+".") {
			if !found || len(c.Cycle) > len(best.Cycle) {
				best, found = c, true
			}
		}
	}
	return best, found
}

// EOLTime is the cycle's end of life, or false when none is announced.
func (c Cycle) EOLTime() (time.Time, bool) {
	if c.EOL == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, c.EOL)
	return t, err == nil
}

// Compare compares dotted numeric versions: -1, 0 or 1. Non-numeric parts
// compare as 0.
func Compare(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Numeric cuts a version string to its leading dotted numbers:
// "10.11.6-MariaDB-0+deb12u1" → "10.11.6", "15.4 (Debian 15.4-1)" → "15.4".
func Numeric(v string) string {
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.') {
		end++
	}
	return strings.TrimRight(v[:end], ".")
}

// StaleNote warns when the table is more than 180 days older than now: the
// patch-level checks may then miss newer releases.
func (t *Table) StaleNote(now time.Time) string {
	d, err := time.Parse(time.DateOnly, t.Date)
	if err != nil || now.Sub(d) <= 180*24*time.Hour {
		return ""
	}
	return fmt.Sprintf("the versions table is from %s (%d days old): releases since then are unknown to the patch-level checks; pass a newer one with --versions", t.Date, int(now.Sub(d).Hours()/24))
}
