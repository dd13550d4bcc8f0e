package rpki_test

import (
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

// Customer → providers used by the upstream cases.
var testASPAs = []ASPA{
	{Customer: 1, Providers: []uint32{2}},
	{Customer: 2, Providers: []uint32{3}},
	{Customer: 3, Providers: []uint32{4}},
	{Customer: 3, Providers: []uint32{40}}, // a second ASPA: the U-SPAS is the union
	{Customer: 5, Providers: []uint32{6}},
	{Customer: 7, Providers: []uint32{0}}, // AS0 ASPA: no providers at all
}

func TestAuthorized(t *testing.T) {
	tab := NewASPAs(testASPAs)
	for _, c := range []struct {
		c, p uint32
		want Authorization
	}{
		{1, 2, ProviderPlus}, {1, 3, NotProviderPlus}, {3, 4, ProviderPlus}, {3, 40, ProviderPlus},
		{7, 0, NotProviderPlus}, {7, 8, NotProviderPlus}, {99, 1, NoAttestation},
	} {
		if got := tab.Authorized(c.c, c.p); got != c.want {
			t.Errorf("authorized(AS%d, AS%d) = %v, want %v", c.c, c.p, got, c.want)
		}
	}
}

func TestVerifyUpstream(t *testing.T) {
	tab := NewASPAs(testASPAs)
	cases := []struct {
		name     string
		path     []uint32 // wire order, neighbour first
		set      bool
		neighbor uint32
		rsClient bool
		want     PathState
		decisive *Hop
	}{
		{"all hops attested", []uint32{3, 2, 1}, false, 3, false, PathValid, nil},
		{"longer attested chain", []uint32{4, 3, 2, 1}, false, 4, false, PathValid, nil},
		{"union of two ASPAs", []uint32{40, 3, 2, 1}, false, 0, false, PathValid, nil},
		{"prepends collapsed", []uint32{3, 3, 3, 2, 2, 1, 1, 1}, false, 3, false, PathValid, nil},
		{"leak: AS9 is not a provider of AS2", []uint32{9, 2, 1}, false, 9, false, PathInvalid, &Hop{2, 9, NotProviderPlus}},
		{"leak at the origin", []uint32{8, 1}, false, 8, false, PathInvalid, &Hop{1, 8, NotProviderPlus}},
		{"not consecutive: no collapse", []uint32{2, 1, 2}, false, 2, false, PathInvalid, &Hop{2, 1, NotProviderPlus}},
		{"no attestation", []uint32{11, 12}, false, 11, false, PathUnknown, &Hop{12, 11, NoAttestation}},
		{"unknown below, invalid above: invalid wins", []uint32{9, 2, 12}, false, 9, false, PathInvalid, &Hop{2, 9, NotProviderPlus}},
		{"invalid below, unknown above", []uint32{13, 12, 2, 1}, false, 0, false, PathInvalid, &Hop{2, 12, NotProviderPlus}},
		{"AS0 ASPA", []uint32{20, 7}, false, 20, false, PathInvalid, &Hop{7, 20, NotProviderPlus}},
		{"single hop", []uint32{1}, false, 1, false, PathValid, nil},
		{"single hop prepended", []uint32{12, 12, 12}, false, 12, false, PathValid, nil},
		{"single AS0-ASPA origin", []uint32{7}, false, 7, false, PathValid, nil},
		{"empty", nil, false, 0, false, PathInvalid, nil},
		{"AS_SET", []uint32{3, 2, 1}, true, 3, false, PathInvalid, nil},
		{"first AS is not the neighbour", []uint32{3, 2, 1}, false, 5, false, PathInvalid, nil},
		{"RS-Client receiver skips the neighbour check", []uint32{3, 2, 1}, false, 5, true, PathValid, nil},
	}
	for _, c := range cases {
		p := Path{ASNs: c.path, HasSet: c.set, Neighbor: c.neighbor, ReceiverIsRSClient: c.rsClient}
		if got := tab.Verify(p, Upstream); got != c.want {
			t.Errorf("%s: Verify(%v) = %v, want %v", c.name, c.path, got, c.want)
		}
		e := tab.Explain(p, Upstream)
		if e.State != c.want || e.Reason == "" {
			t.Errorf("%s: Explain = %+v", c.name, e)
		}
		if c.decisive != nil && (e.Decisive == nil || *e.Decisive != *c.decisive) {
			t.Errorf("%s: decisive hop %+v, want %+v", c.name, e.Decisive, c.decisive)
		}
	}
}

// TestVerifyNISTExample is NIST's BRIO ASPA example #1 (the verifying AS B
// receives E G F C A; A→{C,D}, B→{E}, C→{F}, D→{F,G}, G→{AS0}; E and F have
// no ASPA). Its published ramp bounds are max_up 4, max_down 2, min_up 3,
// min_down 1: the downstream procedure gives Unknown. Received from a
// customer, peer or RS-Client (upstream), G→E is Not Provider+: Invalid.
func TestVerifyNISTExample(t *testing.T) {
	const A, B, C, D, E, F, G = 65000, 65010, 65020, 65030, 65040, 65050, 65060
	tab := NewASPAs([]ASPA{
		{Customer: A, Providers: []uint32{C, D}},
		{Customer: B, Providers: []uint32{E}},
		{Customer: C, Providers: []uint32{F}},
		{Customer: D, Providers: []uint32{F, G}},
		{Customer: G, Providers: []uint32{0}},
	})
	path := Path{ASNs: []uint32{E, G, F, C, A}, Neighbor: E}
	down := tab.Explain(path, Downstream)
	if down.State != PathUnknown || down.MaxUpRamp != 4 || down.MaxDownRamp != 2 || down.MinUpRamp != 3 || down.MinDownRamp != 1 {
		t.Errorf("downstream: %+v", down)
	}
	up := tab.Explain(path, Upstream)
	if up.State != PathInvalid || up.Decisive == nil || *up.Decisive != (Hop{G, E, NotProviderPlus}) {
		t.Errorf("upstream: %+v", up)
	}
}

func TestVerifyDownstream(t *testing.T) {
	// 1 → 2 (provider) ... peak ... 30 ← 31: a valley-free path 31 30 | 3 2 1
	tab := NewASPAs([]ASPA{
		{Customer: 1, Providers: []uint32{2}},
		{Customer: 2, Providers: []uint32{3}},
		{Customer: 31, Providers: []uint32{30}},
		{Customer: 30, Providers: []uint32{40}},
		{Customer: 3, Providers: []uint32{50}},
	})
	cases := []struct {
		path []uint32
		want PathState
	}{
		{[]uint32{30, 3, 2, 1}, PathValid},       // up 1→2→3, peering 3–30 at the top
		{[]uint32{31, 30, 3, 2, 1}, PathValid},   // …then down 30→31 (31 lists 30 as provider)
		{[]uint32{33, 32, 3, 2, 1}, PathUnknown}, // 32 and 33 have no ASPA: the down-ramp cannot be proven
		{[]uint32{2, 9, 1}, PathInvalid},         // 1→9 not a provider, and 9 is not 2's provider either
	}
	for _, c := range cases {
		if got := tab.Verify(Path{ASNs: c.path}, Downstream); got != c.want {
			e := tab.Explain(Path{ASNs: c.path}, Downstream)
			t.Errorf("downstream %v = %v, want %v (%+v)", c.path, got, c.want, e)
		}
	}
}

func TestVerifyNoAlloc(t *testing.T) {
	tab := NewASPAs(testASPAs)
	path := []uint32{4, 3, 3, 2, 1}
	if n := testing.AllocsPerRun(100, func() { tab.VerifyUpstream(path, false, 4) }); n != 0 {
		t.Fatalf("VerifyUpstream allocates %v times", n)
	}
}

// TestNilSnapshotVerifyUpstream: without a snapshot (no ASPA data) a path
// verifies as against an empty table, as the VerifyUpstream comment says.
func TestNilSnapshotVerifyUpstream(t *testing.T) {
	var s *Snapshot
	for _, c := range []struct {
		path     []uint32
		set      bool
		neighbor uint32
		want     PathState
	}{
		{[]uint32{5}, false, 5, PathValid},
		{[]uint32{5, 5}, false, 5, PathValid},
		{[]uint32{5, 6}, false, 5, PathUnknown},
		{[]uint32{5, 6}, false, 0, PathUnknown},
		{nil, false, 5, PathInvalid},
		{[]uint32{5}, true, 5, PathInvalid},
		{[]uint32{6, 5}, false, 5, PathInvalid},
	} {
		if got := s.VerifyUpstream(c.path, c.set, c.neighbor); got != c.want {
			t.Errorf("nil snapshot: VerifyUpstream(%v, set %v, neighbour %d) = %v, want %v", c.path, c.set, c.neighbor, got, c.want)
		}
	}
}
