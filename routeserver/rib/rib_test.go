package rib

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// passExporter rewrites nothing but adds OTC, as a route server must.
type passExporter struct{}

func (passExporter) Rewrite(member int, a *bgp.Attrs, mods policy.Mods, v policy.Variant) bgp.Rewrite {
	return bgp.Rewrite{Communities: a.Communities, Large: a.Large, SetOTC: !a.HasOTC, OTC: 65000,
		PrependAS: a.ASPath[0], PrependN: v.Prepends()}
}

// testRIB has n sources (member i = source i), all established.
type testRIB struct {
	r       *RIB
	srcs    []*Source
	kicks   []int
	kicked  []chan struct{}   // a token when target i was kicked (at most one waiting)
	profile []*policy.Profile // default profile per member: deny itself
}

func newTestRIB(t testing.TB, n int) *testRIB {
	tr := &testRIB{r: New(wire.NewTable(), passExporter{}), kicks: make([]int, n), kicked: make([]chan struct{}, n)}
	for i := 0; i < n; i++ {
		s := tr.r.AddSource(i, "m", addr(i))
		tr.srcs = append(tr.srcs, s)
		tr.profile = append(tr.profile, &policy.Profile{Deny: policy.Bitset(nil).Set(i)})
	}
	for i, s := range tr.srcs {
		neg := &session.Negotiated{PeerID: addr(i), RemoteAddr: netip.AddrPortFrom(addr(i), 179), FourOctetAS: true,
			Families: [bgp.NumFamilies]bool{true, true}}
		i := i
		tr.kicked[i] = make(chan struct{}, 1)
		tr.r.SessionUp(s, neg, neg.Families, func() {
			tr.kicks[i]++
			select {
			case tr.kicked[i] <- struct{}{}:
			default:
			}
		})
	}
	return tr
}

func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}) }

// attrs interns an IPv4 attribute set with the given path and MED.
func (tr *testRIB) attrs(member int, path []uint32, med uint32, comms ...uint32) *wire.AttrSet {
	var raw []byte
	raw = append(raw, wire.FlagTransitive, wire.AttrOrigin, 1, 0)
	seg := []byte{2, byte(len(path))}
	for _, as := range path {
		seg = binary.BigEndian.AppendUint32(seg, as)
	}
	raw = append(raw, wire.FlagTransitive, wire.AttrASPath, byte(len(seg)))
	raw = append(raw, seg...)
	raw = append(raw, wire.FlagOptional, wire.AttrMED, 4)
	raw = binary.BigEndian.AppendUint32(raw, med)
	a := bgp.Attrs{ASPath: path, PathLen: len(path), NextHop: addr(member), MED: med, HasMED: true, Communities: comms}
	return tr.r.Attrs().Intern(bgp.IPv4Unicast, raw, &a, nil)
}

func (tr *testRIB) announce(member int, a *wire.AttrSet, prof *policy.Profile, prefixes ...string) Result {
	var ch []Change
	a.RetainN(int32(len(prefixes)) - 1)
	for _, p := range prefixes {
		ch = append(ch, Change{Family: bgp.IPv4Unicast, Prefix: netip.MustParsePrefix(p), Attrs: a, Profile: prof})
	}
	return tr.r.Apply(tr.srcs[member], ch)
}

func (tr *testRIB) withdraw(member int, prefixes ...string) {
	var ch []Change
	for _, p := range prefixes {
		ch = append(ch, Change{Family: bgp.IPv4Unicast, Prefix: netip.MustParsePrefix(p)})
	}
	tr.r.Apply(tr.srcs[member], ch)
}

// drain runs the target's writer until it has nothing more and decodes
// what it sent.
type sent struct {
	updates   int
	announced map[netip.Prefix]*wire.AttrSet
	withdrawn map[netip.Prefix]bool
	eor       int
}

func (tr *testRIB) drain(t testing.TB, target int) sent {
	t.Helper()
	out := sent{announced: map[netip.Prefix]*wire.AttrSet{}, withdrawn: map[netip.Prefix]bool{}}
	dec := &wire.Decoder{FourOctetAS: true, Table: wire.NewTable()}
	for i := 0; i < 10000; i++ {
		buf := tr.r.Fill(tr.srcs[target], nil, 64<<10)
		if len(buf) == 0 {
			return out
		}
		for len(buf) > 0 {
			l := int(binary.BigEndian.Uint16(buf[16:18]))
			if l > bgp.MaxMsgLen {
				t.Fatalf("message of %d octets exceeds the negotiated maximum", l)
			}
			u, err := dec.Decode(buf[19:l])
			if err != nil {
				t.Fatalf("our own UPDATE does not decode: %v", err)
			}
			out.updates++
			for f := range u.EndOfRIB {
				if u.EndOfRIB[f] {
					out.eor++
				}
			}
			for _, n := range u.Withdrawn[bgp.IPv4Unicast] {
				out.withdrawn[n.Prefix] = true
				delete(out.announced, n.Prefix)
			}
			for _, n := range u.Announced[bgp.IPv4Unicast] {
				out.announced[n.Prefix] = u.Attrs[bgp.IPv4Unicast]
				delete(out.withdrawn, n.Prefix)
			}
			buf = buf[l:]
		}
	}
	t.Fatal("writer never ran dry")
	return out
}

func TestPackingAndEndOfRIB(t *testing.T) {
	tr := newTestRIB(t, 3)
	for i := range tr.srcs {
		if s := tr.drain(t, i); s.eor != 2 || len(s.announced) != 0 {
			t.Fatalf("empty RIB dump to %d: %+v, want two End-of-RIB", i, s)
		}
	}
	a := tr.attrs(0, []uint32{100}, 0)
	var ps []string
	for i := 0; i < 3000; i++ {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24).String())
	}
	tr.announce(0, a, tr.profile[0], ps...)
	if tr.kicks[1] == 0 || tr.kicks[2] == 0 {
		t.Fatal("targets not woken")
	}
	s := tr.drain(t, 1)
	if len(s.announced) != 3000 {
		t.Fatalf("announced %d", len(s.announced))
	}
	// 3000 × 4 octets of NLRI in 4096-octet messages: 3 or 4 UPDATEs.
	if s.updates > 4 {
		t.Errorf("%d UPDATEs for 3000 prefixes sharing attributes; want them packed (≤ 4)", s.updates)
	}
	if s := tr.drain(t, 0); len(s.announced) != 0 {
		t.Errorf("member 0 got its own routes back: %d", len(s.announced))
	}
	tr.drain(t, 2)
	// Announced then withdrawn before member 1's writer ran: nothing to send.
	tr.announce(0, tr.attrs(0, []uint32{100, 1}, 0), tr.profile[0], "10.200.0.0/24")
	tr.withdraw(0, "10.200.0.0/24")
	if s := tr.drain(t, 2); s.updates != 0 {
		t.Errorf("a route announced and withdrawn between two writer runs cost %d UPDATEs", s.updates)
	}
	tr.withdraw(0, ps...)
	if s := tr.drain(t, 2); len(s.withdrawn) != 3000 || s.updates > 4 {
		t.Errorf("withdrawals: %d prefixes in %d UPDATEs", len(s.withdrawn), s.updates)
	}
	tr.drain(t, 1)
	tr.r.Maintain()
	if tot := tr.r.Totals(); tot.Routes != 0 || tot.Prefixes[0] != 0 || tot.AttrSets != 0 {
		t.Errorf("RIB not empty after withdrawals: %+v", tot)
	}
}

func TestPathHidingAndDecision(t *testing.T) {
	tr := newTestRIB(t, 4)
	for i := range tr.srcs {
		tr.drain(t, i)
	}
	p := "10.9.0.0/16"
	// Member 0: shortest path but not for member 2.
	notFor2 := &policy.Profile{Deny: policy.Bitset(nil).Set(0).Set(2)}
	tr.announce(0, tr.attrs(0, []uint32{100}, 0), notFor2, p)
	tr.announce(1, tr.attrs(1, []uint32{200, 201}, 0), tr.profile[1], p)
	tr.announce(3, tr.attrs(3, []uint32{300, 301, 302}, 0), tr.profile[3], p)
	pp := netip.MustParsePrefix(p)
	if got := tr.drain(t, 2).announced[pp]; got == nil || got.ASPath[0] != 200 {
		t.Fatalf("member 2 got %v, want member 1's route", got)
	}
	if got := tr.drain(t, 3).announced[pp]; got == nil || got.ASPath[0] != 100 {
		t.Fatalf("member 3 got %v, want member 0's route", got)
	}
	if got := tr.drain(t, 0).announced[pp]; got == nil || got.ASPath[0] != 200 {
		t.Fatalf("member 0 got %v, want member 1's route", got)
	}
	// Member 1 withdraws: member 2 falls back to member 3's route, member
	// 3 is not disturbed.
	tr.withdraw(1, p)
	if got := tr.drain(t, 2).announced[pp]; got == nil || got.ASPath[0] != 300 {
		t.Fatalf("member 2 got %v after withdrawal, want member 3's route", got)
	}
	if s := tr.drain(t, 3); s.updates != 0 {
		t.Errorf("member 3 was sent %d UPDATEs though its best did not change", s.updates)
	}
}

func TestMEDOnlyWithinNeighbourAS(t *testing.T) {
	tr := newTestRIB(t, 4)
	p := "10.10.0.0/16"
	// Two members in front of AS 100 path length 2 (their own AS first):
	// MED compares only routes with the same neighbour AS.
	tr.announce(0, tr.attrs(0, []uint32{100, 9}, 50), tr.profile[0], p)
	tr.announce(1, tr.attrs(1, []uint32{100, 9}, 10), tr.profile[1], p)
	tr.announce(2, tr.attrs(2, []uint32{200, 9}, 5), tr.profile[2], p)
	for i := range tr.srcs {
		tr.drain(t, i)
	}
	// Candidates: 0 (AS100, MED 50) loses to 1 (AS100, MED 10); 2 (AS200)
	// is not compared by MED with either; the router ID then decides
	// between 1 (192.0.2.2) and 2 (192.0.2.3): member 1.
	got, ok := tr.r.ExportableTo(3, netip.MustParsePrefix(p))
	if !ok || got.Source.Member != 1 {
		t.Fatalf("best for member 3 is %+v, want member 1's", got.Source)
	}
}

func TestGracefulRestart(t *testing.T) {
	tr := newTestRIB(t, 2)
	p := netip.MustParsePrefix("10.11.0.0/16")
	tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], p.String())
	tr.drain(t, 1)
	tr.r.SessionDown(tr.srcs[0], true, time.Hour, "test")
	if s := tr.drain(t, 1); len(s.withdrawn) != 0 {
		t.Fatalf("stale route withdrawn during graceful restart: %+v", s)
	}
	if st := tr.r.Stats(tr.srcs[0]); st.Stale[0] != 1 {
		t.Fatalf("stale count %d", st.Stale[0])
	}
	neg := &session.Negotiated{PeerID: addr(0), RemoteAddr: netip.AddrPortFrom(addr(0), 179), FourOctetAS: true,
		Families: [bgp.NumFamilies]bool{true, true}, GracefulRestart: true,
		GRFamilies: [bgp.NumFamilies]bool{true, true}}
	tr.r.SessionUp(tr.srcs[0], neg, neg.Families, func() {})
	// End-of-RIB without re-announcing: the stale route goes.
	tr.r.EndOfRIB(tr.srcs[0], bgp.IPv4Unicast)
	if s := tr.drain(t, 1); !s.withdrawn[p] {
		t.Fatalf("stale route not withdrawn after End-of-RIB: %+v", s)
	}
	// Without graceful restart on the new session, stale routes go at once.
	tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], p.String())
	tr.drain(t, 1)
	tr.r.SessionDown(tr.srcs[0], true, time.Hour, "test")
	neg.GracefulRestart = false
	tr.r.SessionUp(tr.srcs[0], neg, neg.Families, func() {})
	if s := tr.drain(t, 1); !s.withdrawn[p] {
		t.Fatalf("stale route kept although the new session has no graceful restart")
	}
	// Restart time expiry.
	tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], p.String())
	tr.drain(t, 1)
	tr.r.SessionDown(tr.srcs[0], true, 50*time.Millisecond, "test")
	// The purge (on the restart timer's goroutine) kicks target 1's
	// writer with the withdrawal: wait for kicks, not on a clock (rib's
	// tests cannot use rstest, which imports the route server).
	timeout := time.After(5 * time.Second)
	for tr.r.Stats(tr.srcs[0]).Received[0] != 0 {
		select {
		case <-tr.kicked[1]:
		case <-timeout:
			t.Fatal("stale route not purged after the restart time")
		}
	}
	if s := tr.drain(t, 1); !s.withdrawn[p] {
		t.Fatal("purge not exported")
	}
}

func TestMaxPrefix(t *testing.T) {
	tr := newTestRIB(t, 2)
	tr.r.SetLimits([]Limit{{Max: [bgp.NumFamilies]int{2, 0}, Action: "teardown"}, {Max: [bgp.NumFamilies]int{1, 0}, Action: "filter"}})
	a := tr.attrs(0, []uint32{100}, 0)
	if res := tr.announce(0, a, tr.profile[0], "10.0.1.0/24", "10.0.2.0/24"); res.Exceeded {
		t.Fatal("exceeded at the limit")
	}
	// Replacing an existing route does not count twice.
	if res := tr.announce(0, tr.attrs(0, []uint32{100}, 7), tr.profile[0], "10.0.1.0/24"); res.Exceeded {
		t.Fatal("replacement counted as a new route")
	}
	if res := tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], "10.0.3.0/24"); !res.Exceeded || res.ExceededLimit != 2 {
		t.Fatalf("limit not enforced: %+v", res)
	}
	// Filter action: the second route is kept but filtered.
	tr.announce(1, tr.attrs(1, []uint32{200}, 0), tr.profile[1], "10.1.1.0/24", "10.1.2.0/24")
	rs, _ := tr.r.Routes(Filter{Source: tr.srcs[1], Member: -1}, 0, 0)
	var filtered int
	for _, r := range rs {
		if r.Verdict.Filtered.Has(policy.ReasonMaxPrefix) {
			filtered++
		}
	}
	if len(rs) != 2 || filtered != 1 {
		t.Fatalf("routes %d, filtered by max-prefix %d; want 2 and 1", len(rs), filtered)
	}
}
