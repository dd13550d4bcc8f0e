package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

// counter is a TCP listener on a member's (or collector's) address that
// counts the connections made to it and, for a member, forwards each to
// the member's router (from the route server's address, as it would
// arrive), so that every connection attempt toward the address is seen.
type counter struct {
	ln    net.Listener
	n     atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// newCounter listens on addr:0; forward ("" for none: the connections are
// read and discarded) is where each connection goes, dialled from from.
func newCounter(t *testing.T, addr, forward, from string) *counter {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{ln: ln}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.n.Add(1)
			c.track(in)
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer in.Close()
				if forward == "" {
					io.Copy(io.Discard, in)
					return
				}
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
				out, err := d.Dial("tcp", forward)
				if err != nil {
					return
				}
				c.track(out)
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, x := range c.conns {
			x.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

func (c *counter) track(x net.Conn) {
	c.mu.Lock()
	c.conns = append(c.conns, x)
	c.mu.Unlock()
}

func (c *counter) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

// freePort returns a port free on addr now.
func freePort(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runFedFile writes a configuration for fedrs run in dir: the route server
// on 127.0.0.1:port, its control socket dir/fedrs.sock and history
// hist/sub/history.db (a directory that does not exist yet), connecting
// out to each member at its address and port (members[i] is "addr:port";
// none is passive), and extra lines for [server].
func runFedFile(t *testing.T, dir string, port int, members []string, extra string) (file, sock string) {
	t.Helper()
	sock = filepath.Join(dir, "fedrs.sock")
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nasn = %d\nrouter_id = \"10.255.255.254\"\nlisten = [\"127.0.0.1:%d\"]\ncontrol = %q\nhistory = \"hist/sub/history.db\"\nconnect_retry = \"1s\"\n%s\n",
		rstest.RSASN, port, sock, extra)
	for i, m := range members {
		host, p, _ := net.SplitHostPort(m)
		fmt.Fprintf(&b, "[[member]]\nname = \"m%d\"\nasn = %d\nneighbors = [%q]\nport = %s\ngtsm = false\nrole_strict = false\n"+
			"prefixes = [\"10.0.0.0/8 le 32 shared\"]\n\n", i+1, 4200000001+i, host, p)
	}
	file = filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, sock
}

// TestSecondRunDisturbsNothing: a second fedrs run with the configuration
// of a running one exits at once with status 1 and one line naming the
// running one's pid and control socket; the running one's member sessions
// (as it and the members see them), its BMP collector and its audit
// history are untouched, and no connection from the second reached a
// member's address or the collector.
func TestSecondRunDisturbsNothing(t *testing.T) {
	fedrsBinary(t) // built before the clock starts
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	collector := newCounter(t, "127.0.0.56", "", "")
	var routers []*member.Router
	var proxies []*counter
	var members []string
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.%d", 31+i)
		lp := freePort(t, addr)
		r, err := member.Start(ctx, member.Config{Name: fmt.Sprintf("m%d", i+1), ASN: uint32(4200000001 + i), LocalAddr: netip.MustParseAddr(addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSASN: rstest.RSASN, ListenPort: lp, Passive: true, Log: rstest.Log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		routers = append(routers, r)
		p := newCounter(t, addr, net.JoinHostPort(addr, strconv.Itoa(lp)), "127.0.0.1")
		proxies = append(proxies, p)
		members = append(members, net.JoinHostPort(addr, strconv.Itoa(p.port())))
	}
	bmp := fmt.Sprintf("[[bmp]]\nname = \"col\"\naddress = %q\nconnect_retry = \"1s\"\n", collector.ln.Addr())
	file, sock := runFedFile(t, dir, freePort(t, "127.0.0.1"), members, bmp)

	first := startDaemon(t, "run", "-c", file, "--log-level", "debug", "--log-format", "json")
	waitSocket(t, first, sock)
	cl := api.NewClient(sock)
	for i, r := range routers {
		if err := r.WaitEstablished(ctx); err != nil {
			var ns []api.Neighbor
			cl.Get(context.Background(), "/v1/neighbors", nil, &ns)
			t.Fatalf("%s: %v; %d connections through its proxy; the route server's view: %+v\n%s", r.Name(), err, proxies[i].n.Load(), ns, first.stderr)
		}
	}
	neighbors := func() map[string]api.Neighbor {
		var ns []api.Neighbor
		if err := cl.Get(ctx, "/v1/neighbors", nil, &ns); err != nil {
			t.Fatal(err)
		}
		m := map[string]api.Neighbor{}
		for _, n := range ns {
			m[n.Member] = n
		}
		return m
	}
	rstest.Eventually(t, 15*time.Second, func() bool {
		up := 0
		for _, n := range neighbors() {
			if n.State == "Established" {
				up++
			}
		}
		return up == 3 && collector.n.Load() == 1
	}, "the route server to see 3 sessions up and the collector connected")
	before := neighbors()
	var uptimes []time.Time
	for _, r := range routers {
		up, err := r.Uptime(ctx)
		if err != nil || up.IsZero() {
			t.Fatalf("%s uptime %v %v", r.Name(), up, err)
		}
		uptimes = append(uptimes, up)
	}
	var conns []int64
	for i, p := range proxies {
		if p.n.Load() == 0 {
			t.Fatalf("m%d: the first fedrs's session did not go through the counting proxy", i+1)
		}
		conns = append(conns, p.n.Load())
	}

	// The second run, with the same file.
	second := startDaemon(t, "run", "-c", file)
	if code := second.wait(30 * time.Second); code != 1 {
		t.Errorf("second fedrs run: exit status %d, want 1\n%s", code, second.stderr)
	}
	msg := strings.TrimSpace(second.stderr.String())
	for _, want := range []string{fmt.Sprintf("pid %d", first.pid()), sock, "nothing was started"} {
		if !strings.Contains(msg, want) {
			t.Errorf("second fedrs run's message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "\n") > 0 || strings.Contains(msg, "goroutine") {
		t.Errorf("second fedrs run: want one line, got\n%s", msg)
	}

	// Nothing of the first was disturbed.
	if first.exited() {
		t.Fatalf("the first fedrs exited: %v\n%s", first.state, first.stderr)
	}
	after := neighbors()
	for name, b := range before {
		a := after[name]
		if a.State != "Established" || a.Flaps != b.Flaps || !a.Since.Equal(b.Since) {
			t.Errorf("%s: %s since %v with %d flaps; was %s since %v with %d", name, a.State, a.Since, a.Flaps, b.State, b.Since, b.Flaps)
		}
	}
	for i, r := range routers {
		if up, err := r.Uptime(ctx); err != nil || !up.Equal(uptimes[i]) {
			t.Errorf("%s: the member's session is up since %v (%v), was %v", r.Name(), up, err, uptimes[i])
		}
		if n := proxies[i].n.Load(); n != conns[i] {
			t.Errorf("%s: %d connections reached its address, %d before the second run", r.Name(), n, conns[i])
		}
	}
	if n := collector.n.Load(); n != 1 {
		t.Errorf("the BMP collector got %d connections, want 1 (the first fedrs)", n)
	}
	// The audit history still shows the first one's sessions open (a
	// second run that opened the database would have closed them as
	// left by a crash).
	hr, err := history.OpenReader(filepath.Join(dir, "hist/sub/history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Close()
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		ss, err := hr.Sessions(context.Background(), "", time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		open := 0
		for _, s := range ss {
			if s.Recovered || (s.Down != nil && s.Up != nil && !s.Down.Before(*s.Up)) {
				b, _ := json.Marshal(s)
				return fmt.Errorf("closed session %s", b)
			}
			if s.Up != nil && s.Down == nil {
				open++
			}
		}
		if open != 3 {
			return fmt.Errorf("%d open sessions", open)
		}
		return nil
	}, "three open sessions in the history")
	if r := fedrsCmd(t, nil, "lg", "summary", "-c", file); r.code != 0 || !strings.Contains(r.stdout, "sessions 3/3 up") {
		t.Errorf("lg summary of the first after the second run:\n%s", r)
	}
	// Its whole log, to the shutdown, has no repeated key and no nil error.
	first.stop(10 * time.Second)
	if code := first.state.ExitCode(); code != 0 {
		t.Errorf("the first fedrs stopped with status %d", code)
	}
	if n := strings.Count(first.stderr.String(), "\n"); n < 10 {
		t.Errorf("the first fedrs logged %d lines at debug level:\n%s", n, first.stderr)
	}
	checkJSONLog(t, first.stderr.String())
}

// TestRunRecoversStaleSocket: after a fedrs run is killed (SIGKILL) its
// socket file stays; the next fedrs run replaces it, says so, and serves.
func TestRunRecoversStaleSocket(t *testing.T) {
	dir := t.TempDir()
	file, sock := runFedFile(t, dir, freePort(t, "127.0.0.1"), []string{"127.0.0.41:1179"}, "")
	first := startDaemon(t, "run", "-c", file)
	waitSocket(t, first, sock)
	if _, err := os.Stat(filepath.Join(dir, "hist/sub/history.db")); err != nil {
		t.Errorf("history database: %v (its directory should have been created)", err)
	}
	first.kill()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the killed run left no socket file to recover: %v", err)
	}
	if r := fedrsCmd(t, nil, "lg", "summary", "--socket", sock); r.code != 1 || !strings.Contains(r.stderr, "is fedrs running") {
		t.Errorf("lg against the stale socket:\n%s", r)
	}
	second := startDaemon(t, "run", "-c", file)
	waitSocket(t, second, sock)
	if !strings.Contains(second.stderr.String(), "replaced a socket file that no process answered on") {
		t.Errorf("the second run did not say it replaced the stale socket:\n%s", second.stderr)
	}
	// A third, while the second runs, is refused, naming the second.
	third := startDaemon(t, "run", "-c", file)
	if code := third.wait(30 * time.Second); code != 1 || !strings.Contains(third.stderr.String(), fmt.Sprintf("pid %d", second.pid())) {
		t.Errorf("third run: exit status %d\n%s", code, third.stderr)
	}
	second.stop(10 * time.Second)
	if code := second.state.ExitCode(); code != 0 {
		t.Errorf("second run stopped with status %d\n%s", code, second.stderr)
	}
	// The killed run left its history run open: the second says so, once.
	if n := strings.Count(second.stderr.String(), "marked recovered"); n != 1 {
		t.Errorf("the second run said %d times that it recovered the previous run (marked recovered); want once:\n%s", n, second.stderr)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("a clean stop left the socket file")
	}
}

// TestRunListenInUse: fedrs run whose BGP listen address is in use stops
// at once with status 1 and one line naming the address, and leaves no
// control socket behind.
func TestRunListenInUse(t *testing.T) {
	fedrsBinary(t)
	dir := t.TempDir()
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	file, sock := runFedFile(t, dir, port, []string{"127.0.0.31:1790"}, "")
	r := fedrsCmd(t, nil, "run", "-c", file)
	want := fmt.Sprintf("fedrs: listening on 127.0.0.1:%d: ", port)
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "address already in use") {
		t.Fatalf("fedrs run on a port in use: want status 1 and %q...address already in use; got %s", want, r)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket %s left behind (%v)", sock, err)
	}
}
