package rpki_test

import (
	"net/netip"
	"slices"
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

func mustVRPs(t testing.TB, vs ...VRP) *VRPs {
	t.Helper()
	tab, err := NewVRPs(vs)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func vrp(p string, maxLen uint8, asn uint32) VRP {
	return VRP{Prefix: netip.MustParsePrefix(p), MaxLen: maxLen, ASN: asn}
}

// TestValidateRFC6811 checks the definitions of RFC 6811 §2: Covered (the
// VRP prefix length ≤ the route's, equal bits), Matched (covered, route
// length ≤ maxLength, origin = VRP ASN), and the three states.
func TestValidateRFC6811(t *testing.T) {
	tab := mustVRPs(t,
		vrp("192.0.2.0/24", 24, 64496),
		vrp("198.51.100.0/22", 24, 64497),
		vrp("198.51.100.0/24", 24, 64498), // overlapping, more specific, other AS
		vrp("203.0.113.0/24", 24, 0),      // AS0: covers, never matches
		vrp("10.0.0.0/8", 8, 64499),
		vrp("10.1.0.0/16", 20, 64500),
		vrp("2001:db8::/32", 48, 64496),
		vrp("2001:db8:1::/48", 64, 0),
		vrp("2001:db8:ffff::/48", 48, 64501),
	)
	cases := []struct {
		prefix   string
		origin   uint32
		originOK bool
		want     State
	}{
		// exact match and origin mismatch
		{"192.0.2.0/24", 64496, true, Valid},
		{"192.0.2.0/24", 64497, true, Invalid},
		// maxLength boundaries
		{"192.0.2.0/25", 64496, true, Invalid},    // longer than maxLength 24
		{"198.51.100.0/22", 64497, true, Valid},   // length = prefix length
		{"198.51.101.0/24", 64497, true, Valid},   // length = maxLength
		{"198.51.101.0/25", 64497, true, Invalid}, // maxLength + 1
		{"198.51.100.0/23", 64497, true, Valid},
		// overlapping VRPs: either may make it Valid
		{"198.51.100.0/24", 64497, true, Valid},
		{"198.51.100.0/24", 64498, true, Valid},
		{"198.51.100.0/24", 64499, true, Invalid},
		{"198.51.100.0/21", 64497, true, NotFound}, // less specific than every VRP
		// AS0 never matches, even for origin 0
		{"203.0.113.0/24", 0, true, Invalid},
		{"203.0.113.0/24", 64496, true, Invalid},
		// AS_SET origin (NONE) matches nothing
		{"192.0.2.0/24", 64496, false, Invalid},
		{"192.0.3.0/24", 64496, false, NotFound},
		// nested chain: 10/8 max 8, 10.1/16 max 20
		{"10.0.0.0/8", 64499, true, Valid},
		{"10.2.0.0/16", 64499, true, Invalid},
		{"10.1.16.0/20", 64500, true, Valid},
		{"10.1.16.0/21", 64500, true, Invalid},
		{"10.1.16.0/20", 64499, true, Invalid},
		// IPv6
		{"2001:db8::/32", 64496, true, Valid},
		{"2001:db8:abcd::/48", 64496, true, Valid},
		{"2001:db8:abcd::/49", 64496, true, Invalid},
		{"2001:db8:1::/48", 64496, true, Valid}, // AS0 VRP does not hide the covering /32
		{"2001:db8:1::/56", 64496, true, Invalid},
		{"2001:db8:ffff::/48", 64501, true, Valid},
		{"2001:db9::/32", 64496, true, NotFound},
		{"2001:db8::/31", 64496, true, NotFound},
	}
	for _, c := range cases {
		p := netip.MustParsePrefix(c.prefix)
		if got := tab.Validate(p, c.origin, c.originOK); got != c.want {
			t.Errorf("Validate(%s, AS%d, originOK=%v) = %v, want %v (covering %v)", c.prefix, c.origin, c.originOK, got, c.want, tab.Covering(nil, p))
		}
		e := tab.Explain(p, c.origin, c.originOK)
		if e.State != c.want || e.Reason == "" {
			t.Errorf("Explain(%s, AS%d) = %+v", c.prefix, c.origin, e)
		}
		if (c.want == Valid) != (len(e.Matching) > 0) || (c.want == NotFound) != (len(e.Covering) == 0) {
			t.Errorf("Explain(%s, AS%d): state %v with %d matching, %d covering", c.prefix, c.origin, e.State, len(e.Matching), len(e.Covering))
		}
	}
}

// TestValidateAgainstBruteForce compares the table with the definition
// applied to every VRP, on random data with heavy nesting.
// TestDefaultRouteVRP: a 0.0.0.0/0 VRP covers every IPv4 route and
// matches only the default route itself.
func TestDefaultRouteVRP(t *testing.T) {
	tab := mustVRPs(t, vrp("0.0.0.0/0", 0, 64511), vrp("192.0.2.0/24", 24, 64496))
	for p, want := range map[string]State{"0.0.0.0/0": Valid, "172.16.0.0/12": Invalid, "192.0.2.0/24": Invalid, "::/0": NotFound} {
		if got := tab.Validate(netip.MustParsePrefix(p), 64511, true); got != want {
			t.Errorf("Validate(%s, AS64511) = %v, want %v", p, got, want)
		}
	}
}

func TestValidateAgainstBruteForce(t *testing.T) {
	vs := syntheticVRPs(5000, 7)
	// Add nesting: cover some VRPs with shorter ones.
	for i := 0; i < 500; i++ {
		v := vs[i*7]
		b := v.Prefix.Bits() - 1 - i%5
		if b < 0 {
			continue
		}
		p := netip.PrefixFrom(v.Prefix.Addr(), b).Masked()
		vs = append(vs, VRP{Prefix: p, MaxLen: uint8(b + i%3), ASN: uint32(64496 + i%4)})
	}
	tab := mustVRPs(t, vs...)
	brute := func(p netip.Prefix, origin uint32) State {
		covered := false
		for _, v := range vs {
			if v.Prefix.Addr().Is4() == p.Addr().Is4() && v.Prefix.Bits() <= p.Bits() && v.Prefix.Contains(p.Addr()) {
				covered = true
				if v.ASN != 0 && v.ASN == origin && p.Bits() <= int(v.MaxLen) {
					return Valid
				}
			}
		}
		if covered {
			return Invalid
		}
		return NotFound
	}
	for i := 0; i < 3000; i++ {
		v := vs[(i*13)%len(vs)]
		extra := i % 4
		bits := min(v.Prefix.Bits()+extra, v.Prefix.Addr().BitLen())
		p := netip.PrefixFrom(v.Prefix.Addr(), bits).Masked()
		if i%5 == 0 {
			p = netip.PrefixFrom(v.Prefix.Addr(), max(0, v.Prefix.Bits()-2)).Masked()
		}
		origin := v.ASN
		if i%3 == 0 {
			origin = 64496 + uint32(i%4)
		}
		if got, want := tab.Validate(p, origin, true), brute(p, origin); got != want {
			t.Fatalf("Validate(%s, AS%d) = %v, brute force %v", p, origin, got, want)
		}
	}
}

func TestNewVRPsRejects(t *testing.T) {
	for _, v := range []VRP{
		vrp("192.0.2.1/24", 24, 1),
		vrp("192.0.2.0/24", 23, 1),
		vrp("192.0.2.0/24", 33, 1),
		{MaxLen: 1},
	} {
		if _, err := NewVRPs([]VRP{v}); err == nil {
			t.Errorf("NewVRPs(%v) accepted", v)
		}
	}
}

func TestDiffAndChange(t *testing.T) {
	a := mustVRPs(t, vrp("192.0.2.0/24", 24, 1), vrp("198.51.100.0/24", 24, 2), vrp("2001:db8::/32", 32, 3))
	b := mustVRPs(t, vrp("192.0.2.0/24", 24, 1), vrp("198.51.100.0/24", 24, 9), vrp("2001:db8::/32", 48, 3))
	added, removed := DiffVRPs(a, b)
	wantAdded := []VRP{vrp("198.51.100.0/24", 24, 9), vrp("2001:db8::/32", 48, 3)}
	wantRemoved := []VRP{vrp("198.51.100.0/24", 24, 2), vrp("2001:db8::/32", 32, 3)}
	if !slices.Equal(added, wantAdded) || !slices.Equal(removed, wantRemoved) {
		t.Fatalf("DiffVRPs = %v, %v", added, removed)
	}
	ch := NewChange(added, removed, mustVRPs(t, append(added, removed...)...))
	for p, want := range map[string]bool{
		"198.51.100.0/25": true, "198.51.100.0/23": false, "192.0.2.0/24": false, "2001:db8:5::/48": true,
	} {
		if got := ch.Affects(netip.MustParsePrefix(p)); got != want {
			t.Errorf("Affects(%s) = %v", p, got)
		}
	}
	if got := ch.Prefixes(); len(got) != 2 {
		t.Errorf("Prefixes = %v", got)
	}
}

func TestValidateNoAlloc(t *testing.T) {
	tab := mustVRPs(t, syntheticVRPs(1000, 1)...)
	p := netip.MustParsePrefix("192.0.2.0/24")
	if n := testing.AllocsPerRun(100, func() { tab.Validate(p, 64496, true) }); n != 0 {
		t.Fatalf("Validate allocates %v times", n)
	}
	var nilTab *VRPs
	if nilTab.Validate(p, 1, true) != NotFound || nilTab.Len() != 0 {
		t.Fatal("nil table is not empty")
	}
}
