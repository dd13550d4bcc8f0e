package routeserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

const rsASN = rstest.RSASN

type memberSpec = rstest.Member

func startFed(t *testing.T, specs []memberSpec, extra string) *rstest.Fed {
	t.Helper()
	return rstest.Start(t, specs, extra, routeserver.Options{})
}

func ctxT(t *testing.T) context.Context { return rstest.Ctx(t) }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

var (
	has    = rstest.Has
	hasNot = rstest.HasNot
)

func threeMembers() []memberSpec { return rstest.Three() }

func u32(v uint32) *uint32 { return &v }

func TestTransparentPropagation(t *testing.T) {
	f := startFed(t, threeMembers(), "")
	ctx := ctxT(t)
	a := f.Members["nhs-a"]
	p := pfx("10.1.0.0/16")
	if err := a.Announce(ctx, member.Route{Prefix: p, ASPath: []uint32{65010}, MED: u32(70)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nhs-b", "council-c"} {
		rs, err := f.Members[name].WaitFor(ctx, "10.1.0.0/16", has(p))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := member.Find(rs, p)
		if !slices.Equal(r.ASPath, []uint32{4200000001, 65010}) {
			t.Errorf("%s: AS_PATH %v, want [4200000001 65010] (no route server AS)", name, r.ASPath)
		}
		if r.NextHop != netip.MustParseAddr("127.0.0.11") {
			t.Errorf("%s: NEXT_HOP %v, want 127.0.0.11 (unchanged)", name, r.NextHop)
		}
		if r.MED == nil || *r.MED != 70 {
			t.Errorf("%s: MED %v, want 70 (unchanged)", name, r.MED)
		}
	}
	// Own route rule: A does not get its own route back.
	if rs, _ := a.Received(ctx); len(rs) != 0 {
		t.Errorf("nhs-a received its own routes: %s", member.Summary(rs, 5))
	}
	// Withdrawal propagates.
	if err := a.Withdraw(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nhs-b", "council-c"} {
		if _, err := f.Members[name].WaitFor(ctx, "withdrawal of 10.1.0.0/16", hasNot(p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSessionDropWithdraws(t *testing.T) {
	f := startFed(t, threeMembers(), "")
	ctx := ctxT(t)
	a := f.Members["nhs-a"]
	for _, s := range []string{"10.2.0.0/16", "10.3.0.0/16", "2001:db8:a::/48"} {
		rt := member.Route{Prefix: pfx(s)}
		if pfx(s).Addr().Is6() {
			continue // IPv6 over IPv4 transport is covered in TestIPv6
		}
		if err := a.Announce(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	c := f.Members["council-c"]
	if _, err := c.WaitFor(ctx, "both prefixes", func(rs []member.Route) bool { return len(rs) == 2 }); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	if _, err := c.WaitFor(ctx, "routes of the dropped member withdrawn", func(rs []member.Route) bool { return len(rs) == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestLoopRule(t *testing.T) {
	f := startFed(t, threeMembers(), "[policy.checks]\nmember_leak = \"off\"\n")
	ctx := ctxT(t)
	// A announces a path that contains C's AS: C must not receive it, B must.
	p := pfx("10.4.0.0/16")
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p, ASPath: []uint32{4200000003, 65099}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "10.4.0.0/16", has(p)); err != nil {
		t.Fatal(err)
	}
	// B holds it; C must not — and cannot have got it earlier than B, as
	// both are sent from one RIB pass. Check C's table now and once more
	// after a marker route from A has reached it.
	marker := pfx("10.5.0.0/16")
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: marker}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.Members["council-c"].WaitFor(ctx, "marker", has(marker))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := member.Find(rs, p); ok {
		t.Fatalf("council-c received a route whose AS_PATH contains its own AS")
	}
}

func TestPathHiding(t *testing.T) {
	f := startFed(t, threeMembers(), "")
	ctx := ctxT(t)
	p := pfx("10.6.0.0/16")
	// A's route is better (shorter path) but tells the route server not to
	// announce it to C (large community RS:0:C). B's route is worse.
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p,
		Large: []string{fmt.Sprintf("%d:0:%d", rsASN, 4200000003)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Members["nhs-b"].Announce(ctx, member.Route{Prefix: p, ASPath: []uint32{65020, 65021}}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.Members["council-c"].WaitFor(ctx, "B's route for 10.6.0.0/16", func(rs []member.Route) bool {
		r, ok := member.Find(rs, p)
		return ok && len(r.ASPath) > 0 && r.ASPath[0] == 4200000002
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := member.Find(rs, p)
	if r.NextHop != netip.MustParseAddr("127.0.0.12") {
		t.Errorf("next hop %v, want B's 127.0.0.12", r.NextHop)
	}
	// B gets A's (better) route.
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "A's route at B", func(rs []member.Route) bool {
		r, ok := member.Find(rs, p)
		return ok && r.ASPath[0] == 4200000001
	}); err != nil {
		t.Fatal(err)
	}
	// The route server's action community is stripped on export.
	rb, _ := f.Members["nhs-b"].Received(ctx)
	r, _ = member.Find(rb, p)
	for _, l := range r.Large {
		if strings.HasPrefix(l, fmt.Sprintf("%d:0:", rsASN)) {
			t.Errorf("route server action community %s leaked to nhs-b", l)
		}
	}
	// When B withdraws, C has nothing left to receive.
	if err := f.Members["nhs-b"].Withdraw(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["council-c"].WaitFor(ctx, "withdrawal at C", hasNot(p)); err != nil {
		t.Fatal(err)
	}
}

func TestIPv6(t *testing.T) {
	specs := threeMembers()
	for i := range specs {
		specs[i].Extra = fmt.Sprintf("next_hops = [\"2001:db8:ffff::%d\"]", i+1)
	}
	f := startFed(t, specs, "")
	ctx := ctxT(t)
	p := pfx("2001:db8:a::/48")
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p, NextHop: netip.MustParseAddr("2001:db8:ffff::1"), MED: u32(5)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nhs-b", "council-c"} {
		rs, err := f.Members[name].WaitFor(ctx, "2001:db8:a::/48", has(p))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := member.Find(rs, p)
		if r.NextHop != netip.MustParseAddr("2001:db8:ffff::1") || !slices.Equal(r.ASPath, []uint32{4200000001}) || r.MED == nil || *r.MED != 5 {
			t.Errorf("%s: got %v", name, r)
		}
	}
	if err := f.Members["nhs-a"].Withdraw(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["council-c"].WaitFor(ctx, "IPv6 withdrawal", hasNot(p)); err != nil {
		t.Fatal(err)
	}
}

func TestManyRoutes(t *testing.T) {
	f := startFed(t, threeMembers(), "")
	ctx := ctxT(t)
	a := f.Members["nhs-a"]
	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100 + byte(i/256), byte(i % 256), 0}), 24)
			errs <- a.Announce(ctx, member.Route{Prefix: p})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Members["council-c"].WaitFor(ctx, fmt.Sprintf("%d routes", n), func(rs []member.Route) bool { return len(rs) == n }); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageOnThePort(t *testing.T) {
	specs := append(threeMembers(), memberSpec{Name: "raw", ASN: 65009, Addr: "127.0.0.20", Raw: true})
	f := startFed(t, specs, "")
	ctx := ctxT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	open := func(asn uint16) []byte {
		return bgp.AppendMessage(nil, bgp.MsgOpen, []byte{4, byte(asn >> 8), byte(asn), 0, 90, 10, 0, 0, 20, 0})
	}
	ka := bgp.AppendMessage(nil, bgp.MsgKeepalive, nil)
	marker := func(n int) []byte { return append(bytes.Repeat([]byte{0xff}, 16), byte(n>>8), byte(n)) }
	cases := []struct {
		name, from string
		data       []byte
	}{
		{"random bytes from an unknown address", "127.0.0.99", garbage(3000)},
		{"random bytes from a configured neighbour", "127.0.0.20", garbage(3000)},
		{"OPEN then random bytes", "127.0.0.20", append(open(65009), garbage(2000)...)},
		{"OPEN, KEEPALIVE, then a huge length", "127.0.0.20", append(append(open(65009), ka...), append(marker(65535), 2)...)},
		{"OPEN, KEEPALIVE, then a truncated UPDATE", "127.0.0.20", append(append(open(65009), ka...), append(marker(40), 2, 0, 0, 0)...)},
		{"OPEN, KEEPALIVE, then an UPDATE of garbage", "127.0.0.20", append(append(open(65009), ka...), append(append(marker(19+200), 2), garbage(200)...)...)},
		{"OPEN with a wrong AS", "127.0.0.20", open(65010)},
		{"short header", "127.0.0.20", []byte{0xff, 0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.from)}}).Dial("tcp", fmt.Sprintf("127.0.0.1:%d", f.Port))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write(tc.data)
			if tcp, ok := nc.(*net.TCPConn); ok {
				tcp.CloseWrite()
			}
			// The route server answers (or not) and closes: reading ends.
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("connection not closed by the route server: %v", err)
			}
		})
	}
	// The real sessions are unaffected and still carry routes.
	p := pfx("10.77.0.0/16")
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["council-c"].WaitFor(ctx, "route after the garbage", has(p)); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	specs := threeMembers()
	f := startFed(t, specs, "")
	ctx := ctxT(t)
	// council-d joins later by reload; its router starts now (and is
	// refused until then) because gobgp's StartBgp writes a package global
	// that running instances read: start all speakers before routes flow.
	d := memberSpec{Name: "council-d", ASN: 4200000004, Addr: "127.0.0.14"}
	dr := f.StartMember(d)
	p := pfx("10.30.0.0/16")
	if err := f.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "10.30.0.0/16", has(p)); err != nil {
		t.Fatal(err)
	}
	upB, _ := f.Members["nhs-b"].Uptime(ctx)
	upA, _ := f.Members["nhs-a"].Uptime(ctx)

	reload := func(specs []memberSpec) routeserver.ReloadResult {
		t.Helper()
		cfg, err := conf.Parse([]byte(rstest.Config(specs, "")), "test.toml")
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.Srv.Reload(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// 1. A policy change: nhs-a may no longer announce 10.30.0.0/16. The
	// route is filtered from the Adj-RIB-In without asking A to resend,
	// and withdrawn from the others; no session resets.
	s1 := threeMembers()
	s1[0].Extra = `[member.policy]
max_length_v4 = 12`
	res := reload(s1)
	if res.Reevaluated == 0 || res.SessionsReset != 0 {
		t.Fatalf("reload result %+v: want verdicts changed and no session reset", res)
	}
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "10.30.0.0/16 withdrawn after the policy change", hasNot(p)); err != nil {
		t.Fatal(err)
	}
	if up, _ := f.Members["nhs-b"].Uptime(ctx); !up.Equal(upB) {
		t.Errorf("nhs-b's session was reset by a policy reload")
	}
	if up, _ := f.Members["nhs-a"].Uptime(ctx); !up.Equal(upA) {
		t.Errorf("nhs-a's session was reset by a policy reload")
	}
	// And back: accepted again, from the Adj-RIB-In.
	reload(threeMembers())
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "10.30.0.0/16 back after reverting", has(p)); err != nil {
		t.Fatal(err)
	}

	// 2. A new member joins and gets the table; C leaves and its session
	// closes with its routes.
	q := pfx("10.31.0.0/16")
	if err := f.Members["council-c"].Announce(ctx, member.Route{Prefix: q}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "C's route", has(q)); err != nil {
		t.Fatal(err)
	}
	res = reload([]memberSpec{specs[0], specs[1], d})
	if res.SessionsAdded != 1 || res.SessionsRemoved != 1 {
		t.Fatalf("reload result %+v: want one session added and one removed", res)
	}
	if err := dr.WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dr.WaitFor(ctx, "the new member receives A's route", has(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Members["nhs-b"].WaitFor(ctx, "the removed member's route withdrawn", hasNot(q)); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool {
		st, _ := f.Members["council-c"].State(ctx)
		return st != "ESTABLISHED"
	}, "the removed member's session to go down")
	if up, _ := f.Members["nhs-b"].Uptime(ctx); !up.Equal(upB) {
		t.Errorf("nhs-b's session was reset by adding and removing other members")
	}

	// 3. A broken configuration is refused and the running one stays.
	bad := []memberSpec{specs[0], specs[1], {Name: "Bad Name", ASN: 0, Addr: "127.0.0.15"}}
	cfg, err := conf.Parse([]byte(rstest.Config(bad, "")), "bad.toml")
	if err == nil {
		if _, err = f.Srv.Reload(cfg); err == nil {
			t.Fatal("broken configuration accepted")
		}
	}
	if got := len(f.Srv.Config().Members); got != 3 || f.Srv.Config().Members[2].Name != "council-d" {
		t.Fatalf("running configuration changed after a refused reload: %d members", got)
	}
}
