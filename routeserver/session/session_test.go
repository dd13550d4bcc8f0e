package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// recorder is a Handler that counts what the session delivers.
type recorder struct {
	mu        sync.Mutex
	prefixes  map[string]bool
	up        map[*session.Peer]*session.Negotiated
	downs     []session.DownEvent
	refreshes int
	out       *queue
}

func newRecorder() *recorder {
	return &recorder{prefixes: map[string]bool{}, up: map[*session.Peer]*session.Negotiated{}, out: &queue{}}
}

func (r *recorder) Established(p *session.Peer, n *session.Negotiated) session.Outbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up[p] = n
	return r.out
}

func (r *recorder) Update(p *session.Peer, body []byte) error {
	msg, err := gobgp.ParseBGPBody(&gobgp.BGPHeader{Type: gobgp.BGP_MSG_UPDATE, Len: uint16(19 + len(body))}, body)
	if err != nil {
		return err
	}
	u := msg.Body.(*gobgp.BGPUpdate)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range u.NLRI {
		r.prefixes[n.String()] = true
	}
	for _, a := range u.PathAttributes {
		if mp, ok := a.(*gobgp.PathAttributeMpReachNLRI); ok {
			for _, n := range mp.Value {
				r.prefixes[n.String()] = true
			}
		}
	}
	return nil
}

func (r *recorder) RouteRefresh(p *session.Peer, f bgp.Family, subtype uint8) {
	r.mu.Lock()
	r.refreshes++
	r.mu.Unlock()
}

func (r *recorder) Down(p *session.Peer, ev session.DownEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.up, p)
	r.downs = append(r.downs, ev)
}

func (r *recorder) snapshot() (prefixes int, up int, downs []session.DownEvent, refreshes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prefixes), len(r.up), append([]session.DownEvent(nil), r.downs...), r.refreshes
}

// queue is an Outbox holding messages to send.
type queue struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (q *queue) Fill(buf []byte, limit int) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.msgs) > 0 && len(buf) < limit {
		buf = append(buf, q.msgs[0]...)
		q.msgs = q.msgs[1:]
	}
	return buf
}

// rs is a route-server side: a listener and peers.
type rs struct {
	ln    *session.Listener
	peers map[netip.Addr]*session.Peer
	h     *recorder
	port  int
}

var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func startRS(t *testing.T, listen string, cfgs ...session.Config) *rs {
	t.Helper()
	return startRSLog(t, listen, testLog, cfgs...)
}

func startRSLog(t *testing.T, listen string, log *slog.Logger, cfgs ...session.Config) *rs {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rs{peers: map[netip.Addr]*session.Peer{}, h: newRecorder()}
	for _, c := range cfgs {
		r.peers[c.PeerAddr] = session.NewPeer(c, r.h, log)
	}
	ln, err := session.Listen(ctx, []string{listen}, func(a netip.Addr) *session.Peer { return r.peers[a] }, log)
	if err != nil {
		t.Fatal(err)
	}
	r.ln = ln
	r.port = int(ln.Addrs()[0].Port())
	var wg sync.WaitGroup
	for _, p := range r.peers {
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	return r
}

func peerCfg(addr string, asn uint32) session.Config {
	return session.Config{
		Name: addr, PeerAddr: netip.MustParseAddr(addr), LocalASN: 4200000000, PeerASN: asn,
		RouterID: netip.MustParseAddr("10.255.255.1"), HoldTime: 9 * time.Second, Passive: true,
		Families: [bgp.NumFamilies]bool{true, true}, AddPathRx: true, GracefulRestart: true,
		ConnectRetry: 200 * time.Millisecond,
	}
}

func startMember(t *testing.T, cfg member.Config) *member.Router {
	t.Helper()
	m, err := member.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func TestEstablishAndReceive(t *testing.T) {
	cases := []struct {
		name   string
		listen string
		rsAddr string
		local  string
		asn    uint32
		prefix string
	}{
		{"ipv4 transport, 4-octet AS", "127.0.0.1:0", "127.0.0.1", "127.0.0.2", 4200000001, "10.1.0.0/16"},
		{"ipv4 transport, 2-octet AS", "127.0.0.1:0", "127.0.0.1", "127.0.0.3", 65001, "10.2.0.0/16"},
		{"ipv6 transport", "[::1]:0", "::1", "::1", 4200000002, "2001:db8:1::/48"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRS(t, tc.listen, peerCfg(tc.local, tc.asn))
			m := startMember(t, member.Config{
				Name: "m", ASN: tc.asn, RouterID: netip.MustParseAddr("10.0.0.2"), LocalAddr: netip.MustParseAddr(tc.local),
				RSAddr: netip.MustParseAddr(tc.rsAddr), RSPort: r.port, RSASN: 4200000000,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.WaitEstablished(ctx); err != nil {
				t.Fatal(err)
			}
			p := netip.MustParsePrefix(tc.prefix)
			nh := netip.MustParseAddr(tc.local)
			if p.Addr().Is6() && nh.Is4() {
				nh = netip.MustParseAddr("2001:db8::2")
			}
			for i := 0; i < 3; i++ {
				q := netip.PrefixFrom(p.Addr(), p.Bits()+8)
				if p.Addr().Is4() {
					a := p.Addr().As4()
					a[2] = byte(i)
					q = netip.PrefixFrom(netip.AddrFrom4(a), 24)
				} else {
					a := p.Addr().As16()
					a[7] = byte(i)
					q = netip.PrefixFrom(netip.AddrFrom16(a), 64)
				}
				if err := m.Announce(ctx, member.Route{Prefix: q, NextHop: nh}); err != nil {
					t.Fatal(err)
				}
			}
			rstest.Eventually(t, 5*time.Second, func() bool { n, _, _, _ := r.h.snapshot(); return n == 3 }, "3 prefixes received")
			peer := r.peers[netip.MustParseAddr(tc.local)]
			if st := peer.State(); st != session.Established {
				t.Fatalf("state %v, want Established", st)
			}
			info := peer.Info()
			if info.Negotiated == nil || info.Negotiated.PeerASN != tc.asn {
				t.Fatalf("negotiated %+v", info.Negotiated)
			}
			if !info.Negotiated.Families[bgp.IPv4Unicast] || !info.Negotiated.Families[bgp.IPv6Unicast] {
				t.Errorf("families %v, want both", info.Negotiated.Families)
			}
			if !info.Negotiated.FourOctetAS || !info.Negotiated.RouteRefresh {
				t.Errorf("capabilities not negotiated: %+v", info.Negotiated)
			}
		})
	}
}

func TestRejectUnknownNeighbour(t *testing.T) {
	r := startRS(t, "127.0.0.1:0", peerCfg("127.0.0.2", 65001))
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _ := nc.Read(buf)
	if n < 21 || buf[18] != bgp.MsgNotification || buf[19] != bgp.ErrCease || buf[20] != bgp.CeaseConnRejected {
		t.Fatalf("want NOTIFICATION Cease/Connection Rejected, got % x", buf[:n])
	}
}

func TestHoldTimerExpiry(t *testing.T) {
	cfg := peerCfg("127.0.0.2", 65001)
	cfg.HoldTime = 3 * time.Second
	r := startRS(t, "127.0.0.1:0", cfg)
	// A raw speaker that completes the handshake and then goes silent.
	nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	open := gobgp.NewBGPOpenMessage(65001, 3, "10.0.0.2", nil)
	b, _ := open.Serialize()
	nc.Write(b)
	ka, _ := gobgp.NewBGPKeepAliveMessage().Serialize()
	nc.Write(ka)
	// Read until the NOTIFICATION arrives.
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got *gobgp.BGPNotification
	for got == nil {
		h := make([]byte, 19)
		if _, err := ioReadFull(nc, h); err != nil {
			t.Fatalf("reading: %v", err)
		}
		l := int(h[16])<<8 | int(h[17])
		body := make([]byte, l-19)
		if _, err := ioReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		if h[18] == gobgp.BGP_MSG_NOTIFICATION {
			got = &gobgp.BGPNotification{ErrorCode: body[0], ErrorSubcode: body[1]}
		}
	}
	if got.ErrorCode != bgp.ErrHoldTimer {
		t.Fatalf("want Hold Timer Expired, got code %d/%d", got.ErrorCode, got.ErrorSubcode)
	}
	rstest.Eventually(t, 5*time.Second, func() bool { _, _, d, _ := r.h.snapshot(); return len(d) == 1 }, "down event")
	_, _, downs, _ := r.h.snapshot()
	if downs[0].Sent == nil || downs[0].Sent.Code != bgp.ErrHoldTimer {
		t.Errorf("down event %+v, want hold timer", downs[0])
	}
	if downs[0].GracefulRestart {
		t.Errorf("graceful restart without the peer announcing it")
	}
}

func ioReadFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := nc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestCollisionResolvesToOneSession(t *testing.T) {
	for _, tc := range []struct {
		name     string
		memberID string // higher or lower than the RS's 10.255.255.1
	}{{"member id lower", "10.0.0.2"}, {"member id higher", "10.255.255.9"}} {
		t.Run(tc.name, func(t *testing.T) {
			// Both sides active: the RS connects to the member's listener and
			// the member connects to the RS.
			port := freePort(t, "127.0.0.4")
			cfg := peerCfg("127.0.0.4", 65004)
			cfg.Passive = false
			cfg.PeerPort = port
			cfg.ConnectRetry = 100 * time.Millisecond
			r := startRS(t, "127.0.0.1:0", cfg)
			m := startMember(t, member.Config{
				Name: "m", ASN: 65004, RouterID: netip.MustParseAddr(tc.memberID), LocalAddr: netip.MustParseAddr("127.0.0.4"),
				RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: r.port, RSASN: 4200000000, ListenPort: port,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := m.WaitEstablished(ctx); err != nil {
				t.Fatal(err)
			}
			peer := r.peers[netip.MustParseAddr("127.0.0.4")]
			rstest.Eventually(t, 10*time.Second, func() bool { return peer.State() == session.Established }, "RS side Established")
			// Stable: one session, still up a while later on both sides.
			// A test about time, on the real clock (the FSM's timers are
			// time's): the RS side is checked throughout 2 s (20 of its
			// connect-retry periods), no event marking the end of the
			// hazard.
			up, _ := m.Uptime(ctx)
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if peer.State() != session.Established {
					t.Fatalf("RS side left Established: %+v", peer.Info())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if up2, _ := m.Uptime(ctx); !up2.Equal(up) {
				t.Fatalf("member session flapped: uptime %v then %v", up, up2)
			}
			_, n, _, _ := r.h.snapshot()
			if n != 1 {
				t.Fatalf("%d established sessions, want 1", n)
			}
		})
	}
}

func freePort(t *testing.T, addr string) int {
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRouteRefresh(t *testing.T) {
	// Inbound: a ROUTE-REFRESH from the member reaches the handler, which
	// resends the Adj-RIB-Out.
	t.Run("request from member", func(t *testing.T) {
		r := startRS(t, "127.0.0.1:0", peerCfg("127.0.0.5", 65005))
		nc := rawEstablish(t, r.port, "127.0.0.5", 65005)
		rr := gobgp.NewBGPRouteRefreshMessage(gobgp.AFI_IP, 0, gobgp.SAFI_UNICAST)
		b, _ := rr.Serialize()
		nc.Write(b)
		rstest.Eventually(t, 5*time.Second, func() bool { _, _, _, n := r.h.snapshot(); return n == 1 }, "route refresh delivered")
	})
	// Outbound: soft clear in asks the member to resend its routes.
	t.Run("request to member", func(t *testing.T) {
		r := startRS(t, "127.0.0.1:0", peerCfg("127.0.0.8", 65008))
		m := startMember(t, member.Config{Name: "m", ASN: 65008, LocalAddr: netip.MustParseAddr("127.0.0.8"),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: r.port, RSASN: 4200000000})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.WaitEstablished(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.8.0.0/16")}); err != nil {
			t.Fatal(err)
		}
		peer := r.peers[netip.MustParseAddr("127.0.0.8")]
		rstest.Eventually(t, 5*time.Second, func() bool { return peer.Info().UpdIn >= 1 }, "first UPDATE")
		before := peer.Info().UpdIn
		if err := peer.SendRouteRefresh(bgp.IPv4Unicast); err != nil {
			t.Fatal(err)
		}
		rstest.Eventually(t, 5*time.Second, func() bool { return peer.Info().UpdIn > before }, "UPDATE resent after ROUTE-REFRESH")
	})
}

// rawEstablish brings a hand-driven speaker to Established and returns its
// connection; it answers nothing afterwards.
func rawEstablish(t *testing.T, port int, local string, asn uint32) net.Conn {
	t.Helper()
	nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return rawHandshake(t, nc, asn)
}

// rawOpen is an OPEN (and a KEEPALIVE after it) from asn.
func rawOpen(asn uint32) []byte {
	caps := []gobgp.ParameterCapabilityInterface{gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC), gobgp.NewCapRouteRefresh(), gobgp.NewCapFourOctetASNumber(asn)}
	myAS := uint16(asn)
	if asn > 0xffff {
		myAS = bgp.ASTrans
	}
	open := gobgp.NewBGPOpenMessage(myAS, 90, "10.0.0.99", []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
	b, _ := open.Serialize()
	ka, _ := gobgp.NewBGPKeepAliveMessage().Serialize()
	return append(b, ka...)
}

// rawHandshake sends OPEN and KEEPALIVE on nc and reads up to the
// route server's KEEPALIVE.
func rawHandshake(t *testing.T, nc net.Conn, asn uint32) net.Conn {
	t.Helper()
	nc.Write(rawOpen(asn))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h := make([]byte, 19)
		if _, err := ioReadFull(nc, h); err != nil {
			t.Fatalf("reading: %v", err)
		}
		body := make([]byte, int(h[16])<<8|int(h[17])-19)
		if _, err := ioReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		if h[18] == gobgp.BGP_MSG_NOTIFICATION {
			t.Fatalf("NOTIFICATION %d/%d during handshake", body[0], body[1])
		}
		if h[18] == gobgp.BGP_MSG_KEEPALIVE {
			nc.SetReadDeadline(time.Time{})
			return nc
		}
	}
}

func TestShutdownMessageBothWays(t *testing.T) {
	r := startRS(t, "127.0.0.1:0", peerCfg("127.0.0.6", 65006))
	m := startMember(t, member.Config{Name: "m", ASN: 65006, LocalAddr: netip.MustParseAddr("127.0.0.6"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: r.port, RSASN: 4200000000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	// Member → route server.
	const msg = "planned maintenance, ticket 4711 — back at 02:00"
	if err := m.Shutdown(ctx, msg); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 5*time.Second, func() bool { _, _, d, _ := r.h.snapshot(); return len(d) == 1 }, "down event")
	_, _, downs, _ := r.h.snapshot()
	got, ok := downs[0].Received.ShutdownMessage()
	if !ok || got != msg {
		t.Fatalf("received shutdown message %q (%v), want %q", got, ok, msg)
	}
	if downs[0].GracefulRestart {
		t.Errorf("an administrative shutdown must not keep routes as stale")
	}
	// Route server → member: enable again, then shut down from our side.
	if err := m.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	peer := r.peers[netip.MustParseAddr("127.0.0.6")]
	rstest.Eventually(t, 5*time.Second, func() bool { return peer.State() == session.Established }, "RS Established")
	peer.Shutdown("route server maintenance")
	// Shutdown returns once the session is down: the Handler has had
	// Down and Info shows the NOTIFICATION (no waiting here).
	_, _, downs, _ = r.h.snapshot()
	if len(downs) != 2 {
		t.Fatalf("Shutdown returned with %d down events, want 2", len(downs))
	}
	if info := peer.Info(); info.State == session.Established || info.LastNotifySent == nil ||
		info.LastNotifySent.String() != `Cease/Administrative Shutdown: "route server maintenance"` || info.DownSince.IsZero() {
		t.Fatalf("Info after Shutdown: %+v", info)
	}
	if got, _ := downs[1].Sent.ShutdownMessage(); got != "route server maintenance" {
		t.Fatalf("sent %v", downs[1].Sent)
	}
	if peer.State() != session.Idle && peer.State() != session.Active {
		t.Fatalf("state after shutdown %v", peer.State())
	}
	if !peer.AdminDown() {
		t.Fatal("peer not administratively down")
	}
}

func TestRoleMismatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		role    []byte // nil: no role capability
		strict  bool
		wantSub uint8 // 0: established
	}{
		{"rs-client accepted", []byte{bgp.RoleRSClient}, true, 0},
		{"no role, lenient", nil, false, 0},
		{"no role, strict", nil, true, bgp.ErrSubRoleMismatch},
		{"peer role mismatch", []byte{bgp.RolePeer}, false, bgp.ErrSubRoleMismatch},
		{"customer mismatch", []byte{bgp.RoleCustomer}, false, bgp.ErrSubRoleMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := peerCfg("127.0.0.7", 65007)
			cfg.RoleStrict = tc.strict
			r := startRS(t, "127.0.0.1:0", cfg)
			nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}}).Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			var caps []gobgp.ParameterCapabilityInterface
			if tc.role != nil {
				caps = append(caps, gobgp.NewCapUnknown(9, tc.role))
			}
			caps = append(caps, gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC))
			open := gobgp.NewBGPOpenMessage(65007, 90, "10.0.0.7", []gobgp.OptionParameterInterface{gobgp.NewOptionParameterCapability(caps)})
			b, _ := open.Serialize()
			nc.Write(b)
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			var sawOpen bool
			for {
				h := make([]byte, 19)
				if _, err := ioReadFull(nc, h); err != nil {
					t.Fatalf("reading: %v", err)
				}
				body := make([]byte, int(h[16])<<8|int(h[17])-19)
				if _, err := ioReadFull(nc, body); err != nil {
					t.Fatal(err)
				}
				switch h[18] {
				case gobgp.BGP_MSG_OPEN:
					sawOpen = true
				case gobgp.BGP_MSG_KEEPALIVE:
					if tc.wantSub != 0 {
						t.Fatal("session accepted, want Role Mismatch")
					}
					return
				case gobgp.BGP_MSG_NOTIFICATION:
					if tc.wantSub == 0 {
						t.Fatalf("NOTIFICATION %d/%d, want acceptance", body[0], body[1])
					}
					if body[0] != bgp.ErrOpen || body[1] != tc.wantSub || !sawOpen {
						t.Fatalf("NOTIFICATION %d/%d, want %d/%d", body[0], body[1], bgp.ErrOpen, tc.wantSub)
					}
					return
				}
			}
		})
	}
}
