package main

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// runningFed is a fedrs run child process with the three test members
// connected (in-process routers), a history database and two routes held:
// nhs-a's 10.1.0.0/16 (accepted) and 10.2.0.0/16 (filtered: next hop).
type runningFed struct {
	dir, file, sock string
	d               *daemon
	routers         []*member.Router
}

func startRunningFed(t *testing.T) *runningFed {
	t.Helper()
	return startRunningFedWith(t, "")
}

// startRunningFedWith is startRunningFed with extra lines in [server].
func startRunningFedWith(t *testing.T, extra string) *runningFed {
	t.Helper()
	fedrsBinary(t)
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	sock := filepath.Join(dir, "fedrs.sock")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q\nhistory = \"history.db\"", sock)).Replace(rstest.Config(rstest.Three(), extra))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &runningFed{dir: dir, file: file, sock: sock, d: startDaemon(t, "run", "-c", file)}
	waitSocket(t, f.d, sock)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range rstest.Three() {
		r, err := member.Start(ctx, member.Config{Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
			RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: port, RSASN: rstest.RSASN, Log: rstest.Log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		f.routers = append(f.routers, r)
	}
	for _, r := range f.routers {
		if err := r.WaitEstablished(ctx); err != nil {
			t.Fatalf("%s: %v\n%s", r.Name(), err, f.d.stderr)
		}
	}
	a := f.routers[0]
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")})
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})
	if _, err := f.routers[1].WaitFor(ctx, "10.1.0.0/16", rstest.Has(netip.MustParsePrefix("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(sock)
	rstest.Eventually(t, 10*time.Second, func() bool {
		var rl api.RouteList
		return cl.Get(ctx, "/v1/members/nhs-a/routes", nil, &rl) == nil && rl.Total == 2
	}, "the route server to hold both routes")
	return f
}

// state is what the route server and its members hold, as far as a
// command could change it.
type state struct {
	Config      string
	Maintenance bool
	Sessions    map[string]string   // member: state, since, flaps
	Received    map[string][]string // member: prefix verdict
	Exported    map[string][]string // member: prefix from
	Members     map[string][]string // what each member's router holds
	Uptimes     map[string]time.Time
}

func (f *runningFed) state(t *testing.T) state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := api.NewClient(f.sock)
	s := state{Sessions: map[string]string{}, Received: map[string][]string{}, Exported: map[string][]string{},
		Members: map[string][]string{}, Uptimes: map[string]time.Time{}}
	var st api.Status
	if err := cl.Get(ctx, "/v1/status", nil, &st); err != nil {
		t.Fatalf("status: %v", err)
	}
	s.Config, s.Maintenance = st.ConfigHash, st.Maintenance
	var ns []api.Neighbor
	if err := cl.Get(ctx, "/v1/neighbors", nil, &ns); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		s.Sessions[n.Member] = fmt.Sprintf("%s since %s, %d flaps, admin down %v", n.State, n.Since.Format(time.RFC3339Nano), n.Flaps, n.AdminDown)
		for _, view := range []string{"received", "exported"} {
			var rl api.RouteList
			if err := cl.Get(ctx, "/v1/members/"+n.Member+"/routes", url.Values{"view": {view}}, &rl); err != nil {
				t.Fatal(err)
			}
			for _, r := range rl.Routes {
				if view == "received" {
					s.Received[n.Member] = append(s.Received[n.Member], fmt.Sprintf("%s accepted=%v", r.Prefix, r.Accepted))
				} else {
					s.Exported[n.Member] = append(s.Exported[n.Member], fmt.Sprintf("%s from %s", r.Prefix, r.Member))
				}
			}
		}
	}
	for _, r := range f.routers {
		rs, err := r.Received(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rs {
			s.Members[r.Name()] = append(s.Members[r.Name()], fmt.Sprintf("%s %v %s", x.Prefix, x.ASPath, x.NextHop))
		}
		slices.Sort(s.Members[r.Name()])
		if s.Uptimes[r.Name()], err = r.Uptime(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestBadInput runs every command of the real binary with bad input: an
// unknown command, flag or member, a bad prefix, time or number, a missing
// file, a missing socket. Each prints one line on stderr naming what was
// wrong (nothing on stdout, never a Go stack), exits 2 for a usage error
// and 1 for a failure, and changes nothing on the running route server
// (sessions, routes, configuration, maintenance) nor what its members
// hold.
func TestBadInput(t *testing.T) {
	f := startRunningFed(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.toml")
	missingSock := filepath.Join(dir, "missing.sock")
	noDir := filepath.Join(dir, "no", "such", "dir")
	newFile := filepath.Join(dir, "fedrs.toml.new")
	text, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(newFile, text, 0o644)
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte(strings.Replace(string(text), "asn = 4200000000", "asn = 0", 1)), 0o644)
	long := strings.Repeat("x", 300)
	c := f.file

	type tc struct {
		args []string
		env  []string
		code int
		want string // in the one line on stderr
		// many: several lines are right (every error of a broken file).
		many bool
	}
	cases := []tc{
		// The command line itself.
		{args: []string{"rotes"}, code: 2, want: `unknown command "rotes"`},
		{args: []string{"lg", "rotes"}, code: 2, want: `lg: unknown command "rotes"; did you mean "routes"?`},
		{args: []string{"--bogus"}, code: 2, want: "unknown flag --bogus"},
		{args: []string{"help", "lg", "nothing"}, code: 2, want: `lg: unknown command "nothing"`},
		{args: []string{"version", "now"}, code: 2, want: `unexpected argument "now"`},
		{args: []string{"man", "now"}, code: 2, want: `"now"`},
		{args: []string{"man", "-o", "/dev/null/man"}, code: 1, want: "/dev/null/man"},
		{args: []string{"completion", "fish"}, code: 2, want: `unknown shell "fish"`},
		{args: []string{"completion"}, code: 2, want: "bash or zsh"},

		// run
		{args: []string{"run", "-c", missing}, code: 1, want: missing},
		{args: []string{"run", "-c", broken}, code: 1, want: "broken.toml:2"},
		{args: []string{"run", "-c", c, "--log-level", "loud"}, code: 2, want: `log level "loud"`},
		{args: []string{"run", "-c", c, "--log-formt", "json"}, code: 2, want: "unknown flag --log-formt; did you mean --log-format?"},
		{args: []string{"run", "-c", c}, code: 1, want: fmt.Sprintf("another fedrs (pid %d) is running with the control socket %s", f.d.pid(), f.sock)},
		{args: []string{"run", c}, code: 2, want: `unexpected argument "` + c + `"`},

		// check
		{args: []string{"check", "-c", missing}, code: 1, want: missing + ": no such file"},
		{args: []string{"check", "-c", broken}, code: 1, want: "broken.toml:2", many: true},
		{args: []string{"check", "-c", newFile, "--diff", "--socket", missingSock}, code: 1, want: "cannot reach the route server's control socket " + missingSock},
		{args: []string{"check", "-c", newFile, "--diff", "--limit", "0"}, code: 2, want: "--limit"},
		{args: []string{"check", "now", "-c", c}, code: 2, want: `unexpected argument "now"`},

		// demo
		{args: []string{"demo", "now"}, code: 2, want: `unexpected argument "now"`},
		{args: []string{"demo", "--onse"}, code: 2, want: "did you mean --once?"},

		// lg
		{args: []string{"lg", "summary", "--socket", missingSock}, code: 1, want: "cannot reach the route server's control socket " + missingSock},
		{args: []string{"lg", "summary", "-c", missing}, code: 1, want: "configuration " + missing + " does not exist"},
		{args: []string{"lg", "summary"}, env: []string{configEnv + "=" + missing}, code: 1, want: "configuration " + missing + " does not exist"},
		{args: []string{"lg", "neighbors", "nhs-a", "-c", c}, code: 2, want: `unexpected argument "nhs-a"`},
		{args: []string{"lg", "routes", "-c", c}, code: 2, want: "usage: fedrs lg routes MEMBER"},
		{args: []string{"lg", "routes", "nobody", "-c", c}, code: 2, want: `member "nobody"`},
		{args: []string{"lg", "routes", "nhs-a", "--family", "ipv5", "-c", c}, code: 2, want: `"ipv5"`},
		{args: []string{"lg", "routes", "nhs-a", "--filtered", "--exported", "-c", c}, code: 2, want: "choose one"},
		{args: []string{"lg", "routes", "nhs-a", "--limit", "0", "-c", c}, code: 2, want: "limit"},
		{args: []string{"lg", "lookup", "10.1.0.0/33", "-c", c}, code: 2, want: "10.1.0.0/33"},
		{args: []string{"lg", "lookup", "10.1.0.1/16", "-c", c}, code: 2, want: "host bits"},
		{args: []string{"lg", "lookup", "10.1.0.0/16", "--mode", "nearest", "-c", c}, code: 2, want: `"nearest"`},
		{args: []string{"lg", "route", "nhs-a", "not-a-prefix", "-c", c}, code: 2, want: "not-a-prefix"},
		{args: []string{"lg", "route", "nobody", "10.1.0.0/16", "-c", c}, code: 2, want: `member "nobody"`},
		{args: []string{"lg", "route", "nhs-a", "10.9.0.0/16", "-c", c}, code: 1, want: "no route for 10.9.0.0/16"},
		{args: []string{"lg", "explain", "nhs-a", "10.1.0.0/99", "-c", c}, code: 2, want: "10.1.0.0/99"},
		{args: []string{"lg", "explain", "nhs-a", "10.1.0.0/16", "--to", "nobody", "-c", c}, code: 2, want: `"nobody"`},

		// reload
		{args: []string{"reload", "-c", newFile}, code: 1, want: "reload refused, nothing changed: this route server runs " + f.file},
		{args: []string{"reload", "-c", missing, "--socket", f.sock}, code: 1, want: "reload refused, nothing changed"},
		{args: []string{"reload", "now", "-c", c}, code: 2, want: `unexpected argument "now"`},
		{args: []string{"restart", "-c", c}, code: 2, want: "only --graceful is supported"},
		{args: []string{"restart", "--graceful", "now", "-c", c}, code: 2, want: `unexpected argument "now"`},

		// member
		{args: []string{"member", "shutdown", "nobody", "-c", c}, code: 2, want: `member "nobody"`},
		{args: []string{"member", "shutdown", "nhs-a", "-m", long, "-c", c}, code: 2, want: "255"},
		{args: []string{"member", "shutdown", "-c", c}, code: 2, want: "usage: fedrs member shutdown MEMBER"},
		{args: []string{"member", "shutdown", "nhs-a", "--socket", missingSock}, code: 1, want: "cannot reach"},
		{args: []string{"member", "enable", "nobody", "-c", c}, code: 2, want: `member "nobody"`},
		{args: []string{"member", "clear", "nobody", "-c", c}, code: 2, want: `member "nobody"`},
		{args: []string{"member", "clear", "nhs-a", "--in", "--out", "-c", c}, code: 2, want: "--in or --out"},

		// maintenance
		{args: []string{"maintenance", "start", "--wait", "forever", "-c", c}, code: 2, want: `invalid value "forever" for flag --wait`},
		{args: []string{"maintenance", "start", "--wait", "-5m", "-c", c}, code: 2, want: "--wait"},
		{args: []string{"maintenance", "start", "-m", long, "-c", c}, code: 2, want: "255"},
		{args: []string{"maintenance", "start", "now", "-c", c}, code: 2, want: `"now"`},
		{args: []string{"maintenance", "status", "--socket", missingSock}, code: 1, want: "cannot reach"},
		{args: []string{"maintenance", "stop", "-c", c}, code: 1, want: "maintenance"},

		// rpki and the registry
		{args: []string{"rpki", "lookup", "10.0.0.0/33", "4200000001", "-c", c}, code: 2, want: "10.0.0.0/33"},
		{args: []string{"rpki", "lookup", "10.0.0.0/8", "AS42x", "-c", c}, code: 2, want: `"AS42x"`},
		{args: []string{"rpki", "lookup", "-c", c}, code: 2, want: "usage: fedrs rpki lookup"},
		{args: []string{"rpki", "aspa", "4200000001", "x", "-c", c}, code: 2, want: `"x"`},
		{args: []string{"rpki", "status", "-c", missing}, code: 1, want: missing},
		{args: []string{"registry", "check", "-c", missing}, code: 1, want: missing},
		{args: []string{"registry", "export-slurm", "-c", c, "-o", filepath.Join(noDir, "registry.json")}, code: 1, want: noDir},

		// history, on the running server's database
		{args: []string{"history", "prefix", "10.1.0.0/33", "-c", c}, code: 2, want: "10.1.0.0/33"},
		{args: []string{"history", "at", "yesterday-ish", "-c", c}, code: 2, want: "yesterday-ish"},
		{args: []string{"history", "prefix", "10.1.0.0/16", "--since", "2026-13-01", "-c", c}, code: 2, want: "2026-13-01"},
		{args: []string{"history", "member", "nobody", "-c", c}, code: 2, want: `"nobody"`},
		{args: []string{"history", "filtered", "--reason", "bogus_reason", "-c", c}, code: 2, want: "bogus_reason"},
		{args: []string{"history", "sessions", "--bogus", "-c", c}, code: 2, want: "--bogus"},
		{args: []string{"history", "sessions", "--db", filepath.Join(dir, "missing.db")}, code: 1, want: "missing.db"},
		{args: []string{"history", "sessions", "-c", missing}, code: 1, want: missing},

		// mrt
		{args: []string{"mrt", "dump", "-c", c}, code: 2, want: "usage: fedrs mrt dump -o FILE"},
		{args: []string{"mrt", "dump", "-o", filepath.Join(noDir, "rib.mrt"), "-c", c}, code: 1, want: noDir},
		{args: []string{"mrt", "dump", "-o", filepath.Join(dir, "rib.mrt"), "--socket", missingSock}, code: 1, want: "cannot reach"},

		// lab (nothing that needs root gets that far)
		{args: []string{"lab", "up", missing}, code: 1, want: missing},
		{args: []string{"lab", "test", missing}, code: 1, want: missing},
		{args: []string{"lab", "clab", missing}, code: 1, want: missing},
		{args: []string{"lab", "status", "no-such-lab", "--run-root", dir}, code: 1, want: "no-such-lab"},
		{args: []string{"lab", "down", "no-such-lab", "--run-root", dir}, code: 1, want: "no-such-lab"},
		{args: []string{"lab", "exec"}, code: 2, want: "usage: fedrs lab exec"},
		{args: []string{"lab", "routes", "no-such-lab"}, code: 2, want: "usage: fedrs lab routes"},
		{args: []string{"lab", "bench", "now"}, code: 2, want: `"now"`},
		{args: []string{"lab", "bench", "--sizes", "ten", "--out", dir}, code: 2, want: "--sizes"},
	}
	// Every command is tried.
	tried := map[string]bool{}
	for _, tc := range cases {
		var path []string
		for _, a := range tc.args {
			if !slices.Contains(commandPaths(), strings.Join(append(path, a), " ")) {
				break
			}
			path = append(path, a)
		}
		tried[strings.Join(path, " ")] = true
	}
	for _, p := range commandPaths() {
		if !tried[p] && !slices.ContainsFunc(commandPaths(), func(q string) bool { return strings.HasPrefix(q, p+" ") }) {
			t.Errorf("no bad-input case for fedrs %s", p)
		}
	}

	before := f.state(t)
	for _, tc := range cases {
		name := strings.Join(tc.args, " ")
		r := fedrsCmd(t, tc.env, tc.args...)
		if r.code != tc.code {
			t.Errorf("fedrs %s: exit status %d, want %d\n%s", name, r.code, tc.code, r)
		}
		if r.stdout != "" {
			t.Errorf("fedrs %s: printed on stdout:\n%s", name, r.stdout)
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if (len(lines) != 1 && !tc.many) || !strings.HasPrefix(last, "fedrs: ") || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("fedrs %s: want one line \"fedrs: ...%s...\" on stderr\n%s", name, tc.want, r)
		}
		if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
			t.Errorf("fedrs %s: a Go stack\n%s", name, r)
		}
		if after := f.state(t); !reflect.DeepEqual(after, before) {
			t.Errorf("fedrs %s changed the route server's state:\nbefore %+v\nafter  %+v", name, before, after)
			before = after
		}
	}
	if f.d.exited() {
		t.Fatalf("the route server exited: %v\n%s", f.d.state, f.d.stderr)
	}
}
