package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/rib"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"
)

// startWithAPI runs the route server from a config file (the
// three-member federation with extra in [server]) and its control API on
// a socket in a temp dir.
func startWithAPI(t *testing.T, extra string) (fed *rstest.Fed, file, sock string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "fedrs.toml")
	sock = filepath.Join(dir, "fedrs.sock")
	text := strings.Replace(rstest.Config(rstest.Three(), extra), `control = ""`, `control = "`+sock+`"`, 1)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	fed = rstest.StartConfig(t, cfg, rstest.Three(), routeserver.Options{})
	ln, err := api.Listen(cfg.Server.Control)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log}).ServeOn(ctx, ln, cfg.HTTPListener())
	}()
	t.Cleanup(func() { cancel(); <-done })
	return fed, file, sock
}

// waitHeld waits until the route server holds n routes.
func waitHeld(t *testing.T, fed *rstest.Fed, n int) {
	t.Helper()
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if h := heldRoutes(fed); h != n {
			return fmt.Errorf("RIB holds %d routes, want %d", h, n)
		}
		return nil
	}, fmt.Sprintf("the RIB to hold %d routes", n))
}

func TestMRTDump(t *testing.T) {
	fed, file, _ := startWithAPI(t, "")
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16"), ASPath: []uint32{65010}})
	fed.Members["nhs-b"].Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")})
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}) // filtered
	waitHeld(t, fed, 3)
	dump := filepath.Join(t.TempDir(), "rib.mrt")
	out, err := runCLI(t, "mrt", "dump", "-o", dump, "-c", file)
	if err != nil || !strings.Contains(out, dump+": 3 peers, 2 prefixes, 3 routes") {
		t.Fatalf("mrt dump: %v\n%s", err, out)
	}
	// The file is a complete TABLE_DUMP_V2 dump.
	f, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Split(gomrt.SplitMrt)
	var types []string
	entries := 0
	for sc.Scan() {
		var h gomrt.MRTHeader
		if err := h.DecodeFromBytes(sc.Bytes()); err != nil {
			t.Fatal(err)
		}
		m, err := gomrt.ParseMRTBody(&h, sc.Bytes()[gomrt.MRT_COMMON_HEADER_LEN:])
		if err != nil {
			t.Fatalf("record %d: %v", len(types)+1, err)
		}
		switch b := m.Body.(type) {
		case *gomrt.PeerIndexTable:
			types = append(types, "peers")
			if len(b.Peers) != 3 || b.CollectorBgpId.String() != "10.255.255.254" {
				t.Errorf("peer index %v", b)
			}
		case *gomrt.Rib:
			types = append(types, b.Prefix.String())
			entries += len(b.Entries)
		}
	}
	if strings.Join(types, " ") != "peers 10.1.0.0/16 10.2.0.0/16" || entries != 3 {
		t.Errorf("records %v with %d entries; want the peer index, 10.1.0.0/16 and 10.2.0.0/16 with 3 entries", types, entries)
	}
	if out, err := runCLI(t, "mrt", "dump", "-c", file); err == nil || !strings.Contains(err.Error(), "-o FILE") {
		t.Errorf("without -o: %v %s", err, out)
	}
}

// TestCheckDiff: a configuration change checked against the running route
// server shows the accepted route it would filter (with the reason), the
// filtered one it would accept and the routes of a removed member; the
// running server is unchanged afterwards.
func TestCheckDiff(t *testing.T) {
	fed, file, sock := startWithAPI(t, "")
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/24")})
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}) // filtered: next_hop
	fed.Members["council-c"].Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.3.0.0/16")})
	b := fed.Members["nhs-b"]
	if _, err := b.WaitFor(ctx, "10.1.0.0/24 and 10.3.0.0/16", func(rs []member.Route) bool { return len(rs) == 2 }); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, fed, 3)
	hash := fed.Srv.Config().Hash

	// The new configuration: nhs-a may announce up to /23 only and its next
	// hop check only tags; council-c is gone.
	specs := rstest.Three()[:2]
	specs[0].Extra = `policy = { max_length_v4 = 23, checks = { next_hop = "tag" } }`
	newFile := filepath.Join(filepath.Dir(file), "fedrs.toml.new")
	text := strings.Replace(rstest.Config(specs, ""), `control = ""`, `control = "`+sock+`"`, 1)
	if err := os.WriteFile(newFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "check", "-c", newFile, "--diff")
	if err != nil {
		t.Fatalf("check --diff: %v\n%s", err, out)
	}
	t.Logf("fedrs check --diff:\n%s", out)
	for _, want := range []string{
		"member removed: council-c",
		"3 routes held now, checked with the new import policy: 1 would be filtered, 1 would be accepted, 0 stay filtered for other reasons, 1 would be withdrawn",
		"Would be FILTERED (accepted now): 1", "10.1.0.0/24", "prefix_too_long (1101:1)",
		"Would be ACCEPTED (filtered now): 1", "10.2.0.0/16", "now: next_hop (1101:8)",
		"Would be WITHDRAWN (neighbour removed): 1", "10.3.0.0/16",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check --diff output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "check", "-c", newFile, "--diff", "--json")
	var res api.CheckResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if res.Totals != (api.CheckTotals{WouldFilter: 1, WouldAccept: 1, WouldWithdraw: 1}) || len(res.WouldFilter) != 1 ||
		res.WouldFilter[0].Prefix != "10.1.0.0/24" || res.WouldFilter[0].AcceptedAfter || res.WouldFilter[0].FilteredAfter[0].Name != "prefix_too_long" ||
		!res.WouldAccept[0].AcceptedAfter || len(res.WouldAccept[0].TaggedAfter) != 1 || res.WouldAccept[0].TaggedAfter[0].Name != "next_hop" {
		t.Errorf("--json: %+v", res)
	}

	// Nothing changed on the running server.
	if got := fed.Srv.Config().Hash; got != hash {
		t.Errorf("running configuration changed: hash %s, was %s", got, hash)
	}
	for _, x := range []struct {
		prefix   string
		accepted bool
	}{{"10.1.0.0/24", true}, {"10.2.0.0/16", false}, {"10.3.0.0/16", true}} {
		rs := fed.Srv.RIB().Lookup(netip.MustParsePrefix(x.prefix), 0)
		if len(rs) != 1 || rs[0].Verdict.Accepted() != x.accepted {
			t.Errorf("%s after the dry run: %v, want one route, accepted %v", x.prefix, rs, x.accepted)
		}
	}
	if rs, err := b.Received(ctx); err != nil || len(rs) != 2 {
		t.Errorf("nhs-b holds %v (%v) after the dry run, want 10.1.0.0/24 and 10.3.0.0/16", rs, err)
	}
	if st, _ := fed.Members["council-c"].State(ctx); !strings.Contains(strings.ToLower(st), "established") {
		t.Errorf("council-c session %q after the dry run", st)
	}

	// A broken file is reported locally, the server is not asked.
	os.WriteFile(newFile, []byte(strings.Replace(text, "asn = 4200000001", "asn = 0", 1)), 0o644)
	if out, err := runCLI(t, "check", "-c", newFile, "--diff"); err == nil || exitCode(err) != 1 || !strings.Contains(out, "asn: 0 is not a valid ASN") {
		t.Errorf("broken file: %v\n%s", err, out)
	}
	// No server on the socket.
	os.WriteFile(newFile, []byte(text), 0o644)
	if _, err := runCLI(t, "check", "-c", newFile, "--diff", "--socket", filepath.Join(t.TempDir(), "none.sock")); err == nil || !strings.Contains(err.Error(), "is fedrs running") {
		t.Errorf("no server: %v", err)
	}
}

// TestRunBMPAndMRT: `fedrs run` with [[bmp]] and [mrt]: the collector gets
// the sessions and routes, `fedrs lg summary` and the metrics show it, the
// periodic dumps are scheduled, and a stop sends the Peer Downs and then
// Termination.
func TestRunBMPAndMRT(t *testing.T) {
	// The collector: records each message's type and peer address.
	col, err := net.Listen("tcp", "127.0.0.54:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var msgs []string
	colDone := make(chan struct{})
	go func() {
		defer close(colDone)
		conn, err := col.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		sc := bufio.NewScanner(conn)
		sc.Split(gobmp.SplitBMP)
		for sc.Scan() {
			m, err := gobmp.ParseBMPMessage(sc.Bytes())
			mu.Lock()
			if err != nil {
				msgs = append(msgs, "error: "+err.Error())
			} else {
				msgs = append(msgs, fmt.Sprintf("%d %s", m.Header.Type, m.PeerHeader.PeerAddress))
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { col.Close(); <-colDone })
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(msgs, s)
	}

	extra := fmt.Sprintf("[[bmp]]\nname = \"test\"\naddress = %q\nconnect_retry = \"1s\"\n\n[mrt]\ndump_dir = \"mrt\"\ninterval = \"1h\"\n", col.Addr().String())
	f := startRun(t, extra)
	dir, sock, routers, stop := f.dir, f.sock, f.routers, f.stop
	rctx := rstest.Ctx(t)
	if err := routers[0].Announce(rctx, member.Route{Prefix: netip.MustParsePrefix("10.7.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	peerUp := fmt.Sprintf("%d ", gobmp.BMP_MSG_PEER_UP_NOTIFICATION)
	routeMon := fmt.Sprintf("%d ", gobmp.BMP_MSG_ROUTE_MONITORING)
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		if seen(peerUp+"127.0.0.11") && seen(peerUp+"127.0.0.12") && seen(peerUp+"127.0.0.13") && seen(routeMon+"127.0.0.11") {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("collector got %v", msgs)
	}, "the collector to receive the three Peer Ups and a Route Monitoring")
	var out string
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		out, err = runCLI(t, "lg", "summary", "--socket", sock)
		if err == nil && !regexp.MustCompile(`BMP test \(127\.0\.0\.54:\d+\): up for \S+, 0 queue drops`).MatchString(out) {
			return fmt.Errorf("lg summary:\n%s", out)
		}
		return err
	}, "lg summary to show the collector up")
	var st api.Status
	if err := api.NewClient(sock).Get(rctx, "/v1/status", nil, &st); err != nil || st.MRT == nil || st.MRT.Interval != "1h0m0s" ||
		st.MRT.Dir != filepath.Join(dir, "mrt") || !st.MRT.Next.After(time.Now()) || len(st.BMP) != 1 {
		t.Errorf("status: %v %+v (mrt %+v)", err, st, st.MRT)
	}
	body := f.metrics(t)
	for _, re := range []string{`(?m)^fedrs_bmp_up\{address="127\.0\.0\.54:\d+",collector="test"\} 1$`, `(?m)^fedrs_bmp_queue_drops_total\{collector="test"\} 0$`,
		`(?m)^fedrs_bmp_messages_sent_total\{collector="test"\} [1-9]`, `(?m)^fedrs_mrt_dumps_total 0$`} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("metrics lack %s:\n%s", re, body)
		}
	}

	stop()
	<-colDone // Termination, then the route server closes the connection
	mu.Lock()
	defer mu.Unlock()
	last := msgs[len(msgs)-1]
	if last != fmt.Sprintf("%d <nil>", gobmp.BMP_MSG_TERMINATION) {
		t.Errorf("last message %q, want Termination; got %v", last, msgs)
	}
	for _, a := range []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"} {
		if !slices.Contains(msgs, fmt.Sprintf("%d %s", gobmp.BMP_MSG_PEER_DOWN_NOTIFICATION, a)) {
			t.Errorf("no peer down for %s before Termination: %v", a, msgs)
		}
	}
}

// heldRoutes counts the routes in the RIB.
func heldRoutes(fed *rstest.Fed) int {
	_, n := fed.Srv.RIB().Routes(rib.Filter{Member: -1}, 0, 1)
	return n
}
