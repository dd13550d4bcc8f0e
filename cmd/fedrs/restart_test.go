package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
)

// TestRestartGracefulBinary: `fedrs restart --graceful` makes the real
// binary write its marker, close without a NOTIFICATION and exit 0; the
// members (gobgp, graceful restart helpers) keep its routes while it is
// down; started again, it restarts gracefully (its log says so, the
// marker is gone) and the members still hold the routes.
func TestRestartGracefulBinary(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sock := filepath.Join(dir, "fedrs.sock")
	hist := filepath.Join(dir, "history.db")
	specs := rstest.Three()[:2]
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q\nhistory = %q", sock, hist)).Replace(
		rstest.Config(specs, "graceful_restart_time = \"60s\"\ngraceful_restart_eor_wait = \"30s\""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "run", "-c", file)
	waitSocket(t, d, sock)
	ctx := rstest.Ctx(t)
	var rs []*member.Router
	for _, m := range specs {
		r, err := member.Start(ctx, member.Config{Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: port, RSASN: rstest.RSASN, Log: rstest.Log,
			GracefulRestart: true, RestartTime: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		rs = append(rs, r)
	}
	p := netip.MustParsePrefix("10.1.0.0/16")
	if err := rs[0].Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs[1].WaitFor(ctx, "10.1.0.0/16", rstest.Has(p)); err != nil {
		t.Fatalf("%v\n%s", err, d.stderr)
	}

	if r := fedrsCmd(t, nil, "restart", "--socket", sock); r.code != 2 || !strings.Contains(r.stderr, "--graceful") {
		t.Errorf("restart without --graceful: want exit 2 naming --graceful:\n%s", r)
	}
	r := fedrsCmd(t, nil, "restart", "--graceful", "--socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "graceful restart") {
		t.Fatalf("fedrs restart --graceful:\n%s", r)
	}
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("fedrs run exited %d after restart --graceful:\n%s", code, d.stderr)
	}
	if _, err := os.Stat(hist + ".restart"); err != nil {
		t.Fatalf("no restart marker beside the history database: %v", err)
	}
	if strings.Contains(d.stderr.String(), "NOTIFICATION sent") {
		t.Errorf("a planned restart sent a NOTIFICATION:\n%s", d.stderr)
	}
	got, err := rs[1].Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := member.Find(got, p); !ok {
		t.Fatalf("nhs-b dropped 10.1.0.0/16 while the route server was down: %s", member.Summary(got, 5))
	}

	d2 := startDaemon(t, "run", "-c", file)
	waitSocket(t, d2, sock)
	if !strings.Contains(d2.stderr.String(), "restarting after a planned restart") {
		t.Errorf("the second start does not say it restarts gracefully:\n%s", d2.stderr)
	}
	if _, err := os.Stat(hist + ".restart"); !os.IsNotExist(err) {
		t.Errorf("the restart marker is still there after the start (%v)", err)
	}
	rstest.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(d2.stderr.String(), "every member's End-of-RIB received")
	}, "the route server to end its deferral on the members' End-of-RIBs")
	if _, err := rs[1].WaitFor(ctx, "10.1.0.0/16", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	// A plain stop still means "drop the routes".
	d2.stop(10 * time.Second)
	if _, err := rs[1].WaitFor(ctx, "10.1.0.0/16 dropped after SIGTERM", rstest.HasNot(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(hist + ".restart"); !os.IsNotExist(err) {
		t.Errorf("SIGTERM left a restart marker (%v)", err)
	}
}
