package history

import (
	"net/netip"
	"reflect"
	"testing"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// decodeUpdate interns the attributes of an UPDATE encoded by gobgp (as
// a member would send it).
func decodeUpdate(t *testing.T, tbl *wire.Table, attrs []gobgp.PathAttributeInterface, nlri []*gobgp.IPAddrPrefix) *wire.AttrSet {
	t.Helper()
	b, err := gobgp.NewBGPUpdateMessage(nil, attrs, nlri).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	d := wire.Decoder{FourOctetAS: true, Table: tbl}
	u, err := d.Decode(b[19:])
	if err != nil {
		t.Fatal(err)
	}
	for f := range u.Attrs {
		if u.Attrs[f] != nil {
			return u.Attrs[f]
		}
	}
	t.Fatalf("no attribute set in the UPDATE (%v)", u.TreatAsWithdraw)
	return nil
}

// TestJournalAttrKeys: an attribute set journaled by its key and decoded
// again after a crash is the same set for the history: same hash (so the
// same attr_sets row) and the same text.
func TestJournalAttrKeys(t *testing.T) {
	tbl := wire.NewTable()
	path := func(as ...uint32) gobgp.PathAttributeInterface {
		return gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, as)})
	}
	large, _ := gobgp.ParseLargeCommunity("4200000000:0:4200000003")
	sets := []*wire.AttrSet{
		decodeUpdate(t, tbl, []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0), path(4200000001, 65010),
			gobgp.NewPathAttributeNextHop("192.0.2.1"), gobgp.NewPathAttributeMultiExitDisc(20),
			gobgp.NewPathAttributeCommunities([]uint32{65000<<16 | 1, 0xffff029a}),
			gobgp.NewPathAttributeLargeCommunities([]*gobgp.LargeCommunity{large})},
			[]*gobgp.IPAddrPrefix{gobgp.NewIPAddrPrefix(24, "10.1.2.0")}),
		decodeUpdate(t, tbl, []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(2), path(4200000002),
			gobgp.NewPathAttributeMpReachNLRI("2001:db8::2", []gobgp.AddrPrefixInterface{gobgp.NewIPv6AddrPrefix(48, "2001:db8:1::")})}, nil),
		decodeUpdate(t, tbl, []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0), path(4200000003, 4200000003, 65001),
			gobgp.NewPathAttributeMpReachNLRI("2001:db8::3", []gobgp.AddrPrefixInterface{gobgp.NewIPv6AddrPrefix(48, "2001:db8:2::")})}, nil),
	}
	// A link-local next hop too.
	mp := gobgp.NewPathAttributeMpReachNLRI("2001:db8::4", []gobgp.AddrPrefixInterface{gobgp.NewIPv6AddrPrefix(48, "2001:db8:3::")})
	mp.LinkLocalNexthop = netip.MustParseAddr("fe80::4").AsSlice()
	sets = append(sets, decodeUpdate(t, tbl, []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0), path(4200000004), mp}, nil))
	if !sets[3].NextHopLL.IsValid() {
		t.Fatalf("the test's link-local next hop did not survive decoding: %+v", sets[3].Attrs)
	}
	scratch := wire.NewTable()
	for i, a := range sets {
		b, err := decodeAttrKey(appendAttrKey(nil, a), scratch)
		if err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		if b.Family != a.Family || attrHash(b) != attrHash(a) {
			t.Errorf("set %d: decoded %s %x, was %s %x", i, b.Family, attrHash(b), a.Family, attrHash(a))
		}
		if ta, tb := attrText(&a.Attrs), attrText(&b.Attrs); !reflect.DeepEqual(ta, tb) || a.ExtCount != b.ExtCount {
			t.Errorf("set %d: decoded %+v, was %+v", i, tb, ta)
		}
	}
	if _, err := decodeAttrKey([]byte{0, 4, 1, 2}, scratch); err == nil {
		t.Error("a truncated key decoded")
	}
}

// TestJournalRecords: records survive their encoding, in order, with
// their times, exposures and not-yet-interned attribute sets.
func TestJournalRecords(t *testing.T) {
	k4 := keyOf(bgp.IPv4Unicast, netip.MustParsePrefix("10.1.0.0/16"))
	k6 := keyOf(bgp.IPv6Unicast, netip.MustParsePrefix("2001:db8::/32"))
	recs := []rec{
		{op: recRoute, at: 1_000_000, k: k4, pathID: 7, src: 3, attrs: -1, verdict: 2, filtered: true, cause: 5},
		{op: recRoute, at: 1_000_100, k: k6, src: 4, attrs: 12, verdict: 1, cause: 5, hasExp: true,
			exps: []expRef{{pathID: 0, src: 4, set: 9}, {pathID: 2, src: 1, set: 0}}},
		{op: recExposure, at: 999_000, k: k4, hasExp: true, exps: []expRef{{src: 3, set: 11}}},
		{op: recRoute, at: 1_000_200, k: k4, pathID: 7, src: 3, cause: 6},
		{op: recSourceEnd, at: 1_000_300, k: prefixKey{fam: uint8(bgp.IPv6Unicast)}, src: 4, cause: 8},
		{op: recExportsOff, at: 1_000_400},
	}
	var j journalBuf
	for i := range recs {
		j.add(&recs[i])
	}
	d := recReader{b: j.data}
	var got []rec
	var r rec
	for d.next(&r) {
		c := r
		c.exps = append([]expRef(nil), r.exps...)
		got = append(got, c)
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records decoded, want %d", len(got), len(recs))
	}
	for i := range recs {
		want := recs[i]
		if want.op == recSourceEnd {
			want.k = prefixKey{fam: want.k.fam}
		}
		if len(want.exps) == 0 {
			want.exps, got[i].exps = nil, nil
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("record %d: decoded %+v, want %+v", i, got[i], want)
		}
	}
	short := recReader{b: j.data[:len(j.data)-4]} // into the source-end record
	for short.next(&r) {
	}
	if short.err == nil {
		t.Error("a truncated row decoded without an error")
	}
}
