package session_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
)

// startClient runs a member's end (RSClient) that connects to port.
func startClient(t *testing.T, port int) (*session.Peer, *recorder) {
	t.Helper()
	h := newRecorder()
	p := session.NewPeer(session.Config{
		Name: "client", PeerAddr: netip.MustParseAddr("127.0.0.1"), PeerPort: port,
		LocalAddr: netip.MustParseAddr("127.0.0.21"), LocalASN: 65021, PeerASN: 4200000000,
		RouterID: netip.MustParseAddr("10.0.0.21"), HoldTime: 9 * time.Second, ConnectRetry: 200 * time.Millisecond,
		Families: [bgp.NumFamilies]bool{true, true}, RSClient: true,
	}, h, testLog)
	ctx, cancel := context.WithCancel(context.Background())
	go p.Run(ctx)
	t.Cleanup(func() { cancel(); <-p.Done() })
	return p, h
}

// TestRSClientRole: a member's end announces rs-client and accepts the
// route server's rs; each side records the other's role.
func TestRSClientRole(t *testing.T) {
	cfg := peerCfg("127.0.0.21", 65021)
	cfg.RoleStrict = true
	r := startRS(t, "127.0.0.1:0", cfg)
	client, h := startClient(t, r.port)
	rstest.Eventually(t, 10*time.Second, func() bool {
		_, up, _, _ := r.h.snapshot()
		_, cup, _, _ := h.snapshot()
		return up == 1 && cup == 1
	}, "the session to come up on both ends")

	if n := client.Info().Negotiated; !n.HasRole || n.PeerRole != bgp.RoleRS {
		t.Errorf("the member's end negotiated role %v %d, want rs", n.HasRole, n.PeerRole)
	}
	if n := r.peers[cfg.PeerAddr].Info().Negotiated; !n.HasRole || n.PeerRole != bgp.RoleRSClient {
		t.Errorf("the route server negotiated role %v %d, want rs-client", n.HasRole, n.PeerRole)
	}
}

// TestRSClientRoleMismatch: a member's end refuses a peer that announces
// a role other than rs (here another member's end, rs-client).
func TestRSClientRoleMismatch(t *testing.T) {
	cfg := peerCfg("127.0.0.21", 65021)
	cfg.RSClient = true
	r := startRS(t, "127.0.0.1:0", cfg)
	client, _ := startClient(t, r.port)
	rstest.Eventually(t, 10*time.Second, func() bool {
		n := client.Info().LastNotifySent
		return n != nil && n.Code == bgp.ErrOpen && n.Subcode == bgp.ErrSubRoleMismatch
	}, "a Role Mismatch NOTIFICATION from the member's end")

	if _, up, _, _ := r.h.snapshot(); up != 0 {
		t.Error("the session came up")
	}
}
