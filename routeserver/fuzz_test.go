package routeserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// FuzzUpdatePath feeds arbitrary UPDATE bodies through the whole receive
// path (decode, import policy, RIB, export to the other members): it must
// never panic, and every error is one that resets the session with a
// NOTIFICATION.
func FuzzUpdatePath(f *testing.F) {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nasn = 4200000000\nrouter_id = \"10.255.255.254\"\ncontrol = \"\"\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, "[[member]]\nname = \"m%d\"\nasn = %d\nneighbors = [\"192.0.2.%d\"]\nprefixes = [\"10.0.0.0/8 le 32 shared\", \"2001:db8::/32 le 64 shared\"]\n",
			i, 4200000001+i, i+1)
	}
	cfg, err := conf.Parse([]byte(b.String()), "fuzz.toml")
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(cfg, Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	var ns []*neighbor
	for i := 0; i < 3; i++ {
		n := srv.nbrs[netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})]
		neg := &session.Negotiated{PeerASN: n.cfg.PeerASN, PeerID: n.cfg.PeerAddr, FourOctetAS: i != 1,
			RemoteAddr: netip.AddrPortFrom(n.cfg.PeerAddr, 179), Families: [bgp.NumFamilies]bool{true, true},
			AddPathRx: [bgp.NumFamilies]bool{i == 2, i == 2}}
		n.neg, n.sendFam = neg, neg.Families
		n.dec = &wire.Decoder{FourOctetAS: neg.FourOctetAS, AddPath: neg.AddPathRx, Table: srv.attrs}
		srv.rib.SessionUp(n.src, neg, neg.Families, func() {})
		ns = append(ns, n)
	}
	// Seeds: a valid UPDATE per member, an End-of-RIB, malformed ones.
	for i := 0; i < 3; i++ {
		f.Add(byte(i), validUpdate(uint32(4200000001+i), netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})))
	}
	f.Add(byte(0), wire.AppendEndOfRIB(nil, bgp.IPv6Unicast)[19:])
	f.Add(byte(0), []byte{0, 0, 0, 7, 0x40, 1, 1, 0, 0xc0, 8, 3, 24, 10, 1, 2})
	f.Add(byte(1), []byte{0, 4, 24, 10, 1, 2, 0, 0})
	f.Add(byte(2), []byte{0, 0, 0, 5, 0x80, 14, 2, 0, 2, 8})
	buf := make([]byte, 0, 64<<10)
	f.Fuzz(func(t *testing.T, who byte, body []byte) {
		n := ns[int(who)%len(ns)]
		if err := n.Update(nil, body); err != nil {
			var nf *bgp.Notification
			if !asNotification(err, &nf) {
				t.Fatalf("UPDATE error without a NOTIFICATION: %v", err)
			}
		}
		// The other members' writers must produce well-formed UPDATEs.
		for _, o := range ns {
			for k := 0; k < 100; k++ {
				buf = srv.rib.Fill(o.src, buf[:0], 64<<10)
				if len(buf) == 0 {
					break
				}
				d := &wire.Decoder{FourOctetAS: o.neg.FourOctetAS, Table: wire.NewTable()}
				for m := buf; len(m) > 0; {
					l := int(m[16])<<8 | int(m[17])
					u, err := d.Decode(m[19:l])
					if err != nil || u.TreatAsWithdraw != nil {
						t.Fatalf("route server sent a malformed UPDATE: %v %v", err, u.TreatAsWithdraw)
					}
					m = m[l:]
				}
			}
		}
	})
}

func validUpdate(asn uint32, nh netip.Addr) []byte {
	attrs := []byte{0x40, 1, 1, 0, 0x40, 2, 6, 2, 1}
	attrs = append(attrs, byte(asn>>24), byte(asn>>16), byte(asn>>8), byte(asn))
	v := nh.As4()
	attrs = append(attrs, 0x40, 3, 4, v[0], v[1], v[2], v[3])
	body := []byte{0, 0, 0, byte(len(attrs))}
	body = append(body, attrs...)
	return append(body, 24, 10, 1, 2)
}

func asNotification(err error, n **bgp.Notification) bool { return errorsAs(err, n) }

var errorsAs = errors.As
