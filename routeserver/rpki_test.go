package routeserver_test

import (
	"context"
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
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/rpki"
)

// rpkiFed is a route server whose RPKI data is one VRP JSON file the test
// rewrites.
type rpkiFed struct {
	*rstest.Fed
	mgr  *rpki.Manager
	file string
}

func startRPKIFed(t testing.TB, vrps string) *rpkiFed {
	t.Helper()
	file := filepath.Join(t.TempDir(), "vrps.json")
	if err := os.WriteFile(file, []byte(vrps), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := rstest.Three()
	cfgText := rstest.Config(specs, fmt.Sprintf("\n[rpki]\nfiles = [%q]\nregistry = false\n", file))
	cfg, err := conf.Parse([]byte(cfgText), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	mgr := startManager(t, cfg)
	fed := rstest.StartConfig(t, cfg, specs, routeserver.Options{RPKI: mgr})
	return &rpkiFed{Fed: fed, mgr: mgr, file: file}
}

// publish rewrites the VRP file and makes the manager read it now.
func (f *rpkiFed) publish(t testing.TB, vrps string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(vrps), 0o644); err != nil {
		t.Fatal(err)
	}
	f.mgr.Reload()
}

func vrpJSON(prefix string, maxLen int, asn uint32) string {
	return fmt.Sprintf(`{"roas":[{"prefix":%q,"maxLength":%d,"asn":"AS%d"}]}`, prefix, maxLen, asn)
}

// TestRPKIRevalidation: a VRP change re-validates the routes it covers:
// a route that becomes invalid is withdrawn from the members, one that
// becomes valid again is re-announced, routes not covered are untouched,
// and no session is reset.
func TestRPKIRevalidation(t *testing.T) {
	a := rstest.Three()[0]
	f := startRPKIFed(t, vrpJSON("10.1.0.0/16", 24, a.ASN))
	ctx := rstest.Ctx(t)
	ra, rc := f.Members["nhs-a"], f.Members["council-c"]
	covered, other := netip.MustParsePrefix("10.1.1.0/24"), netip.MustParsePrefix("10.2.1.0/24")
	for _, p := range []netip.Prefix{covered, other} {
		if err := ra.Announce(ctx, member.Route{Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rc.WaitFor(ctx, "both routes", func(rs []member.Route) bool {
		return rstest.Has(covered)(rs) && rstest.Has(other)(rs)
	}); err != nil {
		t.Fatal(err)
	}
	upA, _ := ra.Uptime(ctx)
	upC, _ := rc.Uptime(ctx)

	// The VRP now names another origin: 10.1.1.0/24 is invalid.
	f.publish(t, vrpJSON("10.1.0.0/16", 24, 65999))
	if _, err := rc.WaitFor(ctx, "the invalid route withdrawn", func(rs []member.Route) bool {
		return rstest.HasNot(covered)(rs) && rstest.Has(other)(rs)
	}); err != nil {
		t.Fatal(err)
	}
	rs := f.Srv.RIB().Lookup(covered, rib.Exact)
	if len(rs) != 1 || rs[0].Verdict.Accepted() || !strings.Contains(fmt.Sprint(rs[0].Verdict.Filtered.Reasons()), "rpki_invalid") {
		t.Errorf("route server holds %+v, want the route filtered as rpki_invalid", rs)
	}
	// Back to valid: re-announced.
	f.publish(t, vrpJSON("10.1.0.0/16", 24, a.ASN))
	if _, err := rc.WaitFor(ctx, "the route back", rstest.Has(covered)); err != nil {
		t.Fatal(err)
	}
	if up, _ := ra.Uptime(ctx); !up.Equal(upA) {
		t.Errorf("nhs-a's session was reset (up since %s, was %s)", up, upA)
	}
	if up, _ := rc.Uptime(ctx); !up.Equal(upC) {
		t.Errorf("council-c's session was reset (up since %s, was %s)", up, upC)
	}
}

// BenchmarkRevalidate10k: 10,000 routes of one member are covered by one
// VRP; each iteration flips the VRP's origin (valid → invalid → valid) and
// measures from the manager reading the new file until the other members
// have every route withdrawn or back. Run:
// go test -run x -bench Revalidate10k -benchtime 10x ./routeserver/
func BenchmarkRevalidate10k(b *testing.B) {
	const n = 10000
	a := rstest.Three()[0]
	f := startRPKIFed(b, vrpJSON("10.0.0.0/8", 24, a.ASN))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ra, rc := f.Members["nhs-a"], f.Members["council-c"]
	prefixes := make([]netip.Prefix, n)
	for i := range prefixes {
		prefixes[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i/256), byte(i % 256), 0}), 24)
		if err := ra.Announce(ctx, member.Route{Prefix: prefixes[i]}); err != nil {
			b.Fatal(err)
		}
	}
	count := func(rs []member.Route) int {
		k := 0
		for _, r := range rs {
			if r.Prefix.Addr().As4()[0] == 10 {
				k++
			}
		}
		return k
	}
	wait := func(want int) {
		if _, err := rc.WaitFor(ctx, fmt.Sprintf("%d routes", want), func(rs []member.Route) bool { return count(rs) == want }); err != nil {
			b.Fatal(err)
		}
	}
	wait(n)
	b.ResetTimer()
	var worst time.Duration
	for i := 0; i < b.N; i++ {
		asn, want := uint32(65999), 0
		if i%2 == 1 {
			asn, want = a.ASN, n
		}
		start := time.Now()
		f.publish(b, vrpJSON("10.0.0.0/8", 24, asn))
		wait(want)
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/change")
}

// TestASPANeighbourStep: the route server verifies a member's path with
// the member's configured AS as the neighbour (draft-ietf-sidrops-aspa-
// verification-28 §5.4 step 2). A member (AS65009) that strips its own AS
// and sends 65011 65010 — every hop attested, so the path alone verifies —
// gets aspa_invalid even though its first_as check is off; the same
// member's honest path 65009 65010 is valid and reaches the others.
func TestASPANeighbourStep(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rpki.json")
	aspas := `{"roas":[],"aspas":[{"customer_asid":65010,"providers":[65009,65011]},{"customer_asid":65009,"providers":[]}]}`
	if err := os.WriteFile(file, []byte(aspas), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := append(rstest.Three(), rstest.Member{Name: "stripper", ASN: 65009, Addr: "127.0.0.20", Raw: true,
		Extra: "[member.policy]\nchecks = { first_as = \"off\", aspa = \"filter\" }"})
	cfg, err := conf.Parse([]byte(rstest.Config(specs, fmt.Sprintf("\n[rpki]\nfiles = [%q]\nregistry = false\n", file))), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	mgr := startManager(t, cfg)
	fed := rstest.StartConfig(t, cfg, specs, routeserver.Options{RPKI: mgr})
	ctx := rstest.Ctx(t)
	raw := dialRaw(t, "127.0.0.20", fed.Port, 65009)
	stripped, honest := netip.MustParsePrefix("10.9.1.0/24"), netip.MustParsePrefix("10.9.2.0/24")
	raw.announce(stripped, 65011, 65010)
	raw.announce(honest, 65009, 65010)
	if _, err := fed.Members["council-c"].WaitFor(ctx, "the honest route", rstest.Has(honest)); err != nil {
		t.Fatal(err)
	}
	// Sent before the honest route on the same session: already judged.
	for _, c := range []struct {
		p      netip.Prefix
		want   policy.ASPAState
		accept bool
	}{{stripped, policy.ASPAInvalid, false}, {honest, policy.ASPAValid, true}} {
		rs := fed.Srv.RIB().Lookup(c.p, rib.Exact)
		if len(rs) != 1 {
			t.Fatalf("%s: route server holds %d routes", c.p, len(rs))
		}
		v := rs[0].Verdict
		if v.Mods.ASPA() != c.want || v.Accepted() != c.accept || v.Filtered.Has(policy.ReasonFirstAS) {
			t.Errorf("%s: ASPA %s, accepted %v, reasons %v; want ASPA %s, accepted %v, no first_as",
				c.p, v.Mods.ASPA(), v.Accepted(), v.Filtered.Reasons(), c.want, c.accept)
		}
	}
	if rs, _ := fed.Members["council-c"].Received(ctx); rstest.Has(stripped)(rs) {
		t.Errorf("council-c received the stripped route")
	}
}

// startManager runs an RPKI manager for cfg until the test ends and waits
// for its first snapshot.
func startManager(t testing.TB, cfg *conf.Config) *rpki.Manager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mgr := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: rstest.Log, FilePoll: time.Hour})
	done := make(chan struct{})
	go func() { defer close(done); mgr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-mgr.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("RPKI manager not ready")
	}
	return mgr
}

// TestRPKIStateResent: a re-validation that changes a route's RPKI state
// but not who gets it re-sends the route, so that the members hold the
// new informational community (RS:1000:state) rather than the old one,
// and the looking glass's exported view (the attributes as sent) is what
// they hold.
func TestRPKIStateResent(t *testing.T) {
	a := rstest.Three()[0]
	f := startRPKIFed(t, vrpJSON("10.200.0.0/16", 24, a.ASN)) // does not cover p
	ctx := rstest.Ctx(t)
	ra, rc := f.Members["nhs-a"], f.Members["council-c"]
	p := netip.MustParsePrefix("10.9.1.0/24")
	if err := ra.Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	rov := func(state uint32) string { return fmt.Sprintf("%d:%d:%d", rstest.RSASN, policy.InfoROV, state) }
	holds := func(state uint32) func([]member.Route) bool {
		return func(rs []member.Route) bool {
			for _, r := range rs {
				if r.Prefix == p && slices.Contains(r.Large, rov(state)) {
					return true
				}
			}
			return false
		}
	}
	if _, err := rc.WaitFor(ctx, p.String()+" with ROV not-found", holds(policy.InfoUnknown)); err != nil {
		t.Fatal(err)
	}
	// A VRP now covers and matches p: valid, still sent to council-c.
	f.publish(t, vrpJSON("10.9.0.0/16", 24, a.ASN))
	if _, err := rc.WaitFor(ctx, p.String()+" re-sent with ROV valid", holds(policy.InfoValid)); err != nil {
		t.Fatal(err)
	}
	ci, err := f.Srv.MemberIndex("council-c")
	if err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		h, ok := f.Srv.RIB().HeldRoute(ci, p)
		if !ok || h.Pending {
			return fmt.Errorf("held %v, pending %v", ok, h.Pending)
		}
		sent, err := routeserver.SentAttrs(&h)
		if err != nil {
			return err
		}
		if got := policy.RouteTextOf(p, &sent.Attrs); !slices.Contains(got.Large, rov(policy.InfoValid)) {
			return fmt.Errorf("exported view %+v lacks %s", got, rov(policy.InfoValid))
		}
		return nil
	}, "the exported view to show what council-c holds")
}
