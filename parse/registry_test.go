package parse

import (
	"bytes"
	"testing"
)

func TestRegistryDetect(t *testing.T) {
	mk := func(name, marker string, score int) Format {
		return Format{Name: name, New: func(Options) (Parser, error) { return nil, nil },
			Detect: func(h []byte) int {
				if bytes.Contains(h, []byte(marker)) {
					return score
				}
				return 0
			}}
	}
	Register(mk("test_weak", "QUERY", 1))
	Register(mk("test_strong", ",QUERY,", 5))
	for _, tc := range []struct {
		head string
		want string
	}{
		{"20261125 09:44:06,db,app,127.0.0.1,7,12,QUERY,mysql,'select 1',0", "test_strong"},
		{"QUERY plain", "test_weak"},
		{"nothing here", ""},
	} {
		f, ok := Detect([]byte(tc.head))
		if got := f.Name; (tc.want == "" && ok) || got != tc.want {
			t.Errorf("Detect(%q) = %q, %v; want %q", tc.head, got, ok, tc.want)
		}
	}
	if _, ok := Lookup("test_strong"); !ok {
		t.Error("Lookup(test_strong) failed")
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate Register did not panic")
		}
	}()
	Register(mk("test_weak", "x", 1))
}
