package pglog

import (
	"time"
)

// timeCache parses PostgreSQL's log timestamps ("2026-11-25 09:42:14.946 UTC",
// "2026-11-25 09:42:14 UTC") by hand. Building a time.Time from calendar
// fields costs more than the rest of a log line, so the seconds part and the
// zone of the last timestamp are remembered: consecutive lines almost always
// share them and only the milliseconds change.
type timeCache struct {
	key    [48]byte
	keyLen int
	base   time.Time // UTC, whole seconds
	loc    *time.Location
}

// zoneOffsets maps the time zone abbreviations PostgreSQL commonly prints
// (log_timezone) to their UTC offset in seconds. An abbreviation that is not
// listed is read in Options.Location (UTC by default): PostgreSQL writes
// abbreviations, not zone names, so ambiguous ones cannot be resolved.
var zoneOffsets = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 3600,
	"BST": 3600, "IST": 19800, "CET": 3600, "CEST": 7200, "MET": 3600, "MEST": 7200,
	"EET": 7200, "EEST": 10800, "MSK": 10800, "TRT": 10800,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600, "AST": -4 * 3600, "ADT": -3 * 3600,
	"NST": -12600, "NDT": -9000,
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600,
	"ACST": 34200, "ACDT": 37800, "AEST": 10 * 3600, "AEDT": 11 * 3600,
	"NZST": 12 * 3600, "NZDT": 13 * 3600, "SAST": 7200, "WIB": 7 * 3600, "PKT": 5 * 3600,
}

// parseStamp parses "YYYY-MM-DD HH:MM:SS[.mmm] ZONE" at the start of b.
// withMS says whether the milliseconds are required (%m, csvlog, jsonlog)
// or absent (%t, %s). It returns the time in UTC and the bytes consumed.
func (c *timeCache) parseStamp(b []byte, withMS bool, def *time.Location) (time.Time, int, bool) {
	// Fixed part.
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	n := 19
	var ms int
	if withMS {
		if len(b) < 23 || b[19] != '.' || !isDigit(b[20]) || !isDigit(b[21]) || !isDigit(b[22]) {
			return time.Time{}, 0, false
		}
		ms = int(b[20]-'0')*100 + int(b[21]-'0')*10 + int(b[22]-'0')
		n = 23
	}
	if len(b) <= n+1 || b[n] != ' ' {
		return time.Time{}, 0, false
	}
	zs := n + 1
	ze := scanZone(b, zs)
	if ze == zs {
		return time.Time{}, 0, false
	}
	// Key: seconds part + zone.
	klen := 19 + (ze - zs)
	if klen <= len(c.key) && c.keyLen == klen && string(c.key[:19]) == string(b[:19]) && string(c.key[19:klen]) == string(b[zs:ze]) {
		return c.base.Add(time.Duration(ms) * time.Millisecond), ze, true
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if !isDigit(b[i]) {
			return time.Time{}, 0, false
		}
	}
	year := atoiFixed(b[0:4])
	mon := atoiFixed(b[5:7])
	day := atoiFixed(b[8:10])
	hh := atoiFixed(b[11:13])
	mm := atoiFixed(b[14:16])
	ss := atoiFixed(b[17:19])
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 24 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	loc := zoneLocation(b[zs:ze], def)
	base := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, loc).UTC()
	if klen <= len(c.key) {
		copy(c.key[:19], b[:19])
		copy(c.key[19:], b[zs:ze])
		c.keyLen = klen
		c.base = base
	}
	return base.Add(time.Duration(ms) * time.Millisecond), ze, true
}

// scanZone returns the end of a zone abbreviation starting at i: a run of
// letters ("UTC", "CEST") or a numeric offset ("+03", "-0330", "+05:30").
func scanZone(b []byte, i int) int {
	j := i
	if j < len(b) && (b[j] == '+' || b[j] == '-') {
		j++
		k := j
		for j < len(b) && j-k < 4 && isDigit(b[j]) {
			j++
		}
		if j == k {
			return i
		}
		if j-k == 2 && j+2 < len(b) && b[j] == ':' && isDigit(b[j+1]) && isDigit(b[j+2]) {
			j += 3
		}
		return j
	}
	for j < len(b) && j-i < 8 && (b[j] >= 'A' && b[j] <= 'Z' || b[j] >= 'a' && b[j] <= 'z') {
		j++
	}
	return j
}

func zoneLocation(z []byte, def *time.Location) *time.Location {
	if off, ok := zoneOffsets[string(z)]; ok {
		if off == 0 {
			return time.UTC
		}
		return time.FixedZone(string(z), off)
	}
	if len(z) >= 2 && (z[0] == '+' || z[0] == '-') {
		d := z[1:]
		h, m := 0, 0
		switch {
		case len(d) == 2:
			h = atoiFixed(d)
		case len(d) == 4:
			h, m = atoiFixed(d[:2]), atoiFixed(d[2:])
		case len(d) == 5 && d[2] == ':':
			h, m = atoiFixed(d[:2]), atoiFixed(d[3:])
		default:
			h = atoiFixed(d)
		}
		off := h*3600 + m*60
		if z[0] == '-' {
			off = -off
		}
		return time.FixedZone(string(z), off)
	}
	if def == nil {
		return time.UTC
	}
	return def
}

// parseEpoch parses %n: seconds since the epoch with milliseconds
// ("1764063734.946").
func parseEpoch(b []byte) (time.Time, int, bool) {
	i := 0
	var sec int64
	for i < len(b) && isDigit(b[i]) && i < 12 {
		sec = sec*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 || i+4 > len(b) || b[i] != '.' || !isDigit(b[i+1]) || !isDigit(b[i+2]) || !isDigit(b[i+3]) {
		return time.Time{}, 0, false
	}
	ms := int64(b[i+1]-'0')*100 + int64(b[i+2]-'0')*10 + int64(b[i+3]-'0')
	return time.Unix(sec, ms*int64(time.Millisecond)).UTC(), i + 4, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// atoiFixed converts a short run of ASCII digits (already validated, or
// tolerated as garbage in) to an int.
func atoiFixed(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// atoi64 parses an optionally signed decimal integer; ok is false on
// anything else (or overflow beyond 18 digits).
func atoi64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
