package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/session"
	"golang.org/x/sys/unix"
)

// logLines is a slog handler that keeps every record's message and
// attributes (as text) for the test to count, and passes them on to
// testLog's handler.
type logLines struct {
	mu    sync.Mutex
	lines []string
	attrs []slog.Attr
	root  *logLines
}

func newLogLines() (*logLines, *slog.Logger) {
	h := &logLines{}
	h.root = h
	return h, slog.New(h)
}

func (h *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (h *logLines) WithAttrs(as []slog.Attr) slog.Handler {
	return &logLines{root: h.root, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}
func (h *logLines) WithGroup(string) slog.Handler { return h }
func (h *logLines) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		b.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	h.root.mu.Lock()
	h.root.lines = append(h.root.lines, b.String())
	h.root.mu.Unlock()
	if r.Level >= slog.LevelWarn {
		return testLog.Handler().Handle(ctx, r)
	}
	return nil
}

// matching returns the lines containing s.
func (h *logLines) matching(s string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// TestConnectionLimitPerNeighbour: 50 connections from a configured
// neighbour's address that never send an OPEN: at most 2 stay open, the
// others are closed at once, the refusals are logged once, and the real
// member still establishes (taking the place of a silent connection).
func TestConnectionLimitPerNeighbour(t *testing.T) {
	lines, log := newLogLines()
	r := startRSLog(t, "127.0.0.1:0", log, peerCfg("127.0.0.2", 65001))
	peer := r.peers[netip.MustParseAddr("127.0.0.2")]
	const n = 50
	var closed atomic.Int32
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for i := 0; i < n; i++ {
		nc, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		go func() {
			// Read (the route server's OPEN, a NOTIFICATION) until the
			// connection ends.
			io.Copy(io.Discard, nc)
			closed.Add(1)
		}()
	}
	rstest.Eventually(t, 5*time.Second, func() bool { return closed.Load() >= n-2 }, fmt.Sprintf("%d of the %d silent connections closed", n-2, n))
	if c := closed.Load(); c != n-2 {
		t.Fatalf("%d of %d silent connections closed, want %d (2 kept for collision detection)", c, n, n-2)
	}
	if got := peer.RefusedConns(); got != n-2 {
		t.Errorf("RefusedConns = %d, want %d", got, n-2)
	}
	if l := lines.matching("connection"); len(lines.matching("oldest connection on which the neighbour has sent nothing")) != 1 {
		t.Errorf("want one log line for the %d refusals, got:\n%s", n-2, strings.Join(l, "\n"))
	}

	m := startMember(t, member.Config{
		Name: "m", ASN: 65001, RouterID: netip.MustParseAddr("10.0.0.2"), LocalAddr: netip.MustParseAddr("127.0.0.2"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: r.port, RSASN: 4200000000,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.WaitEstablished(ctx); err != nil {
		t.Fatalf("the member did not establish past the silent connections: %v", err)
	}
	// Established: the silent connection left is closed as a collision.
	rstest.Eventually(t, 5*time.Second, func() bool { return closed.Load() == n }, "every silent connection closed")
}

// dialTTL connects from local to the route server sending with the given
// TTL (the SYN included).
func dialTTL(t *testing.T, port int, local string, ttl int) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, ttl) })
		return errors.Join(err, serr)
	}}
	nc, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// TestGTSMCheckedOnTheSYN: a connection to a GTSM neighbour (hops 1:
// minimum TTL 255) whose packets carry TTL 64 is closed before anything
// it sent is read: the route server sends nothing on it (not even its
// OPEN), the session never leaves Active, and the log says the TTL was
// too low. With TTL 255 the session establishes. (On lo the TTL set by
// the sender arrives unchanged.)
func TestGTSMCheckedOnTheSYN(t *testing.T) {
	cfg := peerCfg("127.0.0.4", 65004)
	cfg.GTSM, cfg.GTSMHops = true, 1
	lines, log := newLogLines()
	r := startRSLog(t, "127.0.0.1:0", log, cfg)
	peer := r.peers[cfg.PeerAddr]

	nc := dialTTL(t, r.port, "127.0.0.4", 64)
	nc.Write(rawOpen(65004)) // queued before the route server's accept returns
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("TTL 64: want the connection closed, got %v after % x", err, got)
	}
	if len(got) != 0 {
		t.Fatalf("TTL 64: the route server answered with %d octets (% x); want the connection closed unanswered", len(got), got[:min(len(got), 32)])
	}
	if l := lines.matching("TTL too low"); len(l) != 1 || !strings.Contains(l[0], "ttl=64") || !strings.Contains(l[0], "min_ttl=255") {
		t.Fatalf("log lines about the low TTL: %q, want one naming ttl=64 and min_ttl=255", l)
	}
	if st := peer.State(); st != session.Active {
		t.Fatalf("state %v after the TTL 64 connection, want Active", st)
	}
	if info := peer.Info(); info.MsgIn != 0 || info.MsgOut != 0 {
		t.Fatalf("messages in %d, out %d on the TTL 64 connection; want none", info.MsgIn, info.MsgOut)
	}
	if got := r.ln.Refused()[session.RefusedTTL]; got != 1 {
		t.Fatalf("refused (ttl) = %d, want 1", got)
	}

	rawHandshake(t, dialTTL(t, r.port, "127.0.0.4", 255), 65004)
	rstest.Eventually(t, 5*time.Second, func() bool { return peer.State() == session.Established }, "Established with TTL 255")
}

// TestRefusedUnconfiguredRateLimited: 3,000 connections from an address
// that is no neighbour are all refused and counted, in a bounded number
// of log lines: one for the address and summary lines counting the rest.
func TestRefusedUnconfiguredRateLimited(t *testing.T) {
	lines, log := newLogLines()
	r := startRSLog(t, "127.0.0.1:0", log, peerCfg("127.0.0.2", 65001))
	const n = 3000
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.99")}}
	var wg sync.WaitGroup
	var failed atomic.Int32
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				nc, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
				if err != nil {
					failed.Add(1)
					continue
				}
				nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, nc) // the NOTIFICATION, then EOF
				nc.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d connections could not be made", f, n)
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return r.ln.Refused()[session.RefusedUnconfigured] == n }, fmt.Sprintf("%d refusals counted", n))
	r.ln.Close() // logs the summary still pending
	per := lines.matching("not a configured neighbour")
	sums := lines.matching("connections from addresses that are not configured neighbours refused in the last")
	if len(per) != 1 || !strings.Contains(per[0], "127.0.0.99") {
		t.Errorf("%d lines per address (first: %q), want 1 naming 127.0.0.99", len(per), append(per, "")[0])
	}
	total := 0
	for _, s := range sums {
		var k int
		fmt.Sscanf(s, "WARN %d connections", &k)
		total += k
	}
	if len(sums) == 0 || len(sums) > 3 || total != n-1 {
		t.Errorf("summary lines %q: want 1 to 3 counting %d together", sums, n-1)
	}
}
