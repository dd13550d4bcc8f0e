package session

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// FuzzMessages feeds arbitrary bytes to the message reader and, for what
// frames as OPEN or NOTIFICATION, to their parsers and the negotiation: no
// input may panic, and every framing error is a NOTIFICATION to send.
func FuzzMessages(f *testing.F) {
	open := (&localOpen{asn: 65001, id: netip.MustParseAddr("10.0.0.1"), holdTime: 90 * time.Second,
		families: [bgp.NumFamilies]bool{true, true}, addPathRx: true, gracefulRestart: true}).body()
	f.Add(bgp.AppendMessage(nil, bgp.MsgOpen, open))
	f.Add(append(bgp.AppendMessage(nil, bgp.MsgOpen, open), keepaliveMsg...))
	f.Add(bgp.AppendMessage(nil, bgp.MsgNotification, notificationBody(bgp.NewShutdown(bgp.CeaseAdminShutdown, "maintenance"))))
	f.Add(bgp.AppendMessage(nil, bgp.MsgRouteRefresh, []byte{0, 1, 0, 1}))
	f.Add(bgp.AppendMessage(nil, bgp.MsgUpdate, []byte{0, 0, 0, 0}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add(append(bytes.Repeat([]byte{0xff}, 16), 0, 19, 4))
	f.Add(append(bytes.Repeat([]byte{0xff}, 16), 0xff, 0xff, 2))
	cfg := &Config{PeerASN: 65001, LocalASN: 4200000000, RouterID: netip.MustParseAddr("10.255.255.1"),
		Families: [bgp.NumFamilies]bool{true, true}}
	local := &localOpen{asn: 4200000000, id: cfg.RouterID, holdTime: 90 * time.Second, families: cfg.Families}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader(bytes.NewReader(b))
		r.maxLen = bgp.MaxExtendedLen
		for i := 0; i < 64; i++ {
			typ, body, err := r.next()
			if err != nil {
				var n *bgp.Notification
				if !errors.As(err, &n) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("framing error that is neither a NOTIFICATION nor EOF: %v", err)
				}
				return
			}
			switch typ {
			case bgp.MsgOpen:
				if o, err := parseOpen(body); err == nil {
					cfg.RoleStrict = len(body)%2 == 0
					negotiate(cfg, local, o)
				}
			case bgp.MsgNotification:
				n := parseNotification(body)
				_ = n.String()
				n.ShutdownMessage()
			}
		}
	})
}
