package routeserver_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// rawSpeaker is a minimal BGP speaker on a raw TCP connection: it sends
// UPDATEs exactly as built, with AS_PATHs a real router would not send
// (gobgp always prepends its own AS). It answers nothing but keeps reading,
// so the route server's KEEPALIVEs are consumed; its hold time is 90 s.
type rawSpeaker struct {
	t  testing.TB
	nc net.Conn
}

// dialRaw opens a session from the 2-octet AS asn at address from (a
// configured neighbour) to the route server on port, and waits for the
// route server's OPEN.
func dialRaw(t testing.TB, from string, port int, asn uint16) *rawSpeaker {
	t.Helper()
	nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}).Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	id := netip.MustParseAddr(from).As4()
	open := []byte{4, byte(asn >> 8), byte(asn), 0, 90, id[0], id[1], id[2], id[3], 0}
	if _, err := nc.Write(bgp.AppendMessage(nil, bgp.MsgOpen, open)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(bgp.AppendMessage(nil, bgp.MsgKeepalive, nil)); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 19)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(nc, hdr); err != nil || hdr[18] != bgp.MsgOpen {
		t.Fatalf("no OPEN from the route server (type %d): %v", hdr[18], err)
	}
	if _, err := io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint16(hdr[16:18]))-19); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Time{})
	go io.Copy(io.Discard, nc)
	return &rawSpeaker{t: t, nc: nc}
}

// announce sends one IPv4 route with the AS_PATH path (2-octet ASNs, wire
// order) and the speaker's own address as next hop.
func (r *rawSpeaker) announce(p netip.Prefix, path ...uint16) {
	r.t.Helper()
	nh := r.nc.LocalAddr().(*net.TCPAddr).IP.String()
	attrs := []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(gobgp.BGP_ORIGIN_ATTR_TYPE_IGP),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAsPathParam(gobgp.BGP_ASPATH_ATTR_TYPE_SEQ, path)}),
		gobgp.NewPathAttributeNextHop(nh),
	}
	msg := gobgp.NewBGPUpdateMessage(nil, attrs, []*gobgp.IPAddrPrefix{gobgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())})
	b, err := msg.Serialize()
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}
