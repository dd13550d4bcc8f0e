package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// startDaemonEnv is startDaemon with env added to the environment and,
// when stderr is set, that file as the daemon's stderr (d.stderr stays
// empty then).
func startDaemonEnv(t testing.TB, env []string, stderr *os.File, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(fedrsBinary(t), args...)
	d.cmd.Env = append(cleanEnv(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if stderr != nil {
		d.cmd.Stderr = stderr
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		d.state = d.cmd.ProcessState
		close(d.done)
	}()
	t.Cleanup(func() { d.stop(10 * time.Second) })
	return d
}

// notifySocket is the service manager's end of $NOTIFY_SOCKET: it keeps
// every datagram it receives.
type notifySocket struct {
	name string // as NOTIFY_SOCKET names it
	mu   sync.Mutex
	msgs []string
	// onReady runs (in the reader) when the first READY=1 arrives.
	onReady func()
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	n := &notifySocket{name: fmt.Sprintf("@fedrs-test-notify-%d-%d", os.Getpid(), time.Now().UnixNano())}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + n.name[1:], Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		ready := false
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			m := string(buf[:k])
			if !ready && strings.Contains(m, "READY=1\n") {
				ready = true
				if n.onReady != nil {
					n.onReady()
				}
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, m)
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// since returns the datagrams from index i on.
func (n *notifySocket) since(i int) []string {
	all := n.all()
	if i > len(all) {
		return nil
	}
	return all[i:]
}

// status is the last STATUS= sent.
func (n *notifySocket) status() string {
	all := n.all()
	for i := len(all) - 1; i >= 0; i-- {
		for _, l := range strings.Split(all[i], "\n") {
			if s, ok := strings.CutPrefix(l, "STATUS="); ok {
				return s
			}
		}
	}
	return ""
}

func (n *notifySocket) count(assignment string) int {
	c := 0
	for _, m := range n.all() {
		for _, l := range strings.Split(m, "\n") {
			if l == assignment {
				c++
			}
		}
	}
	return c
}

// waitReload waits for a reload's notifications from datagram i on:
// RELOADING=1 with MONOTONIC_USEC, then READY=1 with a STATUS=, which it
// returns.
func (n *notifySocket) waitReload(t *testing.T, d *daemon, i int) string {
	t.Helper()
	var status string
	rstest.Eventually(t, 30*time.Second, func() bool {
		if d.exited() {
			t.Fatalf("fedrs exited: %v\n%s", d.state, d.stderr)
		}
		msgs := n.since(i)
		reloading := -1
		for j, m := range msgs {
			if strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
				usec, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(m, "RELOADING=1\nMONOTONIC_USEC=")), 10, 64)
				if err != nil || usec <= 0 {
					t.Fatalf("RELOADING datagram %q", m)
				}
				reloading = j
			}
			if reloading >= 0 && j > reloading && strings.HasPrefix(m, "READY=1\nSTATUS=") {
				status = strings.TrimSpace(strings.TrimPrefix(m, "READY=1\nSTATUS="))
				return true
			}
		}
		return false
	}, "RELOADING=1 then READY=1 with a STATUS=")
	return status
}

// TestServiceNotify runs fedrs run as systemd's Type=notify would, with
// $NOTIFY_SOCKET naming a datagram socket the test reads and a watchdog:
// READY=1 comes once the BGP port accepts connections; STATUS= follows
// the sessions the in-process members bring up and down; a reload
// (fedrs reload, as the unit's ExecReload, and SIGHUP) is framed by
// RELOADING=1/READY=1; a broken configuration is refused, said in STATUS=
// and in the log, and the running one stays; WATCHDOG=1 comes every half
// WATCHDOG_USEC; STOPPING=1 comes at SIGTERM.
func TestServiceNotify(t *testing.T) {
	fedrsBinary(t)
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	sock := filepath.Join(dir, "fedrs.sock")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q", sock)).Replace(rstest.Config(rstest.Three(), ""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := newNotifySocket(t)
	var readyDial error = fmt.Errorf("not tried")
	readyAt := make(chan struct{})
	ns.onReady = func() {
		// At READY=1 the BGP port must already accept connections.
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
		if err == nil {
			c.Close()
		}
		readyDial = err
		close(readyAt)
	}
	d := startDaemonEnv(t, []string{"NOTIFY_SOCKET=" + ns.name, "WATCHDOG_USEC=1000000"}, nil, "run", "-c", file)
	select {
	case <-readyAt:
	case <-d.done:
		t.Fatalf("fedrs exited before READY=1: %v\n%s", d.state, d.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no READY=1 within 30s; got %q\n%s", ns.all(), d.stderr)
	}
	if readyDial != nil {
		t.Fatalf("READY=1 before the BGP port accepted connections: %v", readyDial)
	}
	if first := ns.all()[0]; first != "READY=1\nSTATUS=0 of 3 sessions established\n" {
		t.Errorf("first datagram %q, want READY=1 with 0 of 3 sessions", first)
	}
	if _, set := os.LookupEnv("NOTIFY_SOCKET"); set {
		t.Fatal("the test's own environment has NOTIFY_SOCKET")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var routers []*member.Router
	for _, m := range rstest.Three() {
		r, err := member.Start(ctx, member.Config{Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: port, RSASN: rstest.RSASN, Log: rstest.Log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		routers = append(routers, r)
	}
	for _, r := range routers {
		if err := r.WaitEstablished(ctx); err != nil {
			t.Fatalf("%s: %v\n%s", r.Name(), err, d.stderr)
		}
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return ns.status() == "3 of 3 sessions established" },
		"STATUS=3 of 3 sessions established")
	routers[2].Stop()
	rstest.Eventually(t, 30*time.Second, func() bool { return ns.status() == "2 of 3 sessions established" },
		"STATUS=2 of 3 sessions established after council-c's router stopped")

	// A reload as the unit's ExecReload does it: a member added.
	added := "[[member]]\nname = \"nhs-d\"\nasn = 4200000004\nneighbors = [\"127.0.0.14\"]\npassive = true\nprefixes = [\"10.0.0.0/8 le 32 shared\"]\n"
	if err := os.WriteFile(file, []byte(text+added), 0o644); err != nil {
		t.Fatal(err)
	}
	i := len(ns.all())
	if r := fedrsCmd(t, nil, "reload", "-c", file); r.code != 0 {
		t.Fatalf("fedrs reload: %s", r)
	}
	if st := ns.waitReload(t, d, i); st != "2 of 4 sessions established" {
		t.Errorf("STATUS after the reload: %q, want 2 of 4 sessions established", st)
	}

	// A broken configuration: refused by fedrs reload and by SIGHUP, said
	// in STATUS= and the log; the running configuration stays.
	cl := api.NewClient(sock)
	var before api.Status
	if err := cl.Get(ctx, "/v1/status", nil, &before); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(text+added+"[[member]]\nname = \"broken\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	i = len(ns.all())
	if r := fedrsCmd(t, nil, "reload", "-c", file); r.code != 1 {
		t.Errorf("fedrs reload of a broken file: %s; want exit status 1", r)
	}
	st := ns.waitReload(t, d, i)
	if !strings.HasPrefix(st, "2 of 4 sessions established; reload refused at ") || !strings.Contains(st, "running configuration kept") ||
		!strings.Contains(st, "broken") {
		t.Errorf("STATUS after the refused reload: %q", st)
	}
	i = len(ns.all())
	d.cmd.Process.Signal(syscall.SIGHUP)
	if st := ns.waitReload(t, d, i); !strings.Contains(st, "reload refused at ") {
		t.Errorf("STATUS after the refused SIGHUP reload: %q", st)
	}
	if n := strings.Count(d.stderr.String(), "reload refused; the running configuration stays"); n != 2 {
		t.Errorf("%d refused reloads logged, want 2:\n%s", n, d.stderr)
	}
	var after api.Status
	if err := cl.Get(ctx, "/v1/status", nil, &after); err != nil {
		t.Fatal(err)
	}
	if after.ConfigHash != before.ConfigHash {
		t.Errorf("configuration hash %s after the refused reloads, was %s", after.ConfigHash, before.ConfigHash)
	}
	for _, r := range routers[:2] {
		if st, _ := r.State(ctx); st != "ESTABLISHED" {
			t.Errorf("%s: %s after the refused reloads", r.Name(), st)
		}
	}
	// Fixed again: the refusal leaves the status line.
	if err := os.WriteFile(file, []byte(text+added), 0o644); err != nil {
		t.Fatal(err)
	}
	i = len(ns.all())
	d.cmd.Process.Signal(syscall.SIGHUP)
	if st := ns.waitReload(t, d, i); st != "2 of 4 sessions established" {
		t.Errorf("STATUS after a good reload following a refused one: %q", st)
	}

	// The watchdog: WATCHDOG_USEC=1s, a ping every 0.5s.
	w := ns.count("WATCHDOG=1")
	rstest.Eventually(t, 10*time.Second, func() bool { return ns.count("WATCHDOG=1") >= w+3 }, "three more WATCHDOG=1")

	d.stop(30 * time.Second)
	if code := d.state.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, d.stderr)
	}
	all := ns.all()
	if last := all[len(all)-1]; last != "STOPPING=1\n" {
		t.Errorf("last datagram %q, want STOPPING=1", last)
	}
	if n := ns.count("STOPPING=1"); n != 1 {
		t.Errorf("STOPPING=1 sent %d times", n)
	}
}

// TestServiceNoWatchdogForOtherPID: WATCHDOG_USEC meant for another
// process (WATCHDOG_PID) starts no watchdog.
func TestServiceNoWatchdogForOtherPID(t *testing.T) {
	fedrsBinary(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "fedrs.sock")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, freePort(t, "127.0.0.1")),
		`control = ""`, fmt.Sprintf("control = %q", sock)).Replace(rstest.Config(rstest.Three(), ""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := newNotifySocket(t)
	d := startDaemonEnv(t, []string{"NOTIFY_SOCKET=" + ns.name, "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"}, nil, "run", "-c", file)
	waitSocket(t, d, sock)
	rstest.Eventually(t, 10*time.Second, func() bool { return ns.count("READY=1") == 1 }, "READY=1")
	// Long enough for four pings had a watchdog run (one every 0.1s):
	// a status request round trip per 0.1s, ten times.
	for range 10 {
		waitSocket(t, d, sock)
	}
	if n := ns.count("WATCHDOG=1"); n != 0 {
		t.Errorf("%d WATCHDOG=1 for WATCHDOG_PID=1", n)
	}
}

var journalLine = regexp.MustCompile(`^<([3467])>level=(DEBUG|INFO|WARN|ERROR) msg=`)

// TestServiceJournalLogs: with stderr the journal's stream
// ($JOURNAL_STREAM names its device and inode), every log line starts with
// its sd-daemon priority (<3> for the refused reload's error, <6> for
// info) and has no time (journald stamps it); --log-format journal does
// the same anywhere; otherwise, and when $JOURNAL_STREAM names another
// file, lines stay as they were (time=…).
func TestServiceJournalLogs(t *testing.T) {
	fedrsBinary(t)
	run := func(t *testing.T, env func(w *os.File) []string, args ...string) string {
		t.Helper()
		dir := t.TempDir()
		sock := filepath.Join(dir, "fedrs.sock")
		text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, freePort(t, "127.0.0.1")),
			`control = ""`, fmt.Sprintf("control = %q", sock)).Replace(rstest.Config(rstest.Three(), ""))
		file := filepath.Join(dir, "fedrs.toml")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		copied := make(chan struct{})
		go func() { io.Copy(&out, r); close(copied) }()
		d := startDaemonEnv(t, env(w), w, append([]string{"run", "-c", file}, args...)...)
		w.Close()
		waitSocket(t, d, sock)
		// An error line: a refused reload.
		if err := os.WriteFile(file, []byte(text+"[[member]]\nname = \"broken\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		d.cmd.Process.Signal(syscall.SIGHUP)
		rstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "reload refused") }, "the refused reload logged")
		d.stop(10 * time.Second)
		<-copied
		r.Close()
		return out.String()
	}
	stream := func(w *os.File) []string {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(w.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return []string{fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino)}
	}
	checkJournal := func(t *testing.T, log string) {
		t.Helper()
		refused := false
		for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
			m := journalLine.FindStringSubmatch(l)
			if m == nil || strings.Contains(l, "time=") {
				t.Errorf("not a journal line: %q", l)
				continue
			}
			want := map[string]string{"DEBUG": "7", "INFO": "6", "WARN": "4", "ERROR": "3"}[m[2]]
			if m[1] != want {
				t.Errorf("priority <%s> for level %s: %q", m[1], m[2], l)
			}
			if strings.Contains(l, "reload refused") {
				refused = refused || m[1] == "3"
			}
		}
		if !refused {
			t.Errorf("no <3> line for the refused reload:\n%s", log)
		}
	}
	checkPlain := func(t *testing.T, log string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(log), "\n")
		for _, l := range lines {
			if !strings.HasPrefix(l, "time=") {
				t.Errorf("not a plain text line: %q", l)
			}
		}
		if len(lines) < 3 {
			t.Errorf("only %d lines:\n%s", len(lines), log)
		}
	}
	t.Run("JOURNAL_STREAM", func(t *testing.T) { checkJournal(t, run(t, stream)) })
	t.Run("flag", func(t *testing.T) {
		checkJournal(t, run(t, func(*os.File) []string { return nil }, "--log-format", "journal"))
	})
	t.Run("plain", func(t *testing.T) { checkPlain(t, run(t, func(*os.File) []string { return nil })) })
	t.Run("JOURNAL_STREAM of another file", func(t *testing.T) {
		checkPlain(t, run(t, func(*os.File) []string { return []string{"JOURNAL_STREAM=1:2"} }))
	})
}

// TestCheckWarnsUnknownUser: fedrs check accepts a [server] user this
// machine does not know (the file may be for another one) but says that
// fedrs run would refuse it here, and run does, before taking anything.
func TestCheckWarnsUnknownUser(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "fedrs.sock")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, freePort(t, "127.0.0.1")),
		`control = ""`, fmt.Sprintf("control = %q\nuser = \"fedrs-no-such-user\"", sock)).Replace(rstest.Config(rstest.Three(), ""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := fedrsCmd(t, nil, "check", "-c", file)
	if r.code != 0 || !strings.Contains(r.stderr, `warning: [server] user = "fedrs-no-such-user": user: unknown user fedrs-no-such-user`) ||
		!strings.Contains(r.stderr, "fedrs run would refuse to start") {
		t.Errorf("fedrs check: %s", r)
	}
	r = fedrsCmd(t, nil, "run", "-c", file)
	if r.code != 1 || !strings.Contains(r.stderr, `[server] user = "fedrs-no-such-user"`) {
		t.Errorf("fedrs run: %s", r)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("fedrs run created its control socket before refusing the user")
	}
}
