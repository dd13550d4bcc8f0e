package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/rstest"
)

// TestMain removes the fedrs binary built for the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if fedrsBuild.dir != "" {
		os.RemoveAll(fedrsBuild.dir)
	}
	os.Exit(code)
}

// fedrsBuild is the fedrs binary the tests run as the route server, built
// once per test process.
var fedrsBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// fedrsBinary builds github.com/fedrs/fedrs/cmd/fedrs into a temporary
// directory (once per test process) and returns its path.
func fedrsBinary(t *testing.T) string {
	t.Helper()
	fedrsBuild.once.Do(func() {
		fedrsBuild.path, fedrsBuild.err = buildFedrs()
	})
	if fedrsBuild.err != nil {
		t.Fatalf("build fedrs: %v", fedrsBuild.err)
	}
	return fedrsBuild.path
}

func buildFedrs() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the fedrs module")
	}
	dir, err := os.MkdirTemp("", "fedrs-bin")
	if err != nil {
		return "", err
	}
	fedrsBuild.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "fedrs")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/fedrs/fedrs/cmd/fedrs")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// fedrsHasLG reports whether the fedrs binary has the looking-glass client
// (the control API); without it the route server's own view cannot be
// read and those checks are skipped with a message.
func fedrsHasLG(t *testing.T, bin string) bool {
	t.Helper()
	out, _ := exec.Command(bin, "lg", "--help").CombinedOutput()
	return !strings.Contains(string(out), "No help topic for 'lg'")
}

// upFedrs brings a topology up with the test's fedrs binary as the route
// server, and takes it down at the end of the test.
func upFedrs(t *testing.T, ctx context.Context, topo *Topology, wait time.Duration) *Lab {
	t.Helper()
	bin := fedrsBinary(t)
	root := runRoot(t)
	ensureTeardown(t, topo.Name)
	start := time.Now()
	l, err := Up(ctx, topo, Options{RunRoot: root, FedrsBinary: bin, WaitTimeout: wait, Logger: testLog(t)})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() {
		if keepLabs() {
			return
		}
		if t.Failed() {
			logTail(t, filepath.Join(l.Dir, rsNode, "fedrs.log"), 40)
		}
		if err := l.Down(context.Background()); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	t.Logf("lab %s up, all sessions established after %s", topo.Name, time.Since(start).Round(time.Millisecond))
	return l
}

func logTail(t *testing.T, path string, n int) {
	b, err := os.ReadFile(path)
	if err == nil {
		t.Logf("end of %s:\n%s", path, lastLines(string(b), n))
	}
}

// TestFedrsInterop runs fedrs as the route server with BIRD 2, FRR,
// OpenBGPD, gobgpd and ExaBGP members (testdata/fedrs-interop.toml), one
// topology for all of these checks:
//
//   - every session reaches Established, seen by each daemon (and by fedrs);
//   - every member receives every other member's IPv4 and IPv6 prefixes
//     through fedrs, with the announcer's AS_PATH (its AS first, no route
//     server AS), its LAN address as next hop, its communities, and OTC =
//     the route server's AS (a route each way for every daemon; issues 2
//     and 3);
//   - TCP-MD5: BIRD with the shared password establishes, BIRD with a
//     different password does not;
//   - BGP role: BIRD with "local role rs_client" shows the route server's
//     role as rs_server; BIRD with "require roles" establishes; BIRD with
//     "local role customer" is refused with a Role Mismatch NOTIFICATION.
func TestFedrsInterop(t *testing.T) {
	interop.Require(t, true, allMemberBinaries...)
	topo, err := ReadTopology("testdata/fedrs-interop.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	l := upFedrs(t, ctx, topo, 40*time.Second)

	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = l.WaitConverged(wctx)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converged after %s", time.Since(start).Round(time.Millisecond))

	t.Run("sessions", func(t *testing.T) {
		for _, m := range topo.Members {
			if m.ExpectDown {
				continue
			}
			sess, err := l.Sessions(ctx, m.Name)
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			if len(sess) != len(m.Families) {
				t.Errorf("%s (%s) reports %d sessions, want %d: %+v", m.Name, m.Daemon, len(sess), len(m.Families), sess)
			}
			for _, s := range sess {
				if !s.Established {
					t.Errorf("%s (%s) → %s: %s", m.Name, m.Daemon, s.Peer, s.State)
				}
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		checkTransparent(t, ctx, l, func(*Member) bool { return true })
	})

	// Issue 3: BIRD, FRR and OpenBGPD each hold the other two's prefixes,
	// AS_PATH = the announcer's AS only, next hop = its LAN address.
	t.Run("bird-frr-openbgpd", func(t *testing.T) {
		three := []string{"m-bird", "m-frr", "m-openbgpd"}
		for _, recv := range three {
			routes, err := l.Routes(ctx, recv)
			if err != nil {
				t.Fatal(err)
			}
			for _, from := range three {
				if from == recv {
					continue
				}
				m := topo.Member(from)
				for _, p := range m.Announce {
					nh := m.IPv4
					if p.Family() == FamilyIPv6 {
						nh = m.IPv6
					}
					var got []string
					ok := false
					for _, r := range routes {
						if r.Prefix != p.Prefix {
							continue
						}
						got = append(got, fmt.Sprintf("AS_PATH %v next hop %s", r.ASPath, r.NextHop))
						ok = ok || (slices.Equal(r.ASPath, []uint32{m.ASN}) && r.NextHop == nh)
					}
					if !ok {
						t.Errorf("%s did not receive %s from %s with AS_PATH [%d] and next hop %s; got %v", recv, p.Prefix, from, m.ASN, nh, got)
					}
				}
			}
		}
	})

	t.Run("md5", func(t *testing.T) {
		// m-bird runs TCP-MD5 with the same password on both ends and is
		// up (the sessions subtest). b-badmd5's password differs: its
		// session must not come up while everything else did, and stay
		// down while a few more of its connection attempts are refused
		// (their segments dropped for the signature, counted by the
		// kernel of the route server's or the member's namespace).
		refused := func() int { return md5Failures(t, ctx, l, "rs") + md5Failures(t, ctx, l, "b-badmd5") }
		before := refused()
		rstest.Eventually(t, 30*time.Second, func() bool {
			return !sessionDown(t, ctx, l, "b-badmd5") || refused() >= before+3
		}, "three more segments of b-badmd5's sessions refused for their TCP-MD5 signature")
		cfg, err := os.ReadFile(filepath.Join(l.Dir, "m-bird", "bird.conf"))
		if err != nil || !strings.Contains(string(cfg), `password "bird-md5"`) {
			t.Errorf("m-bird's bird.conf has no MD5 password: %v", err)
		}
	})

	t.Run("role", func(t *testing.T) {
		out, err := l.Exec(ctx, "m-bird", "birdc", "-s", filepath.Join(l.Dir, "m-bird", "bird.ctl"), "show", "protocols", "all", "rs_v4")
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		local, neighbor := birdRoles(string(out))
		if local != "rs_client" || neighbor != "rs_server" {
			t.Errorf("BIRD shows local role %q, neighbor role %q; want rs_client and rs_server:\n%s", local, neighbor, out)
		}
		// "require roles": BIRD refuses a neighbour without the role
		// capability; it came up, so fedrs sent one (sessions subtest).
		if cfg, _ := os.ReadFile(filepath.Join(l.Dir, "b-strict", "bird.conf")); !strings.Contains(string(cfg), "require roles") {
			t.Errorf("b-strict's bird.conf does not require roles:\n%s", cfg)
		}
		// A customer is refused. BIRD checks role pairs too, so it reports
		// the mismatch itself ("BGP Error: Role mismatch"); that fedrs sends
		// its own NOTIFICATION is in fedrs's view (fedrs-view subtest).
		sessionDown(t, ctx, l, "b-customer")
		waitBirdLastError(t, ctx, l, "b-customer", "Role mismatch")
		// BIRD without a role, fedrs strict: only fedrs can object, and BIRD
		// shows the NOTIFICATION it received: OPEN Message Error, subcode
		// 11, "Received: Role mismatch".
		sessionDown(t, ctx, l, "b-norole")
		waitBirdLastError(t, ctx, l, "b-norole", "Received: Role mismatch")
	})

	t.Run("fedrs-view", func(t *testing.T) {
		if !fedrsHasLG(t, l.opts.FedrsBinary) {
			t.Skip("this fedrs has no lg command (control API): the route server's own view is not checked")
		}
		nbs, err := l.FedrsNeighbors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]string{}
		for _, nb := range nbs {
			state[nb.Member+" "+parseAddrMaybePort(nb.Neighbor).String()] = nb.State
		}
		for _, m := range topo.Members {
			for _, f := range m.Families {
				a := m.IPv4
				if f == FamilyIPv6 {
					a = m.IPv6
				}
				got := state[m.Name+" "+a.String()]
				if up := got == "Established"; up == m.ExpectDown {
					t.Errorf("fedrs: %s %s is %q (expect_down %v)", m.Name, a, got, m.ExpectDown)
				}
			}
		}
		// fedrs refused both role mismatches with OPEN Message Error /
		// Role Mismatch (subcode 11).
		for _, nb := range nbs {
			if nb.Member == "b-customer" || nb.Member == "b-norole" {
				t.Logf("fedrs: %s: last NOTIFICATION sent %q, last error %q", nb.Member, nb.LastNotification, nb.LastError)
				if !strings.Contains(nb.LastNotification, "Role Mismatch") {
					t.Errorf("fedrs: %s: last NOTIFICATION sent %q, want OPEN Message Error/Role Mismatch", nb.Member, nb.LastNotification)
				}
			}
		}
		for _, m := range topo.Members {
			if m.ExpectDown {
				continue
			}
			acc, err := l.FedrsRoutes(ctx, m.Name, "accepted")
			if err != nil {
				t.Fatal(err)
			}
			if len(acc) != len(m.Announce) {
				t.Errorf("fedrs accepted %d routes from %s, want %d: %+v", len(acc), m.Name, len(m.Announce), acc)
			}
		}
	})
}

// waitBirdLastError waits until BIRD's "show protocols all rs_v4" of the
// member reports a last error containing want.
func waitBirdLastError(t *testing.T, ctx context.Context, l *Lab, member, want string) {
	t.Helper()
	var last string
	err := Poll(ctx, member+" shows "+want, 10*time.Second, 300*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		out, err := runTool(ctx, "birdc", "-s", filepath.Join(l.Dir, member, "bird.ctl"), "show", "protocols", "all", "rs_v4")
		if err != nil {
			return false, "", err
		}
		m := birdLastErrorRE.FindStringSubmatch(string(out))
		if m == nil {
			return false, "no last error", nil
		}
		last = m[1]
		return strings.Contains(last, want), "last error: " + last, nil
	})
	if err != nil {
		t.Error(err)
		return
	}
	t.Logf("%s (BIRD): Last error: %s", member, last)
}

var birdLastErrorRE = regexp.MustCompile(`Last error:\s+(.*)`)

// birdRoles reads the local and the neighbour's BGP role from BIRD's
// "show protocols all NAME": the "Role:" lines under "Local capabilities"
// and "Neighbor capabilities".
func birdRoles(out string) (local, neighbor string) {
	section := ""
	for _, line := range strings.Split(out, "\n") {
		switch strings.TrimSpace(line) {
		case "Local capabilities":
			section = "local"
			continue
		case "Neighbor capabilities":
			section = "neighbor"
			continue
		}
		if r, ok := strings.CutPrefix(strings.TrimSpace(line), "Role: "); ok {
			switch section {
			case "local":
				local = strings.TrimSpace(r)
			case "neighbor":
				neighbor = strings.TrimSpace(r)
			}
		}
	}
	return local, neighbor
}

// sessionDown checks that none of the member's sessions is Established,
// as seen by the member; it reports false (and fails t) otherwise.
func sessionDown(t *testing.T, ctx context.Context, l *Lab, member string) bool {
	t.Helper()
	sess, err := l.Sessions(ctx, member)
	if err != nil {
		t.Errorf("%s: %v", member, err)
		return false
	}
	for _, s := range sess {
		if s.Established {
			t.Errorf("%s → %s is Established, want it refused", member, s.Peer)
			return false
		}
	}
	return true
}

// md5Failures is the number of TCP segments node's namespace dropped for
// a wrong TCP-MD5 signature (TcpExt TCPMD5Failure in /proc/net/netstat).
func md5Failures(t *testing.T, ctx context.Context, l *Lab, node string) int {
	t.Helper()
	out, err := l.Exec(ctx, node, "cat", "/proc/net/netstat")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		if i := slices.Index(names, "TCPMD5Failure"); i > 0 && i < len(fields) {
			n, err := strconv.Atoi(fields[i])
			if err != nil {
				t.Fatalf("%s: TCPMD5Failure %q: %v", node, fields[i], err)
			}
			return n
		}
	}
	t.Fatalf("%s: no TcpExt TCPMD5Failure in /proc/net/netstat:\n%s", node, out)
	return 0
}

// routeTo returns the routes of prefix p in routes.
func routesFor(routes []Route, p netip.Prefix) []Route {
	var out []Route
	for _, r := range routes {
		if r.Prefix == p {
			out = append(out, r)
		}
	}
	return out
}

// TestFederationScenario runs scenarios/federation.toml against fedrs —
// three NHS trusts and three councils on BIRD, FRR, OpenBGPD and gobgpd;
// action communities, a hijack, a leak through a member, an OTC leak, an
// RPKI-invalid route, a blackhole request and a graceful shutdown — and
// requires every expectation to pass. Two deliberately wrong expectations
// are appended, one about a received route and one about a filter reason:
// exactly those two must fail, each saying what was seen instead.
func TestFederationScenario(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "vtysh", "bgpd", "bgpctl", "gobgpd", "gobgp")
	sc, err := ReadScenario("scenarios/federation.toml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = "tfedsc"
	// The wrong expectation about a received route never holds, so the
	// wait runs for all of settle; the real ones hold about a second after
	// the sessions are up.
	sc.Settle = "20s"
	nreal := len(sc.Expect)
	sc.Expect = append(sc.Expect,
		Expectation{Description: "deliberately wrong: forgets the prepend toward council-y",
			Member: "council-y", Prefix: netip.MustParsePrefix("10.103.0.0/16"), From: "trust-c", ASPath: []uint32{65103}},
		Expectation{Description: "deliberately wrong: the hijack as an OTC leak",
			Prefix: netip.MustParsePrefix("10.101.1.0/24"), From: "council-x", FilteredReason: "otc_leak"},
	)
	bin := fedrsBinary(t)
	root := runRoot(t)
	ensureTeardown(t, sc.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	start := time.Now()
	results, err := RunScenario(ctx, sc, Options{RunRoot: root, FedrsBinary: bin, WaitTimeout: 60 * time.Second,
		Logger: testLog(t), KeepOnFailure: keepLabs()})
	if err != nil {
		logTail(t, filepath.Join(root, sc.Name, rsNode, "fedrs.log"), 60)
		t.Fatal(err)
	}
	t.Logf("scenario ran in %s", time.Since(start).Round(time.Millisecond))
	var buf strings.Builder
	if err := WriteResults(&buf, results); err != nil {
		t.Fatal(err)
	}
	t.Logf("results:\n%s", buf.String())
	if len(results) != len(sc.Expect) {
		t.Fatalf("%d results for %d expectations", len(results), len(sc.Expect))
	}
	for _, r := range results[:nreal] {
		if r.Status != "PASS" {
			t.Errorf("%s: %s: %s: %s", r.Expectation.Description, r.Expectation, r.Status, r.Detail)
		}
	}
	if t.Failed() {
		logTail(t, filepath.Join(root, sc.Name, rsNode, "fedrs.log"), 60)
	}

	prepend, reason := results[nreal], results[nreal+1]
	if prepend.Status != "FAIL" || !strings.Contains(prepend.Detail, "AS_PATH is 65103 65103 65103, want 65103") {
		t.Errorf("wrong AS_PATH expectation: %s %q, want FAIL saying the AS_PATH was 65103 65103 65103", prepend.Status, prepend.Detail)
	}
	if reason.Status != "FAIL" || !strings.Contains(reason.Detail, "filtered, but not with otc_leak") ||
		!strings.Contains(reason.Detail, "registry_conflict") {
		t.Errorf("wrong filter reason expectation: %s %q, want FAIL listing the real reasons", reason.Status, reason.Detail)
	}
	if Passed(results) {
		t.Error("Passed() with failing expectations")
	}
	if want := fmt.Sprintf("%d of %d expectations passed", nreal, len(results)); !strings.Contains(buf.String(), want) {
		t.Errorf("summary line %q missing:\n%s", want, buf.String())
	}
	if ns, _ := listNamespaces(labNSPrefix(sc.Name)); len(ns) != 0 && !keepLabs() {
		t.Errorf("namespaces left after the scenario: %v", ns)
	}
}

// TestGTSMWithOpenBGPD brings up fedrs with an OpenBGPD member and a BIRD
// member, both with TCP-MD5 and GTSM (testdata/gtsm-openbgpd.toml), and
// requires every session to be Established and each member to receive
// the other's route. OpenBGPD 7.7 accepts no MD5-signed connection (its
// listening socket has no key on Linux), so this session exists only if
// the route server answers the member's connection with TTL 255 from the
// first segment (RFC 5082 §3: all packets, the SYN-ACK too). On failure
// it prints the members' kernel counters of dropped segments.
func TestGTSMWithOpenBGPD(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "bgpd", "bgpctl")
	topo, err := ReadTopology("testdata/gtsm-openbgpd.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := fedrsBinary(t)
	root := runRoot(t)
	ensureTeardown(t, topo.Name)
	l, err := Up(ctx, topo, Options{RunRoot: root, FedrsBinary: bin, WaitTimeout: 30 * time.Second, Logger: testLog(t), KeepOnFailure: true})
	if l != nil {
		defer func() {
			if !keepLabs() {
				_ = l.Down(context.Background())
			}
		}()
	}
	if err != nil {
		for _, m := range topo.Members {
			out, _ := l.Exec(ctx, m.Name, "nstat", "-az", "TcpExtTCPMinTTLDrop", "TcpExtTCPMD5Unexpected", "TcpExtTCPMD5NotFound")
			t.Logf("%s (%s): kernel counters in its namespace:\n%s", m.Name, m.Daemon, out)
		}
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := l.WaitConverged(wctx); err != nil {
		t.Fatal(err)
	}
}
