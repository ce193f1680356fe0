package versions

import (
	"testing"
	"time"

	"github.com/vigildb/vigil/posture"
)

func TestDefaultTable(t *testing.T) {
	tb := Default()
	if tb.Date == "" || len(tb.Products["postgresql"]) == 0 || len(tb.Products["mariadb"]) == 0 || len(tb.Products["mysql"]) == 0 {
		t.Fatalf("%+v", tb)
	}
}

func TestLookupAndResults(t *testing.T) {
	tb := Default()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		got    posture.Result
		status posture.Status
	}{
		{"pg 17 supported", tb.EOLResult("postgresql", "17.2 (Debian 17.2-1)", now), posture.Pass},
		{"pg 13 eol", tb.EOLResult("postgresql", "13.23", now), posture.Fail},
		{"pg 14 eol 2026-11-12", tb.EOLResult("postgresql", "14.24", now), posture.Fail},
		{"pg 9.6 unknown", tb.EOLResult("postgresql", "9.6.24", now), posture.Info},
		{"pg 15 old minor", tb.LatestResult("postgresql", "15.4"), posture.Fail},
		{"pg 15 latest", tb.LatestResult("postgresql", "15.19"), posture.Pass},
		{"pg 15 newer than table", tb.LatestResult("postgresql", "15.20"), posture.Pass},
		{"mariadb 10.11 series not 10.1", tb.EOLResult("mariadb", "10.11.6-MariaDB-0+deb12u1", now), posture.Pass},
		{"mariadb 10.5 eol", tb.EOLResult("mariadb", "10.5.29-MariaDB", now), posture.Fail},
		{"mysql 8.0 eol", tb.EOLResult("mysql", "8.0.40", now), posture.Fail},
		{"mysql 9.7 no eol", tb.EOLResult("mysql", "9.7.1", now), posture.Pass},
		{"pg 16 eol soon?", tb.EOLSoonResult("postgresql", "16.3", now, 365*24*time.Hour), posture.Pass},
		{"pg 14 eol soon", tb.EOLSoonResult("postgresql", "14.3", now, 365*24*time.Hour), posture.Fail},
	}
	for _, c := range cases {
		if c.got.Status != c.status {
			t.Errorf("%s: %s (%s), want %s", c.name, c.got.Status, c.got.Observed, c.status)
		}
	}
	if c, _ := tb.Lookup("mariadb", "10.11.6"); c.Cycle != "10.11" {
		t.Errorf("lookup 10.11.6 = %q", c.Cycle)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{`{`, `{"date":"yesterday","products":{"x":[]}}`, `{"date":"2026-01-01"}`,
		`{"date":"2026-01-01","products":{"x":[{"cycle":"1","eol":"soon"}]}}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestCompareAndNumeric(t *testing.T) {
	if Compare("15.10", "15.9") != 1 || Compare("10.11.6", "10.11.6") != 0 || Compare("8.0", "8.0.1") != -1 {
		t.Error("Compare")
	}
	if Numeric("10.11.6-MariaDB-0+deb12u1") != "10.11.6" || Numeric("15.4 (Debian 15.4-1)") != "15.4" {
		t.Error("Numeric")
	}
}

func TestStaleNote(t *testing.T) {
	tb := &Table{Date: "2026-01-01"}
	if tb.StaleNote(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) != "" {
		t.Error("fresh table flagged")
	}
	if tb.StaleNote(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) == "" {
		t.Error("old table not flagged")
	}
}
