package azcheck

import (
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vigildb/vigil/posture"
)

// Def is an Azure check over one resource.
type Def = posture.Def[*resource]

const (
	critical, high, medium, low, info = posture.SevCritical, posture.SevHigh, posture.SevMedium, posture.SevLow, posture.SevInfo
)

func chk(engine, id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
	if refs == nil {
		refs = []string{}
	}
	return posture.Check{ID: id, Engine: engine, Group: group, Title: title, Severity: sev,
		Expected: expected, Why: why, Fix: fix, References: refs}
}

func propDef(c posture.Check, path string, ok func(v string) bool) Def {
	return Def{Check: c, Eval: func(r *resource) posture.Result {
		if !present(r.Props, path) {
			return posture.NA(path+" is not in the resource JSON", "the full output of `az … show` for the resource")
		}
		v := str(r.Props, path)
		shown := v
		if shown == "" {
			shown = "(not set)"
		}
		return posture.Cond(ok(v), fmt.Sprintf("%s = %s", path, shown))
	}}
}

func eq(vals ...string) func(string) bool {
	return func(v string) bool {
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return true
			}
		}
		return false
	}
}

func cosmos(id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
	return chk("azure-cosmosdb", id, group, title, sev, expected, why, fix, refs...)
}

func publicDisabled(r *resource) bool {
	v := str(r.Props, "publicNetworkAccess")
	if r.Kind != "cosmos" {
		v = str(r.Props, "network.publicNetworkAccess")
	}
	return strings.EqualFold(v, "Disabled") || strings.EqualFold(v, "SecuredByPerimeter")
}

func ipRules(r *resource) []string {
	var out []string
	for _, x := range arr(r.Props, "ipRules") {
		out = append(out, str(x, "ipAddressOrRange"))
	}
	if f := str(r.Props, "ipRangeFilter"); f != "" && len(out) == 0 {
		for _, p := range strings.Split(f, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// size is the number of addresses in an IP or CIDR.
func size(ipOrCIDR string) *big.Int {
	if !strings.Contains(ipOrCIDR, "/") {
		return big.NewInt(1)
	}
	_, n, err := net.ParseCIDR(ipOrCIDR)
	if err != nil {
		return big.NewInt(0)
	}
	ones, bits := n.Mask.Size()
	return new(big.Int).Lsh(big.NewInt(1), uint(bits-ones))
}

func (r *resource) defender(plan string) posture.Result {
	if r.ATP != nil {
		return posture.Cond(*r.ATP, fmt.Sprintf("advanced threat protection isEnabled = %v", *r.ATP))
	}
	if r.Pricing != "" {
		return posture.Cond(strings.EqualFold(r.Pricing, "Standard"), fmt.Sprintf("Defender plan %s pricingTier = %s", plan, r.Pricing))
	}
	cmd := "az security atp cosmosdb show --cosmosdb-account <name> -g <rg>"
	if r.Kind != "cosmos" {
		cmd = "az security pricing show -n OpenSourceRelationalDatabases"
	}
	return posture.NA("Defender state is not part of `az … show`", "also pass the output of `"+cmd+"` (or `az security pricing show -n "+plan+"`) with --azure-resource")
}

func (r *resource) diagnostics() posture.Result {
	if !r.DiagGiven {
		return posture.NA("diagnostic settings are not part of `az … show`",
			"also pass the output of `az monitor diagnostic-settings list --resource <resource id>` with --azure-resource")
	}
	var sinks []string
	for _, d := range r.Diag {
		enabled := false
		for _, l := range arr(d, "logs") {
			if boolv(l, "enabled") {
				enabled = true
			}
		}
		if !enabled {
			continue
		}
		for _, k := range []string{"workspaceId", "eventHubAuthorizationRuleId", "storageAccountId"} {
			if str(d, k) != "" {
				sinks = append(sinks, str(d, "name")+" → "+k)
			}
		}
	}
	return posture.Cond(len(sinks) > 0, "log exports: "+posture.List(sinks, 4))
}

func cosmosDefs() []Def {
	return []Def{
		propDef(cosmos("az.cosmos.public_network", "network", "Public network access disabled", high,
			"publicNetworkAccess Disabled (or SecuredByPerimeter)",
			"A public endpoint can be reached by anyone holding a key or token.",
			"az cosmosdb update -n <account> -g <rg> --public-network-access Disabled (use private endpoints)",
			"Prowler cosmosdb_account_public_network_access_disabled", "PSRule Azure.Cosmos.PublicAccess", "cnspec"),
			"publicNetworkAccess", eq("Disabled", "SecuredByPerimeter")),
		{Check: cosmos("az.cosmos.selected_networks", "network", "Access limited to selected networks", high,
			"isVirtualNetworkFilterEnabled true (or public access disabled)",
			"'All networks' accepts any IP address that presents a key.",
			"az cosmosdb update -n <account> -g <rg> --enable-virtual-network true",
			"CIS Azure Database Services 3.1", "Prowler cosmosdb_account_firewall_use_selected_networks", "Steampipe"),
			Eval: func(r *resource) posture.Result {
				if publicDisabled(r) {
					return posture.Passf("public network access disabled")
				}
				return posture.Cond(boolv(r.Props, "isVirtualNetworkFilterEnabled"), "isVirtualNetworkFilterEnabled = "+str(r.Props, "isVirtualNetworkFilterEnabled"))
			}},
		{Check: cosmos("az.cosmos.firewall", "network", "IP firewall or VNet rules configured", high,
			"ipRules or virtualNetworkRules non-empty when the public endpoint is on",
			"A public endpoint without rules is open to every address.",
			"az cosmosdb update -n <account> -g <rg> --ip-range-filter 203.0.113.10,198.51.100.0/24",
			"Steampipe cosmosdb_account_with_firewall_rules", "cnspec"),
			Eval: func(r *resource) posture.Result {
				if publicDisabled(r) {
					return posture.Passf("public network access disabled")
				}
				ips, vnets := ipRules(r), arr(r.Props, "virtualNetworkRules")
				return posture.Cond(len(ips)+len(vnets) > 0, fmt.Sprintf("%d IP rules, %d VNet rules", len(ips), len(vnets)))
			}},
		{Check: cosmos("az.cosmos.ip_all_azure", "network", "No 0.0.0.0 \"accept connections from within Azure\" rule", high,
			"no 0.0.0.0 entry in ipRules",
			"0.0.0.0 admits requests from every Azure datacenter — any tenant's VM or function, not just yours.",
			"Remove 0.0.0.0 from the IP rules: az cosmosdb update -n <account> -g <rg> --ip-range-filter <your ranges>",
			"monkey365 azure-cosmosdb-fw-allow-all-traffic", "OWN"),
			Eval: func(r *resource) posture.Result {
				for _, ip := range ipRules(r) {
					if ip == "0.0.0.0" {
						return posture.Failf("ipRules contain 0.0.0.0 (all Azure datacenters)")
					}
				}
				return posture.Passf("ipRules: %s", posture.List(ipRules(r), 6))
			}},
		{Check: cosmos("az.cosmos.ip_wide", "network", "No overly broad IP ranges", high,
			"no rule wider than /24 (and never 0.0.0.0/0)",
			"Wide ranges admit whole provider networks or the Internet.",
			"Replace wide ranges with the exact egress addresses.", "OWN"),
			Eval: func(r *resource) posture.Result {
				var wide []string
				for _, ip := range ipRules(r) {
					if size(ip).Cmp(big.NewInt(256)) > 0 {
						wide = append(wide, ip)
					}
				}
				return posture.Cond(len(wide) == 0, "wide rules: "+posture.List(wide, 6))
			}},
		{Check: cosmos("az.cosmos.private_endpoint", "network", "Private endpoint in use", medium,
			"at least one approved private endpoint connection",
			"Traffic over a private endpoint never leaves the virtual network.",
			"az network private-endpoint create … --group-id Sql --private-connection-resource-id <account id>",
			"CIS Azure Database Services 3.2", "Prowler cosmosdb_account_use_private_endpoints"),
			Eval: func(r *resource) posture.Result {
				n := 0
				for _, p := range arr(r.Props, "privateEndpointConnections") {
					s := str(p, "privateLinkServiceConnectionState.status")
					if s == "" {
						s = str(p, "properties.privateLinkServiceConnectionState.status")
					}
					if strings.EqualFold(s, "Approved") {
						n++
					}
				}
				return posture.Cond(n > 0, fmt.Sprintf("%d approved private endpoint(s)", n))
			}},
		{Check: cosmos("az.cosmos.acl_bypass", "network", "No network ACL bypass for Azure services", medium,
			"networkAclBypass None and no bypass resource ids",
			"AzureServices bypass lets Synapse and other services reach the account past the firewall.",
			"az cosmosdb update -n <account> -g <rg> --network-acl-bypass None", "cnspec"),
			Eval: func(r *resource) posture.Result {
				b := str(r.Props, "networkAclBypass")
				ids := arr(r.Props, "networkAclBypassResourceIds")
				if v, ok := get(r.Props, "networkAclBypassResourceIds"); ok {
					if l, ok := v.([]any); ok && len(l) > 0 {
						ids = append(ids, obj{})
					}
				}
				return posture.Cond((b == "" || strings.EqualFold(b, "None")) && len(ids) == 0,
					fmt.Sprintf("networkAclBypass = %s, %d bypass resource id(s)", b, len(ids)))
			}},
		{Check: cosmos("az.cosmos.vnet_rules", "network", "Virtual network service endpoints or private endpoints", medium,
			"virtualNetworkRules or private endpoints present",
			"Restricting to subnets keeps access inside your network.",
			"az cosmosdb network-rule add -n <account> -g <rg> --subnet <subnet id>",
			"Steampipe cosmosdb_use_virtual_service_endpoint"),
			Eval: func(r *resource) posture.Result {
				v, p := len(arr(r.Props, "virtualNetworkRules")), len(arr(r.Props, "privateEndpointConnections"))
				return posture.Cond(v+p > 0, fmt.Sprintf("%d VNet rules, %d private endpoints", v, p))
			}},
		propDef(cosmos("az.cosmos.local_auth", "identity", "Key (local) authentication disabled", high,
			"disableLocalAuth true (Entra ID and RBAC only)",
			"Account keys are shared, long-lived and unattributable: every request signed with them looks the same.",
			"az cosmosdb update -n <account> -g <rg> --disable-local-auth true (after moving clients to Entra ID)",
			"CIS Azure Database Services 3.3", "Prowler cosmosdb_account_use_aad_and_rbac", "PSRule Azure.Cosmos.DisableLocalAuth"),
			"disableLocalAuth", eq("true")),
		propDef(cosmos("az.cosmos.metadata_write", "identity", "Key-based metadata writes disabled", medium,
			"disableKeyBasedMetadataWriteAccess true",
			"With keys allowed to change metadata, a leaked key can delete databases and containers or change throughput.",
			"az cosmosdb update -n <account> -g <rg> --disable-key-based-metadata-write-access true",
			"PSRule Azure.Cosmos.DisableMetadataWrite", "Steampipe"), "disableKeyBasedMetadataWriteAccess", eq("true")),
		{Check: cosmos("az.cosmos.keys_rotated", "identity", "Account keys rotated within 90 days", medium,
			"every key generated in the last 90 days, or local auth disabled",
			"A key that never changes stays valid for whoever copied it.",
			"az cosmosdb keys regenerate -n <account> -g <rg> --key-kind primary (then secondary)", "OWN"),
			Eval: func(r *resource) posture.Result {
				if boolv(r.Props, "disableLocalAuth") {
					return posture.Passf("local auth disabled: keys cannot be used")
				}
				if !has(r.Props, "keysMetadata") {
					return posture.NA("keysMetadata is not in the resource JSON", "a recent Azure CLI (keysMetadata is printed since 2022)")
				}
				var old []string
				for _, k := range []string{"primaryMasterKey", "secondaryMasterKey", "primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"} {
					g := str(r.Props, "keysMetadata."+k+".generationTime")
					t, err := time.Parse(time.RFC3339, g)
					if err != nil || r.now.Sub(t) > 90*24*time.Hour {
						old = append(old, k+" "+g)
					}
				}
				return posture.Cond(len(old) == 0, "older than 90 days: "+posture.List(old, 4))
			}},
		propDef(cosmos("az.cosmos.cmk", "encryption", "Encrypted with a customer-managed key", medium,
			"keyVaultKeyUri set",
			"A customer-managed key lets you revoke access to the data and meets key-control requirements.",
			"Create the account with --key-uri https://<vault>.vault.azure.net/keys/<key> (CMK must be chosen at creation or via migration)",
			"Steampipe cosmosdb_account_encryption_at_rest_using_cmk", "cnspec"), "keyVaultKeyUri", func(v string) bool { return v != "" }),
		propDef(cosmos("az.cosmos.min_tls", "tls", "Minimum TLS 1.2", medium,
			"minimalTlsVersion Tls12 (or Tls13)",
			"TLS 1.0 and 1.1 are broken and retired by Azure.",
			"az cosmosdb update -n <account> -g <rg> --minimal-tls-version Tls12",
			"Prowler cosmosdb_account_minimum_tls_version", "PSRule Azure.Cosmos.MinTLS"), "minimalTlsVersion", eq("Tls12", "Tls13")),
		propDef(cosmos("az.cosmos.backup_continuous", "backup", "Continuous backup (point-in-time restore)", medium,
			"backupPolicy.type Continuous",
			"Periodic backups restore only whole snapshots through a support ticket; continuous backup restores to any second.",
			"az cosmosdb update -n <account> -g <rg> --backup-policy-type Continuous",
			"Prowler cosmosdb_account_backup_policy_continuous", "PSRule Azure.Cosmos.ContinuousBackup"), "backupPolicy.type", eq("Continuous")),
		{Check: cosmos("az.cosmos.backup_geo", "backup", "Periodic backups geo-redundant", low,
			"Continuous backup, or periodic backups with backupStorageRedundancy Geo",
			"Locally redundant backups die with the region.",
			"az cosmosdb update -n <account> -g <rg> --backup-redundancy Geo", "PSRule"),
			Eval: func(r *resource) posture.Result {
				t := str(r.Props, "backupPolicy.type")
				if strings.EqualFold(t, "Continuous") {
					return posture.Passf("continuous backup")
				}
				red := str(r.Props, "backupPolicy.periodicModeProperties.backupStorageRedundancy")
				return posture.Cond(strings.EqualFold(red, "Geo"), "backupStorageRedundancy = "+red)
			}},
		{Check: cosmos("az.cosmos.automatic_failover", "resilience", "Automatic failover across regions", low,
			"enableAutomaticFailover true with at least two regions",
			"A regional outage otherwise needs a manual failover.",
			"az cosmosdb update -n <account> -g <rg> --enable-automatic-failover true --locations regionName=… failoverPriority=1",
			"Prowler cosmosdb_account_automatic_failover_enabled", "cnspec"),
			Eval: func(r *resource) posture.Result {
				n := len(arr(r.Props, "locations"))
				return posture.Cond(boolv(r.Props, "enableAutomaticFailover") && n >= 2,
					fmt.Sprintf("enableAutomaticFailover = %s, %d region(s)", str(r.Props, "enableAutomaticFailover"), n))
			}},
		{Check: cosmos("az.cosmos.zone_redundant", "resilience", "Zone redundancy", low,
			"isZoneRedundant true in every region",
			"A zonal outage otherwise takes the region's replica down.",
			"Re-create the region with --locations regionName=<r> isZoneRedundant=true", "PSRule Azure.Cosmos.AvailabilityZone"),
			Eval: func(r *resource) posture.Result {
				var no []string
				for _, l := range arr(r.Props, "locations") {
					if !boolv(l, "isZoneRedundant") {
						no = append(no, str(l, "locationName"))
					}
				}
				return posture.Cond(len(no) == 0, "regions without zone redundancy: "+posture.List(no, 5))
			}},
		{Check: cosmos("az.cosmos.cors", "network", "CORS does not allow every origin", medium,
			"no * in cors allowedOrigins",
			"A wildcard lets any web page call the account from a user's browser.",
			"az cosmosdb update … (remove the * origin from CORS)", "cnspec"),
			Eval: func(r *resource) posture.Result {
				for _, c := range arr(r.Props, "cors") {
					for _, o := range strings.Split(str(c, "allowedOrigins"), ",") {
						if strings.TrimSpace(o) == "*" {
							return posture.Failf("cors allowedOrigins contains *")
						}
					}
				}
				return posture.Passf("%d CORS rule(s), no wildcard", len(arr(r.Props, "cors")))
			}},
		{Check: cosmos("az.cosmos.defender", "monitoring", "Microsoft Defender for Azure Cosmos DB on", medium,
			"advanced threat protection enabled (or the CosmosDbs plan Standard)",
			"Defender flags SQL injection, anomalous access and key abuse.",
			"az security atp cosmosdb update --cosmosdb-account <account> -g <rg> --is-enabled true",
			"CIS Azure Foundations 9.1.7.1", "Prowler defender_ensure_defender_for_cosmosdb_is_on", "PSRule Azure.Cosmos.DefenderCloud"),
			Eval: func(r *resource) posture.Result { return r.defender("CosmosDbs") }},
		{Check: cosmos("az.cosmos.diagnostics", "monitoring", "Diagnostic logs exported", medium,
			"a diagnostic setting with logs enabled to Log Analytics, Event Hub or storage",
			"Data-plane and control-plane logs are the only record of who read or changed what.",
			"az monitor diagnostic-settings create --resource <account id> -n audit --workspace <ws> --logs '[{\"category\":\"DataPlaneRequests\",\"enabled\":true},{\"category\":\"ControlPlaneRequests\",\"enabled\":true}]'",
			"OWN"),
			Eval: func(r *resource) posture.Result { return r.diagnostics() }},
		{Check: cosmos("az.cosmos.managed_identity", "identity", "Managed identity assigned", low,
			"identity.type SystemAssigned and/or UserAssigned",
			"A managed identity is needed for customer-managed keys and keyless access to other resources.",
			"az cosmosdb identity assign -n <account> -g <rg>", "OWN"),
			Eval: func(r *resource) posture.Result {
				t := str(r.Props, "identity.type")
				return posture.Cond(t != "" && !strings.EqualFold(t, "None"), "identity.type = "+t)
			}},
	}
}

func flex(engine string) func(id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
	return func(id, group, title, sev, expected, why, fix string, refs ...string) posture.Check {
		return chk(engine, id, group, title, sev, expected, why, fix, refs...)
	}
}

// paramDef grades a server parameter from `… parameter list`.
func paramDef(c posture.Check, cli, name string, ok func(string) bool, absent func(r *resource) posture.Result) Def {
	return Def{Check: c, Eval: func(r *resource) posture.Result {
		if r.Params == nil {
			return posture.NA("server parameters are not part of `az … show`",
				"also pass the output of `az "+cli+" flexible-server parameter list -g <rg> -s <server>` with --azure-resource")
		}
		v, found := r.Params[name]
		if !found {
			if absent != nil {
				return absent(r)
			}
			return posture.Failf("parameter %s not in the parameter list", name)
		}
		return posture.Cond(ok(v), fmt.Sprintf("%s = %s", name, v))
	}}
}

func fwDef(c posture.Check, cli string, bad func(start, end string) bool) Def {
	return Def{Check: c, Eval: func(r *resource) posture.Result {
		if publicDisabled(r) {
			return posture.Passf("public network access disabled: firewall rules do not apply")
		}
		if !r.FWGiven {
			if r.Firewall == nil && has(r.Props, "network") {
				return posture.NA("firewall rules are not part of `az … show`",
					"also pass the output of `az "+cli+" flexible-server firewall-rule list -g <rg> -n <server>` with --azure-resource")
			}
		}
		var hits []string
		for _, f := range r.Firewall {
			s, e := str(f, "startIpAddress"), str(f, "endIpAddress")
			if bad(s, e) {
				hits = append(hits, fmt.Sprintf("%s (%s–%s)", str(f, "name"), s, e))
			}
		}
		return posture.Cond(len(hits) == 0, fmt.Sprintf("%d rule(s) of %d: %s", len(hits), len(r.Firewall), posture.List(hits, 5)))
	}}
}

// entraAdmin grades the Entra administrators listed by `… ad-admin list`.
func entraAdmin(c posture.Check, cli string) Def {
	return Def{Check: c, Eval: func(r *resource) posture.Result {
		if !r.AdminsGiven {
			return posture.NA("Entra administrators are not part of `az … show`",
				"also pass the output of `az "+cli+" flexible-server ad-admin list -g <rg> -s <server>` with --azure-resource")
		}
		var names []string
		for _, a := range r.Admins {
			names = append(names, str(a, "principalName")+" ("+str(a, "principalType")+")")
		}
		return posture.Cond(len(names) > 0, "Entra administrators: "+posture.List(names, 4))
	}}
}

func ipv4(s string) uint32 {
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return 0
	}
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

func flexDefs(engine, cli, prefix string) []Def {
	c := flex(engine)
	return []Def{
		{Check: c(prefix+".public_access", "network", "Public network access disabled", high,
			"network.publicNetworkAccess Disabled (VNet integration or private endpoint)",
			"A public endpoint is reachable from the Internet, limited only by firewall rules.",
			"Recreate with --public-access Disabled and VNet integration, or: az "+cli+" flexible-server update -g <rg> -n <server> --public-access Disabled",
			"Steampipe", "cnspec", "ScoutSuite postgresql-flexible-database-public-access"),
			Eval: func(r *resource) posture.Result {
				if !has(r.Props, "network.publicNetworkAccess") {
					return posture.NA("network.publicNetworkAccess is not in the resource JSON", "the full output of `az "+cli+" flexible-server show`")
				}
				return posture.Cond(publicDisabled(r), "network.publicNetworkAccess = "+str(r.Props, "network.publicNetworkAccess"))
			}},
		fwDef(c(prefix+".firewall_any_ip", "network", "No firewall rule for every address", critical,
			"no rule 0.0.0.0–255.255.255.255",
			"Such a rule opens the server to the whole Internet.",
			"az "+cli+" flexible-server firewall-rule delete -g <rg> -n <server> --rule-name <rule>",
			"Trivy AZU-0029", "cnspec"), cli, func(s, e string) bool { return s == "0.0.0.0" && e == "255.255.255.255" }),
		fwDef(c(prefix+".firewall_allow_azure", "network", "\"Allow Azure services\" rule absent", high,
			"no rule 0.0.0.0–0.0.0.0",
			"The 0.0.0.0 rule admits connections from any Azure resource of any tenant.",
			"az "+cli+" flexible-server firewall-rule delete -g <rg> -n <server> --rule-name AllowAllAzureServicesAndResourcesWithinAzureIps…",
			"CIS Azure Database Services 7.7", "Prowler postgresql_flexible_server_allow_access_services_disabled"),
			cli, func(s, e string) bool { return s == "0.0.0.0" && e == "0.0.0.0" }),
		fwDef(c(prefix+".firewall_wide", "network", "No firewall rule wider than 256 addresses", medium,
			"each rule spans at most 256 addresses",
			"Wide ranges admit whole provider networks.",
			"Replace the range with the exact client addresses.", "PSRule FirewallIPRange"),
			cli, func(s, e string) bool {
				a, b := ipv4(s), ipv4(e)
				if s == "0.0.0.0" && e == "0.0.0.0" {
					return false // reported by firewall_allow_azure
				}
				return b >= a && b-a >= 256
			}),
		paramDef(c(prefix+".require_secure_transport", "tls", "TLS required", high,
			"require_secure_transport ON",
			"Without it clients may connect in plaintext.",
			"az "+cli+" flexible-server parameter set -g <rg> -s <server> -n require_secure_transport -v ON",
			"Prowler "+prefix+"_enforce_ssl_enabled", "CIS Azure Database Services 6.1/7.1"), cli, "require_secure_transport", eq("on"), nil),
	}
}

func pgDefs() []Def {
	c := flex("azure-postgres-flexible")
	defs := flexDefs("azure-postgres-flexible", "postgres", "az.pg")
	onParam := func(id, title, sev, name, why string, refs ...string) Def {
		return paramDef(c(id, "logging", title, sev, name+" on", why,
			"az postgres flexible-server parameter set -g <rg> -s <server> -n "+name+" -v on", refs...), "postgres", name, eq("on"), nil)
	}
	return append(defs,
		paramDef(c("az.pg.tls_min", "tls", "Minimum TLS 1.2", medium, "ssl_min_protocol_version TLSv1.2 or TLSv1.3",
			"Old TLS versions are broken.", "az postgres flexible-server parameter set -g <rg> -s <server> -n ssl_min_protocol_version -v TLSv1.3",
			"Steampipe postgres_db_server_latest_tls_version", "Trivy AZU-0026"), "postgres", "ssl_min_protocol_version", eq("TLSv1.2", "TLSv1.3"), nil),
		propDef(c("az.pg.entra_auth", "identity", "Microsoft Entra authentication enabled", medium,
			"authConfig.activeDirectoryAuth Enabled",
			"Entra ID gives central identities, MFA and no shared passwords.",
			"az postgres flexible-server update -g <rg> -n <server> --active-directory-auth Enabled",
			"Prowler postgresql_flexible_server_entra_id_authentication_enabled", "PSRule Azure.PostgreSQL.AAD"),
			"authConfig.activeDirectoryAuth", eq("Enabled")),
		entraAdmin(c("az.pg.entra_admin", "identity", "Microsoft Entra administrator configured", medium,
			"at least one Entra administrator (preferably a group)",
			"Without an Entra admin no Entra identity can be mapped to database roles.",
			"az postgres flexible-server ad-admin create -g <rg> -s <server> -u <group name> -i <object id> -t Group",
			"PSRule Azure.PostgreSQL.AAD", "Prowler postgresql_flexible_server_entra_id_authentication_enabled"), "postgres"),
		propDef(c("az.pg.password_auth", "identity", "Password authentication disabled", medium,
			"authConfig.passwordAuth Disabled (Entra only)",
			"Local passwords are shared and cannot use MFA.",
			"az postgres flexible-server update -g <rg> -n <server> --password-auth Disabled",
			"cnspec postgresql-flexible-server-password-auth-disabled", "ScoutSuite"),
			"authConfig.passwordAuth", eq("Disabled")),
		propDef(c("az.pg.cmk", "encryption", "Customer-managed key", medium, "dataEncryption.type AzureKeyVault",
			"Key control and revocation.", "Configure data encryption with a Key Vault key (--key, --identity) at creation",
			"Steampipe", "cnspec"), "dataEncryption.type", eq("AzureKeyVault")),
		propDef(c("az.pg.geo_backup", "backup", "Geo-redundant backup", medium, "backup.geoRedundantBackup Enabled",
			"Backups in one region die with it.", "Set at creation: --geo-redundant-backup Enabled",
			"Prowler postgresql_flexible_server_geo_redundant_backup_enabled", "PSRule"), "backup.geoRedundantBackup", eq("Enabled")),
		propDef(c("az.pg.backup_retention", "backup", "Backup retention at least 14 days", low, "backup.backupRetentionDays ≥ 14",
			"The default 7 days may end before a compromise is noticed.",
			"az postgres flexible-server update -g <rg> -n <server> --backup-retention 35", "OWN"),
			"backup.backupRetentionDays", func(v string) bool { n, _ := strconv.Atoi(v); return n >= 14 }),
		propDef(c("az.pg.ha", "resilience", "High availability enabled", low, "highAvailability.mode ZoneRedundant or SameZone",
			"Without a standby, a failure means downtime and possibly lost transactions.",
			"az postgres flexible-server update -g <rg> -n <server> --high-availability ZoneRedundant",
			"Prowler postgresql_flexible_server_high_availability_enabled", "PSRule"),
			"highAvailability.mode", func(v string) bool { return v != "" && !strings.EqualFold(v, "Disabled") }),
		onParam("az.pg.log_connections", "Connections logged", medium, "log_connections",
			"Who connected and from where.", "CIS Azure Database Services 7.3", "Prowler", "Trivy AZU-0019"),
		onParam("az.pg.log_disconnections", "Disconnections logged", medium, "log_disconnections",
			"Session end and duration.", "CIS Azure Database Services 7.4", "Prowler"),
		onParam("az.pg.log_checkpoints", "Checkpoints logged", low, "log_checkpoints",
			"Operational audit.", "CIS Azure Database Services 7.2", "Trivy AZU-0024"),
		paramDef(c("az.pg.connection_throttle", "auth", "Connection throttling on", medium,
			"connection_throttle.enable on (the parameter does not exist on PostgreSQL 16+)",
			"Throttling slows password guessing.", "az postgres flexible-server parameter set -g <rg> -s <server> -n connection_throttle.enable -v on",
			"CIS Azure Database Services 7.5", "Trivy AZU-0021"), "postgres", "connection_throttle.enable", eq("on"),
			func(r *resource) posture.Result {
				return posture.Infof("connection_throttle.enable does not exist on this server (PostgreSQL 16+): not applicable")
			}),
		paramDef(c("az.pg.log_retention", "logging", "Server logs kept more than 3 days", low, "logfiles.retention_days ≥ 4",
			"Short retention loses evidence before it is looked at.",
			"az postgres flexible-server parameter set -g <rg> -s <server> -n logfiles.retention_days -v 7",
			"CIS Azure Database Services 7.6", "Prowler postgresql_flexible_server_log_retention_days_greater_3"),
			"postgres", "logfiles.retention_days", func(v string) bool { n, _ := strconv.Atoi(v); return n >= 4 },
			func(r *resource) posture.Result {
				return posture.Infof("logfiles.retention_days not in the parameter list (server logs not enabled)")
			}),
		paramDef(c("az.pg.pgaudit", "audit", "pgAudit loaded and configured", medium,
			"shared_preload_libraries contains pgaudit and pgaudit.log is not none",
			"Statement-level audit with object names.",
			"az postgres flexible-server parameter set … -n azure.extensions -v PGAUDIT; … -n shared_preload_libraries -v pgaudit; … -n pgaudit.log -v 'ddl,role,write'",
			"CIS PostgreSQL 17 3.2"), "postgres", "shared_preload_libraries", func(v string) bool { return strings.Contains(strings.ToLower(v), "pgaudit") }, nil),
		Def{Check: c("az.pg.version", "version", "PostgreSQL major version supported on Azure", high,
			"a major not past its Azure end-of-support date",
			"Unsupported majors get no security fixes and are force-upgraded.",
			"az postgres flexible-server upgrade -g <rg> -n <server> --version 17", "OWN"),
			Eval: func(r *resource) posture.Result {
				return r.versions.EOLResult("azure-postgresql-flexible", str(r.Props, "version"), r.now)
			}},
		Def{Check: c("az.pg.defender", "monitoring", "Microsoft Defender for open-source relational databases on", medium,
			"Defender plan OpenSourceRelationalDatabases Standard (or advanced threat protection enabled)",
			"Defender alerts on brute force, anomalous logins and injection.",
			"az security pricing create -n OpenSourceRelationalDatabases --tier Standard",
			"CIS Azure Foundations 9.1.7.2", "Prowler defender_ensure_defender_for_os_relational_databases_is_on"),
			Eval: func(r *resource) posture.Result { return r.defender("OpenSourceRelationalDatabases") }},
		Def{Check: c("az.pg.diagnostics", "monitoring", "Server logs exported", medium,
			"a diagnostic setting exporting PostgreSQLLogs",
			"Exported logs survive the server and feed monitoring (Vigil reads them from Event Hub or Log Analytics).",
			"az monitor diagnostic-settings create --resource <server id> -n audit --workspace <ws> --logs '[{\"category\":\"PostgreSQLLogs\",\"enabled\":true}]'",
			"OWN"),
			Eval: func(r *resource) posture.Result { return r.diagnostics() }},
	)
}

func mysqlDefs() []Def {
	c := flex("azure-mysql-flexible")
	defs := flexDefs("azure-mysql-flexible", "mysql", "az.mysql")
	return append(defs,
		paramDef(c("az.mysql.tls_version", "tls", "Only TLS 1.2 and 1.3", high, "tls_version without TLSv1 and TLSv1.1",
			"Old TLS versions are broken.", "az mysql flexible-server parameter set -g <rg> -s <server> -n tls_version -v TLSv1.2,TLSv1.3",
			"CIS Azure Database Services 6.2", "Prowler mysql_flexible_server_minimum_tls_version_12"), "mysql", "tls_version",
			func(v string) bool {
				for _, p := range strings.Split(v, ",") {
					if p = strings.TrimSpace(p); p == "TLSv1" || p == "TLSv1.1" {
						return false
					}
				}
				return v != ""
			}, nil),
		paramDef(c("az.mysql.audit_log", "audit", "Audit log enabled", medium, "audit_log_enabled ON",
			"Logins and statements leave no trail otherwise.",
			"az mysql flexible-server parameter set -g <rg> -s <server> -n audit_log_enabled -v ON",
			"CIS Azure Database Services 6.3", "Prowler mysql_flexible_server_audit_log_enabled"), "mysql", "audit_log_enabled", eq("on"), nil),
		paramDef(c("az.mysql.audit_log_events", "audit", "Audit log records connections", medium, "audit_log_events contains CONNECTION",
			"Logins are the first thing an investigation needs.",
			"az mysql flexible-server parameter set -g <rg> -s <server> -n audit_log_events -v CONNECTION,DDL,DCL",
			"CIS Azure Database Services 6.4", "Prowler mysql_flexible_server_audit_log_connection_activated"), "mysql", "audit_log_events",
			func(v string) bool { return strings.Contains(strings.ToUpper(v), "CONNECTION") }, nil),
		entraAdmin(c("az.mysql.entra_admin", "identity", "Microsoft Entra administrator configured", medium,
			"an Entra administrator (user-assigned identity and admin set)",
			"Entra-only authentication and central identities need an Entra admin.",
			"az mysql flexible-server ad-admin create -g <rg> -s <server> -u <group name> -i <object id> --identity <uami>",
			"PSRule Azure.MySQL.AAD"), "mysql"),
		paramDef(c("az.mysql.entra_only", "identity", "Microsoft Entra-only authentication", medium, "aad_auth_only ON",
			"Local passwords are shared and cannot use MFA.",
			"az mysql flexible-server parameter set -g <rg> -s <server> -n aad_auth_only -v ON (after adding an Entra admin)",
			"PSRule Azure.MySQL.AADOnly"), "mysql", "aad_auth_only", eq("on"), nil),
		propDef(c("az.mysql.cmk", "encryption", "Customer-managed key", medium, "dataEncryption.type AzureKeyVault",
			"Key control and revocation.", "az mysql flexible-server update -g <rg> -n <server> --key <key id> --identity <uami>",
			"Steampipe", "cnspec"), "dataEncryption.type", eq("AzureKeyVault")),
		propDef(c("az.mysql.geo_backup", "backup", "Geo-redundant backup", medium, "backup.geoRedundantBackup Enabled",
			"Backups in one region die with it.", "Set at creation: --geo-redundant-backup Enabled",
			"Prowler mysql_flexible_server_geo_redundant_backup_enabled"), "backup.geoRedundantBackup", eq("Enabled")),
		propDef(c("az.mysql.ha", "resilience", "High availability enabled", low, "highAvailability.mode ZoneRedundant or SameZone",
			"Without a standby, a failure means downtime.", "az mysql flexible-server update -g <rg> -n <server> --high-availability ZoneRedundant",
			"Prowler mysql_flexible_server_high_availability_enabled"), "highAvailability.mode",
			func(v string) bool { return v != "" && !strings.EqualFold(v, "Disabled") }),
		Def{Check: c("az.mysql.version", "version", "MySQL version supported on Azure", high,
			"a version not past its Azure end-of-support date (8.0 ends 2026-12-31)",
			"Unsupported versions get no fixes.", "az mysql flexible-server upgrade -g <rg> -n <server> --version 8.4", "OWN"),
			Eval: func(r *resource) posture.Result {
				return r.versions.EOLResult("azure-mysql-flexible", str(r.Props, "version"), r.now)
			}},
		Def{Check: c("az.mysql.defender", "monitoring", "Microsoft Defender for open-source relational databases on", medium,
			"Defender plan OpenSourceRelationalDatabases Standard",
			"Defender alerts on brute force and anomalous access.",
			"az security pricing create -n OpenSourceRelationalDatabases --tier Standard", "CIS Azure Foundations 9.1.7.2"),
			Eval: func(r *resource) posture.Result { return r.defender("OpenSourceRelationalDatabases") }},
		Def{Check: c("az.mysql.diagnostics", "monitoring", "Audit logs exported", medium,
			"a diagnostic setting exporting MySqlAuditLogs",
			"Exported logs survive the server and feed monitoring.",
			"az monitor diagnostic-settings create --resource <server id> -n audit --workspace <ws> --logs '[{\"category\":\"MySqlAuditLogs\",\"enabled\":true}]'", "OWN"),
			Eval: func(r *resource) posture.Result { return r.diagnostics() }},
	)
}

// Catalog lists every Azure check.
func Catalog() []posture.Check {
	var all []posture.Check
	all = append(all, posture.Checks(cosmosDefs())...)
	all = append(all, posture.Checks(pgDefs())...)
	all = append(all, posture.Checks(mysqlDefs())...)
	return all
}
