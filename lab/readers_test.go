package lab

import (
	"net/netip"
	"os"
	"slices"
	"testing"
)

// The files in testdata/readers are real outputs captured from the
// harness lab (testdata/harness.toml, BIRD route server): m-bird's birdc,
// m-frr's vtysh, m-openbgpd's bgpctl, m-gobgp's gobgp and m-exabgp's
// received.jsonl. These tests pin the parsers to them without needing the
// daemons.

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/readers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func harnessNodes(t *testing.T) map[string]*node {
	t.Helper()
	topo, err := ReadTopology("testdata/harness.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*node{}
	for _, n := range buildNodes(topo, "/run/fedrs-lab/harness", &Options{}) {
		out[n.Name] = n
	}
	return out
}

func findRoute(t *testing.T, routes []Route, prefix string) Route {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	for _, r := range routes {
		if r.Prefix == p {
			return r
		}
	}
	t.Fatalf("no route for %s in %v", prefix, routes)
	return Route{}
}

func wantRoute(t *testing.T, who string, got Route, asPath []uint32, nextHop, from string, comms []string, large []string, otc uint32) {
	t.Helper()
	if !slices.Equal(got.ASPath, asPath) {
		t.Errorf("%s %s: AS_PATH %v, want %v", who, got.Prefix, got.ASPath, asPath)
	}
	if got.NextHop != netip.MustParseAddr(nextHop) {
		t.Errorf("%s %s: NEXT_HOP %s, want %s", who, got.Prefix, got.NextHop, nextHop)
	}
	if got.From != netip.MustParseAddr(from) {
		t.Errorf("%s %s: from %s, want %s", who, got.Prefix, got.From, from)
	}
	var gc, gl []string
	for _, c := range got.Communities {
		gc = append(gc, c.String())
	}
	for _, c := range got.LargeCommunities {
		gl = append(gl, c.String())
	}
	// Daemons order communities differently: compare as sets.
	slices.Sort(gc)
	slices.Sort(gl)
	comms, large = slices.Sorted(slices.Values(comms)), slices.Sorted(slices.Values(large))
	if !slices.Equal(gc, comms) {
		t.Errorf("%s %s: communities %v, want %v", who, got.Prefix, gc, comms)
	}
	if !slices.Equal(gl, large) {
		t.Errorf("%s %s: large communities %v, want %v", who, got.Prefix, gl, large)
	}
	if got.OTC != otc {
		t.Errorf("%s %s: OTC %d, want %d", who, got.Prefix, got.OTC, otc)
	}
}

func TestParseBird(t *testing.T) {
	nodes := harnessNodes(t)
	var routes []Route
	for _, r := range parseBirdRoutes(string(readFile(t, "bird-member-show-route-all.txt"))) {
		if p, ok := nodes["m-bird"].peerByID(r.proto); ok {
			r.From = p.Remote
			routes = append(routes, r.Route)
		} else if r.proto != "own_v4" && r.proto != "own_v6" {
			t.Errorf("route from unexpected protocol %s", r.proto)
		}
	}
	if len(routes) != 8 {
		t.Errorf("%d received routes, want 8", len(routes))
	}
	wantRoute(t, "bird", findRoute(t, routes, "10.2.0.0/24"), []uint32{65002, 65020, 65021}, "198.18.0.12", "198.18.0.1",
		[]string{"65002:200"}, []string{"65002:1:1", "64500:0:65003"}, 64500)
	wantRoute(t, "bird", findRoute(t, routes, "2001:db8:4::/48"), []uint32{4200000004}, "2001:db8:ffff::14", "2001:db8:ffff::1",
		[]string{"65535:0"}, nil, 64500)

	sess := parseBirdProtocols(string(readFile(t, "bird-rs-show-protocols.txt")), nodes["rs"])
	if len(sess) != 10 {
		t.Fatalf("route server sessions: %d, want 10: %v", len(sess), sess)
	}
	for _, s := range sess {
		if !s.Established || s.State != "Established" {
			t.Errorf("session %v not established", s)
		}
	}
	if sess[0].Peer != netip.MustParseAddr("198.18.0.11") || sess[0].PeerASN != 65001 {
		t.Errorf("first session %+v, want m-bird 198.18.0.11 AS65001", sess[0])
	}
	down := parseBirdProtocols("m_m_bird_v4 BGP        ---        start  08:16:33.933  Active        Socket: Connection refused\n", nodes["rs"])
	if len(down) != 1 || down[0].Established || down[0].State != "Active" || down[0].Info != "Socket: Connection refused" {
		t.Errorf("active session parsed as %+v", down)
	}
}

func TestParseFRR(t *testing.T) {
	routes, err := parseFRRPrefixes(readFile(t, "frr-prefixes.json"))
	if err != nil {
		t.Fatal(err)
	}
	// FRR adds NO_EXPORT to a received BLACKHOLE route (RFC 7999 §3.2).
	wantRoute(t, "frr", findRoute(t, routes, "10.1.0.0/24"), []uint32{65001}, "198.18.0.11", "198.18.0.1",
		[]string{"65001:100", "65535:666", "65535:65281"}, []string{"64500:1:65002"}, 64500)
	// FRR prints 65535:0 as "gracefulShutdown".
	wantRoute(t, "frr", findRoute(t, routes, "2001:db8:4::/48"), []uint32{4200000004}, "2001:db8:ffff::14", "2001:db8:ffff::1",
		[]string{"65535:0"}, nil, 64500)
	// Global and link-local next hop: the global one.
	wantRoute(t, "frr", findRoute(t, routes, "2001:db8:1::/48"), []uint32{65001, 65001, 65001}, "2001:db8:ffff::11", "2001:db8:ffff::1",
		nil, []string{"65001:7:7"}, 64500)

	sess, err := parseFRRNeighbors(readFile(t, "frr-neighbors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sess) != 2 {
		t.Fatalf("sessions %v", sess)
	}
	for _, s := range sess {
		if !s.Established || s.PeerASN != 64500 {
			t.Errorf("session %+v", s)
		}
	}
}

func TestParseBgpctl(t *testing.T) {
	routes, err := parseBgpctlRIB(readFile(t, "bgpctl-rib-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 8 {
		t.Errorf("%d received routes (the member's own are LOCAL and skipped), want 8", len(routes))
	}
	wantRoute(t, "bgpctl", findRoute(t, routes, "10.5.0.0/24"), []uint32{65005, 65005, 65050}, "198.18.0.15", "198.18.0.1",
		[]string{"65005:500"}, nil, 64500)
	wantRoute(t, "bgpctl", findRoute(t, routes, "10.1.0.0/24"), []uint32{65001}, "198.18.0.11", "198.18.0.1",
		[]string{"65001:100", "65535:666"}, []string{"64500:1:65002"}, 64500)
	sess, err := parseBgpctlNeighbors(readFile(t, "bgpctl-neighbor.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sess) != 2 || !sess[0].Established || !sess[1].Established {
		t.Errorf("sessions %+v", sess)
	}
}

func TestParseGoBGP(t *testing.T) {
	routes, err := parseGoBGPRib(readFile(t, "gobgp-adj-in-ipv4.json"), netip.MustParseAddr("198.18.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	wantRoute(t, "gobgp", findRoute(t, routes, "10.2.0.0/24"), []uint32{65002, 65020, 65021}, "198.18.0.12", "198.18.0.1",
		[]string{"65002:200"}, []string{"65002:1:1", "64500:0:65003"}, 64500)
	routes6, err := parseGoBGPRib(readFile(t, "gobgp-adj-in-ipv6.json"), netip.MustParseAddr("2001:db8:ffff::1"))
	if err != nil {
		t.Fatal(err)
	}
	wantRoute(t, "gobgp", findRoute(t, routes6, "2001:db8:5::/48"), []uint32{65005}, "2001:db8:ffff::15", "2001:db8:ffff::1",
		nil, []string{"65005:5:5"}, 64500)
	sess, err := parseGoBGPNeighbors(readFile(t, "gobgp-neighbor.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sess) != 2 || !sess[0].Established || sess[0].State != "Established" {
		t.Errorf("sessions %+v", sess)
	}
}

func TestParseExaBGP(t *testing.T) {
	sess, ribs, err := exaReplay("testdata/readers/exabgp-received.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rs4, rs6 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("2001:db8:ffff::1")
	if !sess[rs4].Established || !sess[rs6].Established {
		t.Errorf("sessions %+v", sess)
	}
	var routes []Route
	for _, rib := range ribs {
		for _, r := range rib {
			routes = append(routes, r)
		}
	}
	if len(routes) != 8 {
		t.Errorf("%d routes, want 8", len(routes))
	}
	wantRoute(t, "exabgp", findRoute(t, routes, "10.1.0.0/24"), []uint32{65001}, "198.18.0.11", "198.18.0.1",
		[]string{"65001:100", "65535:666"}, []string{"64500:1:65002"}, 64500)
	// Announced with a global and a link-local next hop: the global one.
	wantRoute(t, "exabgp", findRoute(t, routes, "2001:db8:2::/48"), []uint32{65002, 65002}, "2001:db8:ffff::12", "2001:db8:ffff::1",
		nil, nil, 64500)

	// A withdrawal and a session going down are replayed too.
	dir := t.TempDir()
	lines := string(readFile(t, "exabgp-received.jsonl")) +
		`{ "type": "update", "neighbor": { "address": { "local": "198.18.0.15", "peer": "198.18.0.1" }, "message": { "update": { "withdraw": { "ipv4 unicast": [ { "nlri": "10.1.0.0/24" } ] } } } } }` + "\n" +
		`{ "type": "state", "neighbor": { "address": { "local": "2001:db8:ffff::15", "peer": "2001:db8:ffff::1" }, "asn": { "peer": 64500 }, "state": "down" } }` + "\n"
	if err := os.WriteFile(dir+"/r.jsonl", []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	sess, ribs, err = exaReplay(dir + "/r.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if sess[rs6].Established || !sess[rs4].Established {
		t.Errorf("after down: %+v", sess)
	}
	if _, ok := ribs[rs4][netip.MustParsePrefix("10.1.0.0/24")]; ok {
		t.Error("withdrawn route still present")
	}
	if len(ribs[rs6]) != 0 {
		t.Errorf("routes of a session that went down still present: %v", ribs[rs6])
	}
}

func TestCommunities(t *testing.T) {
	for in, want := range map[string]string{
		"65001:100": "65001:100", "blackhole": "65535:666", "BLACKHOLE": "65535:666",
		"gracefulShutdown": "65535:0", "graceful-shutdown": "65535:0", "GRACEFUL_SHUTDOWN": "65535:0",
		"noExport": "65535:65281", "NO_EXPORT": "65535:65281", "no-advertise": "65535:65282",
	} {
		c, err := ParseCommunity(in)
		if err != nil || c.String() != want {
			t.Errorf("ParseCommunity(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, bad := range []string{"65536:1", "1:65536", "x", "1:2:3", ""} {
		if _, err := ParseCommunity(bad); err == nil {
			t.Errorf("ParseCommunity(%q) accepted", bad)
		}
	}
	if c, err := ParseLargeCommunity("4200000000:1:2"); err != nil || c != (LargeCommunity{4200000000, 1, 2}) {
		t.Errorf("ParseLargeCommunity: %v %v", c, err)
	}
	for _, bad := range []string{"1:2", "1:2:3:4", "4294967296:1:1", "a:b:c"} {
		if _, err := ParseLargeCommunity(bad); err == nil {
			t.Errorf("ParseLargeCommunity(%q) accepted", bad)
		}
	}
}

// TestParseMED reads the MULTI_EXIT_DISC of received routes: present
// (here 0, as the announcer of 10.2.0.0/24 sent it) or absent, for each
// daemon whose capture has both; bgpctl prints a MED for every route.
func TestParseMED(t *testing.T) {
	med := func(what string, routes []Route, prefix string, want *uint32) {
		t.Helper()
		r := findRoute(t, routes, prefix)
		switch {
		case r.MED == nil && want == nil:
		case r.MED == nil || want == nil || *r.MED != *want:
			t.Errorf("%s %s: MED %s, want %s", what, prefix, fmtMED(r.MED), fmtMED(want))
		}
	}
	zero := uint32(0)
	var bird []Route
	for _, r := range parseBirdRoutes(string(readFile(t, "bird-member-show-route-all.txt"))) {
		bird = append(bird, r.Route)
	}
	med("bird", bird, "10.2.0.0/24", &zero)
	med("bird", bird, "10.1.0.0/24", nil)
	gobgp, err := parseGoBGPRib(readFile(t, "gobgp-adj-in-ipv4.json"), netip.MustParseAddr("198.18.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	med("gobgp", gobgp, "10.2.0.0/24", &zero)
	med("gobgp", gobgp, "10.1.0.0/24", nil)
	// FRR's capture has no MED: the nexthops' IGP "metric" is not one.
	frr, err := parseFRRPrefixes(readFile(t, "frr-prefixes.json"))
	if err != nil {
		t.Fatal(err)
	}
	med("frr", frr, "10.1.0.0/24", nil)
	bgpctl, err := parseBgpctlRIB(readFile(t, "bgpctl-rib-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	med("bgpctl", bgpctl, "10.1.0.0/24", &zero)

	// Captured in TestViewsAgree's lab when trust-a sent 10.101.0.0/16
	// with MED 50 and council-x 172.16.201.0/24 with 5.
	fifty, five := uint32(50), uint32(5)
	bird = nil
	for _, r := range parseBirdRoutes(string(readFile(t, "bird-member-show-route-all-med.txt"))) {
		bird = append(bird, r.Route)
	}
	med("bird", bird, "10.101.0.0/16", &fifty)
	med("bird", bird, "172.16.201.0/24", &five)
	bgpctl, err = parseBgpctlRIB(readFile(t, "bgpctl-rib-detail-med.json"))
	if err != nil {
		t.Fatal(err)
	}
	med("bgpctl", bgpctl, "10.101.0.0/16", &fifty)
	med("bgpctl", bgpctl, "2001:db8:101::/48", &zero) // sent without MED: bgpctl says 0
	// trust-b (FRR) originates 10.150.0.0/24 and receives trust-a's: the
	// local path (peer 0.0.0.0, "metric" 0) is not a received route.
	frr, err = parseFRRPrefixes(readFile(t, "frr-prefixes-med-local.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(routesFor(frr, netip.MustParsePrefix("10.150.0.0/24"))); n != 1 {
		t.Errorf("frr: 10.150.0.0/24 read %d times, want once (the local path is not received)", n)
	}
	med("frr", frr, "10.150.0.0/24", nil)
	med("frr", frr, "10.101.0.0/16", &fifty)
}
