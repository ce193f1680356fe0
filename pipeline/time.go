package pipeline

import (
	"fmt"
	"time"
)

// ParseTime reads a time given on a command line or in a test file: RFC 3339,
// or "YYYY-MM-DD[ HH:MM[:SS]]" taken as UTC.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time: use RFC 3339 (2026-11-20T00:00:00Z) or '2026-11-20 00:00:00' (UTC)", s)
}
