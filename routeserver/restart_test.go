package routeserver_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
)

// grFed is a route server with gobgp members that announce graceful
// restart (helper), which the test restarts on the same port.
type grFed struct {
	t       *testing.T
	cfg     *conf.Config
	port    int
	srv     *routeserver.Server
	cancel  context.CancelFunc
	done    chan struct{}
	members map[string]*member.Router
}

func (g *grFed) start(restarted bool) {
	g.t.Helper()
	listen := "127.0.0.1:0"
	if g.port != 0 {
		listen = fmt.Sprintf("127.0.0.1:%d", g.port)
	}
	srv, err := routeserver.New(g.cfg, routeserver.Options{Log: rstest.StrictLog(g.t), Listen: []string{listen}, Restarted: restarted})
	if err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Listen(ctx); err != nil {
		cancel()
		g.t.Fatal(err)
	}
	g.srv, g.cancel, g.done = srv, cancel, make(chan struct{})
	done := g.done
	go func() { defer close(done); srv.Serve(ctx) }()
	g.port = int(srv.Addrs()[0].Port())
}

// stop ends the running server; a planned restart first when restart.
func (g *grFed) stop(restart bool) {
	if g.srv == nil {
		return
	}
	if restart {
		g.srv.PrepareRestart()
	} else {
		g.srv.Shutdown("route server shutting down (test)")
	}
	g.cancel()
	<-g.done
	g.srv = nil
}

func startGRFed(t *testing.T, specs []memberSpec, extra string) *grFed {
	t.Helper()
	for i := range specs {
		specs[i].Raw = true
	}
	text := rstest.Config(specs, extra)
	cfg, err := conf.Parse([]byte(text), "test.toml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	g := &grFed{t: t, cfg: cfg, members: map[string]*member.Router{}}
	g.start(false)
	t.Cleanup(func() { g.stop(false) })
	return g
}

func (g *grFed) startMember(m memberSpec) *member.Router {
	g.t.Helper()
	r, err := member.Start(context.Background(), member.Config{
		Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: g.port, RSASN: rstest.RSASN, Log: rstest.Log,
		GracefulRestart: true, RestartTime: 60 * time.Second,
	})
	if err != nil {
		g.t.Fatal(err)
	}
	g.members[m.Name] = r
	g.t.Cleanup(r.Stop)
	return r
}

func (g *grFed) neighbor(name string) routeserver.Neighbor {
	for _, n := range g.srv.Neighbors() {
		if n.Name == name {
			return n
		}
	}
	g.t.Fatalf("no neighbour %s", name)
	return routeserver.Neighbor{}
}

// TestGracefulRestartKeepsMembersRoutes restarts the route server the
// planned way: the members keep its routes while it is down (no
// NOTIFICATION), it comes back with the Restart State bit, collects their
// routes and End-of-RIBs before it sends anything, and the members'
// routes from it are never withdrawn (a poller watches them throughout).
func TestGracefulRestartKeepsMembersRoutes(t *testing.T) {
	specs := []memberSpec{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"},
	}
	g := startGRFed(t, specs, "graceful_restart_time = \"30s\"\ngraceful_restart_eor_wait = \"60s\"")
	ctx := ctxT(t)
	a, b := g.startMember(specs[0]), g.startMember(specs[1])
	for _, r := range []*member.Router{a, b} {
		if err := r.WaitEstablished(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pa, pb := pfx("10.1.0.0/16"), pfx("10.2.0.0/16")
	if err := a.Announce(ctx, member.Route{Prefix: pa, ASPath: []uint32{65010}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Announce(ctx, member.Route{Prefix: pb, ASPath: []uint32{65020}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "10.1.0.0/16", has(pa)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitFor(ctx, "10.2.0.0/16", has(pb)); err != nil {
		t.Fatal(err)
	}

	// Watch the routes the members hold from the route server from now
	// until the end of the restart: a withdrawal would show as a gap.
	var gaps atomic.Int64
	var polls atomic.Int64
	pollCtx, stopPoll := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range []struct {
		r *member.Router
		p netip.Prefix
	}{{b, pa}, {a, pb}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pollCtx.Err() == nil {
				rs, err := w.r.Received(pollCtx)
				if err == nil {
					polls.Add(1)
					if _, ok := member.Find(rs, w.p); !ok {
						gaps.Add(1)
					}
				}
				time.Sleep(5 * time.Millisecond) // polling interval, not a wait for a condition
			}
		}()
	}

	_, recvBefore := b.Notifications()
	g.stop(true)
	// The route server is down: the members still hold its routes.
	for _, w := range []struct {
		r *member.Router
		p netip.Prefix
	}{{b, pa}, {a, pb}} {
		rs, err := w.r.Received(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := member.Find(rs, w.p); !ok {
			t.Errorf("%s dropped %s while the route server restarted: %s", w.r.Name(), w.p, member.Summary(rs, 5))
		}
	}
	if _, recv := b.Notifications(); len(recv) != len(recvBefore) {
		t.Errorf("a planned restart sent a NOTIFICATION: %v", recv[len(recvBefore):])
	}

	g.start(true)
	if !g.srv.Deferring() {
		t.Fatal("after a planned restart the route server does not defer its exports")
	}
	start := time.Now()
	rstest.Eventually(t, 15*time.Second, func() bool { return !g.srv.Deferring() },
		"the route server to end its deferral on the members' End-of-RIBs (graceful_restart_eor_wait is 60s)")
	t.Logf("deferral ended %s after the restart", time.Since(start).Round(time.Millisecond))
	for _, name := range []string{"nhs-a 127.0.0.11", "nhs-b 127.0.0.12"} {
		n := g.neighbor(name)
		info := n.Peer.Info()
		if info.Negotiated == nil || !info.Negotiated.GracefulRestart {
			t.Errorf("%s: graceful restart not negotiated after the restart", name)
		}
		if n.Peer.Restarting() {
			t.Errorf("%s: the Restart State bit would still be set in the next OPEN", name)
		}
	}
	// The routes are re-sent (UPDATEs after the deferral) and still there.
	rstest.Eventually(t, 10*time.Second, func() bool {
		return g.neighbor("nhs-b 127.0.0.12").Peer.Info().UpdOut > 0 && g.neighbor("nhs-a 127.0.0.11").Peer.Info().UpdOut > 0
	}, "the route server to send its routes after the deferral")
	if _, err := b.WaitFor(ctx, "10.1.0.0/16", has(pa)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitFor(ctx, "10.2.0.0/16", has(pb)); err != nil {
		t.Fatal(err)
	}
	stopPoll()
	wg.Wait()
	if polls.Load() == 0 {
		t.Fatal("the poller never read the members' routes")
	}
	if n := gaps.Load(); n > 0 {
		t.Errorf("the members' routes from the route server were missing in %d of %d polls during the restart (a flap)", n, polls.Load())
	}
}

// TestGracefulRestartDefersUntilEORWait: a configured member that does not
// come back holds the route server's exports until
// graceful_restart_eor_wait, not longer.
func TestGracefulRestartDefersUntilEORWait(t *testing.T) {
	specs := []memberSpec{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13"}, // never connects
	}
	const wait = 12 * time.Second
	g := startGRFed(t, specs, fmt.Sprintf("graceful_restart_eor_wait = %q", wait.String()))
	ctx := ctxT(t)
	a, b := g.startMember(specs[0]), g.startMember(specs[1])
	pa := pfx("10.1.0.0/16")
	if err := a.Announce(ctx, member.Route{Prefix: pa, ASPath: []uint32{65010}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "10.1.0.0/16", has(pa)); err != nil {
		t.Fatal(err)
	}
	g.stop(true)
	g.start(true)
	started := time.Now()
	// Both members come back and send their routes; the route server has
	// nhs-a's route but sends nothing while council-c is awaited.
	rstest.Eventually(t, wait, func() bool {
		st := g.srv.RIB().Stats(g.neighbor("nhs-a 127.0.0.11").Source)
		return st.Up && st.Received[0]+st.Received[1] > 0 && g.neighbor("nhs-b 127.0.0.12").Peer.State().String() == "Established"
	}, "both members back with their routes")
	if time.Since(started) < wait-500*time.Millisecond {
		if !g.srv.Deferring() {
			t.Fatal("the route server ended its deferral while council-c's End-of-RIB was still awaited")
		}
		if n := g.neighbor("nhs-b 127.0.0.12").Peer.Info().UpdOut; n != 0 {
			t.Fatalf("the route server sent %d UPDATEs to nhs-b during its deferral", n)
		}
	}
	rstest.Eventually(t, wait+5*time.Second, func() bool { return !g.srv.Deferring() }, "the deferral to end at graceful_restart_eor_wait")
	if el := time.Since(started); el < wait-time.Second {
		t.Errorf("deferral ended after %s, before graceful_restart_eor_wait (%s)", el, wait)
	}
	if _, err := b.WaitFor(ctx, "10.1.0.0/16", has(pa)); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 5*time.Second, func() bool { return g.neighbor("nhs-b 127.0.0.12").Peer.Info().UpdOut > 0 },
		"UPDATEs to nhs-b after the deferral")
}

// TestStopDropsMembersRoutes: a plain stop (Shutdown, as SIGTERM does)
// still makes the members drop the route server's routes.
func TestStopDropsMembersRoutes(t *testing.T) {
	specs := []memberSpec{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"},
	}
	g := startGRFed(t, specs, "")
	ctx := ctxT(t)
	a, b := g.startMember(specs[0]), g.startMember(specs[1])
	pa := pfx("10.1.0.0/16")
	if err := a.Announce(ctx, member.Route{Prefix: pa, ASPath: []uint32{65010}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "10.1.0.0/16", has(pa)); err != nil {
		t.Fatal(err)
	}
	g.stop(false)
	if _, err := b.WaitFor(ctx, "10.1.0.0/16 dropped", hasNot(pa)); err != nil {
		t.Fatal(err)
	}
}
