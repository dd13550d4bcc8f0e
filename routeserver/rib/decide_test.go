package rib

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// The decision process as a table: one case per tie-break step of
// selectBest, in the order it applies them, then the path hiding cases of
// bestFor (each target gets the best among the routes it may receive).
//
// Each step case has a winner W and a loser L that tie on every earlier
// step, W wins at the step the case names, and L wins at every later step
// and would also be the default (L arrives last, so it heads the
// candidate list): the case fails if its step is removed, or moved after
// a later one.

// decisionSources are the neighbour sessions of every case. Member 0
// (AS 64500) has four routers whose BGP Identifiers and addresses are
// ordered so that each step can be isolated; members 1 to 3 have one
// each.
var decisionSources = []struct {
	member   int
	routerID string // BGP Identifier of its OPEN
	addr     string // peer (transport) address
}{
	{0, "10.0.0.20", "192.0.2.11"}, // r1
	{0, "10.0.0.30", "192.0.2.12"}, // r2: higher identifier and address than r1
	{0, "10.0.0.10", "192.0.2.13"}, // r3: lowest identifier, highest address of member 0
	{0, "10.0.0.20", "192.0.2.10"}, // r4: r1's identifier, lowest address
	{1, "10.0.0.25", "192.0.2.20"},
	{2, "10.0.0.40", "192.0.2.30"},
	{3, "10.0.0.50", "192.0.2.40"},
}

// Source indexes in decisionSources.
const (
	r1 = iota
	r2
	r3
	r4
	m1
	m2
	m3
)

// dRoute is one candidate route of the tested prefix.
type dRoute struct {
	name   string
	src    int // index in decisionSources
	pathID uint32
	path   []uint32 // AS_PATH, the neighbour AS first
	origin uint8    // 0 IGP, 1 EGP, 2 INCOMPLETE
	med    uint32
	noMED  bool
	// gshut: import policy marked it GRACEFUL_SHUTDOWN (RFC 8326).
	gshut    bool
	filtered bool
	deny     []int // target members the export policy keeps it from
	denyAll  bool  // exported to nobody (e.g. RS:0:0)
}

// Paths of the cases: member 0's routes start with AS 64500, member 1's
// with 64501.
var (
	path1 = []uint32{64500}
	path2 = []uint32{64500, 65001}
	path3 = []uint32{64500, 65001, 65002}
)

const (
	originIGP        = 0
	originIncomplete = 2
)

func TestDecisionProcess(t *testing.T) {
	// toAll: every member but 0 (the routes' own member) gets name.
	toAll := func(name string) map[int]string { return map[int]string{0: "", 1: name, 2: name, 3: name} }
	cases := []struct {
		name string
		// routes are announced in this order; the last one heads the
		// candidate list.
		routes []dRoute
		best   string         // the best of all accepted routes ("": none)
		want   map[int]string // target member: the route it gets ("": none)
	}{
		// Which routes take part.
		{
			name: "filtered route never best",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path2, origin: originIGP},
				{name: "L", src: r1, pathID: 1, path: path1, origin: originIGP, filtered: true},
			},
			best: "W", want: toAll("W"),
		},
		// The tie-breaks, in order.
		{
			name: "1 graceful shutdown lowest preference",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path3, origin: originIncomplete, med: 50},
				{name: "L", src: r1, pathID: 1, path: path1, origin: originIGP, med: 0, gshut: true},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "2 shortest AS_PATH",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path2, origin: originIncomplete, med: 50},
				{name: "L", src: r1, pathID: 1, path: path3, origin: originIGP, med: 0},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "3 lowest ORIGIN",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path2, origin: originIGP, med: 50},
				{name: "L", src: r1, pathID: 1, path: path2, origin: originIncomplete, med: 0},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "4 lowest MED from the same neighbour AS",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path2, med: 10},
				{name: "L", src: r1, pathID: 1, path: path2, med: 20},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "4 missing MED counts as 0",
			routes: []dRoute{
				{name: "W", src: r2, pathID: 2, path: path2, noMED: true},
				{name: "L", src: r1, pathID: 1, path: path2, med: 5},
			},
			best: "W", want: toAll("W"),
		},
		{
			// MED is not compared across neighbour ASes: the lower MED of
			// member 1's route does not beat member 0's, the BGP
			// Identifier decides (r1's is lower). Always-compare-MED
			// would pick M.
			name: "4 MED not compared across neighbour ASes",
			routes: []dRoute{
				{name: "W", src: r1, path: path2, med: 100},
				{name: "M", src: m1, path: []uint32{64501, 65001}, med: 10},
			},
			best: "W", want: map[int]string{0: "M", 1: "W", 2: "W", 3: "W"},
		},
		{
			name: "5 lowest BGP Identifier",
			routes: []dRoute{
				{name: "W", src: r3, pathID: 2, path: path2},
				{name: "L", src: r1, pathID: 1, path: path2},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "6 lowest peer address",
			routes: []dRoute{
				{name: "W", src: r4, pathID: 2, path: path2},
				{name: "L", src: r1, pathID: 1, path: path2},
			},
			best: "W", want: toAll("W"),
		},
		{
			name: "7 lowest path identifier",
			routes: []dRoute{
				{name: "W", src: r1, pathID: 1, path: path2},
				{name: "L", src: r1, pathID: 2, path: path2},
			},
			best: "W", want: toAll("W"),
		},
		// Path hiding mitigation (RFC 7947 §2.3).
		{
			name: "hiding: best withheld from a target, it gets the best it may receive",
			routes: []dRoute{
				{name: "A", src: r1, path: path1, deny: []int{2}},
				{name: "B", src: m1, path: []uint32{64501, 65001}},
				{name: "C", src: m2, path: []uint32{64502, 65001, 65002}},
			},
			best: "A", want: map[int]string{0: "B", 1: "A", 2: "B", 3: "A"},
		},
		{
			name: "hiding: only route withheld, the target gets none",
			routes: []dRoute{
				{name: "A", src: r1, path: path1, deny: []int{2}},
			},
			best: "A", want: map[int]string{0: "", 1: "A", 2: "", 3: "A"},
		},
		{
			name: "hiding: a route exported to nobody is still the best of all",
			routes: []dRoute{
				{name: "A", src: r1, path: path1, denyAll: true},
				{name: "B", src: m1, path: []uint32{64501, 65001}},
			},
			best: "A", want: map[int]string{0: "B", 1: "", 2: "B", 3: "B"},
		},
		{
			name: "hiding: own routes never return to their member",
			routes: []dRoute{
				{name: "A", src: r1, path: path1},
				{name: "B", src: r2, path: path2},
				{name: "C", src: m1, path: []uint32{64501, 65001, 65002}},
			},
			best: "A", want: map[int]string{0: "C", 1: "A", 2: "A", 3: "A"},
		},
		{
			// X is hidden from member 2, which gets the best of A and C:
			// A, though X removed it from the decision of all routes at
			// the MED step (same neighbour AS), beats C on the BGP
			// Identifier.
			name: "hiding: the decision runs again over the routes a target may receive",
			routes: []dRoute{
				{name: "A", src: r1, path: path2, med: 10},
				{name: "X", src: r3, path: path2, med: 0, deny: []int{2}},
				{name: "C", src: m1, path: []uint32{64501, 65001}},
			},
			best: "X", want: map[int]string{0: "C", 1: "X", 2: "A", 3: "X"},
		},
		{
			// A target that may receive the best of all gets it, without
			// a decision of its own (bestFor's shortcut). MED compared
			// only within a neighbour AS is not transitive: C beats B (BGP
			// Identifier), B beats A (MED), A beats C (BGP Identifier).
			// The best of all is C; member 2 may receive A and C and gets
			// C, although the decision over A and C alone picks A (as
			// member 3's and member 1's, over A and B, pick B).
			name: "hiding: a target that may receive the best of all gets it",
			routes: []dRoute{
				{name: "A", src: r1, path: path2, med: 10},
				{name: "B", src: r2, path: path2, med: 0, deny: []int{2}},
				{name: "C", src: m1, path: []uint32{64501, 65001}, deny: []int{3}},
			},
			best: "C", want: map[int]string{0: "C", 1: "B", 2: "C", 3: "B"},
		},
	}
	pfx := netip.MustParsePrefix("10.20.0.0/16")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, srcs := newDecisionRIB()
			for _, rt := range tc.routes {
				r.Apply(srcs[rt.src], []Change{rt.change(r, pfx)})
			}
			named := func(rt Route) string {
				for _, c := range tc.routes {
					if rt.Source == srcs[c.src] && rt.PathID == c.pathID {
						return c.name
					}
				}
				t.Fatalf("route of %s path ID %d is not one of the case's", rt.Source.Name, rt.PathID)
				return ""
			}
			best := ""
			for _, rt := range r.Lookup(pfx, Exact) {
				if rt.Best {
					best = named(rt)
				}
			}
			if best != tc.best {
				t.Errorf("best of all: %q, want %q", best, tc.best)
			}
			for member := 0; member <= 3; member++ {
				want, ok := tc.want[member]
				if !ok {
					t.Fatalf("the case does not say what member %d gets", member)
				}
				got := ""
				if rt, ok := r.ExportableTo(member, pfx); ok {
					got = named(rt)
				}
				if got != want {
					t.Errorf("member %d gets %q, want %q", member, got, want)
				}
			}
		})
	}
}

// newDecisionRIB returns a RIB with decisionSources, all established.
func newDecisionRIB() (*RIB, []*Source) {
	r := New(wire.NewTable(), passExporter{})
	var srcs []*Source
	for i, d := range decisionSources {
		addr := netip.MustParseAddr(d.addr)
		s := r.AddSource(d.member, "source "+strconv.Itoa(i), addr)
		neg := &session.Negotiated{PeerID: netip.MustParseAddr(d.routerID), RemoteAddr: netip.AddrPortFrom(addr, 179),
			FourOctetAS: true, Families: [bgp.NumFamilies]bool{true, true}}
		r.SessionUp(s, neg, neg.Families, nil)
		srcs = append(srcs, s)
	}
	return r, srcs
}

// change interns rt's attributes (next hop: its router's address) and
// returns its announcement of prefix p.
func (rt dRoute) change(r *RIB, p netip.Prefix) Change {
	raw := []byte{wire.FlagTransitive, wire.AttrOrigin, 1, rt.origin}
	seg := []byte{2, byte(len(rt.path))}
	for _, as := range rt.path {
		seg = binary.BigEndian.AppendUint32(seg, as)
	}
	raw = append(raw, wire.FlagTransitive, wire.AttrASPath, byte(len(seg)))
	raw = append(raw, seg...)
	if !rt.noMED {
		raw = append(raw, wire.FlagOptional, wire.AttrMED, 4)
		raw = binary.BigEndian.AppendUint32(raw, rt.med)
	}
	nh := netip.MustParseAddr(decisionSources[rt.src].addr)
	a := bgp.Attrs{Origin: rt.origin, ASPath: rt.path, PathLen: len(rt.path), NextHop: nh, MED: rt.med, HasMED: !rt.noMED}
	set := r.Attrs().Intern(bgp.IPv4Unicast, raw, &a, nil)
	c := Change{Family: bgp.IPv4Unicast, Prefix: p, PathID: rt.pathID, Attrs: set}
	if rt.gshut {
		c.Verdict.Mods |= policy.ModGracefulShutdown
	}
	if rt.filtered {
		c.Verdict.Filtered = c.Verdict.Filtered.Add(policy.ReasonBogonPrefix)
		return c
	}
	deny := policy.Bitset(nil)
	for _, m := range rt.deny {
		deny = deny.Set(m)
	}
	c.Profile = &policy.Profile{Deny: deny, DenyAll: rt.denyAll}
	return c
}
