package history_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestExposureChangeAtReloadTime: a reload that changes to whom a route
// is exported (council-c joins a group the route is not announced to)
// changes the route's exposure at the reload, not before: the history
// says council-c was exported the route from its announcement until the
// reload, and no longer after it.
func TestExposureChangeAtReloadTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := rstest.Three()
	group := "\n[[group]]\nname = \"council\"\nid = 2\n"
	rec, err := history.Open(path, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	f := rstest.Start(t, specs, group, routeserver.Options{History: rec})
	t.Cleanup(func() { f.Stop(); rec.Close() })
	ctx := rstest.Ctx(t)
	a, c := f.Members["nhs-a"], f.Members["council-c"]
	p := netip.MustParsePrefix("10.44.0.0/16")
	must(t, a.Announce(ctx, member.Route{Prefix: p, Large: []string{fmt.Sprintf("%d:10:2", rsASN)}}))
	if _, err := c.WaitFor(ctx, "council-c to hold "+p.String(), rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	announced := time.Now()
	// Let time pass between the announcement and the reload, so that a
	// change recorded at the wrong one of the two is told apart.
	rstest.Eventually(t, 5*time.Second, func() bool { return time.Since(announced) >= 300*time.Millisecond }, "300 ms after the announcement")

	specs2 := slices.Clone(specs)
	specs2[2].Extra = `groups = ["council"]`
	cfg, err := conf.Parse([]byte(rstest.Config(specs2, group)), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if _, err := f.Srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if _, err := c.WaitFor(ctx, "council-c to lose "+p.String(), rstest.HasNot(p)); err != nil {
		t.Fatal(err)
	}
	must(t, rec.Sync(ctx))
	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	vs, err := rd.Versions(ctx, history.Query{Prefix: p})
	if err != nil || len(vs) != 1 {
		t.Fatalf("%s: %v %+v", p, err, vs)
	}
	var toC *history.Export
	for i, e := range vs[0].Exports {
		if slices.Contains(e.Members, "council-c") {
			toC = &vs[0].Exports[i]
		}
	}
	if toC == nil {
		t.Fatalf("%s: never exported to council-c according to the history (exports %+v); it held the route until the reload", p, vs[0].Exports)
	}
	if toC.To == nil || toC.To.Before(before) || toC.To.After(after) || toC.From.After(announced) {
		t.Fatalf("%s exported to council-c from %s to %v; want from before %s to the reload (%s to %s)", p, toC.From, toC.To, announced, before, after)
	}
}
