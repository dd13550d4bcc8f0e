package bench

import (
	"encoding/binary"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/fedrs/fedrs/rpki"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

func mustTable(t *testing.T, o TableOptions) *Table {
	t.Helper()
	tb, err := NewTable(o)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The table follows from its options and seed alone.
func TestTableDeterministic(t *testing.T) {
	o := TableOptions{Members: 5, PrefixesV4: 2000, PrefixesV6: 400, Seed: 7}
	a, b := mustTable(t, o), mustTable(t, o)
	if !reflect.DeepEqual(a.VRPs, b.VRPs) || !reflect.DeepEqual(a.Members, b.Members) {
		t.Fatal("two tables from the same seed differ")
	}
	o.Seed = 8
	c := mustTable(t, o)
	if reflect.DeepEqual(a.Members, c.Members) {
		t.Fatal("tables from different seeds are the same")
	}
	// The prefixes (layout) do not depend on the seed; paths and VRPs do.
	for idx := 0; idx < a.Count(IPv4); idx++ {
		if a.Prefix(IPv4, idx) != c.Prefix(IPv4, idx) {
			t.Fatalf("prefix %d differs between seeds", idx)
		}
	}
}

// Lengths follow the mix, every prefix is distinct, inside the member's
// block, found again by Lookup, and outside the reserved ranges.
func TestTableMix(t *testing.T) {
	tb := mustTable(t, TableOptions{Members: 7, PrefixesV4: 10000, PrefixesV6: 2000, Seed: 1})
	for _, f := range []Family{IPv4, IPv6} {
		n := tb.PerMember(f)
		seen := map[netip.Prefix]bool{}
		lengths := map[int]int{}
		for idx := 0; idx < tb.Count(f); idx++ {
			p := tb.Prefix(f, idx)
			if seen[p] {
				t.Fatalf("%s: prefix %s twice", f, p)
			}
			seen[p] = true
			if p.Masked() != p {
				t.Fatalf("%s: %s is not canonical", f, p)
			}
			if tb.Owner(f, idx) == 0 {
				lengths[p.Bits()]++
			}
			got, owner, ok := tb.Lookup(f, hiOf(p.Addr()), p.Bits())
			if !ok || got != idx || owner != idx/n {
				t.Fatalf("%s: Lookup(%s) = %d, %d, %v; want %d, %d", f, p, got, owner, ok, idx, idx/n)
			}
			if f == IPv4 {
				for _, r := range reserv4 {
					if r.Overlaps(p) {
						t.Fatalf("%s overlaps reserved %s", p, r)
					}
				}
			}
		}
		for _, s := range f.mix() {
			want := int(float64(n) * s.Share)
			if lengths[s.Bits] != want {
				t.Errorf("%s: %d prefixes of /%d, want %d", f, lengths[s.Bits], s.Bits, want)
			}
		}
		if main := lengths[f.mainBits()]; float64(main) < 0.5*float64(n) {
			t.Errorf("%s: only %d of %d prefixes are /%d", f, main, n, f.mainBits())
		}
		// No prefix overlaps another: ROV states are per prefix.
		for p := range seen {
			for b := p.Bits() - 1; b >= 8; b-- {
				if q, _ := p.Addr().Prefix(b); seen[q] {
					t.Fatalf("%s is inside %s", p, q)
				}
			}
		}
	}
	// Not in the table.
	for _, p := range []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/24"),
		netip.MustParsePrefix("1.0.0.0/25"),
		netip.MustParsePrefix("1.0.0.1/32"),
		netip.MustParsePrefix("2a00::/64"),
	} {
		f := IPv4
		if p.Addr().Is6() {
			f = IPv6
		}
		if idx, _, ok := tb.Lookup(f, hiOf(p.Addr()), p.Bits()); ok {
			t.Errorf("Lookup(%s) found prefix %d (%s)", p, idx, tb.Prefix(f, idx))
		}
	}
}

// Paths have 1-8 ASes, start with the member's AS; groups share them;
// about half the prefixes are valid and 1.5% invalid, which fedrs's own
// ROV agrees with.
func TestTablePathsAndRPKI(t *testing.T) {
	tb := mustTable(t, TableOptions{Members: 10, PrefixesV4: 3000, PrefixesV6: 600, Seed: 3})
	var vrps []rpki.VRP
	for _, v := range tb.VRPs {
		vrps = append(vrps, rpki.VRP{Prefix: v.Prefix, MaxLen: uint8(v.MaxLen), ASN: v.ASN})
	}
	set, err := rpki.NewVRPs(vrps)
	if err != nil {
		t.Fatal(err)
	}
	snap := &rpki.Snapshot{VRPs: set}
	lengths := map[int]int{}
	states := map[rpki.State]int{}
	total := 0
	for _, f := range []Family{IPv4, IPv6} {
		for mi := range tb.Members {
			m := &tb.Members[mi]
			n := 0
			for _, g := range m.Fam[f].Groups {
				p := g.Attrs.ASPath
				if len(p) < 1 || len(p) > 8 || p[0] != m.ASN {
					t.Fatalf("%s: path %v", m.Name, p)
				}
				lengths[len(p)]++
				for _, idx := range g.Prefixes {
					n++
					total++
					st := snap.Validate(tb.Prefix(f, int(idx)), g.Attrs.OriginAS(), true)
					states[st]++
					if (st == rpki.Invalid) != tb.Invalid(f, int(idx)) {
						t.Fatalf("%s: ROV of %s origin %d is %v, table says invalid=%v", m.Name, tb.Prefix(f, int(idx)), g.Attrs.OriginAS(), st, tb.Invalid(f, int(idx)))
					}
					if tb.GroupOf(f, int(idx)) != &g && !reflect.DeepEqual(tb.GroupOf(f, int(idx)).Attrs, g.Attrs) {
						t.Fatalf("GroupOf(%d) is not its group", idx)
					}
				}
			}
			if n != m.Fam[f].Count {
				t.Fatalf("%s %s: groups hold %d prefixes, want %d", m.Name, f, n, m.Fam[f].Count)
			}
		}
	}
	for l := 1; l <= 8; l++ {
		if lengths[l] == 0 {
			t.Errorf("no path of length %d", l)
		}
	}
	share := func(s rpki.State) float64 { return float64(states[s]) / float64(total) }
	if v := share(rpki.Valid); math.Abs(v-shareValid) > 0.03 {
		t.Errorf("valid share %.3f, want about %.3f", v, shareValid)
	}
	if v := share(rpki.Invalid); math.Abs(v-shareInvalid) > 0.01 {
		t.Errorf("invalid share %.3f, want about %.3f", v, shareInvalid)
	}
	for mi := range tb.Members {
		want := 0
		for o := range tb.Members {
			if o != mi {
				want += tb.Members[o].Fam[IPv4].Count - tb.Members[o].Fam[IPv4].Invalid
			}
		}
		if got := tb.Expected(IPv4, mi); got != want {
			t.Errorf("Expected(%d) = %d, want %d", mi, got, want)
		}
	}
}

// Every UPDATE fits 4096 octets, parses with gobgp's codec, and together
// they announce each prefix once with its group's attributes.
func TestEncode(t *testing.T) {
	tb := mustTable(t, TableOptions{Members: 3, PrefixesV4: 20000, PrefixesV6: 8000, Seed: 5})
	for _, f := range []Family{IPv4, IPv6} {
		for mi := range tb.Members {
			e, err := tb.Encode(f, mi)
			if err != nil {
				t.Fatal(err)
			}
			if e.Cuts[0] != 0 || e.Cuts[len(e.Cuts)-1] != len(e.Msgs) {
				t.Fatalf("cuts %v do not span the %d octets", e.Cuts, len(e.Msgs))
			}
			got := map[netip.Prefix][]uint32{}
			msgs, full := 0, 0
			for off := 0; off < len(e.Msgs); {
				n := int(binary.BigEndian.Uint16(e.Msgs[off+16:]))
				if n > MaxMessage {
					t.Fatalf("message of %d octets", n)
				}
				if n > MaxMessage-30 {
					full++
				}
				msg, err := bgp.ParseBGPMessage(e.Msgs[off : off+n])
				if err != nil {
					t.Fatalf("%s %s: message %d: %v", tb.Members[mi].Name, f, msgs, err)
				}
				u := msg.Body.(*bgp.BGPUpdate)
				var path []uint32
				var nlri []bgp.AddrPrefixInterface
				var nh string
				for _, a := range u.PathAttributes {
					switch a := a.(type) {
					case *bgp.PathAttributeAsPath:
						for _, s := range a.Value {
							path = append(path, s.GetAS()...)
						}
					case *bgp.PathAttributeMpReachNLRI:
						nlri = append(nlri, a.Value...)
						nh = a.Nexthop.String()
					case *bgp.PathAttributeNextHop:
						nh = a.Value.String()
					}
				}
				for _, p := range u.NLRI {
					nlri = append(nlri, p)
				}
				for _, p := range nlri {
					pfx := netip.MustParsePrefix(p.String())
					if _, dup := got[pfx]; dup {
						t.Fatalf("%s announced twice", pfx)
					}
					got[pfx] = path
					wantNH := tb.Members[mi].Addr[f].String()
					if pfx == Probe(f, mi, ProbeNextHop) {
						wantNH = tb.Members[(mi+1)%3].Addr[f].String()
					}
					if nh != wantNH {
						t.Fatalf("%s: next hop %s, want %s", pfx, nh, wantNH)
					}
				}
				off += n
				msgs++
			}
			for kind := range 2 {
				if _, ok := got[Probe(f, mi, kind)]; !ok {
					t.Fatalf("probe %d (%s) not sent", kind, Probe(f, mi, kind))
				}
				delete(got, Probe(f, mi, kind))
			}
			if msgs != e.Updates || len(got) != e.Prefixes || len(got) != tb.PerMember(f) {
				t.Fatalf("%d messages (counted %d) with %d prefixes (counted %d), want %d", msgs, e.Updates, len(got), e.Prefixes, tb.PerMember(f))
			}
			if full == 0 {
				t.Errorf("%s %s: no UPDATE is packed near 4096 octets", tb.Members[mi].Name, f)
			}
			mf := &tb.Members[mi].Fam[f]
			for idx := mf.First; idx < mf.First+mf.Count; idx++ {
				p := tb.Prefix(f, idx)
				if !reflect.DeepEqual(got[p], tb.GroupOf(f, idx).Attrs.ASPath) {
					t.Fatalf("%s sent with path %v, want %v", p, got[p], tb.GroupOf(f, idx).Attrs.ASPath)
				}
			}
		}
	}
}

// The receiver counts what a member's encoded table announces: the valid
// prefixes as expected, the invalid ones as extra, its own as extra; a
// repeated announcement changes nothing; withdrawals take them away.
func TestReceiverCounts(t *testing.T) {
	tb := mustTable(t, TableOptions{Members: 3, PrefixesV4: 3000, PrefixesV6: 500, Seed: 9})
	for _, f := range []Family{IPv4, IPv6} {
		conv := NewConvergence()
		r := NewReceiver(tb, f, 0, conv, nil)
		feed := func(b []byte) {
			t.Helper()
			for off := 0; off < len(b); {
				n := int(binary.BigEndian.Uint16(b[off+16:]))
				if err := r.Update(b[off+19 : off+n]); err != nil {
					t.Fatal(err)
				}
				off += n
			}
		}
		var invalid int
		for _, m := range []int{1, 2, 1} { // member 1 twice: no double count
			e, err := tb.Encode(f, m)
			if err != nil {
				t.Fatal(err)
			}
			feed(e.Msgs)
			feed(e.EoR)
		}
		invalid = tb.Members[1].Fam[f].Invalid + tb.Members[2].Fam[f].Invalid
		st := r.Stats()
		if st.Held != tb.Expected(f, 0) || st.Extra != invalid+4 {
			t.Fatalf("%s: held %d extra %d, want %d and %d (invalid and probes)", f, st.Held, st.Extra, tb.Expected(f, 0), invalid+4)
		}
		if r.Done() {
			t.Fatal("done while holding invalid routes")
		}
		// Withdraw the invalid ones and the probes: now it holds exactly
		// what it should.
		for _, m := range []int{1, 2} {
			for kind := range 2 {
				p := Probe(f, m, kind)
				w, err := bgp.NewBGPUpdateMessage([]*bgp.IPAddrPrefix{bgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())}, nil, nil).Serialize()
				if f == IPv6 {
					w, err = bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{bgp.NewPathAttributeMpUnreachNLRI(
						[]bgp.AddrPrefixInterface{bgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())})}, nil).Serialize()
				}
				if err != nil {
					t.Fatal(err)
				}
				feed(w)
			}
			mf := &tb.Members[m].Fam[f]
			for idx := mf.First; idx < mf.First+mf.Count; idx++ {
				if tb.Invalid(f, idx) {
					w, err := tb.EncodeWithdraw(f, idx)
					if err != nil {
						t.Fatal(err)
					}
					feed(w)
				}
			}
		}
		if !r.Done() || conv.At().IsZero() {
			t.Fatalf("%s: not done after withdrawing the invalid routes: %+v", f, r.Stats())
		}
		// Its own prefixes, and one that is not in the table, are extra.
		own, _ := tb.EncodeAnnounce(f, tb.Members[0].Fam[f].First)
		feed(own)
		if r.Stats().Extra != 1 {
			t.Fatalf("own prefix: extra %d", r.Stats().Extra)
		}
		w, _ := tb.EncodeWithdraw(f, tb.Members[0].Fam[f].First)
		feed(w)
		var foreign []byte
		if f == IPv4 {
			foreign, _ = bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{
				bgp.NewPathAttributeOrigin(0), bgp.NewPathAttributeAsPath(nil), bgp.NewPathAttributeNextHop("198.18.1.1"),
			}, []*bgp.IPAddrPrefix{bgp.NewIPAddrPrefix(24, "10.9.9.0")}).Serialize()
		} else {
			foreign, _ = bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{
				bgp.NewPathAttributeOrigin(0), bgp.NewPathAttributeAsPath(nil),
				bgp.NewPathAttributeMpReachNLRI("2001:db8:ffff::1:1", []bgp.AddrPrefixInterface{bgp.NewIPv6AddrPrefix(64, "2a00:1::")}),
			}, nil).Serialize()
		}
		feed(foreign)
		if r.Stats().Extra != 1 || r.Done() {
			t.Fatalf("foreign prefix: %+v", r.Stats())
		}
		// Withdraw a valid one: one fewer held.
		mf := &tb.Members[2].Fam[f]
		for idx := mf.First; ; idx++ {
			if !tb.Invalid(f, idx) {
				w, _ := tb.EncodeWithdraw(f, idx)
				feed(w)
				break
			}
		}
		if got := r.Stats().Held; got != tb.Expected(f, 0)-1 {
			t.Fatalf("after a withdrawal: held %d, want %d", got, tb.Expected(f, 0)-1)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("10x1000, 50x10000+0,3x50+7", 0.2)
	if err != nil {
		t.Fatal(err)
	}
	want := []Size{{10, 1000, 200}, {50, 10000, 0}, {3, 50, 7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "10", "x100", "10x", "0x10", "10x-1", "1001x10", "3x0+0", "3x10+a"} {
		if _, err := ParseSizes(bad, 0.2); err == nil {
			t.Errorf("ParseSizes(%q): no error", bad)
		}
	}
}

// A size too large for the IPv4 space says so instead of overlapping.
func TestTableTooBig(t *testing.T) {
	if _, err := NewTable(TableOptions{Members: 1000, PrefixesV4: 200000, Seed: 1}); err == nil {
		t.Fatal("no error for 200M IPv4 prefixes")
	}
}
