package lab

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/vishvananda/netlink"
)

// testLog sends the lab's progress to the test log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// keepLabs reports whether FEDRS_LAB_KEEP=1 asks tests to leave their labs
// running for inspection.
func keepLabs() bool { return os.Getenv("FEDRS_LAB_KEEP") == "1" }

// runRoot returns a short temporary run root (unix socket paths must stay
// short) that is removed after the lab is torn down.
func runRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fl")
	if err != nil {
		t.Fatal(err)
	}
	// Daemons that drop root (FRR's zebra) must reach their directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if keepLabs() {
			t.Logf("FEDRS_LAB_KEEP=1: run directory kept: %s", dir)
			return
		}
		if t.Failed() {
			t.Logf("run directory kept for inspection: %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// ensureTeardown removes the lab's namespaces and processes at the end of
// the test whatever happened (registered after runRoot, so it runs first).
func ensureTeardown(t *testing.T, name string) {
	t.Cleanup(func() {
		if keepLabs() {
			t.Logf("FEDRS_LAB_KEEP=1: lab %s left running; remove it with its Down or by deleting namespaces fl-%s-*", name, name)
			return
		}
		if err := teardown(name, nil, nil, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("final teardown: %v", err)
		}
	})
}

// hostSnapshot is what a lab could leave behind on the host: named
// namespaces and links in the root namespace. Only the lab's own naming
// ("fl-" namespaces; bridge and veth names) is compared, so interop tests
// of other packages running at the same time cannot make this flaky.
type hostSnapshot struct {
	namespaces []string
	rootLinks  []string
}

func ourLink(name string) bool {
	return name == bridgeName || strings.HasPrefix(name, "v-") || strings.HasPrefix(name, nsPrefix)
}

func snapshot(t *testing.T) hostSnapshot {
	t.Helper()
	ns, err := listNamespaces(nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		if ourLink(l.Attrs().Name) || ourLink(l.Attrs().Alias) {
			names = append(names, l.Attrs().Name)
		}
	}
	sort.Strings(names)
	return hostSnapshot{namespaces: ns, rootLinks: names}
}

func (s hostSnapshot) diff(o hostSnapshot) string {
	var out []string
	if !slices.Equal(s.namespaces, o.namespaces) {
		out = append(out, "namespaces before "+strings.Join(s.namespaces, ",")+" after "+strings.Join(o.namespaces, ","))
	}
	if !slices.Equal(s.rootLinks, o.rootLinks) {
		out = append(out, "root namespace links before "+strings.Join(s.rootLinks, ",")+" after "+strings.Join(o.rootLinks, ","))
	}
	return strings.Join(out, "; ")
}

const teardownTopo = `
name = "tdown"
[route_server]
kind = "bird"
asn = 64500
[[member]]
name = "a"
daemon = "bird"
asn = 65001
prefixes = ["10.1.0.0/24", "2001:db8:1::/48"]
[[member]]
name = "b"
daemon = "bird"
asn = 65002
prefixes = ["10.2.0.0/24"]
`

// TestTeardownLeavesNothing brings a lab up, "crashes" (forgets it), brings
// it up again under the same name (which must clean the leftovers first),
// then tears it down: namespaces and root-namespace links must be as
// before, and no process may survive.
func TestTeardownLeavesNothing(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc")
	root := runRoot(t)
	ensureTeardown(t, "tdown")
	before := snapshot(t)

	topo, err := ParseTopology([]byte(teardownTopo), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	first, err := Up(ctx, topo, Options{RunRoot: root, WaitTimeout: -1, Logger: testLog(t)})
	if err != nil {
		t.Fatalf("first up: %v", err)
	}
	wantNS := []string{"fl-tdown-a", "fl-tdown-b", "fl-tdown-lan", "fl-tdown-rs"}
	if got, _ := listNamespaces("fl-tdown-"); !slices.Equal(got, wantNS) {
		t.Fatalf("namespaces after up: %v, want %v", got, wantNS)
	}
	lanLinks, err := namespaceLinks("fl-tdown-lan")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"br0", "lo", "v-m1", "v-m2", "v-rs"}; !slices.Equal(lanLinks, want) {
		t.Errorf("LAN namespace links %v, want %v", lanLinks, want)
	}
	if d := before.diff(snapshot(t)); !strings.Contains(d, "namespaces") || strings.Contains(d, "links") {
		t.Errorf("after up, want new namespaces and no new root links: %s", d)
	}
	oldProcs := slices.Clone(first.st.Processes)
	if len(oldProcs) != 3 {
		t.Fatalf("processes after first up: %d, want 3", len(oldProcs))
	}

	// Simulated crash: the first lab is never taken down.
	second, err := Up(ctx, topo, Options{RunRoot: root, Logger: testLog(t)})
	if err != nil {
		t.Fatalf("second up over leftovers: %v", err)
	}
	for _, p := range oldProcs {
		if p.alive() {
			t.Errorf("process of the first run still alive after the second up: %s pid %d", p.Node, p.PID)
		}
	}
	if got, _ := listNamespaces("fl-tdown-"); !slices.Equal(got, wantNS) {
		t.Errorf("namespaces after second up: %v, want %v", got, wantNS)
	}

	// A separate invocation can load it, read it and take it down.
	loaded, err := LoadFrom(root, "tdown")
	if err != nil {
		t.Fatal(err)
	}
	st := loaded.Status(ctx)
	if st.Phase != PhaseUp || len(st.Nodes) != 3 {
		t.Errorf("status: phase %s, %d nodes", st.Phase, len(st.Nodes))
	}
	for _, n := range st.Nodes {
		if !n.Running {
			t.Errorf("status: %s not running", n.Name)
		}
	}
	var buf strings.Builder
	if err := WriteStatus(&buf, st); err != nil {
		t.Fatal(err)
	}
	t.Logf("status:\n%s", buf.String())
	if !strings.Contains(buf.String(), "4/4 established") || !strings.Contains(buf.String(), "birdc -s") {
		t.Errorf("status output lacks the route server's sessions or the consoles:\n%s", buf.String())
	}
	out, err := loaded.Exec(ctx, "a", "ip", "-brief", "addr", "show", "dev", "eth0")
	if err != nil || !strings.Contains(string(out), "198.18.0.11/16") || !strings.Contains(string(out), "2001:db8:ffff::11/64") {
		t.Errorf("exec ip addr in a: %v: %s", err, out)
	}
	newProcs := slices.Clone(second.st.Processes)
	if err := loaded.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	for _, p := range newProcs {
		if p.alive() {
			t.Errorf("process still alive after down: %s pid %d", p.Node, p.PID)
		}
	}
	if d := before.diff(snapshot(t)); d != "" {
		t.Errorf("host differs after down: %s", d)
	}
	if l, err := LoadFrom(root, "tdown"); err != nil || l.Phase() != PhaseDown {
		t.Errorf("state after down: %v", err)
	}
	// Down is idempotent.
	if err := loaded.Down(ctx); err != nil {
		t.Errorf("second down: %v", err)
	}
}

// TestUpFailureCleansUp makes a daemon fail to start and checks that Up
// reports it with the daemon's log and leaves nothing behind.
func TestUpFailureCleansUp(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc")
	root := runRoot(t)
	ensureTeardown(t, "tfail")
	before := snapshot(t)
	topo, err := ParseTopology([]byte(strings.Replace(teardownTopo, `"tdown"`, `"tfail"`, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	// Member b's BIRD exits at start: a wrapper found first on PATH fails
	// for b's config and runs the real BIRD for the others.
	realBird, err := findBinary("bird")
	if err != nil {
		t.Fatal(err)
	}
	wrapDir := t.TempDir()
	wrapper := "#!/bin/sh\ncase \"$*\" in */tfail/b/*) echo 'simulated start failure' >&2; exit 1;; esac\nexec " + realBird + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrapDir, "bird"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", wrapDir+":"+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	l, err := Up(ctx, topo, Options{RunRoot: root, Logger: testLog(t)})
	if err == nil {
		l.Down(ctx)
		t.Fatal("up succeeded with a broken member config")
	}
	t.Logf("up failed as expected: %v", err)
	if !strings.Contains(err.Error(), "b (bird") || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "simulated start failure") {
		t.Errorf("error should name the member whose daemon exited: %v", err)
	}
	if d := before.diff(snapshot(t)); d != "" {
		t.Errorf("host differs after failed up: %s", d)
	}
}

// TestUpCancelled cancels Up midway (as Ctrl-C does in the CLI).
func TestUpCancelled(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc")
	root := runRoot(t)
	ensureTeardown(t, "tcancel")
	before := snapshot(t)
	topo, err := ParseTopology([]byte(strings.Replace(teardownTopo, `"tdown"`, `"tcancel"`, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the daemons are starting (or after 2 s).
		rstest.Until(2*time.Second, func() bool { ns, _ := listNamespaces("fl-tcancel-"); return len(ns) == 4 })
		cancel()
	}()
	l, err := Up(ctx, topo, Options{RunRoot: root, Logger: testLog(t)})
	if err == nil {
		l.Down(context.Background())
		t.Skip("up finished before the cancellation landed")
	}
	t.Logf("up cancelled: %v", err)
	if d := before.diff(snapshot(t)); d != "" {
		t.Errorf("host differs after cancelled up: %s", d)
	}
}

// TestFedrsRouteServerWiring runs the fedrs route-server path with a
// stand-in binary (fedrs cannot run as a route server yet): it must be
// started in the route server's namespace as "fedrs run -c FILE", with a
// fedrs.toml the conf loader accepts, and be taken down with the lab.
func TestFedrsRouteServerWiring(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "python3")
	root := runRoot(t)
	ensureTeardown(t, "tfedrs")
	before := snapshot(t)
	fake := filepath.Join(root, "fake-fedrs")
	// A stand-in without the looking glass: "lg" fails the way a fedrs
	// build without the command does.
	script := `#!/bin/sh
if [ "$1" = lg ]; then echo "No help topic for 'lg'" >&2; exit 3; fi
echo "$@" > "$FEDRS_FAKE_ARGS"
exec python3 -c 'import socket,time
s=socket.socket(socket.AF_INET6); s.bind(("::",179)); s.listen(); time.sleep(120)'
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(root, "args")
	t.Setenv("FEDRS_FAKE_ARGS", argsFile)
	topo, err := ParseTopology([]byte(strings.NewReplacer(`"tdown"`, `"tfedrs"`, `kind = "bird"`, `kind = "fedrs"`).Replace(teardownTopo)), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := Up(ctx, topo, Options{RunRoot: root, WaitTimeout: -1}); err == nil || !strings.Contains(err.Error(), "fedrs binary") {
		t.Fatalf("up without a fedrs binary: %v", err)
	}
	l, err := Up(ctx, topo, Options{RunRoot: root, FedrsBinary: fake, WaitTimeout: -1, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(l.Dir, "rs", "fedrs.toml")
	if got := strings.TrimSpace(string(args)); got != "run -c "+cfg {
		t.Errorf("fedrs started with %q, want %q", got, "run -c "+cfg)
	}
	if _, err := conf.Load(cfg); err != nil {
		t.Errorf("generated %s: %v", cfg, err)
	}
	if _, err := l.Sessions(ctx, "rs"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("fedrs sessions: %v, want ErrNotSupported", err)
	}
	if st := l.Status(ctx); !st.Nodes[0].Running || st.Nodes[0].Error != "" {
		t.Errorf("status of the fedrs node: %+v", st.Nodes[0])
	}
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if d := before.diff(snapshot(t)); d != "" {
		t.Errorf("host differs after down: %s", d)
	}
}

// TestRefusesForeignDirectory: Up must not delete a directory that is not
// a lab run directory.
func TestRefusesForeignDirectory(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc")
	root := runRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "tforeign"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(root, "tforeign", "precious.txt")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := ParseTopology([]byte(strings.Replace(teardownTopo, `"tdown"`, `"tforeign"`, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Up(context.Background(), topo, Options{RunRoot: root, WaitTimeout: -1})
	if err == nil || !strings.Contains(err.Error(), "not a lab run directory") {
		t.Errorf("up over a foreign directory: %v", err)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Errorf("foreign file removed: %v", err)
	}
}
