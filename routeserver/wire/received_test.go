package wire

import (
	"net/netip"
	"testing"

	"github.com/fedrs/fedrs/routeserver/bgp"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// TestReceived: the template of a set as received, packed into an UPDATE,
// decodes (with gobgp) to the attributes the member sent, LOCAL_PREF
// aside (dropped from an eBGP peer).
func TestReceived(t *testing.T) {
	d := &Decoder{FourOctetAS: true, Table: NewTable()}
	attrs := append(baseAttrs(4200000011, 65010),
		gobgp.NewPathAttributeMultiExitDisc(50),
		gobgp.NewPathAttributeCommunities([]uint32{65535<<16 | 666, 1<<16 | 2}),
		gobgp.NewPathAttributeLargeCommunities([]*gobgp.LargeCommunity{gobgp.NewLargeCommunity(4200000000, 0, 4200000012)}),
		gobgp.NewPathAttributeLocalPref(300))
	u, err := d.Decode(body(t, v4update([]string{"10.1.0.0/16"}, attrs...)))
	if err != nil {
		t.Fatal(err)
	}
	a := u.Attrs[bgp.IPv4Unicast]
	msg := AppendAnnounce(nil, Received(a), AppendNLRI(nil, netip.MustParsePrefix("10.1.0.0/16"), 0, false))
	m, err := gobgp.ParseBGPMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Body.(*gobgp.BGPUpdate).PathAttributes
	want := append(attrs[:0:0], attrs[:len(attrs)-1]...)
	if len(got) != len(want) {
		t.Fatalf("got %d attributes %v, want %v", len(got), got, want)
	}
	for i := range want {
		if got[i].String() != want[i].String() {
			t.Errorf("attribute %d: got %s, want %s", i, got[i], want[i])
		}
	}
}
