package lab

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
)

var allMemberBinaries = []string{"ip", "bird", "birdc", "vtysh", "bgpd", "bgpctl", "gobgpd", "gobgp", "exabgp"}

// checkTransparent checks, for every member, that it received every other
// member's announcements exactly as a transparent route server passes
// them: AS_PATH as the announcer sent it, NEXT_HOP the announcer's LAN
// address, communities and large communities intact, and, for receivers
// where wantOTC says so, OTC set to the route server's ASN (RFC 9234
// egress to an RS-Client).
func checkTransparent(t *testing.T, ctx context.Context, l *Lab, wantOTC func(recv *Member) bool) {
	t.Helper()
	topo := l.Topology
	for _, recv := range topo.Members {
		if recv.ExpectDown {
			continue
		}
		routes, err := l.Routes(ctx, recv.Name)
		if err != nil {
			t.Errorf("%s: %v", recv.Name, err)
			continue
		}
		got := map[netip.Prefix]Route{}
		for _, r := range routes {
			if _, dup := got[r.Prefix]; dup {
				t.Errorf("%s received %s twice", recv.Name, r.Prefix)
			}
			got[r.Prefix] = r
		}
		want := 0
		for _, from := range topo.Members {
			if from.Name == recv.Name || from.ExpectDown {
				continue
			}
			for _, p := range from.Announce {
				if !recv.HasFamily(p.Family()) || slices.Contains(p.WireASPath(from.ASN), recv.ASN) {
					if _, ok := got[p.Prefix]; ok {
						t.Errorf("%s received %s, which it has no session for or which loops through its ASN", recv.Name, p.Prefix)
					}
					continue
				}
				want++
				r, ok := got[p.Prefix]
				if !ok {
					t.Errorf("%s (%s) did not receive %s from %s (%s)", recv.Name, recv.Daemon, p.Prefix, from.Name, from.Daemon)
					continue
				}
				where := fmt.Sprintf("%s (%s) received %s from %s (%s)", recv.Name, recv.Daemon, p.Prefix, from.Name, from.Daemon)
				if wp := p.WireASPath(from.ASN); !slices.Equal(r.ASPath, wp) {
					t.Errorf("%s with AS_PATH %v, want %v", where, r.ASPath, wp)
				}
				nh := from.IPv4
				if p.Family() == FamilyIPv6 {
					nh = from.IPv6
				}
				if r.NextHop != nh {
					t.Errorf("%s with NEXT_HOP %s, want %s", where, r.NextHop, nh)
				}
				for _, c := range p.Communities {
					if !slices.Contains(r.Communities, c) {
						t.Errorf("%s without community %s (has %v)", where, c, r.Communities)
					}
				}
				for _, c := range p.LargeCommunities {
					if !slices.Contains(r.LargeCommunities, c) {
						t.Errorf("%s without large community %s (has %v)", where, c, r.LargeCommunities)
					}
				}
				if wantOTC(&recv) && r.OTC != topo.RouteServer.ASN {
					t.Errorf("%s with OTC %d, want %d", where, r.OTC, topo.RouteServer.ASN)
				}
				wantFrom := topo.RouteServer.IPv4
				if p.Family() == FamilyIPv6 {
					wantFrom = topo.RouteServer.IPv6
				}
				if r.From != wantFrom {
					t.Errorf("%s over the session with %s, want %s", where, r.From, wantFrom)
				}
			}
		}
		if len(got) != want {
			t.Errorf("%s received %d prefixes, want %d: %v", recv.Name, len(got), want, routes)
		}
	}
}

// runHarness brings up testdata/harness.toml with the given route server
// kind and checks sessions and routes from every member's side.
func runHarness(t *testing.T, rsKind, name string, mutate func(*Topology)) {
	runTopology(t, "testdata/harness.toml", rsKind, name, mutate)
}

func runTopology(t *testing.T, file, rsKind, name string, mutate func(*Topology)) {
	interop.Require(t, true, allMemberBinaries...)
	topo, err := ReadTopology(file)
	if err != nil {
		t.Fatal(err)
	}
	topo.Name = name
	topo.RouteServer.Kind = rsKind
	if mutate != nil {
		mutate(topo)
	}
	root := runRoot(t)
	ensureTeardown(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()

	start := time.Now()
	l, err := Up(ctx, topo, Options{RunRoot: root, WaitTimeout: 40 * time.Second, Logger: testLog(t)})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() {
		if keepLabs() {
			return
		}
		if err := l.Down(context.Background()); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	t.Logf("all sessions established after %s", time.Since(start).Round(time.Millisecond))

	for _, n := range l.Nodes() {
		sess, err := l.Sessions(ctx, n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		for _, s := range sess {
			t.Logf("%s → %s %s: %s %s", n, s.PeerName, s.Peer, s.State, s.Info)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := l.WaitConverged(wctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("converged after %s", time.Since(start).Round(time.Millisecond))
	if r, err := l.Routes(ctx, "m-frr"); err == nil {
		var buf strings.Builder
		WriteRoutes(&buf, r)
		t.Logf("m-frr received:\n%s", buf.String())
	}
	checkTransparent(t, ctx, l, func(recv *Member) bool {
		switch rsKind {
		case KindBIRD:
			return true // BIRD adds OTC towards every member (its own role is rs_server)
		case KindOpenBGPD:
			return recv.Role != RoleNone // only where the role was negotiated
		}
		return false // gobgpd 3.10 has no roles
	})

	// The route server's own view, where the kind can report it: every
	// member's announcements, received from that member.
	rsRoutes, err := l.Routes(ctx, rsNode)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range topo.Members {
		total += len(m.Announce)
	}
	if len(rsRoutes) != total {
		t.Errorf("route server holds %d routes, want %d", len(rsRoutes), total)
	}
}

// TestHarnessBIRDRouteServer validates the harness with BIRD as the route
// server (a table per member) and one member of each daemon kind.
func TestHarnessBIRDRouteServer(t *testing.T) {
	runHarness(t, KindBIRD, "hbird", nil)
}

// TestHarnessOpenBGPDRouteServer runs the same federation with OpenBGPD
// in route-server mode (transparent-as, rde evaluate all).
func TestHarnessOpenBGPDRouteServer(t *testing.T) {
	runHarness(t, KindOpenBGPD, "hobgpd", nil)
}

// TestHarnessGoBGPRouteServer runs it with gobgpd and route-server
// clients.
func TestHarnessGoBGPRouteServer(t *testing.T) {
	runHarness(t, KindGoBGP, "hgobgp", nil)
}

// TestExampleTopologyUp brings up the documented example: a v4-only
// OpenBGPD member with a 4-octet ASN, FRR in role strict mode, and a leak
// that the leaked-from member drops by its own loop check.
func TestExampleTopologyUp(t *testing.T) {
	runTopology(t, "topologies/example.toml", KindBIRD, "texample", nil)
}

// TestHarnessBIRDSingleTable runs it with BIRD's single-table layout.
func TestHarnessBIRDSingleTable(t *testing.T) {
	runHarness(t, KindBIRD, "hbird1", func(topo *Topology) { topo.RouteServer.SingleTable = true })
}

// TestScenario runs a scenario against a transparent route server, with
// one deliberately wrong expectation that must fail with a clear message.
func TestScenario(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "vtysh", "gobgpd", "gobgp")
	sc, err := ReadScenario("testdata/scenario-transparent.toml")
	if err != nil {
		t.Fatal(err)
	}
	wrong := Expectation{Description: "deliberately wrong", Member: "b", Prefix: netip.MustParsePrefix("10.1.0.0/24"),
		From: "c", ASPath: []uint32{65001, 65001}}
	sc.Expect = append(sc.Expect, wrong)
	sc.Settle = "15s" // the wrong expectation keeps the wait going this long
	root := runRoot(t)
	ensureTeardown(t, sc.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	results, err := RunScenario(ctx, sc, Options{RunRoot: root, WaitTimeout: 30 * time.Second, Logger: testLog(t), KeepOnFailure: keepLabs()})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := WriteResults(&buf, results); err != nil {
		t.Fatal(err)
	}
	t.Logf("results:\n%s", buf.String())
	for _, r := range results[:len(results)-1] {
		if r.Status != "PASS" {
			t.Errorf("%s: %s %s", r.Expectation, r.Status, r.Detail)
		}
	}
	last := results[len(results)-1]
	if last.Status != "FAIL" || !strings.Contains(last.Detail, "next hop 198.18.0.11 is not c's 198.18.0.13") ||
		!strings.Contains(last.Detail, "AS_PATH is 65001, want 65001 65001") {
		t.Errorf("wrong expectation: %s %q", last.Status, last.Detail)
	}
	if Passed(results) {
		t.Error("Passed() with a failing expectation")
	}
	if !strings.Contains(buf.String(), fmt.Sprintf("%d of %d expectations passed", len(results)-1, len(results))) {
		t.Errorf("summary line missing:\n%s", buf.String())
	}
	if ns, _ := listNamespaces(labNSPrefix(sc.Name)); len(ns) != 0 {
		t.Errorf("namespaces left after the scenario: %v", ns)
	}
}
