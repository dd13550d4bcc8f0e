package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
)

// runCLI runs the fedrs command line in-process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(interspersed(app, append([]string{"fedrs"}, args...)))
	return out.String() + errOut.String(), err
}

func TestCheck(t *testing.T) {
	out, err := runCLI(t, "check", "-c", "../../conf/example.toml")
	if err != nil || !strings.Contains(out, "valid (6 members") {
		t.Fatalf("check of the example: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[server]\nasn = 4200000000\nrouter_id = \"192.0.2.1\"\n[[member]]\nname = \"x\"\nasn = 65001\nneighbours = [\"192.0.2.2\"]\n"), 0o644)
	out, err = runCLI(t, "check", "-c", bad)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("broken config passed: %v", err)
	}
	for _, want := range []string{"bad.toml:7", `did you mean "neighbors"`, "bad.toml:4: member[1] (x).neighbors"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckWarnings: a member's web token file that others can read, on
// a listener without operator authentication, is valid with warnings
// naming file, line and member.
func TestCheckWarnings(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "x.token")
	if err := os.WriteFile(tok, []byte("member-x-token-0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tok, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "fedrs.toml")
	os.WriteFile(file, []byte("[server]\nasn = 4200000000\nrouter_id = \"192.0.2.1\"\n[http]\nlisten = \"127.0.0.1:8080\"\n"+
		"[[member]]\nname = \"x\"\nasn = 65001\nneighbors = [\"192.0.2.2\"]\nprefixes = [\"10.0.0.0/8 le 24 shared\"]\nweb_token_file = \"x.token\"\n"), 0o600)
	out, err := runCLI(t, "check", "-c", file)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, want := range []string{"valid (1 members", "warning: " + file + ":11: member[1] (x).web_token_file: " + tok + " is readable by others (mode 0644)",
		"warning: " + file + ":11: member[1] (x).web_token_file: the [http] listener has no operator authentication"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestLookingGlass(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fedrs.toml")
	sock := filepath.Join(dir, "fedrs.sock")
	os.WriteFile(file, []byte(strings.Replace(rstest.Config(rstest.Three(), ""), `control = ""`, `control = "`+sock+`"`, 1)), 0o644)
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	fed := rstest.StartConfig(t, cfg, rstest.Three(), routeserver.Options{})
	ln, err := api.Listen(cfg.Server.Control)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		api.New(fed.Srv, api.Options{Version: "test"}).ServeOn(ctx, ln, cfg.HTTPListener())
	}()
	t.Cleanup(func() { cancel(); <-done })
	rctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	a.Announce(rctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")})
	a.Announce(rctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})
	if _, err := fed.Members["council-c"].WaitFor(rctx, "route", rstest.Has(netip.MustParsePrefix("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return fed.Srv.RIB().Totals().Routes == 2 },
		"the filtered route (which no member receives) to be held")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"lg", "summary", "-c", file}, []string{"sessions 3/3 up", "nhs-a", "Established", "council-c"}},
		{[]string{"lg", "neighbors", "--socket", sock}, []string{"127.0.0.12", "4200000002"}},
		{[]string{"lg", "routes", "nhs-a", "--filtered", "-c", file}, []string{"10.2.0.0/16", "FILTERED", "next_hop (1101:8)", "1 of 1 routes"}},
		{[]string{"lg", "routes", "council-c", "--exported", "-c", file}, []string{"10.1.0.0/16", "nhs-a", "4200000001"}},
		{[]string{"lg", "lookup", "10.1.7.7", "-c", file}, []string{"10.1.0.0/16", "nhs-a", "best"}},
		{[]string{"lg", "route", "nhs-a", "10.1.0.0/16", "-c", file}, []string{"exported to nhs-b, council-c"}},
		{[]string{"lg", "explain", "nhs-a", "10.2.0.0/16", "-c", file}, []string{"127.0.0.99"}},
	} {
		out, err := runCLI(t, tc.args...)
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	// --json gives the API's JSON.
	out, err := runCLI(t, "lg", "routes", "nhs-a", "--filtered", "--json", "-c", file)
	var rl api.RouteList
	if err != nil || json.Unmarshal([]byte(out), &rl) != nil || rl.Total != 1 || rl.Routes[0].FilteredReasons[0].Name != "next_hop" {
		t.Errorf("--json: %v %s", err, out)
	}
	// Errors name the problem.
	if out, err := runCLI(t, "lg", "routes", "nobody", "-c", file); err == nil || !strings.Contains(err.Error(), `member "nobody"`) {
		t.Errorf("unknown member: %v %s", err, out)
	}
	if _, err := runCLI(t, "lg", "summary", "--socket", filepath.Join(dir, "nothing.sock")); err == nil || !strings.Contains(err.Error(), "is fedrs running") {
		t.Errorf("no server: %v", err)
	}
	// reload through the CLI.
	if out, err := runCLI(t, "reload", "-c", file); err != nil || !strings.Contains(out, "no changes") {
		t.Errorf("reload: %v %s", err, out)
	}
	// member shutdown / enable.
	if out, err := runCLI(t, "member", "shutdown", "council-c", "-m", "cable swap", "-c", file); err != nil || !strings.Contains(out, "shut down") {
		t.Errorf("member shutdown: %v %s", err, out)
	}
	if out, err := runCLI(t, "member", "enable", "council-c", "-c", file); err != nil || !strings.Contains(out, "enabled") {
		t.Errorf("member enable: %v %s", err, out)
	}
}

// TestVersion: the version comes from the build information: module
// version, VCS revision with its time and the modified flag.
func TestVersion(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "fedrs ") || !strings.Contains(out, "module    github.com/fedrs/fedrs\n") {
		t.Fatalf("version: %v %q", err, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/fedrs/fedrs", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	var b strings.Builder
	writeVersion(&b, fromBuildInfo(bi, true))
	for _, want := range []string{"fedrs v0.4.0\n", "module    github.com/fedrs/fedrs\n",
		"revision  0123456789abcdef0123456789abcdef01234567 (2026-12-01T10:00:00Z, modified)\n", "go        go1.26.8 "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("version lacks %q:\n%s", want, b.String())
		}
	}
	if v := "fedrs v0.4.0 (0123456789ab, modified) go1.26.8"; fromBuildInfo(bi, true).String() != v {
		t.Errorf("one-line version %q, want %q", fromBuildInfo(bi, true).String(), v)
	}
	b.Reset()
	writeVersion(&b, fromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true))
	if !strings.Contains(b.String(), "fedrs devel\n") || !strings.Contains(b.String(), "revision  unknown (built without VCS information)") {
		t.Errorf("without VCS information:\n%s", b.String())
	}
}

// TestVersionOfBinary: fedrs --version and fedrs version print what the
// Go toolchain reads from the same binary (go version -m).
func TestVersionOfBinary(t *testing.T) {
	bin := fedrsBinary(t)
	a, b := fedrsCmd(t, nil, "--version"), fedrsCmd(t, nil, "version")
	if a.code != 0 || b.code != 0 || a.stdout != b.stdout || a.stderr != "" {
		t.Fatalf("--version and version differ:\n%s\n%s", a, b)
	}
	m, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]string{}
	for _, l := range strings.Split(string(m), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			info["module"], info["version"] = f[1], f[2]
		case len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			info["revision"] = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	want := []string{"module    " + info["module"] + "\n"}
	if v := info["version"]; v != "(devel)" {
		want = append(want, "fedrs "+v+"\n")
	}
	if r := info["revision"]; r != "" {
		want = append(want, "revision  "+r)
	} else {
		want = append(want, "revision  unknown")
	}
	for _, w := range want {
		if !strings.Contains(a.stdout, w) {
			t.Errorf("fedrs --version lacks %q (go version -m says %v):\n%s", w, info, a.stdout)
		}
	}
}
