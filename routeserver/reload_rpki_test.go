package routeserver_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// registryFed is a route server whose only RPKI data is the ownership
// registry: nhs-a and nhs-b register prefixes; council-c is a member with
// the prefix_allowed and registry checks off, so that the RPKI origin
// validation of its routes — by the registry's VRPs — is all that decides
// them.
type registryFed struct {
	*rstest.Fed
	t     *testing.T
	specs []rstest.Member
}

var (
	regA = rstest.Member{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"}
	regB = rstest.Member{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"}
	regC = rstest.Member{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13", Prefixes: []string{"10.9.0.0/16 le 24"},
		Extra: "[member.policy]\nchecks = { prefix_allowed = \"off\", registry = \"off\" }"}
)

// regConfig is the configuration with a's and b's registrations (b absent
// when bPrefixes is nil) and [rpki] registry on or off.
func regConfig(t *testing.T, aPrefixes, bPrefixes []string, registry bool) *conf.Config {
	t.Helper()
	a, b := regA, regB
	a.Prefixes, b.Prefixes = aPrefixes, bPrefixes
	specs := []rstest.Member{a, regC}
	if bPrefixes != nil {
		specs = []rstest.Member{a, b, regC}
	}
	cfg, err := conf.Parse([]byte(rstest.Config(specs, fmt.Sprintf("\n[rpki]\nregistry = %v\n", registry))), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startRegistryFed(t *testing.T, cfg *conf.Config) *registryFed {
	t.Helper()
	mgr := startManager(t, cfg)
	specs := []rstest.Member{regA, regB, regC}
	return &registryFed{Fed: rstest.StartConfig(t, cfg, specs, routeserver.Options{RPKI: mgr}), t: t, specs: specs}
}

// route is what the route server holds from member for p.
func (f *registryFed) route(m rstest.Member, p string) rib.Route {
	f.t.Helper()
	for _, r := range f.Srv.RIB().Lookup(netip.MustParsePrefix(p), rib.Exact) {
		if r.Source.Addr == netip.MustParseAddr(m.Addr) {
			return r
		}
	}
	f.t.Fatalf("the route server holds no route for %s from %s", p, m.Name)
	return rib.Route{}
}

// expect checks the verdict of m's route for p: accepted or not, the ROV
// state, and reasons it must and must not carry.
func (f *registryFed) expect(step string, m rstest.Member, p string, accepted bool, rov policy.ROVState, with, without []policy.Reason) {
	f.t.Helper()
	v := f.route(m, p).Verdict
	ok := v.Accepted() == accepted && v.Mods.ROV() == rov
	for _, r := range with {
		ok = ok && v.Filtered.Has(r)
	}
	for _, r := range without {
		ok = ok && !v.Filtered.Has(r)
	}
	if !ok {
		f.t.Errorf("%s: %s's %s: accepted %v, ROV %s, filtered %v; want accepted %v, ROV %s, with %v, without %v",
			step, m.Name, p, v.Accepted(), v.Mods.ROV(), v.Filtered.Reasons(), accepted, rov, with, without)
	}
}

// reload applies cfg and checks that it reset no session.
func (f *registryFed) reload(step string, cfg *conf.Config) routeserver.ReloadResult {
	f.t.Helper()
	res, err := f.Srv.Reload(cfg)
	if err != nil {
		f.t.Fatalf("%s: %v", step, err)
	}
	if res.SessionsReset != 0 {
		f.t.Errorf("%s: %d sessions reset", step, res.SessionsReset)
	}
	return res
}

// sessions records, for each member still configured, when its router's
// session came up and the route server's flap count and state time for it.
type sessions map[string]struct {
	up    time.Time
	flaps uint64
	since time.Time
}

func (f *registryFed) sessions(ctx context.Context) sessions {
	f.t.Helper()
	out := sessions{}
	for _, n := range f.Srv.Neighbors() {
		name := f.Srv.MemberName(n.Member)
		up, err := f.Members[name].Uptime(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		info := n.Peer.Info()
		out[name] = struct {
			up    time.Time
			flaps uint64
			since time.Time
		}{up, info.Flaps, info.Since}
	}
	return out
}

// same checks that every session of before is still the same session:
// the member's router saw no reset, the route server counted no flap.
func (f *registryFed) same(ctx context.Context, step string, before sessions) {
	f.t.Helper()
	now := f.sessions(ctx)
	for name, b := range before {
		n, ok := now[name]
		if !ok {
			continue
		}
		if !n.up.Equal(b.up) || n.flaps != b.flaps || !n.since.Equal(b.since) {
			f.t.Errorf("%s: %s's session was reset (router up since %s, was %s; route server flaps %d, was %d)", step, name, n.up, b.up, n.flaps, b.flaps)
		}
	}
}

// firstAS waits until m holds p with first AS want (or, want 0, no p).
func waitFirstAS(ctx context.Context, t *testing.T, r *member.Router, step, p string, want uint32) {
	t.Helper()
	pp := netip.MustParsePrefix(p)
	what := fmt.Sprintf("%s: %s holds %s from AS%d", step, r.Name(), p, want)
	if want == 0 {
		what = fmt.Sprintf("%s: %s holds no %s", step, r.Name(), p)
	}
	if _, err := r.WaitFor(ctx, what, func(rs []member.Route) bool {
		rt, ok := member.Find(rs, pp)
		if want == 0 {
			return !ok
		}
		return ok && len(rt.ASPath) > 0 && rt.ASPath[0] == want
	}); err != nil {
		t.Fatal(err)
	}
}

// TestReloadRederivesRegistryVRPs: a reload re-derives the registry's VRPs
// from the new members' prefixes, before import policy is re-run, with no
// session reset: a registration moved from nhs-a to nhs-b (nhs-a's
// announcement of the moved space is filtered registry_conflict, nhs-b's
// accepted and sent to the others), nhs-b's prefixes narrowed, [rpki]
// registry switched off and on, and nhs-b removed.
func TestReloadRederivesRegistryVRPs(t *testing.T) {
	A, B := []string{"10.1.0.0/16 le 24"}, []string{"10.2.0.0/16 le 24"}
	f := startRegistryFed(t, regConfig(t, A, B, true))
	// Six steps, each waiting for members: more than rstest.Ctx's 15 s
	// on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ra, rb, rc := f.Members["nhs-a"], f.Members["nhs-b"], f.Members["council-c"]
	for _, x := range []struct {
		r *member.Router
		p string
	}{{ra, "10.1.5.0/24"}, {rb, "10.1.5.0/24"}, {rb, "10.2.200.0/24"}, {rc, "10.2.201.0/24"}, {rc, "10.1.7.0/24"}} {
		if err := x.r.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix(x.p)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFirstAS(ctx, t, rc, "start", "10.1.5.0/24", regA.ASN)
	waitFirstAS(ctx, t, rc, "start", "10.2.200.0/24", regB.ASN)
	rstest.Eventually(t, 10*time.Second, func() bool {
		return len(f.Srv.RIB().Lookup(netip.MustParsePrefix("10.1.7.0/24"), rib.Exact)) == 1 &&
			len(f.Srv.RIB().Lookup(netip.MustParsePrefix("10.2.201.0/24"), rib.Exact)) == 1
	}, "council-c's routes held")
	const (
		conflict   = policy.ReasonRegistryConflict
		invalid    = policy.ReasonRPKIInvalid
		notAllowed = policy.ReasonPrefixNotAllowed
	)
	R := func(rs ...policy.Reason) []policy.Reason { return rs }
	f.expect("start", regA, "10.1.5.0/24", true, policy.ROVValid, nil, nil)
	f.expect("start", regB, "10.1.5.0/24", false, policy.ROVInvalid, R(conflict, invalid, notAllowed), nil)
	f.expect("start", regC, "10.1.7.0/24", false, policy.ROVInvalid, R(invalid), nil)
	f.expect("start", regC, "10.2.201.0/24", false, policy.ROVInvalid, R(invalid), nil)
	before := f.sessions(ctx)

	// 1. 10.1.0.0/16 moves from nhs-a to nhs-b.
	A, B = []string{"10.3.0.0/16 le 24"}, []string{"10.2.0.0/16 le 24", "10.1.0.0/16 le 24"}
	f.reload("move", regConfig(t, A, B, true))
	f.expect("move", regA, "10.1.5.0/24", false, policy.ROVInvalid, R(conflict), nil)
	f.expect("move", regB, "10.1.5.0/24", true, policy.ROVValid, nil, nil)
	f.expect("move", regC, "10.1.7.0/24", false, policy.ROVInvalid, R(invalid), nil)
	waitFirstAS(ctx, t, rc, "move", "10.1.5.0/24", regB.ASN)
	f.same(ctx, "move", before)

	// 2. nhs-b's 10.2.0.0/16 narrowed to 10.2.0.0/17: 10.2.128.0/17 is
	// nobody's, its VRP gone.
	B = []string{"10.2.0.0/17 le 24", "10.1.0.0/16 le 24"}
	f.reload("narrow", regConfig(t, A, B, true))
	f.expect("narrow", regB, "10.2.200.0/24", false, policy.ROVNotFound, R(notAllowed), R(conflict, invalid))
	f.expect("narrow", regC, "10.2.201.0/24", true, policy.ROVNotFound, nil, nil)
	waitFirstAS(ctx, t, rc, "narrow", "10.2.200.0/24", 0)
	waitFirstAS(ctx, t, ra, "narrow", "10.2.201.0/24", regC.ASN)
	f.same(ctx, "narrow", before)

	// 3. [rpki] registry off: no RPKI data at all, origins not checked.
	res := f.reload("registry off", regConfig(t, A, B, false))
	if res.RPKIInUse {
		t.Errorf("registry off: reload result %+v says RPKI data is in use", res)
	}
	f.expect("registry off", regC, "10.1.7.0/24", true, policy.ROVNotChecked, nil, nil)
	f.expect("registry off", regB, "10.1.5.0/24", true, policy.ROVNotChecked, nil, nil)
	waitFirstAS(ctx, t, ra, "registry off", "10.1.7.0/24", regC.ASN)
	f.same(ctx, "registry off", before)

	// 4. And on again.
	res = f.reload("registry on", regConfig(t, A, B, true))
	if !res.RPKIInUse || res.RPKIVRPs != 4 {
		t.Errorf("registry on: reload result %+v, want the registry's 4 VRPs in force", res)
	}
	f.expect("registry on", regC, "10.1.7.0/24", false, policy.ROVInvalid, R(invalid), nil)
	f.expect("registry on", regB, "10.1.5.0/24", true, policy.ROVValid, nil, nil)
	waitFirstAS(ctx, t, ra, "registry on", "10.1.7.0/24", 0)
	f.same(ctx, "registry on", before)

	// 5. nhs-b leaves: its sessions close, its registrations go with it.
	res = f.reload("remove nhs-b", regConfig(t, A, nil, true))
	if res.SessionsRemoved != 1 {
		t.Errorf("remove nhs-b: reload result %+v", res)
	}
	f.expect("remove nhs-b", regC, "10.1.7.0/24", true, policy.ROVNotFound, nil, nil)
	f.expect("remove nhs-b", regA, "10.1.5.0/24", false, policy.ROVNotFound, R(notAllowed), R(conflict, invalid))
	waitFirstAS(ctx, t, ra, "remove nhs-b", "10.1.7.0/24", regC.ASN)
	delete(before, "nhs-b")
	f.same(ctx, "remove nhs-b", before)
}

// TestReloadReportsBrokenRPKIFile: a reload whose [rpki] names a file that
// is missing or does not parse goes on (nothing else is lost) but says so
// in its answer, next to the RPKI data in force, instead of reporting that
// data as if every configured source were in it.
func TestReloadReportsBrokenRPKIFile(t *testing.T) {
	dir := t.TempDir()
	good, missing, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "missing.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(vrpJSON("10.1.0.0/16", 24, regA.ASN)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"roas": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgWith := func(files ...string) *conf.Config {
		q := make([]string, len(files))
		for i, f := range files {
			q[i] = fmt.Sprintf("%q", f)
		}
		text := rstest.Config([]rstest.Member{regA}, fmt.Sprintf("\n[rpki]\nregistry = false\nfiles = [%s]\n", strings.Join(q, ", ")))
		cfg, err := conf.Parse([]byte(text), "test.toml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := cfgWith(good)
	srv, err := routeserver.New(cfg, routeserver.Options{Log: rstest.Log, RPKI: startManager(t, cfg)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Reload(cfgWith(good, missing, bad))
	if err != nil {
		t.Fatal(err)
	}
	text := res.String()
	for _, want := range []string{
		"RPKI data in force: serial 1, 1 VRPs",
		"RPKI source not loaded: file " + missing + " (missing: ",
		"RPKI source not loaded: file " + bad + " (error: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("reload answer lacks %q:\n%s", want, text)
		}
	}
	if len(res.RPKIProblems) != 2 || !strings.HasSuffix(res.RPKIProblems[0], "it contributes nothing") {
		t.Errorf("RPKIProblems %q", res.RPKIProblems)
	}
}
