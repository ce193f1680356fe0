package azcheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/posture"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, names ...string) []Input {
	t.Helper()
	var in []Input
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "azure", n))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, Input{Name: n, Data: b})
	}
	return in
}

func scan(t *testing.T, in []Input) *posture.Report {
	t.Helper()
	r, err := Scan(in, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var weakFiles = []string{"cosmos-weak.json", "cosmos-atp.json", "cosmos-diagnostics.json",
	"pg-weak.json", "pg-weak-params.json", "pg-weak-firewall.json",
	"mysql-weak.json", "mysql-weak-params.json", "mysql-weak-firewall.json", "pricing-free.json"}

var hardFiles = []string{"cosmos-hardened.json", "cosmos-atp.json", "cosmos-diagnostics.json",
	"pg-hardened.json", "pg-hardened-params.json", "pg-hardened-diagnostics.json", "pg-hardened-admins.json", "mysql-hardened-admins.json",
	"mysql-hardened.json", "mysql-hardened-params.json", "mysql-hardened-diagnostics.json", "pricing-standard.json"}

// TestFixtures: every check fails on the weak resources and passes on the
// hardened ones, apart from the listed exceptions (each covered by
// TestProperties instead).
func TestFixtures(t *testing.T) {
	weak, hard := scan(t, load(t, weakFiles...)), scan(t, load(t, hardFiles...))
	if weak.Engine != "azure" || len(weak.Findings) != len(Catalog()) {
		t.Fatalf("weak: engine %q, %d findings for %d checks", weak.Engine, len(weak.Findings), len(Catalog()))
	}
	weakExcept := map[string]posture.Status{
		"az.cosmos.firewall":         posture.Pass,          // it has IP rules (bad ones, see ip_all_azure / ip_wide)
		"az.pg.diagnostics":          posture.NotAssessable, // no diagnostic settings file given
		"az.mysql.diagnostics":       posture.NotAssessable,
		"az.pg.entra_admin":          posture.NotAssessable, // no ad-admin list given
		"az.mysql.entra_admin":       posture.NotAssessable,
		"az.cosmos.managed_identity": posture.Fail,
	}
	hardExcept := map[string]posture.Status{
		"az.pg.connection_throttle": posture.Info, // not a parameter on PostgreSQL 16+
	}
	for _, f := range weak.Findings {
		want := posture.Fail
		if s, ok := weakExcept[f.ID]; ok {
			want = s
		}
		if f.Status != want {
			t.Errorf("weak %s %s: %s (%s), want %s", f.Resource, f.ID, f.Status, f.Observed, want)
		}
	}
	for _, f := range hard.Findings {
		want := posture.Pass
		if s, ok := hardExcept[f.ID]; ok {
			want = s
		}
		if f.Status != want {
			t.Errorf("hardened %s %s: %s (%s %s), want %s", f.Resource, f.ID, f.Status, f.Observed, f.Needs, want)
		}
	}
}

// mutate loads a fixture object, sets path to v and returns it as input.
func mutate(t *testing.T, file, path string, v any) Input {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "azure", file))
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	cur := o
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	if v == nil {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	out, _ := json.Marshal(o)
	return Input{Name: file + " with " + path, Data: out}
}

// TestProperties flips one property of a hardened resource at a time.
func TestProperties(t *testing.T) {
	cases := []struct {
		file, path string
		value      any
		check      string
		want       posture.Status
	}{
		{"cosmos-hardened.json", "publicNetworkAccess", "Enabled", "az.cosmos.public_network", posture.Fail},
		{"cosmos-hardened.json", "publicNetworkAccess", "SecuredByPerimeter", "az.cosmos.public_network", posture.Pass},
		{"cosmos-hardened.json", "ipRules", []any{map[string]any{"ipAddressOrRange": "0.0.0.0"}}, "az.cosmos.ip_all_azure", posture.Fail},
		{"cosmos-hardened.json", "ipRules", []any{map[string]any{"ipAddressOrRange": "0.0.0.0/0"}}, "az.cosmos.ip_wide", posture.Fail},
		{"cosmos-hardened.json", "ipRules", []any{map[string]any{"ipAddressOrRange": "203.0.113.0/24"}}, "az.cosmos.ip_wide", posture.Pass},
		{"cosmos-weak.json", "ipRules", []any{}, "az.cosmos.firewall", posture.Fail},
		{"cosmos-weak.json", "isVirtualNetworkFilterEnabled", true, "az.cosmos.selected_networks", posture.Pass},
		{"cosmos-hardened.json", "disableLocalAuth", false, "az.cosmos.local_auth", posture.Fail},
		{"cosmos-hardened.json", "disableLocalAuth", false, "az.cosmos.keys_rotated", posture.Pass},
		{"cosmos-weak.json", "disableLocalAuth", true, "az.cosmos.keys_rotated", posture.Pass},
		{"cosmos-hardened.json", "disableKeyBasedMetadataWriteAccess", false, "az.cosmos.metadata_write", posture.Fail},
		{"cosmos-hardened.json", "keyVaultKeyUri", nil, "az.cosmos.cmk", posture.NotAssessable},
		{"cosmos-hardened.json", "keyVaultKeyUri", "", "az.cosmos.cmk", posture.Fail},
		{"cosmos-hardened.json", "minimalTlsVersion", "Tls11", "az.cosmos.min_tls", posture.Fail},
		{"cosmos-hardened.json", "minimalTlsVersion", "Tls13", "az.cosmos.min_tls", posture.Pass},
		{"cosmos-hardened.json", "backupPolicy.type", "Periodic", "az.cosmos.backup_continuous", posture.Fail},
		{"cosmos-weak.json", "backupPolicy.periodicModeProperties.backupStorageRedundancy", "Geo", "az.cosmos.backup_geo", posture.Pass},
		{"cosmos-hardened.json", "networkAclBypass", "AzureServices", "az.cosmos.acl_bypass", posture.Fail},
		{"cosmos-hardened.json", "enableAutomaticFailover", false, "az.cosmos.automatic_failover", posture.Fail},
		{"cosmos-hardened.json", "cors", []any{map[string]any{"allowedOrigins": "https://shop.example,*"}}, "az.cosmos.cors", posture.Fail},
		{"cosmos-hardened.json", "privateEndpointConnections", []any{}, "az.cosmos.private_endpoint", posture.Fail},
		{"pg-hardened.json", "network.publicNetworkAccess", "Enabled", "az.pg.public_access", posture.Fail},
		{"pg-hardened.json", "network.publicNetworkAccess", "Enabled", "az.pg.firewall_any_ip", posture.NotAssessable},
		{"pg-hardened.json", "authConfig.activeDirectoryAuth", "Disabled", "az.pg.entra_auth", posture.Fail},
		{"pg-hardened.json", "authConfig.passwordAuth", "Enabled", "az.pg.password_auth", posture.Fail},
		{"pg-hardened.json", "dataEncryption.type", "SystemManaged", "az.pg.cmk", posture.Fail},
		{"pg-hardened.json", "backup.geoRedundantBackup", "Disabled", "az.pg.geo_backup", posture.Fail},
		{"pg-hardened.json", "backup.backupRetentionDays", 7, "az.pg.backup_retention", posture.Fail},
		{"pg-hardened.json", "highAvailability.mode", "SameZone", "az.pg.ha", posture.Pass},
		{"pg-hardened.json", "version", "14", "az.pg.version", posture.Fail},
		{"pg-hardened.json", "version", "16", "az.pg.version", posture.Pass},
		{"mysql-hardened.json", "version", "8.0.21", "az.mysql.version", posture.Pass},
		{"mysql-hardened.json", "network.publicNetworkAccess", "Enabled", "az.mysql.public_access", posture.Fail},
		{"mysql-hardened.json", "dataEncryption.type", "SystemManaged", "az.mysql.cmk", posture.Fail},
		{"mysql-hardened.json", "backup.geoRedundantBackup", "Disabled", "az.mysql.geo_backup", posture.Fail},
		{"mysql-hardened.json", "highAvailability.mode", "Disabled", "az.mysql.ha", posture.Fail},
	}
	for _, c := range cases {
		t.Run(c.check+"/"+c.path, func(t *testing.T) {
			r := scan(t, []Input{mutate(t, c.file, c.path, c.value)})
			f, ok := r.Find(c.check)
			if !ok {
				t.Fatalf("no %s", c.check)
			}
			if f.Status != c.want {
				t.Errorf("%s = %v: %s %s (%s), want %s", c.path, c.value, c.check, f.Status, f.Observed, c.want)
			}
		})
	}
}

func TestNotAssessableWithoutSubResources(t *testing.T) {
	r := scan(t, load(t, "cosmos-hardened.json", "pg-weak.json"))
	for _, id := range []string{"az.cosmos.defender", "az.cosmos.diagnostics", "az.pg.require_secure_transport",
		"az.pg.log_connections", "az.pg.firewall_any_ip", "az.pg.defender"} {
		f, _ := r.Find(id)
		if f.Status != posture.NotAssessable || !strings.Contains(f.Needs, "az ") {
			t.Errorf("%s: %s %q", id, f.Status, f.Needs)
		}
	}
	// One resource alone: the target is its id, the engine its kind.
	one := scan(t, load(t, "pg-hardened.json"))
	if one.Engine != "azure-postgres-flexible" || !strings.HasSuffix(one.Target, "/flexibleServers/pg-prod") || one.Version != "17.6" {
		t.Errorf("single resource: %q %q %q", one.Engine, one.Target, one.Version)
	}
}

func TestInputErrors(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"bad.json", `{"name": `, "not valid JSON"},
		{"vm.json", `{"type": "Microsoft.Compute/virtualMachines", "name": "vm1"}`, "no Cosmos DB account"},
		{"list.json", `[1, 2]`, "not an object"},
		{"num.json", `42`, "expected a JSON object"},
	}
	for _, c := range cases {
		_, err := Scan([]Input{{Name: c.name, Data: []byte(c.data)}}, Options{Now: now})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestRawARM(t *testing.T) {
	// ARM GET nests the fields under "properties".
	raw := `{"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/a1",
		"name": "a1", "type": "Microsoft.DocumentDB/databaseAccounts", "kind": "GlobalDocumentDB",
		"properties": {"publicNetworkAccess": "Disabled", "disableLocalAuth": true, "minimalTlsVersion": "Tls12"}}`
	r := scan(t, []Input{{Name: "arm.json", Data: []byte(raw)}})
	for _, id := range []string{"az.cosmos.public_network", "az.cosmos.local_auth", "az.cosmos.min_tls"} {
		if f, _ := r.Find(id); f.Status != posture.Pass {
			t.Errorf("%s: %s %s", id, f.Status, f.Observed)
		}
	}
}

func TestCatalogCounts(t *testing.T) {
	n := map[string]int{}
	for _, c := range Catalog() {
		n[c.Engine]++
	}
	if n["azure-cosmosdb"] < 15 || len(Catalog()) < 35 {
		t.Errorf("catalog: %v", n)
	}
}
