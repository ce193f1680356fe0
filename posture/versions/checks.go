package versions

import (
	"fmt"
	"time"

	"github.com/vigildb/vigil/posture"
)

// EOLResult grades whether version's series is still supported at now.
func (t *Table) EOLResult(product, version string, now time.Time) posture.Result {
	c, ok := t.Lookup(product, Numeric(version))
	if !ok {
		return posture.Infof("%s %s is not in the versions table of %s; supply a newer one with --versions", product, version, t.Date)
	}
	eol, has := c.EOLTime()
	if !has {
		return posture.Passf("%s %s: series %s has no announced end of life (table of %s)", product, version, c.Cycle, t.Date)
	}
	if now.After(eol.Add(24 * time.Hour)) {
		return posture.Failf("%s %s: series %s reached end of life on %s (table of %s)", product, version, c.Cycle, c.EOL, t.Date)
	}
	return posture.Passf("%s %s: series %s supported until %s (table of %s)", product, version, c.Cycle, c.EOL, t.Date)
}

// EOLSoonResult fails when the series ends within window of now.
func (t *Table) EOLSoonResult(product, version string, now time.Time, window time.Duration) posture.Result {
	c, ok := t.Lookup(product, Numeric(version))
	if !ok {
		return posture.Infof("%s %s is not in the versions table of %s", product, version, t.Date)
	}
	eol, has := c.EOLTime()
	if !has {
		return posture.Passf("series %s has no announced end of life", c.Cycle)
	}
	if now.After(eol.Add(24 * time.Hour)) {
		return posture.Failf("series %s already reached end of life on %s", c.Cycle, c.EOL)
	}
	left := eol.Sub(now)
	return posture.Cond(left > window, fmt.Sprintf("series %s ends on %s (%d days from now)", c.Cycle, c.EOL, int(left.Hours()/24)))
}

// LatestResult grades whether version is the newest release of its series
// the table knows.
func (t *Table) LatestResult(product, version string) posture.Result {
	v := Numeric(version)
	c, ok := t.Lookup(product, v)
	if !ok || c.Latest == "" {
		return posture.Infof("%s %s: no latest release known for this series in the table of %s; supply a newer one with --versions", product, version, t.Date)
	}
	switch Compare(v, c.Latest) {
	case -1:
		return posture.Failf("%s %s; the latest %s release is %s (table of %s)", product, v, c.Cycle, c.Latest, t.Date)
	case 1:
		return posture.Passf("%s %s is newer than the latest release %s in the table of %s (the table may be stale)", product, v, c.Latest, t.Date)
	}
	return posture.Passf("%s %s is the latest %s release (table of %s)", product, v, c.Cycle, t.Date)
}
