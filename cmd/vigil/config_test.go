package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigExampleAndCheck(t *testing.T) {
	example, _, code := run(t, "", "config", "example")
	if code != 0 || !strings.Contains(example, "sources:") {
		t.Fatalf("config example: exit %d", code)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(f, []byte(example), 0o600)

	t.Setenv("VIGIL_TOKEN", "")
	out, _, code := run(t, "", "config", "check", "-c", f)
	if code != 1 || !strings.Contains(out, f+":") || !strings.Contains(out, "VIGIL_TOKEN") {
		t.Errorf("without the token: exit %d\n%s", code, out)
	}
	const token = "s3cr3t-token-0123456789"
	t.Setenv("VIGIL_TOKEN", token)
	out, errOut, code := run(t, "", "config", "check", "-c", f)
	if code != 0 || !strings.Contains(out, "ok") || strings.Contains(out+errOut, token) {
		t.Errorf("with the token: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("log_level: loud\nsorces: []\n"), 0o600)
	out, _, code = run(t, "", "config", "check", "-c", bad)
	if code != 1 || !strings.Contains(out, bad+":1:") || !strings.Contains(out, bad+":2:") {
		t.Errorf("bad config: exit %d\n%s", code, out)
	}
	if _, _, code := run(t, "", "config", "check"); code != 2 {
		t.Errorf("no -c: exit %d", code)
	}
}
