package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
)

// runFed is `fedrs run` (run) in-process on a free loopback port, with a
// control socket in a temporary directory and the three test members
// connected.
type runFed struct {
	dir, sock string
	port      int
	routers   []*member.Router
	// stop stops the route server and waits for run to return (once;
	// the test's cleanup calls it too).
	stop func()
}

// startRun writes the configuration of rstest.Three with extra (lines for
// [server], then other tables), runs it and waits for every session.
func startRun(t *testing.T, extra string) *runFed {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sock := filepath.Join(dir, "fedrs.sock")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q", sock)).Replace(rstest.Config(rstest.Three(), extra))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, rstest.StrictLog(t)) }()
	f := &runFed{dir: dir, sock: sock, port: port}
	stopped := false
	f.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	t.Cleanup(f.stop)
	rctx := rstest.Ctx(t)
	for _, m := range rstest.Three() {
		r, err := member.Start(rctx, member.Config{Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: port, RSASN: rstest.RSASN, Log: rstest.Log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		f.routers = append(f.routers, r)
	}
	for _, r := range f.routers {
		if err := r.WaitEstablished(rctx); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// metrics fetches /metrics over the control socket.
func (f *runFed) metrics(t *testing.T) []byte {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", f.sock)
	}}}
	resp, err := cl.Get("http://fedrs/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
