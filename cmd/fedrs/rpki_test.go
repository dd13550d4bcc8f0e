package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/rpki"
)

const registryTOML = `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefixes = ["10.40.0.0/16 le 24", "10.99.10.0/24 shared", "10.50.0.0/16", "10.50.1.0/24"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefixes = ["10.40.200.0/24", "10.99.10.0/24 le 28 shared", "10.60.0.0/16"]
`

// registryLines returns the overlap lines of a command's output.
func registryLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "registry ") {
			ls = append(ls, l)
		}
	}
	return ls
}

// TestRegistryCheckAgrees: `fedrs check` and `fedrs registry check` report
// the same overlaps for the same file, with the same words, and both
// accept nested and shared registrations (exit 0).
func TestRegistryCheckAgrees(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fedrs.toml")
	if err := os.WriteFile(file, []byte(registryTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	check, err := runCLI(t, "check", "-c", file)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, check)
	}
	reg, err := runCLI(t, "registry", "check", "-c", file)
	if err != nil {
		t.Fatalf("registry check: %v\n%s", err, reg)
	}
	a, b := registryLines(check), registryLines(reg)
	if len(a) != 2 || !slices.Equal(a, b) {
		t.Fatalf("the commands disagree:\nfedrs check:\n%s\nfedrs registry check:\n%s", check, reg)
	}
	if !strings.Contains(a[0], "nested") || !strings.Contains(a[0], "10.40.0.0/16 (council-east) contains 10.40.200.0/24 (nhs-coastal)") ||
		!strings.Contains(a[1], "shared") || !strings.Contains(reg, "0 conflicts") {
		t.Errorf("overlaps:\n%s", reg)
	}
}

// rpkiAPI is a route server with its RPKI manager (as `fedrs run` builds
// it) and control API, from a configuration file.
type rpkiAPI struct {
	fed        *rstest.Fed
	mgr        *rpki.Manager
	file, sock string
}

func startRPKIAPI(t *testing.T, specs []rstest.Member, extra string) *rpkiAPI {
	t.Helper()
	dir := t.TempDir()
	f := &rpkiAPI{file: filepath.Join(dir, "fedrs.toml"), sock: filepath.Join(dir, "fedrs.sock")}
	text := strings.Replace(rstest.Config(specs, extra), `control = ""`, `control = "`+f.sock+`"`, 1)
	if err := os.WriteFile(f.file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.mgr = rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: rstest.Log, FilePoll: time.Hour})
	mdone := make(chan struct{})
	go func() { defer close(mdone); f.mgr.Run(ctx) }()
	<-f.mgr.Ready()
	f.fed = rstest.StartConfig(t, cfg, specs, routeserver.Options{RPKI: f.mgr})
	ln, err := api.Listen(cfg.Server.Control)
	if err != nil {
		cancel()
		<-mdone
		t.Fatal(err)
	}
	adone := make(chan struct{})
	go func() {
		defer close(adone)
		api.New(f.fed.Srv, api.Options{Version: "test", RPKI: f.mgr, Log: rstest.Log}).ServeOn(ctx, ln, cfg.HTTPListener())
	}()
	t.Cleanup(func() { cancel(); <-adone; <-mdone })
	return f
}

const rpkiJSON = `{"roas":[
	{"prefix":"192.0.2.0/24","maxLength":24,"asn":"AS64496"},
	{"prefix":"198.51.100.0/24","maxLength":24,"asn":64497},
	{"prefix":"2001:db8:f00::/48","maxLength":48,"asn":64498}],
 "aspas":[{"customer_asid":64496,"providers":[64500,64501]}]}`

// TestRPKIStatusFromDaemon: `fedrs rpki status` shows what the running
// route server's manager holds — the file and registry sources with their
// counts, the merged totals and serial — compared with the manager's own
// snapshot and with the sources parsed independently; it follows a change
// of the file; --offline loads the same sources here; an unreachable route
// server is exit 1 with a message naming the socket.
func TestRPKIStatusFromDaemon(t *testing.T) {
	dir := t.TempDir()
	vrps := filepath.Join(dir, "vrps.json")
	if err := os.WriteFile(vrps, []byte(rpkiJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := rstest.Three()
	for i := range specs {
		specs[i].Prefixes = []string{fmt.Sprintf("10.%d.0.0/16 le 24", i+1)}
	}
	specs[0].Prefixes = append(specs[0].Prefixes, "2001:db8:1::/48")
	f := startRPKIAPI(t, specs, fmt.Sprintf("\n[rpki]\nfiles = [%q]\n", vrps))

	status := func() api.RPKI {
		t.Helper()
		out, err := runCLI(t, "rpki", "status", "--json", "-c", f.file)
		var st api.RPKI
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("rpki status --json: %v\n%s", err, out)
		}
		return st
	}
	// compare checks the command's figures against the manager's snapshot
	// and against the file and registry read independently.
	compare := func(st api.RPKI, file string) {
		t.Helper()
		snap := f.mgr.Snapshot()
		v4, v6 := snap.VRPs.Count()
		if !st.InUse || st.Serial != snap.Serial || st.VRPsV4 != v4 || st.VRPsV6 != v6 || st.ASPAs != snap.ASPAs.Len() || !st.Updated.Equal(snap.Time) {
			t.Errorf("status serial %d, %d+%d VRPs, %d ASPAs, updated %s; the manager holds serial %d, %d+%d VRPs, %d ASPAs, updated %s",
				st.Serial, st.VRPsV4, st.VRPsV6, st.ASPAs, st.Updated, snap.Serial, v4, v6, snap.ASPAs.Len(), snap.Time)
		}
		data, err := os.ReadFile(vrps)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := rpki.ParseFeed(data)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := conf.Load(f.file)
		if err != nil {
			t.Fatal(err)
		}
		claims := len(rpki.RegistryFromConfig(cfg).Claims())
		if len(st.Sources) != 2 {
			t.Fatalf("sources %+v", st.Sources)
		}
		fs, rs := st.Sources[0], st.Sources[1]
		if fs.Kind != "file" || fs.Name != vrps || fs.State != "loaded" || fs.VRPs != len(feed.VRPs) || fs.ASPAs != len(feed.ASPAs) || fs.LastUpdate.IsZero() {
			t.Errorf("file source %+v; the file has %d VRPs and %d ASPAs", fs, len(feed.VRPs), len(feed.ASPAs))
		}
		if rs.Kind != "registry" || rs.VRPs != claims || v4+v6 != len(feed.VRPs)+claims {
			t.Errorf("registry source %+v; the configuration registers %d prefixes, the file has %d VRPs, the total is %d", rs, claims, len(feed.VRPs), v4+v6)
		}
		if file != "" {
			out, err := runCLI(t, "rpki", "status", "-c", f.file)
			if err != nil {
				t.Fatalf("rpki status: %v\n%s", err, out)
			}
			for _, want := range []string{
				fmt.Sprintf("serial %d, updated ", snap.Serial),
				fmt.Sprintf("%d IPv4 VRPs, %d IPv6 VRPs, %d ASPAs", v4, v6, snap.ASPAs.Len()),
				file, "registry", f.sock,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("rpki status output lacks %q:\n%s", want, out)
				}
			}
		}
	}
	compare(status(), vrps)

	// The file changes: the status follows the manager.
	before := f.mgr.Snapshot().Serial
	if err := os.WriteFile(vrps, []byte(strings.Replace(rpkiJSON, `"roas":[`, `"roas":[{"prefix":"203.0.113.0/24","asn":64499},`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.mgr.Reload()
	st := status()
	if st.Serial <= before {
		t.Errorf("serial %d after a change, was %d", st.Serial, before)
	}
	compare(st, "")

	// --offline loads the same sources here: the same totals.
	out, err := runCLI(t, "rpki", "status", "--offline", "--json", "-c", f.file)
	var off rpki.Status
	if err != nil || json.Unmarshal([]byte(out), &off) != nil {
		t.Fatalf("rpki status --offline: %v\n%s", err, out)
	}
	if off.VRPsV4 != st.VRPsV4 || off.VRPsV6 != st.VRPsV6 || off.ASPAs != st.ASPAs || len(off.Sources) != 2 {
		t.Errorf("--offline: %+v; the route server: %+v", off, st.Status)
	}

	// No route server on the socket: exit 1, naming it.
	gone := filepath.Join(dir, "gone.sock")
	out, err = runCLI(t, "rpki", "status", "--socket", gone)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "--offline") {
		t.Errorf("unreachable route server: %v\n%s", err, out)
	}
}

// TestCheckDiffPredictsRegistryMove: `fedrs check --diff` on a file that
// moves a registration predicts with the new registry's VRPs: the former
// owner's route filtered (registry_conflict), the new owner's accepted —
// and the running RPKI data is not touched; the reload then does what was
// predicted.
func TestCheckDiffPredictsRegistryMove(t *testing.T) {
	specs := rstest.Three()
	specs[0].Prefixes = []string{"10.1.0.0/16 le 24"}
	specs[1].Prefixes = []string{"10.2.0.0/16 le 24"}
	specs[2].Prefixes = []string{"10.3.0.0/16 le 24"}
	f := startRPKIAPI(t, specs, "")
	ctx := rstest.Ctx(t)
	a, b, c := f.fed.Members["nhs-a"], f.fed.Members["nhs-b"], f.fed.Members["council-c"]
	p := netip.MustParsePrefix("10.1.5.0/24")
	for _, r := range []*member.Router{a, b} {
		if err := r.Announce(ctx, member.Route{Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
	from := func(asn uint32) func([]member.Route) bool {
		return func(rs []member.Route) bool {
			rt, ok := member.Find(rs, p)
			return ok && len(rt.ASPath) > 0 && rt.ASPath[0] == asn
		}
	}
	if _, err := c.WaitFor(ctx, "nhs-a's route", from(specs[0].ASN)); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return len(f.fed.Srv.RIB().Lookup(p, rib.Exact)) == 2 }, "both routes held")
	serial := f.mgr.Snapshot().Serial

	moved := specs
	moved[0].Prefixes = []string{"10.4.0.0/16 le 24"}
	moved[1].Prefixes = []string{"10.2.0.0/16 le 24", "10.1.0.0/16 le 24"}
	newFile := f.file + ".new"
	text := strings.Replace(rstest.Config(moved, ""), `control = ""`, `control = "`+f.sock+`"`, 1)
	if err := os.WriteFile(newFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "check", "-c", newFile, "--diff", "--json")
	var res api.CheckResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("check --diff --json: %v\n%s", err, out)
	}
	has := func(rs []api.Reason, name string) bool {
		return slices.ContainsFunc(rs, func(r api.Reason) bool { return r.Name == name })
	}
	if res.Totals.WouldFilter != 1 || res.Totals.WouldAccept != 1 ||
		res.WouldFilter[0].Member != "nhs-a" || res.WouldFilter[0].Prefix != p.String() || !has(res.WouldFilter[0].FilteredAfter, "registry_conflict") ||
		res.WouldAccept[0].Member != "nhs-b" || res.WouldAccept[0].Prefix != p.String() || !has(res.WouldAccept[0].FilteredReasons, "rpki_invalid") {
		t.Fatalf("check --diff predicts %+v", res)
	}
	text2, err := runCLI(t, "check", "-c", newFile, "--diff")
	if err != nil || !strings.Contains(text2, "registry_conflict (1101:103)") || !strings.Contains(text2, "now: prefix_not_allowed (1101:9), rpki_invalid (1101:13), registry_conflict (1101:103)") {
		t.Errorf("check --diff:\n%s", text2)
	}
	// Nothing changed: the RPKI data, the verdicts, what members hold.
	if s := f.mgr.Snapshot().Serial; s != serial {
		t.Errorf("the dry run published RPKI data: serial %d, was %d", s, serial)
	}
	if rs, _ := c.Received(ctx); !from(specs[0].ASN)(rs) {
		t.Errorf("council-c lost nhs-a's route after the dry run: %v", rs)
	}

	// The reload does what was predicted.
	if err := os.WriteFile(f.file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "reload", "--socket", f.sock); err != nil || !strings.Contains(out, "RPKI data in force: serial") {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	if _, err := c.WaitFor(ctx, "nhs-b's route after the reload", from(specs[1].ASN)); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.fed.Srv.RIB().Lookup(p, rib.Exact) {
		name := f.fed.Srv.MemberName(r.Source.Member)
		want := res.WouldFilter[0]
		if name == "nhs-b" {
			want = res.WouldAccept[0]
		}
		if got := api.MakeRoute(r, name); got.Accepted != want.AcceptedAfter || !slices.Equal(got.FilteredReasons, want.FilteredAfter) {
			t.Errorf("%s after the reload: accepted %v, filtered %v; predicted accepted %v, filtered %v", name, got.Accepted, got.FilteredReasons, want.AcceptedAfter, want.FilteredAfter)
		}
	}
}

// TestRunReloadTurnsOnRPKI: `fedrs run` with a configuration that has no
// RPKI data (registry off, no sources) validates nothing; a reload that
// adds a VRP file puts it in force: a route its VRP makes invalid is
// filtered and withdrawn from the others, without a session reset, and
// `fedrs rpki status` shows the file.
func TestRunReloadTurnsOnRPKI(t *testing.T) {
	f := startRun(t, "\n[rpki]\nregistry = false\n")
	ctx := rstest.Ctx(t)
	a, b := f.routers[0], f.routers[1]
	p := netip.MustParsePrefix("10.1.5.0/24")
	if err := a.Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "nhs-a's route", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	rpkiState := func() string {
		t.Helper()
		out, err := runCLI(t, "lg", "routes", "nhs-a", "--json", "--socket", f.sock)
		var rl api.RouteList
		if err != nil || json.Unmarshal([]byte(out), &rl) != nil || len(rl.Routes) != 1 {
			t.Fatalf("lg routes: %v\n%s", err, out)
		}
		return rl.Routes[0].RPKI
	}
	if st := rpkiState(); st != "not-checked" {
		t.Errorf("without RPKI data the route is %s", st)
	}
	if out, err := runCLI(t, "rpki", "status", "--socket", f.sock); err != nil || !strings.Contains(out, "no RPKI data: routes are not validated") {
		t.Errorf("rpki status without RPKI data: %v\n%s", err, out)
	}
	upA, _ := a.Uptime(ctx)
	upB, _ := b.Uptime(ctx)

	vrps := filepath.Join(f.dir, "vrps.json")
	if err := os.WriteFile(vrps, []byte(`{"roas":[{"prefix":"10.1.0.0/16","maxLength":24,"asn":65999}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(f.dir, "fedrs.toml")
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), "registry = false", fmt.Sprintf("registry = false\nfiles = [%q]", vrps), 1))
	if err := os.WriteFile(file, text, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "reload", "--socket", f.sock); err != nil || !strings.Contains(out, "RPKI data in force: serial 1, 1 VRPs") {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	if _, err := b.WaitFor(ctx, "nhs-a's route withdrawn", rstest.HasNot(p)); err != nil {
		t.Fatal(err)
	}
	if st := rpkiState(); st != "invalid" {
		t.Errorf("after the reload the route is %s, want invalid", st)
	}
	out, err := runCLI(t, "rpki", "status", "--json", "--socket", f.sock)
	var st api.RPKI
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.InUse || len(st.Sources) != 1 || st.Sources[0].Name != vrps || st.Sources[0].VRPs != 1 {
		t.Errorf("rpki status after the reload: %v\n%s", err, out)
	}
	if up, _ := a.Uptime(ctx); !up.Equal(upA) {
		t.Errorf("nhs-a's session was reset")
	}
	if up, _ := b.Uptime(ctx); !up.Equal(upB) {
		t.Errorf("nhs-b's session was reset")
	}
}
