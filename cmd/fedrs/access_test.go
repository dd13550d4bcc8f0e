package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

// gidOf is the group of the file at path.
func gidOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Gid)
}

// existingGroup is a group of this host other than the test's own
// primary group (to hand a socket to), or skips.
func existingGroup(t *testing.T) (string, int) {
	t.Helper()
	for _, name := range []string{"daemon", "adm", "nogroup", "users"} {
		g, err := user.LookupGroup(name)
		if err != nil {
			continue
		}
		gid, _ := strconv.Atoi(g.Gid)
		if gid != os.Getgid() {
			return name, gid
		}
	}
	t.Skip("no group on this host other than the test's own to hand the read-only socket to")
	return "", 0
}

// TestOperatorAccess, with the real binary: the admin socket (0660, the
// daemon's group) and the read-only socket (0660, control_readonly_group);
// lg, history and rpki status work on the read-only socket, with history
// answers identical to reading the file; reload, member clear and
// maintenance are refused there, naming the admin socket; state changes on
// the admin socket are logged with the caller's uid, refused reloads at
// WARN; fedrs lg -c FILE works while FILE has a syntax error.
func TestOperatorAccess(t *testing.T) {
	group, gid := existingGroup(t)
	f := startRunningFedWith(t, fmt.Sprintf("control_readonly = \"ro.sock\"\ncontrol_readonly_group = %q", group))
	ro := filepath.Join(f.dir, "ro.sock")
	db := filepath.Join(f.dir, "history.db")
	for _, s := range []struct {
		path string
		gid  int
	}{{f.sock, os.Getgid()}, {ro, gid}} {
		fi, err := os.Stat(s.path)
		if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
			t.Errorf("%s: %v %v, want a socket with mode 0660", s.path, fi.Mode(), err)
		}
		if g := gidOf(t, s.path); g != s.gid {
			t.Errorf("%s: group %d, want %d", s.path, g, s.gid)
		}
	}

	// Reading works on the read-only socket.
	for _, args := range [][]string{
		{"lg", "summary"}, {"lg", "routes", "nhs-a"}, {"lg", "route", "nhs-a", "10.1.0.0/16"}, {"rpki", "status"},
	} {
		if r := fedrsCmd(t, nil, append(args, "--socket", ro)...); r.code != 0 {
			t.Errorf("fedrs %v on the read-only socket: %s", args, r)
		}
	}
	// History over the socket: the same output as reading the file, for
	// each subcommand, as a table and as JSON.
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		r := fedrsCmd(t, nil, "history", "filtered", "--db", db)
		if !strings.Contains(r.stdout, "10.2.0.0/16") {
			return fmt.Errorf("history filtered: %s", r)
		}
		return nil
	}, "the filtered route in the history")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, args := range [][]string{
		{"prefix", "10.1.0.0/16"}, {"prefix", "10.0.0.0/8", "--more-specifics", "--limit", "1"},
		{"member", "nhs-a"}, {"filtered"}, {"filtered", "--reason", "next_hop", "--member", "nhs-a"},
		{"sessions"}, {"sessions", "--member", "council-c", "--since", "-1h"},
		{"at", now}, {"at", now, "--exported-to", "nhs-b"}, {"at", now, "--member", "nhs-a", "--limit", "1"},
	} {
		for _, format := range [][]string{nil, {"--json"}, {"--csv"}} {
			a := append(append([]string{"history"}, args...), format...)
			file := fedrsCmd(t, nil, append(a, "--db", db)...)
			sock := fedrsCmd(t, nil, append(a, "--socket", ro)...)
			if file.code != 0 || sock.code != 0 || file.stdout != sock.stdout || file.stderr != sock.stderr {
				t.Errorf("fedrs %v: the file and the read-only socket differ\n--- --db:\n%s\n--- --socket:\n%s", a, file, sock)
			}
			if format == nil && (strings.Contains(file.stdout, "(nothing recorded)") || file.stdout == "") {
				t.Errorf("fedrs %v: nothing recorded?\n%s", a, file)
			}
		}
	}
	if r := fedrsCmd(t, nil, "history", "member", "nobody", "--socket", ro); r.code != 2 || !strings.Contains(r.stderr, "nobody") {
		t.Errorf("history member nobody over the socket: %s; want exit status 2 naming it", r)
	}

	// Changing state is refused on the read-only socket, server-side,
	// naming the admin socket; nothing changes.
	for _, args := range [][]string{
		{"reload"}, {"member", "clear", "council-c"}, {"member", "shutdown", "council-c"}, {"maintenance", "start"},
	} {
		r := fedrsCmd(t, nil, append(args, "--socket", ro)...)
		if r.code != 1 || !strings.Contains(r.stderr, "read-only control socket") || !strings.Contains(r.stderr, f.sock) {
			t.Errorf("fedrs %v on the read-only socket: %s; want exit status 1, refused, naming %s", args, r, f.sock)
		}
	}
	uid := os.Getuid()
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		log := f.d.stderr.String()
		if !regexp.MustCompile(`level=WARN msg="control request refused" request="POST /v1/members/council-c/clear" caller="uid ` + strconv.Itoa(uid) + `[^"]*" status=403 uid=` + strconv.Itoa(uid)).MatchString(log) {
			return fmt.Errorf("no refusal logged with the caller:\n%s", log)
		}
		return nil
	}, "the refused member clear in the log")

	// On the admin socket they work, logged with the caller.
	if r := fedrsCmd(t, nil, "member", "clear", "council-c", "--socket", f.sock); r.code != 0 {
		t.Errorf("member clear on the admin socket: %s", r)
	}
	if r := fedrsCmd(t, nil, "reload", "--socket", f.sock); r.code != 0 {
		t.Errorf("reload on the admin socket: %s", r)
	}
	// A refused reload leaves a WARN with the caller and the reason.
	good, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "asn = 65001", "asn = \"sixty-five\"", 1) + "\n[[member]\n"
	if err := os.WriteFile(f.file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := fedrsCmd(t, nil, "reload", "--socket", f.sock); r.code != 1 {
		t.Errorf("reload of a broken file: %s; want exit status 1", r)
	}
	// A SIGHUP reload of the broken file: refused, logged (with the API's
	// refusal, two lines), and recorded.
	f.d.cmd.Process.Signal(syscall.SIGHUP)
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if strings.Count(f.d.stderr.String(), `msg="reload refused; the running configuration stays"`) < 2 {
			return fmt.Errorf("no refused SIGHUP reload in\n%s", f.d.stderr)
		}
		return nil
	}, "the refused SIGHUP reload in the log")
	// The client needs only the socket path: lg -c FILE works while FILE
	// has an error.
	if r := fedrsCmd(t, nil, "lg", "summary", "-c", f.file); r.code != 0 {
		t.Errorf("lg summary -c FILE with a syntax error in FILE: %s", r)
	}
	if err := os.WriteFile(f.file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(uid)
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		log := f.d.stderr.String()
		for _, re := range []string{
			`level=INFO msg="control request done" request="POST /v1/members/council-c/clear" caller="uid ` + id + `[^"]*" status=200 uid=` + id + ` gid=\d+ pid=\d+`,
			`level=INFO msg="control request done" request="POST /v1/reload" caller="uid ` + id + `[^"]*" status=200 uid=` + id,
			`level=WARN msg="control request refused" request="POST /v1/reload" caller="uid ` + id + `[^"]*" status=422 uid=` + id + ` gid=\d+ pid=\d+ reason="configuration refused, the running one stays: ` + regexp.QuoteMeta(f.file),
		} {
			if !regexp.MustCompile(re).MatchString(log) {
				return fmt.Errorf("no line matching %s in\n%s", re, log)
			}
		}
		return nil
	}, "the control requests in the log with the caller")

	// And in the history's events, with the caller, for the operator.
	cl := api.NewClient(ro)
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		var page history.EventPage
		if err := cl.Get(context.Background(), "/v1/history/events", url.Values{"kind": {"control"}}, &page); err != nil {
			return err
		}
		found := map[string]bool{}
		for _, e := range page.Events {
			found[fmt.Sprintf("%s %d %v", e.Command, e.Status, e.ReadOnly)] = true
			if e.Command == "SIGHUP reload" {
				continue // a signal does not say who sent it
			}
			if e.UID == nil || *e.UID != int64(uid) || e.PID == nil {
				return fmt.Errorf("event without the caller's uid %d: %+v", uid, e)
			}
		}
		for _, want := range []string{
			"POST /v1/members/council-c/clear 403 true", "POST /v1/reload 403 true", "POST /v1/maintenance/start 403 true",
			"POST /v1/members/council-c/clear 200 false", "POST /v1/reload 200 false", "POST /v1/reload 422 false", "SIGHUP reload 422 false",
		} {
			if !found[want] {
				return fmt.Errorf("no control event %q among %v", want, found)
			}
		}
		return nil
	}, "the control requests in the history")
}

// TestControlPathNotSocket: a control or control_readonly path that names
// a regular file stops fedrs run before anything starts, and the file is
// left as it was.
func TestControlPathNotSocket(t *testing.T) {
	fedrsBinary(t)
	for _, key := range []string{"control", "control_readonly"} {
		t.Run(key, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(dir, "precious.txt")
			if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sock, extra := victim, ""
			if key == "control_readonly" {
				sock, extra = filepath.Join(dir, "fedrs.sock"), fmt.Sprintf("control_readonly = %q\ncontrol_readonly_group = %q", victim, groupName(t))
			}
			text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, freePort(t, "127.0.0.1")),
				`control = ""`, fmt.Sprintf("control = %q", sock)).Replace(rstest.Config(rstest.Three(), extra))
			file := filepath.Join(dir, "fedrs.toml")
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, "run", "-c", file)
			if code := d.wait(30 * time.Second); code != 1 || !strings.Contains(d.stderr.String(), victim+": a file that is not a socket is in the way") {
				t.Errorf("fedrs run with %s = a regular file: exit status %d, want 1 naming it\n%s", key, code, d.stderr)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me\n" {
				t.Errorf("the regular file: %q, %v; want it untouched", b, err)
			}
		})
	}
}

// groupName is the name of the test's primary group.
func groupName(t *testing.T) string {
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skip(err)
	}
	return g.Name
}

// TestCheckControlGroups: fedrs check refuses a socket group this host
// does not have, naming the key.
func TestCheckControlGroups(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ extra, want string }{
		{"control_group = \"no-such-group-fedrs\"", "server.control_group"},
		{"control_readonly = \"ro.sock\"\ncontrol_readonly_group = \"no-such-group-fedrs\"", "server.control_readonly_group"},
		{"control_readonly_group = \"" + groupName(t) + "\"", "has no effect without control_readonly"},
	} {
		text := strings.Replace(rstest.Config(rstest.Three(), c.extra), `control = ""`, `control = "fedrs.sock"`, 1)
		file := filepath.Join(dir, "fedrs.toml")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		r := fedrsCmd(t, nil, "check", "-c", file)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("check with %s: %s; want exit status 1 naming %s", c.extra, r, c.want)
		}
	}
}
