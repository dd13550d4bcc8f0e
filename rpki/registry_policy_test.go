package rpki_test

import (
	"net/netip"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/rpki"
)

// TestOverlapsMatchPolicy: what each reported overlap says about ownership
// is what the policy engine's registry check does with routes inside the
// overlap: for a nested pair the more specific prefix is the inner
// member's only (the outer member's route there is registry_conflict), for
// a shared prefix every registrant owns it.
func TestOverlapsMatchPolicy(t *testing.T) {
	cfg, err := conf.Parse([]byte(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefixes = ["10.40.0.0/16 le 24", "2001:db8:400::/40 le 48", "10.99.10.0/24 shared", "10.50.0.0/16", "10.50.1.0/24"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefixes = ["10.40.200.0/24", "10.20.0.0/14 le 24", "2001:db8:4ff::/48", "10.99.10.0/24 le 28 shared"]

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = ["192.0.2.14"]
prefixes = ["10.40.200.128/25", "10.21.0.0/16"]
`), "fedrs.toml")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, m := range cfg.Members {
		index[m.Name] = i
	}
	state := func(member string, p netip.Prefix) policy.RegistryState {
		m := cfg.Members[index[member]]
		a := &bgp.Attrs{ASPath: []uint32{m.ASN}, PathLen: 1, NextHop: m.Neighbors[0]}
		return eng.Import(index[member], p, a).Mods.Registry()
	}
	ovs := rpki.RegistryFromConfig(cfg).Overlaps()
	kinds := map[string]int{}
	for _, o := range ovs {
		kinds[o.Kind]++
		p := o.B.Prefix // a route of exactly the more specific prefix
		switch o.Kind {
		case rpki.OverlapNested:
			if got := state(o.A.Member, p); got != policy.RegistryConflict {
				t.Errorf("%s: %s's route for %s is %v, the report says registry_conflict", o, o.A.Member, p, got)
			}
			if got := state(o.B.Member, p); got != policy.RegistryOwned {
				t.Errorf("%s: %s's route for %s is %v, the report says it is theirs", o, o.B.Member, p, got)
			}
		case rpki.OverlapShared:
			for _, m := range []string{o.A.Member, o.B.Member} {
				if got := state(m, p); got != policy.RegistryOwned {
					t.Errorf("%s: %s's route for %s is %v, the report says each owns it", o, m, p, got)
				}
			}
		default:
			t.Errorf("a configuration that loads has %s", o)
		}
	}
	// council-east's own nested pair is no overlap; the others are.
	if len(ovs) != 6 || kinds[rpki.OverlapNested] != 5 || kinds[rpki.OverlapShared] != 1 {
		t.Errorf("overlaps %v", ovs)
	}
}
