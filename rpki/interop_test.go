package rpki_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/rstest"
	. "github.com/fedrs/fedrs/rpki"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemon runs a daemon in the foreground as a child process, killed
// and reaped at cleanup; its output goes to a log file shown on failure.
func startDaemon(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	path, err := interop.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("%s output:\n%s", name, out)
		}
	})
}

// TestStayRTRInterop: fedrs's RTR client loads a stayrtr cache serving a
// JSON file on loopback, then follows a change of the file.
func TestStayRTRInterop(t *testing.T) {
	interop.Require(t, false, "stayrtr")
	dir := t.TempDir()
	cache := filepath.Join(dir, "vrps.json")
	writeFile(t, cache, `{"roas":[
		{"asn":"AS64496","prefix":"192.0.2.0/24","maxLength":24},
		{"asn":64497,"prefix":"2001:db8::/32","maxLength":48}]}`)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startDaemon(t, dir, "stayrtr", "-bind", addr, "-cache", cache, "-refresh", "1", "-checktime=false",
		"-metrics.addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-rtr.refresh", "5", "-loglevel", "debug")

	m := NewManager(Options{Logger: quietLog(), RTRRetry: 50 * time.Millisecond})
	m.AddCache(addr, 1)
	runManager(t, m)
	rstest.Eventually(t, 15*time.Second, func() bool {
		s := m.Snapshot()
		return s.Validate(mustPrefix("192.0.2.0/24"), 64496, true) == Valid &&
			s.Validate(mustPrefix("2001:db8:1::/48"), 64497, true) == Valid
	}, "the VRPs from stayrtr")
	st := cacheStatus(m, addr)
	if st.State != StateSynced || st.Version != 1 || st.VRPs != 2 {
		t.Errorf("status %+v", st)
	}
	first := st.Serial

	writeFile(t, cache, `{"roas":[
		{"asn":"AS64496","prefix":"192.0.2.0/24","maxLength":25},
		{"asn":64498,"prefix":"198.51.100.0/24","maxLength":24}]}`)
	rstest.Eventually(t, 15*time.Second, func() bool {
		s := m.Snapshot()
		return s.Validate(mustPrefix("198.51.100.0/24"), 64498, true) == Valid &&
			s.Validate(mustPrefix("192.0.2.128/25"), 64496, true) == Valid &&
			s.Validate(mustPrefix("2001:db8::/32"), 64497, true) == NotFound
	}, "the client to follow stayrtr's update")
	if st := cacheStatus(m, addr); st.Serial == first || st.VRPs != 2 {
		t.Errorf("after the update: %+v", st)
	}
}

// TestBIRDInterop: BIRD 2's rpki protocol connects to fedrs's RTR server
// and its ROA tables hold the registry's assertions; a registry change
// reaches it through Serial Notify.
func TestBIRDInterop(t *testing.T) {
	interop.Require(t, false, "bird", "birdc")
	m := NewManager(Options{Logger: quietLog()})
	m.SetRegistry(RegistryFromConfig(testConfig()))
	runManager(t, m)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewRTRServer(m, ServerOptions{Logger: quietLog()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	sock := filepath.Join(dir, "bird.ctl")
	port := ln.Addr().(*net.TCPAddr).Port
	os.WriteFile(conf, []byte(fmt.Sprintf(`
router id 192.0.2.254;
roa4 table r4;
roa6 table r6;
protocol rpki fedrs {
	roa4 { table r4; };
	roa6 { table r6; };
	remote 127.0.0.1 port %d;
	retry keep 1;
	refresh keep 60;
	expire keep 600;
}
`, port)), 0o644)
	startDaemon(t, dir, "bird", "-c", conf, "-s", sock, "-P", filepath.Join(dir, "bird.pid"), "-f")

	birdc := func(args ...string) string {
		path, _ := interop.LookPath("birdc")
		out, _ := exec.Command(path, append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	var out string
	rstest.Eventually(t, 15*time.Second, func() bool {
		out = birdc("show", "route", "table", "r4") + birdc("show", "route", "table", "r6")
		return strings.Contains(out, "10.1.0.0/16-24 AS4200000001") &&
			strings.Contains(out, "10.1.5.0/24-24 AS4200000002") &&
			strings.Contains(out, "172.16.0.0/24-24 AS4200000003") &&
			strings.Contains(out, "fd00:1::/32-32 AS4200000001")
	}, "BIRD's ROA tables to hold the registry")
	if strings.Contains(out, "AS0") {
		t.Errorf("unexpected ROA:\n%s", out)
	}
	// A member's prefix is added (a config reload): BIRD follows.
	cfg := testConfig()
	cfg.Members[0].Prefixes = append(cfg.Members[0].Prefixes, cfg.Members[0].Prefixes[0])
	cfg.Members[0].Prefixes[2].Prefix = mustPrefix("10.9.0.0/16")
	m.SetRegistry(RegistryFromConfig(cfg))
	rstest.Eventually(t, 15*time.Second, func() bool {
		return strings.Contains(birdc("show", "route", "table", "r4"), "10.9.0.0/16-24 AS4200000001")
	}, "BIRD to receive the new assertion")
	if rs := srv.Routers(); len(rs) != 1 || rs[0].Version != 1 {
		t.Errorf("routers %+v", rs)
	}
	t.Logf("BIRD r4:\n%s", birdc("show", "route", "table", "r4"))
}
