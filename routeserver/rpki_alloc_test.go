package routeserver

import (
	"net/netip"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/rpki"
)

// TestRPKIAdapterNoAlloc: the policy engine's RPKI calls (on the import
// path of every route) do not allocate, reading the Manager or a dry
// run's fixed snapshot.
func TestRPKIAdapterNoAlloc(t *testing.T) {
	m := rpki.NewManager(rpki.Options{})
	snap := m.Configure(&conf.Config{Members: []conf.Member{{Name: "a", ASN: 65001,
		Prefixes: []conf.PrefixRange{{Prefix: netip.MustParsePrefix("10.1.0.0/16"), LE: 24}}}}})
	if snap.VRPs.Len() != 1 {
		t.Fatalf("%d VRPs", snap.VRPs.Len())
	}
	for _, a := range []policy.RPKI{rpkiAdapter{m}, rpkiAdapter{fixedSnapshot{snap}}} {
		p, path := netip.MustParsePrefix("10.1.2.0/24"), []uint32{65001, 65002}
		if n := testing.AllocsPerRun(200, func() {
			a.ROV(p, 65002, true)
			a.ASPA(path, false, 65001)
		}); n != 0 {
			t.Errorf("%T: %.1f allocations per ROV+ASPA", a, n)
		}
	}
}
