package pgcheck

import (
	"testing"

	"github.com/vigildb/vigil/posture"
)

func TestHBAPrefix(t *testing.T) {
	cases := []struct {
		addr, mask string
		bits, size int
	}{
		{"0.0.0.0", "0.0.0.0", 0, 32},
		{"::", "::", 0, 128},
		{"10.0.0.0", "255.0.0.0", 8, 32},
		{"127.0.0.1", "255.255.255.255", 32, 32},
		{"all", "", 0, 32},
		{"samenet", "", -1, 0},
		{"db.example.com", "", -1, 0},
	}
	for _, c := range cases {
		bits, size := hbaRule{Address: c.addr, Netmask: c.mask}.prefixLen()
		if bits != c.bits || size != c.size {
			t.Errorf("%s/%s: %d/%d, want %d/%d", c.addr, c.mask, bits, size, c.bits, c.size)
		}
	}
}

// PostgreSQL 18 made log_connections a list.
func TestLogConnectionsPG18(t *testing.T) {
	var def Def
	for _, d := range Defs() {
		if d.ID == "pg.log.connections" {
			def = d
		}
	}
	for v, want := range map[string]posture.Status{
		"on": posture.Pass, "off": posture.Fail, "": posture.Fail, "all": posture.Pass,
		"receipt,authentication,authorization": posture.Pass, "receipt": posture.Fail, "setup_durations": posture.Fail,
	} {
		st := &state{Settings: map[string]setting{"log_connections": {Value: v}}, ReadAll: true}
		if r := def.Eval(st); r.Status != want {
			t.Errorf("log_connections=%q: %s", v, r.Status)
		}
	}
}

func TestHiddenSettingNotAssessable(t *testing.T) {
	st := &state{Settings: map[string]setting{}, User: "app", Version: "17.2"}
	if _, r := st.get("ssl_min_protocol_version"); r == nil || r.Status != posture.NotAssessable || r.Needs == "" {
		t.Errorf("hidden setting: %+v", r)
	}
	st.ReadAll = true
	if _, r := st.get("ssl_min_protocol_version"); r == nil || r.Status != posture.Info {
		t.Errorf("absent setting with pg_read_all_settings: %+v", r)
	}
}
