package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// throwawayUser creates a system user (no home) in a new supplementary
// group, deleted with the group at the end of the test.
func throwawayUser(t *testing.T) (u *user.User, noc *user.Group) {
	t.Helper()
	interop.Require(t, true, "useradd", "userdel", "groupadd", "groupdel")
	suffix := fmt.Sprintf("%d%03d", os.Getpid()%100000, rand.IntN(1000))
	name, group := "fedrst"+suffix, "fedrsn"+suffix
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("groupadd", "--system", group)
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", "-G", group, name)
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	noc, err = user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	return u, noc
}

// privilegedPort is a free port below 1024 on addr.
func privilegedPort(t *testing.T, addr string) int {
	t.Helper()
	for range 200 {
		p := 600 + rand.IntN(400)
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatal("no free port below 1024")
	return 0
}

// procIDs returns the Uid, Gid and Groups lines of /proc/PID/status.
func procIDs(t *testing.T, pid int) (uid, gid, groups string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "Uid":
			uid = strings.Join(strings.Fields(v), " ")
		case "Gid":
			gid = strings.Join(strings.Fields(v), " ")
		case "Groups":
			groups = strings.Join(strings.Fields(v), " ")
		}
	}
	return uid, gid, groups
}

// TestRunDropsToUser: fedrs run started as root with [server] user binds
// a port below 1024, its control socket and its history, then runs as that
// user (real, effective, saved and filesystem ids; its group and
// supplementary groups, per /proc); members' sessions come up, routes
// flow, history records them, and a reload (reading the file as the user)
// works. The user cannot be changed to by a non-root fedrs (a clear error),
// while a fedrs started as that user runs.
func TestRunDropsToUser(t *testing.T) {
	u, noc := throwawayUser(t)
	fedrsBinary(t)
	// A directory the user can reach (the test's temporary directories
	// are root's, 0700).
	dir, err := os.MkdirTemp("", "fedrs-userdrop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := privilegedPort(t, "127.0.0.1")
	sock := filepath.Join(dir, "fedrs.sock")
	db := filepath.Join(dir, "hist", "history.db") // a directory fedrs creates
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q\nhistory = %q\nuser = %q", sock, db, u.Username)).Replace(rstest.Config(rstest.Three(), ""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "run", "-c", file)
	waitSocket(t, d, sock)
	uid, gid, groups := procIDs(t, d.pid())
	if want := strings.Repeat(u.Uid+" ", 4)[:len(u.Uid)*4+3]; uid != want {
		t.Errorf("Uid %q, want %q", uid, want)
	}
	if want := strings.Repeat(u.Gid+" ", 4)[:len(u.Gid)*4+3]; gid != want {
		t.Errorf("Gid %q, want %q", gid, want)
	}
	if !strings.Contains(" "+groups+" ", " "+noc.Gid+" ") || strings.Contains(" "+groups+" ", " 0 ") {
		t.Errorf("Groups %q, want the user's (%s, %s) and not root's", groups, u.Gid, noc.Gid)
	}
	if !strings.Contains(d.stderr.String(), "privileges dropped") {
		t.Errorf("no log line for the change of user:\n%s", d.stderr)
	}
	for _, f := range []string{db, db + "-wal", db + "-shm", filepath.Dir(db), sock} {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil || strconv.Itoa(int(st.Uid)) != u.Uid {
			t.Errorf("%s: owner %d (%v), want %s", f, st.Uid, err, u.Uid)
		}
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
	routers[0].Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")})
	if _, err := routers[1].WaitFor(ctx, "10.1.0.0/16", rstest.Has(netip.MustParsePrefix("10.1.0.0/16"))); err != nil {
		t.Fatalf("the route did not reach nhs-b: %v\n%s", err, d.stderr)
	}
	// History, written by the user since the sessions came up after the
	// change: the three sessions and the route.
	var last string
	if err := rstest.Until(30*time.Second, func() bool {
		r := fedrsCmd(t, nil, "history", "sessions", "--db", db, "--json")
		h := fedrsCmd(t, nil, "history", "prefix", "10.1.0.0/16", "--db", db)
		last = r.String() + "\n" + h.String()
		var sessions struct{ Sessions []json.RawMessage }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &sessions) != nil {
			return false
		}
		if len(sessions.Sessions) != 3 || h.code != 0 || !strings.Contains(h.stdout, "nhs-a") {
			return false
		}
		// And read by the route server (as the user) for the control API.
		var hs struct{ Sessions []json.RawMessage }
		err := api.NewClient(sock).Get(ctx, "/v1/history/sessions", nil, &hs)
		last += fmt.Sprintf("\n/v1/history/sessions: %d sessions, %v", len(hs.Sessions), err)
		return err == nil && len(hs.Sessions) == 3
	}); err != nil {
		t.Fatalf("history did not record the three sessions and 10.1.0.0/16 from nhs-a:\n%s\nfedrs:\n%s", last, d.stderr)
	}
	// A reload: the file read as the user.
	if r := fedrsCmd(t, nil, "reload", "-c", file); r.code != 0 {
		t.Errorf("reload: %s", r)
	}
	if strings.Contains(d.stderr.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", d.stderr)
	}
	d.stop(30 * time.Second)
	if code := d.state.ExitCode(); code != 0 {
		t.Errorf("exit status %d\n%s", code, d.stderr)
	}

	// Not root: [server] user must be the user fedrs runs as.
	uidN, _ := strconv.Atoi(u.Uid)
	gidN, _ := strconv.Atoi(u.Gid)
	bin := filepath.Join(dir, "fedrs")
	if b, err := os.ReadFile(fedrsBinary(t)); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copying the binary: %v", err)
	}
	userDir := filepath.Join(dir, "user")
	if err := os.Mkdir(userDir, 0o755); err != nil || os.Chown(userDir, uidN, gidN) != nil {
		t.Fatal(err)
	}
	asUser := func(userLine string) *exec.Cmd {
		f := filepath.Join(userDir, "fedrs.toml")
		cfg := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, freePort(t, "127.0.0.1")),
			`control = ""`, fmt.Sprintf("control = %q\nhistory = %q\n%s", filepath.Join(userDir, "fedrs.sock"), filepath.Join(userDir, "history.db"), userLine)).
			Replace(rstest.Config(rstest.Three(), ""))
		if err := os.WriteFile(f, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "-c", f)
		cmd.Env = cleanEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uidN), Gid: uint32(gidN)}}
		return cmd
	}
	cmd := asUser(`user = "root"`)
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), `[server] user = "root"`) ||
		!strings.Contains(string(out), "not root, and cannot change to it") {
		t.Errorf("fedrs run as %s with user = root: exit %d (%v)\n%s", u.Username, code, err, out)
	}
	// As the user itself: it runs (and stops on SIGTERM).
	cmd = asUser(fmt.Sprintf("user = %q", u.Username))
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	rstest.Eventually(t, 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("fedrs run as %s with user = itself exited: %v\n%s", u.Username, err, &buf)
		default:
		}
		return fedrsCmd(t, nil, "lg", "summary", "--socket", filepath.Join(userDir, "fedrs.sock"), "--json").code == 0
	}, "fedrs run as the user itself to answer")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Errorf("fedrs run as the user itself: %v\n%s", err, &buf)
	}
}
