package history_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
)

// childDBEnv, when set, makes the test binary a route server with history
// at that path (see runChild) instead of running the tests: the crash test
// kills it with SIGKILL.
const childDBEnv = "FEDRS_HISTORY_CHILD_DB"

// childDefaultsEnv, when set, makes the child's recorder use the options
// fedrs run would (from the configuration) instead of the quick ones.
const childDefaultsEnv = "FEDRS_HISTORY_CHILD_DEFAULTS"

func TestMain(m *testing.M) {
	if path := os.Getenv(childDBEnv); path != "" {
		os.Exit(runChild(path, os.Getenv("FEDRS_HISTORY_CHILD_CONF")))
	}
	os.Exit(m.Run())
}

// runChild runs a route server with history until it is killed (or told
// to stop by SIGTERM); it prints "listening PORT" once it accepts.
func runChild(path, confText string) int {
	cfg, err := conf.Parse([]byte(confText), "child.toml")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts := history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Log: testLog}
	if os.Getenv(childDefaultsEnv) != "" {
		opts = history.OptionsFromConfig(cfg) // as fedrs run: the defaults of [history]
		opts.Log = testLog
	}
	rec, err := history.Open(path, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer rec.Close()
	srv, err := routeserver.New(cfg, routeserver.Options{Log: testLog, Listen: []string{"127.0.0.1:0"}, History: rec})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := srv.Listen(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("listening %d\n", srv.Addrs()[0].Port())
	srv.Serve(ctx)
	return 0
}

// TestKill9Recovery: a route server with history is killed with SIGKILL
// while members announce and withdraw; the next start opens the database,
// closes the intervals left open at the last heartbeat with a "recovered"
// mark, records the crash, and every version committed before the kill
// is still there.
func TestKill9Recovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.51"},
		{Name: "council-b", ASN: 4200000002, Addr: "127.0.0.52"},
	}
	child := startChild(t, path, configText(specs))
	rsPort := child.port

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var routers []*member.Router
	for _, m := range specs {
		r, err := member.Start(ctx, member.Config{Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: rsPort, RSASN: rsASN, Log: testLog})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		if err := r.WaitEstablished(ctx); err != nil {
			t.Fatal(err)
		}
		routers = append(routers, r)
	}

	// Load: each member announces, re-announces with a new path and
	// withdraws /24s of its own, until the kill (bounded in count).
	churnCtx, stopChurn := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, r := range routers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 20000 && churnCtx.Err() == nil; n++ {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(10 + i), byte(n % 200), 0}), 24)
				var err error
				switch (n / 200) % 3 {
				case 0:
					err = r.Announce(churnCtx, member.Route{Prefix: p})
				case 1:
					err = r.Announce(churnCtx, member.Route{Prefix: p, ASPath: []uint32{65000 + uint32(n%100)}})
				case 2:
					err = r.Withdraw(churnCtx, p)
				}
				if err != nil {
					return
				}
			}
		}()
	}

	// Wait until a good amount is committed, then take what the database
	// holds (what a reader sees is what was committed) and kill.
	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var before history.Info
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		if before, err = rd.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if before.Routes < 600 || before.Open == 0 {
			return fmt.Errorf("only %d route versions committed, %d open", before.Routes, before.Open)
		}
		return nil
	}, "600 route versions committed, some open")
	committed, err := rd.Versions(ctx, history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	child.kill()
	stopChurn()
	wg.Wait()

	crashed, err := rd.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if crashed.Open == 0 {
		t.Fatal("no open interval left by the kill: the test did not kill under load")
	}
	rd.Close()

	// Restart: Open recovers.
	rec, err := history.Open(path, history.Options{Log: testLog})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	rep := rec.Recovered()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 1 || rep.Routes != crashed.Open || rep.Sessions != int64(len(specs)) {
		t.Errorf("recovery report %+v, want 1 run, %d route versions, %d sessions", rep, crashed.Open, len(specs))
	}
	if rep.LastSeen.Before(before.LastSeen) {
		t.Errorf("recovered at last_seen %s, before a commit seen at %s", rep.LastSeen, before.LastSeen)
	}

	rd, err = history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	after, err := rd.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Open != 0 || after.Routes != crashed.Routes || after.Runs != 2 {
		t.Errorf("after recovery: %+v; want no open version, %d versions, 2 runs", after, crashed.Routes)
	}
	all, err := rd.Versions(ctx, history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]history.Version{}
	recovered := 0
	for _, v := range all {
		byID[v.ID] = v
		if v.Recovered {
			recovered++
			if v.To == nil || v.To.Before(v.From) || v.To.After(rep.LastSeen) || !strings.HasPrefix(v.EndCause, "recovered") {
				t.Errorf("recovered version %d: from %s to %v, cause %q", v.ID, v.From, v.To, v.EndCause)
			}
		}
	}
	if int64(recovered) != crashed.Open {
		t.Errorf("%d versions marked recovered, want %d", recovered, crashed.Open)
	}
	for _, v := range committed {
		w, ok := byID[v.ID]
		if !ok {
			t.Errorf("version %d (%s from %s) committed before the kill is gone", v.ID, v.Prefix, v.Member)
			continue
		}
		if w.Prefix != v.Prefix || w.Member != v.Member || !w.From.Equal(v.From) || w.ASPath != v.ASPath {
			t.Errorf("version %d changed: %+v, was %+v", v.ID, w, v)
		}
	}
	ss, err := rd.Sessions(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Down == nil || !s.Recovered {
			t.Errorf("session %+v: want closed and marked recovered", s)
		}
	}
	ns, err := rd.Notices(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !containsNotice(ns, "without a clean shutdown") {
		t.Errorf("no crash notice in %+v", ns)
	}
}

// child is a route server with history in a child process (runChild).
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	port   int
	killed bool
}

// startChild starts a child route server writing the history at path
// with configuration confText; env adds to its environment. It returns
// once the child listens.
func startChild(t *testing.T, path, confText string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childDBEnv+"="+path, "FEDRS_HISTORY_CHILD_CONF="+confText), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd}
	t.Cleanup(func() {
		if !c.killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p int
			if _, err := fmt.Sscanf(sc.Text(), "listening %d", &p); err == nil {
				port <- p
			}
		}
	}()
	select {
	case c.port = <-port:
	case <-time.After(20 * time.Second):
		t.Fatal("the child route server did not start")
	}
	return c
}

// kill kills the child with SIGKILL and waits for it; it returns when
// the signal was sent.
func (c *child) kill() time.Time {
	c.t.Helper()
	at := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	c.killed = true
	werr := c.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		c.t.Fatalf("child ended with %v, want killed by SIGKILL", werr)
	}
	return at
}

func containsNotice(ns []history.Notice, text string) bool {
	for _, n := range ns {
		if strings.Contains(n.Text, text) {
			return true
		}
	}
	return false
}

// TestBadDatabases: a file that is not a fedrs history gives an error
// that names the file and the problem, for the reader and the writer, and
// the writer does not touch it.
func TestBadDatabases(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("this is not a database\n"), 0o644)
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	unreadable := filepath.Join(dir, "secret.db")
	os.WriteFile(unreadable, []byte("SQLite format 3\x00"), 0o000)

	cases := []struct {
		name, path string
		reader     string // substring of OpenReader's error
		writer     string // substring of Open's error ("" when Open may use it)
	}{
		{"missing", filepath.Join(dir, "nope.db"), "no such file", ""},
		{"directory", dir, "is a directory", "directory"},
		{"text file", text, "not a SQLite database", "not a"},
		{"empty file", empty, "the file is empty", ""},
		{"foreign SQLite", foreign, "another application", "another application"},
	}
	if os.Geteuid() != 0 { // root reads anything
		cases = append(cases, struct{ name, path, reader, writer string }{"unreadable", unreadable, "cannot read", "cannot"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd, err := history.OpenReader(c.path)
			if err == nil {
				rd.Close()
				t.Fatalf("OpenReader(%s) succeeded", c.path)
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.reader) {
				t.Errorf("OpenReader: %v; want the path and %q", err, c.reader)
			}
			if c.writer == "" {
				return
			}
			before, _ := os.ReadFile(c.path)
			rec, err := history.Open(c.path, history.Options{Log: testLog})
			if err == nil {
				rec.Close()
				t.Fatalf("Open(%s) succeeded", c.path)
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.writer) {
				t.Errorf("Open: %v; want the path and %q", err, c.writer)
			}
			if after, _ := os.ReadFile(c.path); string(after) != string(before) {
				t.Errorf("Open changed %s", c.path)
			}
		})
	}
	// The foreign database still holds its data.
	db, _ = sql.Open("sqlite", foreign)
	defer db.Close()
	var total float64
	if err := db.QueryRow("SELECT total FROM invoices WHERE id = 1").Scan(&total); err != nil || total != 9.5 {
		t.Errorf("foreign database damaged: %v %v", total, err)
	}
}
