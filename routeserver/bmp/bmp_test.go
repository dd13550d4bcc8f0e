package bmp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// pmbmpd is a running pmacct BMP collector writing its message log as
// JSON lines.
type pmbmpd struct {
	addr string
	log  string
	out  *bytes.Buffer
}

// startPmbmpd runs pmbmpd on ip (a free port) until the test ends.
func startPmbmpd(t *testing.T, ip string) *pmbmpd {
	t.Helper()
	bin, err := interop.LookPath("pmbmpd")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	p := &pmbmpd{addr: fmt.Sprintf("%s:%d", ip, port), log: filepath.Join(dir, "bmp.json"), out: &bytes.Buffer{}}
	cfg := fmt.Sprintf("bmp_daemon_ip: %s\nbmp_daemon_port: %d\nbmp_daemon_msglog_file: %s\nbmp_daemon_msglog_output: json\nbmp_daemon_max_peers: 10\n",
		ip, port, p.log)
	cf := filepath.Join(dir, "pmbmpd.conf")
	if err := os.WriteFile(cf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", cf)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("pmbmpd output:\n%s\nmessage log:\n%s", p.out, b)
		}
	})
	return p
}

// messages returns pmbmpd's message log so far.
func (p *pmbmpd) messages(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open(p.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls the message log until cond holds.
func (p *pmbmpd) waitFor(t *testing.T, what string, cond func([]map[string]any) bool) []map[string]any {
	t.Helper()
	var ms []map[string]any
	rstest.EventuallyErr(t, 20*time.Second, func() error {
		if ms = p.messages(t); !cond(ms) {
			return fmt.Errorf("%d messages logged", len(ms))
		}
		return nil
	}, "pmbmpd to log "+what)
	return ms
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(int64(v))
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// find returns the messages matching every key=value of kv.
func find(ms []map[string]any, kv ...string) []map[string]any {
	var out []map[string]any
next:
	for _, m := range ms {
		for i := 0; i+1 < len(kv); i += 2 {
			if str(m, kv[i]) != kv[i+1] {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func has(kv ...string) func([]map[string]any) bool {
	return func(ms []map[string]any) bool { return len(find(ms, kv...)) > 0 }
}

// startFed runs the three-member federation with a streamer toward
// collector (bmpExtra: more [[bmp]] keys), and the streamer itself;
// stop stops the streamer (Termination) and is also run at cleanup.
func startFed(t *testing.T, collector, bmpExtra string) (fed *rstest.Fed, st *bmp.Streamer, stop func()) {
	t.Helper()
	specs := rstest.Three()
	specs[1].Extra = `next_hops = ["2001:db8:ffff::12"]`
	text := rstest.Config(specs, fmt.Sprintf("[[bmp]]\nname = \"test\"\naddress = %q\nconnect_retry = \"1s\"\n%s\n", collector, bmpExtra))
	cfg, err := conf.Parse([]byte(text), "test.toml")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	st = bmp.New(cfg, bmp.Options{Log: rstest.Log, SysName: "fedrs-test"})
	fed = rstest.StartConfig(t, cfg, specs, routeserver.Options{Monitors: []routeserver.Monitor{st}})
	st.Attach(fed.Srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the streamer did not stop within 10s")
			}
		})
	}
	t.Cleanup(stop)
	return fed, st, stop
}

// waitStatus polls the streamer's status until cond holds.
func waitStatus(t *testing.T, st *bmp.Streamer, what string, cond func(bmp.Status) bool) bmp.Status {
	t.Helper()
	var s bmp.Status
	rstest.EventuallyErr(t, 20*time.Second, func() error {
		if s = st.Status()[0]; !cond(s) {
			return fmt.Errorf("%+v", s)
		}
		return nil
	}, "collector status: "+what)
	return s
}

// TestPmbmpd streams to a real collector: the routes present when it
// connects (initial dump) and the ones that follow, in the three views,
// then a Peer Down.
func TestPmbmpd(t *testing.T) {
	interop.Require(t, false, "pmbmpd")
	col := startPmbmpd(t, "127.0.0.50")
	fed, st, stopStreamer := startFed(t, col.addr, "")
	ctx := rstest.Ctx(t)
	a, b := fed.Members["nhs-a"], fed.Members["nhs-b"]
	// Before the collector has synced (it retries every second until
	// pmbmpd listens): these reach it in the initial dump.
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65010}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(ctx, member.Route{Prefix: pfx("172.16.0.0/16")}); err != nil { // not allowed: filtered
		t.Fatal(err)
	}
	if err := b.Announce(ctx, member.Route{Prefix: pfx("2001:db8:b::/48"), NextHop: netip.MustParseAddr("2001:db8:ffff::12")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Members["council-c"].WaitFor(ctx, "the routes", func(rs []member.Route) bool { return len(rs) == 2 }); err != nil {
		t.Fatal(err)
	}

	ms := col.waitFor(t, "route monitoring of 10.1.0.0/16 and 2001:db8:b::/48", func(ms []map[string]any) bool {
		return has("ip_prefix", "10.1.0.0/16")(ms) && has("ip_prefix", "2001:db8:b::/48")(ms)
	})
	ms = col.waitFor(t, "peer up of all three members", func(ms []map[string]any) bool {
		return has("bmp_msg_type", "peer_up", "peer_ip", "127.0.0.11")(ms) && has("bmp_msg_type", "peer_up", "peer_ip", "127.0.0.12")(ms) &&
			has("bmp_msg_type", "peer_up", "peer_ip", "127.0.0.13")(ms)
	})
	if len(find(ms, "bmp_msg_type", "init")) == 0 {
		t.Errorf("no Initiation logged")
	}
	up := find(ms, "bmp_msg_type", "peer_up", "peer_ip", "127.0.0.11")[0]
	if str(up, "peer_asn") != "4200000001" {
		t.Errorf("peer up of nhs-a: peer_asn %q, want 4200000001: %v", str(up, "peer_asn"), up)
	}
	rm := find(ms, "ip_prefix", "10.1.0.0/16", "peer_ip", "127.0.0.11")
	if len(rm) == 0 {
		t.Fatalf("no route monitoring of 10.1.0.0/16 from 127.0.0.11")
	}
	for _, m := range rm {
		if str(m, "as_path") != "4200000001 65010" || str(m, "bgp_nexthop") != "127.0.0.11" {
			t.Errorf("10.1.0.0/16: as_path %q next hop %q, want \"4200000001 65010\" and 127.0.0.11: %v", str(m, "as_path"), str(m, "bgp_nexthop"), m)
		}
	}
	v6 := find(ms, "ip_prefix", "2001:db8:b::/48")
	if len(v6) == 0 || str(v6[0], "bgp_nexthop") != "2001:db8:ffff::12" {
		t.Errorf("2001:db8:b::/48: %v, want next hop 2001:db8:ffff::12", v6)
	}
	// The filtered route is in the pre-policy view only: never announced
	// after policy nor in the Loc-RIB.
	if len(find(ms, "ip_prefix", "172.16.0.0/16", "is_post", "0", "log_type", "update")) == 0 {
		t.Errorf("filtered route 172.16.0.0/16 missing from the pre-policy view")
	}
	if m := find(ms, "ip_prefix", "172.16.0.0/16", "is_post", "1", "log_type", "update"); len(m) > 0 {
		t.Errorf("filtered route announced in the post-policy view: %v", m)
	}
	if m := find(ms, "ip_prefix", "172.16.0.0/16", "is_loc", "1", "log_type", "update"); len(m) > 0 {
		t.Errorf("filtered route announced in the Loc-RIB: %v", m)
	}
	// Accepted routes in all three views.
	for _, view := range [][]string{{"is_post", "0"}, {"is_post", "1"}, {"is_loc", "1"}} {
		if len(find(ms, "ip_prefix", "10.1.0.0/16", view[0], view[1], "log_type", "update", "as_path", "4200000001 65010")) == 0 {
			t.Errorf("10.1.0.0/16 missing from the view %s=%s", view[0], view[1])
		}
	}
	if len(find(ms, "bmp_msg_type", "peer_up", "peer_type", "3", "bgp_id", "10.255.255.254")) == 0 {
		t.Errorf("no Loc-RIB peer up (RFC 9069)")
	}
	if sts := st.Status(); len(sts) != 1 || !sts[0].Up() || sts[0].Connects != 1 || sts[0].QueueDrops != 0 {
		t.Errorf("status %+v, want one collector up, connected once, no drops", sts)
	}

	// Live: a new route, then a session going down.
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.9.0.0/16"), ASPath: []uint32{65099}}); err != nil {
		t.Fatal(err)
	}
	col.waitFor(t, "route monitoring of 10.9.0.0/16", has("ip_prefix", "10.9.0.0/16", "as_path", "4200000001 65099"))
	fed.Members["council-c"].Stop()
	col.waitFor(t, "peer down of 127.0.0.13", has("bmp_msg_type", "peer_down", "peer_ip", "127.0.0.13"))
	// Shutdown: Termination.
	fed.Stop()
	stopStreamer()
	col.waitFor(t, "termination", has("bmp_msg_type", "term"))
}

// goCollector is a BMP collector built on gobgp's decoder: it records the
// messages of every connection, or (stalled) accepts and never reads.
type goCollector struct {
	ln    net.Listener
	mu    sync.Mutex
	conns [][]*gobmp.BMPMessage
	errs  []error
	stall atomic.Bool
	held  []net.Conn
}

func startGoCollector(t *testing.T, ip string, stall bool) *goCollector {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	c := &goCollector{ln: ln}
	c.stall.Store(stall)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, h := range c.held {
			h.Close()
		}
		c.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.held = append(c.held, conn)
			if c.stall.Load() {
				// Accept, never read: the route server's writes back up.
				conn.(*net.TCPConn).SetReadBuffer(4096)
				c.conns = append(c.conns, nil)
				c.mu.Unlock()
				continue
			}
			i := len(c.conns)
			c.conns = append(c.conns, nil)
			c.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := bufio.NewScanner(conn)
				sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
				sc.Split(gobmp.SplitBMP)
				for sc.Scan() {
					m, err := gobmp.ParseBMPMessage(append([]byte(nil), sc.Bytes()...))
					c.mu.Lock()
					if err != nil {
						c.errs = append(c.errs, err)
					} else {
						c.conns[i] = append(c.conns[i], m)
					}
					c.mu.Unlock()
				}
			}()
		}
	}()
	return c
}

func (c *goCollector) addr() string { return c.ln.Addr().String() }

// connection returns the messages of connection i so far.
func (c *goCollector) connection(i int) ([]*gobmp.BMPMessage, int, []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.conns) {
		return nil, len(c.conns), c.errs
	}
	return append([]*gobmp.BMPMessage(nil), c.conns[i]...), len(c.conns), c.errs
}

// waitFor polls connection i's messages until cond holds.
func (c *goCollector) waitFor(t *testing.T, i int, what string, cond func([]*gobmp.BMPMessage) bool) []*gobmp.BMPMessage {
	t.Helper()
	var ms []*gobmp.BMPMessage
	rstest.EventuallyErr(t, 20*time.Second, func() error {
		var n int
		var errs []error
		ms, n, errs = c.connection(i)
		if len(errs) > 0 {
			t.Fatalf("collector could not decode: %v", errs)
		}
		if !cond(ms) {
			return fmt.Errorf("connection %d of %d, %d messages", i+1, n, len(ms))
		}
		return nil
	}, "the collector to receive "+what)
	return ms
}

// eor reports whether m is an End-of-RIB for family rf.
func eor(m *gobmp.BMPMessage, rf bgp.RouteFamily) bool {
	rm, ok := m.Body.(*gobmp.BMPRouteMonitoring)
	if !ok {
		return false
	}
	u, ok := rm.BGPUpdate.Body.(*bgp.BGPUpdate)
	if !ok {
		return false
	}
	is, f := u.IsEndOfRib()
	return is && f == rf
}

// prefixesOf lists the prefixes announced in a Route Monitoring message.
func prefixesOf(m *gobmp.BMPMessage) []string {
	rm, ok := m.Body.(*gobmp.BMPRouteMonitoring)
	if !ok {
		return nil
	}
	u := rm.BGPUpdate.Body.(*bgp.BGPUpdate)
	var out []string
	for _, n := range u.NLRI {
		out = append(out, n.String())
	}
	for _, a := range u.PathAttributes {
		if mp, ok := a.(*bgp.PathAttributeMpReachNLRI); ok {
			for _, n := range mp.Value {
				out = append(out, n.String())
			}
		}
	}
	return out
}

// TestInitialState checks the shape of a connection with gobgp's decoder:
// Initiation first; the Loc-RIB's Peer Up with its table name; each
// member's Peer Up (with the session's OPENs) before its routes; an
// End-of-RIB per peer, view and family after the dump.
func TestInitialState(t *testing.T) {
	col := startGoCollector(t, "127.0.0.51", false)
	fed, _, stop := startFed(t, col.addr(), "")
	ctx := rstest.Ctx(t)
	if err := fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if err := fed.Members["nhs-b"].Announce(ctx, member.Route{Prefix: pfx("2001:db8:b::/48"), NextHop: netip.MustParseAddr("2001:db8:ffff::12")}); err != nil {
		t.Fatal(err)
	}
	count := func(ms []*gobmp.BMPMessage, f func(*gobmp.BMPMessage) bool) int {
		n := 0
		for _, m := range ms {
			if f(m) {
				n++
			}
		}
		return n
	}
	isEoR := func(m *gobmp.BMPMessage) bool { return eor(m, bgp.RF_IPv4_UC) || eor(m, bgp.RF_IPv6_UC) }
	// 3 members × 2 views × 2 families + Loc-RIB × 2 families.
	ms := col.waitFor(t, 0, "14 End-of-RIB markers", func(ms []*gobmp.BMPMessage) bool { return count(ms, isEoR) >= 14 })
	if ms[0].Header.Type != gobmp.BMP_MSG_INITIATION {
		t.Errorf("first message is type %d, want Initiation", ms[0].Header.Type)
	}
	seenUp := map[string]bool{}
	for _, m := range ms {
		addr := m.PeerHeader.PeerAddress.String()
		switch m.Header.Type {
		case gobmp.BMP_MSG_PEER_UP_NOTIFICATION:
			up := m.Body.(*gobmp.BMPPeerUpNotification)
			if m.PeerHeader.PeerType == gobmp.BMP_PEER_TYPE_LOCAL_RIB {
				addr = "loc-rib"
				if up.SentOpenMsg == nil || up.ReceivedOpenMsg == nil {
					t.Errorf("Loc-RIB peer up without OPENs")
				}
			} else if open, ok := up.ReceivedOpenMsg.Body.(*bgp.BGPOpen); !ok || open.ID.String() != addr {
				t.Errorf("peer up of %s: received OPEN %v, want the member's (BGP ID %s)", addr, up.ReceivedOpenMsg, addr)
			}
			seenUp[addr] = true
		case gobmp.BMP_MSG_ROUTE_MONITORING:
			if m.PeerHeader.PeerType == gobmp.BMP_PEER_TYPE_LOCAL_RIB {
				addr = "loc-rib"
			}
			if !seenUp[addr] {
				t.Errorf("route monitoring for %s before its peer up", addr)
			}
		}
	}
	for _, a := range []string{"loc-rib", "127.0.0.11", "127.0.0.12", "127.0.0.13"} {
		if !seenUp[a] {
			t.Errorf("no peer up for %s", a)
		}
	}
	col.waitFor(t, 0, "10.1.0.0/16 and 2001:db8:b::/48 in three views each", func(ms []*gobmp.BMPMessage) bool {
		return count(ms, func(m *gobmp.BMPMessage) bool { return slices.Contains(prefixesOf(m), "10.1.0.0/16") }) >= 3 &&
			count(ms, func(m *gobmp.BMPMessage) bool { return slices.Contains(prefixesOf(m), "2001:db8:b::/48") }) >= 3
	})
	stop()
	col.waitFor(t, 0, "termination", func(ms []*gobmp.BMPMessage) bool {
		return len(ms) > 0 && ms[len(ms)-1].Header.Type == gobmp.BMP_MSG_TERMINATION
	})
}

// TestOverflow: a collector that stops reading. The RIB's events never
// wait for it; its queue overflows, the connection is dropped and
// counted, the route server carries on, and when the collector reads
// again it gets the full state on a new connection.
func TestOverflow(t *testing.T) {
	col := startGoCollector(t, "127.0.0.52", true)
	fed, st, _ := startFed(t, col.addr(), "queue = 64")
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, st, "connection", func(s bmp.Status) bool { return s.State == "up" })
	// Drive the streamer as the RIB does, far faster than anyone reads.
	held := fed.Srv.RIB().Lookup(pfx("10.1.0.0/16"), rib.Exact)
	if len(held) != 1 {
		t.Fatalf("RIB holds %d routes for 10.1.0.0/16", len(held))
	}
	r := held[0]
	// Events come in bursts of 32, each after the previous one is sent, as
	// long as the collector keeps up: the socket buffers fill, the
	// writer blocks, and a burst finds the queue full.
	start := time.Now()
	events := 0
	for st.Status()[0].QueueDrops == 0 {
		if time.Since(start) > 20*time.Second || events > 5_000_000 {
			t.Fatalf("no overflow after %d events and %v: %+v", events, time.Since(start), st.Status()[0])
		}
		for range 32 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(events >> 8), byte(events)}), 32)
			st.RouteEvent(&rib.RouteEvent{Source: r.Source, Family: r.Family, Prefix: p, Attrs: r.Attrs, Verdict: r.Verdict, Cause: "update"})
			events++
		}
		// Pacing of the load generator, not a wait: the next burst goes
		// once this one is sent, or after 100 ms when the collector does
		// not keep up (polled every 1 ms: rstest.Until's 5 ms would slow
		// the bursts that fill the socket buffers).
		for wait := time.Now(); st.Status()[0].QueueLen > 0 && time.Since(wait) < 100*time.Millisecond; {
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("overflow after %d events in %v", events, time.Since(start))
	s := waitStatus(t, st, "drop", func(s bmp.Status) bool { return s.QueueDrops == 1 && s.State != "up" })
	if !strings.Contains(s.LastError, "queue overflow") {
		t.Errorf("last error %q, want the queue overflow", s.LastError)
	}
	// The drop is in the metrics.
	rec := httptest.NewRecorder()
	api.New(fed.Srv, api.Options{BMP: st, Log: rstest.Log}).Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`fedrs_bmp_queue_drops_total{collector="test"} 1`, `fedrs_bmp_up{address="` + col.addr() + `",collector="test"} 0`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The route server is unaffected.
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Members["council-c"].WaitFor(ctx, "10.2.0.0/16", rstest.Has(pfx("10.2.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	// The collector reads again: a new connection with the full state.
	col.stall.Store(false)
	waitStatus(t, st, "reconnection", func(s bmp.Status) bool { return s.Connects >= 2 && s.State == "up" })
	_, n, _ := col.connection(0)
	col.waitFor(t, n-1, "the full state", func(ms []*gobmp.BMPMessage) bool {
		got := map[string]bool{}
		for _, m := range ms {
			for _, p := range prefixesOf(m) {
				got[p] = true
			}
		}
		return len(ms) > 0 && ms[0].Header.Type == gobmp.BMP_MSG_INITIATION && got["10.1.0.0/16"] && got["10.2.0.0/16"]
	})
}

// TestUnreachableCollector: nobody listens. The route server runs as
// usual and the status says why the collector is down.
func TestUnreachableCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.53:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fed, st, _ := startFed(t, addr, "")
	ctx := rstest.Ctx(t)
	if err := fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, st, "connection error", func(s bmp.Status) bool { return s.LastError != "" })
	if !strings.Contains(s.LastError, "connect to "+addr) || !strings.Contains(s.LastError, "refused") {
		t.Errorf("last error %q, want a refused connection to %s", s.LastError, addr)
	}
}
