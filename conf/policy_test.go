package conf

import (
	"net/netip"
	"slices"
	"testing"
)

func TestMemberPolicyOverlay(t *testing.T) {
	c, err := Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[policy]
max_length_v4 = 28
max_as_path = 20
bogon_asns = [0, 23456]

[policy.checks]
rpki = "tag"
aspa = "filter"

# Inherits everything.
[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]

# Overrides a few keys; checks merge with the global ones.
[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]

[member.policy]
max_as_path = 10
checks = { rpki = "off", communities = "tag" }

# Switches preset: keys set nowhere follow the ixp preset; keys set in
# [policy] still win over preset defaults.
[[member]]
name = "ix-transit"
asn = 4200009999
neighbors = ["192.0.2.99"]
policy.preset = "ixp"
policy.min_length_v4 = 0

# Setting a key to its zero value is a setting, not an absence.
[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]

[member.policy]
bogon_asns = []
informational = false
`), "fedrs.toml")
	if err != nil {
		t.Fatal(err)
	}
	global := c.Policy
	if global.MaxLengthV4 != 28 || global.MaxLengthV6 != 64 || global.MaxASPath != 20 ||
		global.Checks[CheckRPKI] != "tag" || global.Checks[CheckASPA] != "filter" || global.Checks[CheckFirstAS] != "filter" {
		t.Errorf("global: %+v", global)
	}

	north := c.MemberPolicy(0)
	if north.MaxLengthV4 != 28 || north.MaxASPath != 20 || north.Checks[CheckRPKI] != "tag" {
		t.Errorf("nhs-northfield: %+v", north)
	}

	coastal := c.MemberPolicy(1)
	if coastal.MaxASPath != 10 || coastal.MaxLengthV4 != 28 {
		t.Errorf("nhs-coastal lengths: %+v", coastal)
	}
	wantChecks := map[string]string{CheckRPKI: "off", CheckCommunities: "tag", CheckASPA: "filter", CheckBogonASN: "filter"}
	for k, v := range wantChecks {
		if coastal.Checks[k] != v {
			t.Errorf("nhs-coastal checks[%s] = %q, want %q", k, coastal.Checks[k], v)
		}
	}
	if len(coastal.Checks) != len(CheckNames) {
		t.Errorf("nhs-coastal has %d checks, want all %d", len(coastal.Checks), len(CheckNames))
	}
	// The member's checks did not leak into the global map.
	if global.Checks[CheckRPKI] != "tag" || global.Checks[CheckCommunities] != "filter" {
		t.Errorf("member overlay changed the global checks: %v", global.Checks)
	}

	ix := c.MemberPolicy(2)
	if ix.Preset != PresetIXP || ix.MinLengthV4 != 0 || ix.MaxLengthV4 != 28 || ix.MinLengthV6 != 16 || ix.MaxLengthV6 != 48 {
		t.Errorf("ix-transit lengths: %+v", ix)
	}
	if !MatchesBogon(ix.BogonPrefixes, netip.MustParsePrefix("10.1.0.0/16")) {
		t.Error("ix-transit: ixp preset bogons not applied")
	}
	if !slices.Equal(ix.BogonASNs, []ASNRange{{0, 0}, {23456, 23456}}) {
		t.Errorf("ix-transit: bogon_asns set globally should win over the preset: %v", ix.BogonASNs)
	}
	if len(ix.TransitFreeASNs) == 0 {
		t.Error("ix-transit: ixp preset transit-free list missing")
	}
	if MatchesBogon(north.BogonPrefixes, netip.MustParsePrefix("10.1.0.0/16")) {
		t.Error("nhs-northfield: federation member treats RFC 1918 as bogon")
	}

	east := c.MemberPolicy(3)
	if east.BogonASNs == nil || len(east.BogonASNs) != 0 {
		t.Errorf("council-east: bogon_asns = [] should mean none, got %v", east.BogonASNs)
	}
	if east.Informational == nil || *east.Informational {
		t.Errorf("council-east: informational = false lost")
	}
	if c.Members[3].Effective.Informational == c.Policy.Informational {
		t.Error("member and global share the informational pointer although they differ")
	}
}
