package wire

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/fedrs/fedrs/routeserver/bgp"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// body serializes a gobgp UPDATE and returns its body.
func body(t testing.TB, m *gobgp.BGPMessage, opts ...*gobgp.MarshallingOption) []byte {
	t.Helper()
	b, err := m.Serialize(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b[19:]
}

func v4update(nlri []string, attrs ...gobgp.PathAttributeInterface) *gobgp.BGPMessage {
	var ps []*gobgp.IPAddrPrefix
	for _, s := range nlri {
		p := netip.MustParsePrefix(s)
		ps = append(ps, gobgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String()))
	}
	return gobgp.NewBGPUpdateMessage(nil, attrs, ps)
}

func baseAttrs(path ...uint32) []gobgp.PathAttributeInterface {
	return []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, path)}),
		gobgp.NewPathAttributeNextHop("192.0.2.11"),
	}
}

func TestDecodeIPv4(t *testing.T) {
	d := &Decoder{FourOctetAS: true, Table: NewTable()}
	attrs := append(baseAttrs(4200000011, 65010),
		gobgp.NewPathAttributeMultiExitDisc(50),
		gobgp.NewPathAttributeCommunities([]uint32{65535<<16 | 666, 1<<16 | 2}),
		gobgp.NewPathAttributeLargeCommunities([]*gobgp.LargeCommunity{gobgp.NewLargeCommunity(4200000000, 0, 4200000012)}),
		gobgp.NewPathAttributeLocalPref(300))
	u, err := d.Decode(body(t, v4update([]string{"10.1.0.0/16", "10.2.3.0/24"}, attrs...)))
	if err != nil {
		t.Fatal(err)
	}
	if u.TreatAsWithdraw != nil {
		t.Fatal(u.TreatAsWithdraw)
	}
	got := u.Announced[bgp.IPv4Unicast]
	want := []NLRI{{Prefix: netip.MustParsePrefix("10.1.0.0/16")}, {Prefix: netip.MustParsePrefix("10.2.3.0/24")}}
	if !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}
	a := u.Attrs[bgp.IPv4Unicast]
	if a == nil {
		t.Fatal("no attribute set")
	}
	if !slices.Equal(a.ASPath, []uint32{4200000011, 65010}) || a.PathLen != 2 || a.Segments != nil {
		t.Errorf("AS_PATH %v len %d segs %v", a.ASPath, a.PathLen, a.Segments)
	}
	if a.NextHop != netip.MustParseAddr("192.0.2.11") || !a.HasMED || a.MED != 50 {
		t.Errorf("next hop %v med %v/%d", a.NextHop, a.HasMED, a.MED)
	}
	if !a.HasCommunity(bgp.CommBlackhole) || len(a.Large) != 1 || a.Large[0] != (bgp.Large{Global: 4200000000, Local1: 0, Local2: 4200000012}) {
		t.Errorf("communities %v large %v", a.Communities, a.Large)
	}
	if o, ok := a.OriginAS(); !ok || o != 65010 {
		t.Errorf("origin %d %v", o, ok)
	}
	// The same attributes intern to the same set.
	u2, _ := d.Decode(body(t, v4update([]string{"10.9.0.0/16"}, attrs...)))
	if u2.Attrs[bgp.IPv4Unicast] != a {
		t.Error("identical attributes were not interned together")
	}
	if d.Table.Len() != 1 {
		t.Errorf("table holds %d sets, want 1", d.Table.Len())
	}
	a.Release()
	a.Release()
	if d.Table.Len() != 0 || d.Table.Get(a.ID()) != nil {
		t.Errorf("set not removed after its last reference")
	}
}

func TestDecodeIPv6AddPathAndWithdraw(t *testing.T) {
	d := &Decoder{FourOctetAS: true, Table: NewTable()}
	d.AddPath[bgp.IPv6Unicast] = true
	p := gobgp.NewIPv6AddrPrefix(48, "2001:db8:10::")
	p.SetPathIdentifier(7)
	p.SetPathLocalIdentifier(7)
	mp := gobgp.NewPathAttributeMpReachNLRI("2001:db8::11", []gobgp.AddrPrefixInterface{p})
	mp.LinkLocalNexthop = []byte(netip.MustParseAddr("fe80::11").AsSlice())
	attrs := []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(2, []uint32{4200000011})}), mp}
	opt := &gobgp.MarshallingOption{AddPath: map[gobgp.RouteFamily]gobgp.BGPAddPathMode{gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_BOTH}}
	u, err := d.Decode(body(t, gobgp.NewBGPUpdateMessage(nil, attrs, nil), opt))
	if err != nil {
		t.Fatal(err)
	}
	got := u.Announced[bgp.IPv6Unicast]
	if len(got) != 1 || got[0].PathID != 7 || got[0].Prefix != netip.MustParsePrefix("2001:db8:10::/48") {
		t.Fatalf("announced %v", got)
	}
	a := u.Attrs[bgp.IPv6Unicast]
	if a.NextHop != netip.MustParseAddr("2001:db8::11") || a.NextHopLL != netip.MustParseAddr("fe80::11") {
		t.Errorf("next hops %v %v", a.NextHop, a.NextHopLL)
	}
	// Withdrawal with MP_UNREACH and End-of-RIB.
	w := gobgp.NewPathAttributeMpUnreachNLRI([]gobgp.AddrPrefixInterface{p})
	u, err = d.Decode(body(t, gobgp.NewBGPUpdateMessage(nil, []gobgp.PathAttributeInterface{w}, nil), opt))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Withdrawn[bgp.IPv6Unicast]) != 1 || u.EndOfRIB[bgp.IPv6Unicast] {
		t.Fatalf("withdrawn %v eor %v", u.Withdrawn, u.EndOfRIB)
	}
	u, _ = d.Decode(AppendEndOfRIB(nil, bgp.IPv6Unicast)[19:])
	if !u.EndOfRIB[bgp.IPv6Unicast] {
		t.Fatal("End-of-RIB not recognised")
	}
	u, _ = d.Decode(AppendEndOfRIB(nil, bgp.IPv4Unicast)[19:])
	if !u.EndOfRIB[bgp.IPv4Unicast] {
		t.Fatal("IPv4 End-of-RIB not recognised")
	}
}

func TestDecodeTwoOctetPeerWithAS4Path(t *testing.T) {
	d := &Decoder{FourOctetAS: false, Table: NewTable()}
	attrs := []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAsPathParam(2, []uint16{65001, bgp.ASTrans, 65003})}),
		gobgp.NewPathAttributeNextHop("192.0.2.1"),
		gobgp.NewPathAttributeAs4Path([]*gobgp.As4PathParam{gobgp.NewAs4PathParam(2, []uint32{4200000002, 65003})}),
	}
	u, err := d.Decode(body(t, v4update([]string{"10.0.0.0/8"}, attrs...)))
	if err != nil {
		t.Fatal(err)
	}
	a := u.Attrs[bgp.IPv4Unicast]
	if want := []uint32{65001, 4200000002, 65003}; !slices.Equal(a.ASPath, want) {
		t.Fatalf("merged path %v, want %v", a.ASPath, want)
	}
}

func TestRFC7606(t *testing.T) {
	valid := baseAttrs(65001)
	cases := []struct {
		name      string
		body      []byte
		reset     bool // session reset expected
		withdrawn bool // treat-as-withdraw expected
		discarded bool
	}{
		{"bad ORIGIN value", body(t, v4update([]string{"10.0.0.0/8"}, gobgp.NewPathAttributeOrigin(7), valid[1], valid[2])), false, true, false},
		{"missing NEXT_HOP", body(t, v4update([]string{"10.0.0.0/8"}, valid[0], valid[1])), false, true, false},
		{"missing AS_PATH", body(t, v4update([]string{"10.0.0.0/8"}, valid[0], valid[2])), false, true, false},
		{"communities length 3", raw4(t, valid, []byte{0xc0, 8, 3, 1, 2, 3}), false, true, false},
		{"large community length 8", raw4(t, valid, []byte{0xc0, 32, 8, 1, 2, 3, 4, 5, 6, 7, 8}), false, true, false},
		{"OTC length 2", raw4(t, valid, []byte{0xc0, 35, 2, 1, 2}), false, true, false},
		{"AS_PATH truncated", raw4(t, valid[:1], []byte{0x40, 2, 4, 2, 2, 0, 0}, []byte{0x40, 3, 4, 192, 0, 2, 1}), false, true, false},
		{"ORIGIN with optional flag", raw4(t, valid[1:], []byte{0xc0, 1, 1, 0}), false, true, false},
		{"attribute overruns the list", raw4(t, valid, []byte{0xc0, 8, 200, 1, 2, 3, 4}), false, true, false},
		{"AGGREGATOR bad length", raw4(t, valid, []byte{0xc0, 7, 3, 1, 2, 3}), false, false, true},
		{"ATOMIC_AGGREGATE bad length", raw4(t, valid, []byte{0x40, 6, 1, 0}), false, false, true},
		{"duplicate MED", raw4(t, valid, []byte{0x80, 4, 4, 0, 0, 0, 1}, []byte{0x80, 4, 4, 0, 0, 0, 2}), false, false, true},
		{"unknown well-known attribute", raw4(t, valid, []byte{0x40, 99, 1, 0}), true, false, false},
		{"prefix length 33", append([]byte{0, 0, 0, 0}, 33, 10, 0, 0, 0, 0), true, false, false},
		{"withdrawn overruns", []byte{0, 9, 0, 0}, true, false, false},
		{"duplicate MP_REACH", raw4(t, valid, []byte{0x80, 14, 5, 0, 2, 1, 0, 0}, []byte{0x80, 14, 5, 0, 2, 1, 0, 0}), true, false, false},
		{"NLRI truncated", append(raw4(t, valid), 24, 10, 0), true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &Decoder{FourOctetAS: true, Table: NewTable()}
			u, err := d.Decode(tc.body)
			if tc.reset {
				var n *bgp.Notification
				if !errors.As(err, &n) || n.Code != bgp.ErrUpdate {
					t.Fatalf("want a session reset with UPDATE Message Error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected session reset: %v", err)
			}
			if tc.withdrawn != (u.TreatAsWithdraw != nil) {
				t.Fatalf("treat-as-withdraw %v, want %v", u.TreatAsWithdraw, tc.withdrawn)
			}
			if tc.withdrawn && (len(u.Withdrawn[bgp.IPv4Unicast]) == 0 || len(u.Announced[bgp.IPv4Unicast]) != 0) {
				t.Fatalf("prefixes not turned into withdrawals: %+v", u)
			}
			if tc.discarded != (len(u.Discarded) > 0) {
				t.Fatalf("discarded %v, want %v", u.Discarded, tc.discarded)
			}
		})
	}
}

// raw4 builds an IPv4 UPDATE body for 10.0.0.0/8 from gobgp attributes
// and hand-made raw attributes.
func raw4(t testing.TB, attrs []gobgp.PathAttributeInterface, extra ...[]byte) []byte {
	var a []byte
	for _, x := range attrs {
		b, err := x.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		a = append(a, b...)
	}
	for _, e := range extra {
		a = append(a, e...)
	}
	b := []byte{0, 0, byte(len(a) >> 8), byte(len(a))}
	b = append(b, a...)
	return append(b, 8, 10)
}

func TestEncodeRoundTrip(t *testing.T) {
	d := &Decoder{FourOctetAS: true, Table: NewTable()}
	attrs := append(baseAttrs(4200000011, 70000),
		gobgp.NewPathAttributeMultiExitDisc(5),
		gobgp.NewPathAttributeCommunities([]uint32{1, 2}),
		gobgp.NewPathAttributeAggregator(uint32(4200000011), "192.0.2.11"))
	u, err := d.Decode(body(t, v4update([]string{"10.1.0.0/16"}, attrs...)))
	if err != nil {
		t.Fatal(err)
	}
	a := u.Attrs[bgp.IPv4Unicast]
	rw := &bgp.Rewrite{Communities: []uint32{3}, Large: []bgp.Large{{Global: 1, Local1: 2, Local2: 3}},
		PrependAS: 4200000011, PrependN: 2, SetOTC: true, OTC: 4200000000}
	for _, as4 := range []bool{true, false} {
		tmpl := Encode(a, rw, as4)
		nlri := AppendNLRI(nil, netip.MustParsePrefix("10.1.0.0/16"), 0, false)
		msg := AppendAnnounce(nil, tmpl, nlri)
		var opts []*gobgp.MarshallingOption
		if !as4 {
			opts = append(opts, &gobgp.MarshallingOption{})
		}
		m, err := gobgp.ParseBGPMessage(msg, opts...)
		if err != nil {
			t.Fatalf("as4=%v: gobgp cannot parse our UPDATE: %v", as4, err)
		}
		up := m.Body.(*gobgp.BGPUpdate)
		// Decode it again with our decoder, as a peer of that kind would.
		d2 := &Decoder{FourOctetAS: as4, Table: NewTable()}
		u2, err := d2.Decode(msg[19:])
		if err != nil || u2.TreatAsWithdraw != nil {
			t.Fatalf("as4=%v: re-decoding: %v %v", as4, err, u2.TreatAsWithdraw)
		}
		b := u2.Attrs[bgp.IPv4Unicast]
		if want := []uint32{4200000011, 4200000011, 4200000011, 70000}; !slices.Equal(b.ASPath, want) {
			t.Errorf("as4=%v: path %v, want %v", as4, b.ASPath, want)
		}
		if !slices.Equal(b.Communities, []uint32{3}) || len(b.Large) != 1 || !b.HasOTC || b.OTC != 4200000000 {
			t.Errorf("as4=%v: communities %v large %v otc %v/%d", as4, b.Communities, b.Large, b.HasOTC, b.OTC)
		}
		if b.NextHop != a.NextHop || b.MED != 5 {
			t.Errorf("as4=%v: next hop %v med %d changed", as4, b.NextHop, b.MED)
		}
		if len(up.NLRI) != 1 {
			t.Errorf("gobgp sees %d NLRI", len(up.NLRI))
		}
	}
}

func TestEncodeIPv6AndWithdraw(t *testing.T) {
	d := &Decoder{FourOctetAS: true, Table: NewTable()}
	p := gobgp.NewIPv6AddrPrefix(48, "2001:db8:10::")
	attrs := []gobgp.PathAttributeInterface{gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(2, []uint32{4200000011})}),
		gobgp.NewPathAttributeMpReachNLRI("2001:db8::11", []gobgp.AddrPrefixInterface{p})}
	u, _ := d.Decode(body(t, gobgp.NewBGPUpdateMessage(nil, attrs, nil)))
	a := u.Attrs[bgp.IPv6Unicast]
	tmpl := Encode(a, &bgp.Rewrite{}, true)
	var nlri []byte
	for _, s := range []string{"2001:db8:10::/48", "2001:db8:11::/48"} {
		nlri = AppendNLRI(nlri, netip.MustParsePrefix(s), 0, false)
	}
	msg := AppendAnnounce(nil, tmpl, nlri)
	if len(msg) != AnnounceOverhead(tmpl)+len(nlri) {
		t.Errorf("overhead %d + %d != %d", AnnounceOverhead(tmpl), len(nlri), len(msg))
	}
	m, err := gobgp.ParseBGPMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, pa := range m.Body.(*gobgp.BGPUpdate).PathAttributes {
		if mp, ok := pa.(*gobgp.PathAttributeMpReachNLRI); ok {
			n = len(mp.Value)
			if mp.Nexthop.String() != "2001:db8::11" {
				t.Errorf("next hop %v", mp.Nexthop)
			}
		}
	}
	if n != 2 {
		t.Fatalf("gobgp sees %d prefixes", n)
	}
	wmsg := AppendWithdraw(nil, bgp.IPv6Unicast, nlri)
	if len(wmsg) != WithdrawOverhead(bgp.IPv6Unicast)+len(nlri) {
		t.Error("withdraw overhead wrong")
	}
	u3, err := d.Decode(wmsg[19:])
	if err != nil || len(u3.Withdrawn[bgp.IPv6Unicast]) != 2 {
		t.Fatalf("withdraw: %v %v", err, u3)
	}
	w4 := AppendWithdraw(nil, bgp.IPv4Unicast, AppendNLRI(nil, netip.MustParsePrefix("10.0.0.0/8"), 0, false))
	if _, err := gobgp.ParseBGPMessage(w4); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecode: arbitrary bodies never panic, and whatever decodes cleanly
// re-encodes into something gobgp and our decoder accept.
func FuzzDecode(f *testing.F) {
	f.Add(raw4(f, baseAttrs(65001)), true, false)
	f.Add(raw4(f, baseAttrs(65001), []byte{0xc0, 8, 3, 1, 2, 3}), true, false)
	f.Add(raw4(f, baseAttrs(65001), []byte{0xc0, 32, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), false, true)
	f.Add(AppendEndOfRIB(nil, bgp.IPv6Unicast)[19:], true, true)
	f.Add([]byte{0, 0, 0, 0, 33, 1, 2, 3, 4, 5}, true, false)
	f.Add([]byte{0, 3, 8, 10, 0, 0, 0}, false, false)
	f.Fuzz(func(t *testing.T, b []byte, as4, addPath bool) {
		d := &Decoder{FourOctetAS: as4, Table: NewTable()}
		d.AddPath = [bgp.NumFamilies]bool{addPath, addPath}
		u, err := d.Decode(b)
		if err != nil {
			return
		}
		for f, a := range u.Attrs {
			if a == nil {
				continue
			}
			tmpl := Encode(a, &bgp.Rewrite{Communities: a.Communities, Large: a.Large}, true)
			var nlri []byte
			for _, n := range u.Announced[f] {
				nlri = AppendNLRI(nlri, n.Prefix, 0, false)
			}
			msg := AppendAnnounce(nil, tmpl, nlri)
			if len(msg) > bgp.MaxExtendedLen {
				continue
			}
			d2 := &Decoder{FourOctetAS: true, Table: NewTable()}
			u2, err := d2.Decode(msg[19:])
			if err != nil {
				t.Fatalf("re-encoded UPDATE refused: %v", err)
			}
			if u2.TreatAsWithdraw != nil {
				t.Fatalf("re-encoded UPDATE malformed: %v", u2.TreatAsWithdraw)
			}
			if !slices.Equal(u2.Attrs[f].ASPath, a.ASPath) {
				t.Fatalf("path %v became %v", a.ASPath, u2.Attrs[f].ASPath)
			}
		}
	})
}
