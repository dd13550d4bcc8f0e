package rpki_test

import (
	"net/netip"
	"strings"
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

// TestOverlapRule: the one registry rule both `fedrs check` and `fedrs
// registry check` print, derived from the policy's registry check (the
// most specific registered prefix covering a route decides its owners).
func TestOverlapRule(t *testing.T) {
	cl := func(member, prefix string, maxLen int, shared bool) Claim {
		return Claim{Member: member, ASN: uint32(len(member)), Prefix: netip.MustParsePrefix(prefix), MaxLen: uint8(maxLen), Shared: shared}
	}
	type want struct{ kind, a, b, text string }
	cases := []struct {
		name   string
		claims []Claim
		want   []want
	}{
		{"nested: a delegation", []Claim{cl("council", "10.40.0.0/16", 16, false), cl("nhs", "10.40.200.0/24", 24, false)},
			[]want{{OverlapNested, "council", "nhs", "routes inside 10.40.200.0/24 are nhs's; council's announcements there are filtered registry_conflict"}}},
		{"nested, listed in the other order", []Claim{cl("nhs", "10.40.200.0/24", 24, false), cl("council", "10.40.0.0/16", 16, false)},
			[]want{{OverlapNested, "council", "nhs", "10.40.0.0/16 (council) contains 10.40.200.0/24 (nhs)"}}},
		{"nested three deep", []Claim{cl("a", "10.0.0.0/8", 8, false), cl("b", "10.1.0.0/16", 16, false), cl("c", "10.1.2.0/24", 24, false)},
			[]want{{OverlapNested, "a", "b", ""}, {OverlapNested, "a", "c", ""}, {OverlapNested, "b", "c", ""}}},
		{"nested, both marked shared: still a delegation", []Claim{cl("a", "10.0.0.0/16", 16, true), cl("b", "10.0.1.0/24", 24, true)},
			[]want{{OverlapNested, "a", "b", ""}}},
		{"equal, both shared", []Claim{cl("b", "172.16.0.0/24", 24, true), cl("a", "172.16.0.0/24", 24, true)},
			[]want{{OverlapShared, "a", "b", "registered to a and b, both marked shared"}}},
		{"equal, one shared", []Claim{cl("a", "172.16.0.0/24", 24, true), cl("b", "172.16.0.0/24", 24, false)},
			[]want{{OverlapConflict, "a", "b", "a prefix has one owner"}}},
		{"equal, neither shared", []Claim{cl("a", "172.16.0.0/24", 24, false), cl("b", "172.16.0.0/24", 24, false)},
			[]want{{OverlapConflict, "a", "b", ""}}},
		{"equal prefix, different max lengths: still equal", []Claim{cl("a", "172.16.0.0/24", 24, true), cl("b", "172.16.0.0/24", 28, true)},
			[]want{{OverlapShared, "a", "b", ""}}},
		{"nested, covering maxLength reaches into it", []Claim{cl("a", "10.0.0.0/16", 24, false), cl("b", "10.0.1.0/24", 24, false)},
			[]want{{OverlapNested, "a", "b", "a's maxLength 24 reaches into it"}}},
		{"nested, covering maxLength stops short", []Claim{cl("a", "10.0.0.0/16", 20, false), cl("b", "10.0.1.0/24", 24, false)},
			[]want{{OverlapNested, "a", "b", "filtered registry_conflict"}}},
		{"disjoint", []Claim{cl("a", "10.0.0.0/16", 24, false), cl("b", "10.1.0.0/16", 24, false)}, nil},
		{"adjacent", []Claim{cl("a", "10.0.0.0/24", 24, false), cl("b", "10.0.1.0/24", 24, false)}, nil},
		{"IPv4 and IPv6 never overlap", []Claim{cl("a", "0.0.0.0/0", 0, false), cl("b", "::/0", 0, false)}, nil},
		{"same owner nested", []Claim{cl("a", "10.0.0.0/16", 16, false), cl("a", "10.0.1.0/24", 32, false)}, nil},
		{"same owner, equal, different max lengths", []Claim{cl("a", "10.0.0.0/16", 16, false), cl("a", "10.0.0.0/16", 24, false)}, nil},
		{"IPv6 nested", []Claim{cl("a", "2001:db8:400::/40", 40, false), cl("b", "2001:db8:4ff::/48", 48, false)},
			[]want{{OverlapNested, "a", "b", ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := NewRegistry(c.claims).Overlaps()
			if len(got) != len(c.want) {
				t.Fatalf("overlaps %v, want %d", got, len(c.want))
			}
			for i, w := range c.want {
				o := got[i]
				if o.Kind != w.kind || o.A.Member != w.a || o.B.Member != w.b || o.Conflict != (w.kind == OverlapConflict) || !strings.Contains(o.Reason, w.text) {
					t.Errorf("overlap %d: %+v; want %s %s/%s containing %q", i, o, w.kind, w.a, w.b, w.text)
				}
				if !strings.Contains(o.Reason, "reaches into") && int(o.A.MaxLen) >= o.B.Prefix.Bits() && o.Kind == OverlapNested {
					t.Errorf("overlap %d: the covering maxLength reaches into the more specific, not said: %s", i, o.Reason)
				}
			}
		})
	}
}
