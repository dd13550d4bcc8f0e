package history_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
)

const rsASN = rstest.RSASN

var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// fed is a route server with history and in-process members.
type fed struct {
	*rstest.Fed
	t     *testing.T
	rec   *history.Recorder
	specs []rstest.Member
}

// configText is the test federation's configuration for specs.
func configText(specs []rstest.Member) string { return rstest.Config(specs, "") }

func startFed(t *testing.T, specs []rstest.Member, path string) *fed {
	t.Helper()
	rec, err := history.Open(path, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	f := &fed{Fed: rstest.Start(t, specs, "", routeserver.Options{History: rec}), t: t, rec: rec, specs: specs}
	t.Cleanup(f.stop)
	// The route server's side too.
	rstest.Eventually(t, 10*time.Second, func() bool {
		for _, n := range f.Srv.Neighbors() {
			if !f.Srv.RIB().Stats(n.Source).Up {
				return false
			}
		}
		return true
	}, "sessions up at the route server")
	return f
}

// stop stops the route server, then the recorder (which records the
// session downs of the shutdown).
func (f *fed) stop() {
	f.Stop()
	f.rec.Close()
}

func routeKey(prefix netip.Prefix, memberName, neighbor string, pathID uint32, verdict, asPath, nextHop string) string {
	return fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s", prefix, memberName, neighbor, pathID, verdict, asPath, nextHop)
}

func verdictText(accepted bool, filtered []string) string {
	if accepted {
		return "accepted"
	}
	return "filtered:" + strings.Join(filtered, ",")
}

// snapshot is the RIB at one instant, as strings comparable with the
// history's answers.
type snapshot struct {
	at       time.Time
	routes   []string
	exported map[string][]string // member -> "prefix|from member"
	up       map[string]bool
}

func (f *fed) ribRoutes() []string {
	rs, _ := f.Srv.RIB().Routes(rib.Filter{Member: -1}, 0, 0)
	var out []string
	for _, r := range rs {
		var filtered []string
		for _, x := range r.Verdict.Filtered.Reasons() {
			filtered = append(filtered, x.String())
		}
		name, _, _ := strings.Cut(r.Source.Name, " ")
		out = append(out, routeKey(r.Prefix, name, r.Source.Addr.String(), r.PathID, verdictText(r.Verdict.Accepted(), filtered),
			r.Attrs.PathString(), r.Attrs.NextHop.String()))
	}
	slices.Sort(out)
	return out
}

func (f *fed) ribExported() (map[string][]string, map[string]bool) {
	exp, up := map[string][]string{}, map[string]bool{}
	for _, n := range f.Srv.Neighbors() {
		name := f.specs[n.Member].Name
		up[name] = f.Srv.RIB().Stats(n.Source).Up
		hs, _, _ := f.Srv.RIB().Held(n.Member, rib.HeldFilter{}, 0, 0)
		var out []string
		for _, r := range hs {
			from, _, _ := strings.Cut(r.Source.Name, " ")
			out = append(out, r.Prefix.String()+"|"+from)
		}
		slices.Sort(out)
		exp[name] = out
	}
	return exp, up
}

// take records the RIB at an instant: the RIB before and after the
// instant must agree (nothing happened around it) and every event before
// it is committed.
func (f *fed) take(ctx context.Context) snapshot {
	f.t.Helper()
	for try := 0; try < 50; try++ {
		before := f.ribRoutes()
		expBefore, upBefore := f.ribExported()
		if err := f.rec.Sync(ctx); err != nil {
			f.t.Fatal(err)
		}
		at := time.Now()
		// A test about time, kept on the real clock (the RIB and the
		// history read time.Now): the instant is at least 2 ms from the
		// next event, whose time the history stores to the microsecond.
		time.Sleep(2 * time.Millisecond)
		if err := f.rec.Sync(ctx); err != nil {
			f.t.Fatal(err)
		}
		after := f.ribRoutes()
		expAfter, upAfter := f.ribExported()
		// Nothing in flight either: the history records an export when the
		// route server decides it, its writer sends it milliseconds later.
		if slices.Equal(before, after) && fmt.Sprint(expBefore) == fmt.Sprint(expAfter) && fmt.Sprint(upBefore) == fmt.Sprint(upAfter) &&
			f.Srv.RIB().PendingOut() == 0 {
			return snapshot{at: at, routes: after, exported: expAfter, up: upAfter}
		}
	}
	f.t.Fatal("the RIB did not settle")
	return snapshot{}
}

func (f *fed) ribHas(pred func([]string) bool) func() bool {
	return func() bool { return pred(f.ribRoutes()) }
}

func containsPrefix(rs []string, prefix, memberName, verdictPrefix string) bool {
	for _, r := range rs {
		p := strings.Split(r, "|")
		if p[0] == prefix && p[1] == memberName && strings.HasPrefix(p[4], verdictPrefix) {
			return true
		}
	}
	return false
}

func TestAtEqualsRIBSnapshots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.41"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.42"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.43"},
	}
	f := startFed(t, specs, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b, c := f.Members["nhs-a"], f.Members["nhs-b"], f.Members["council-c"]
	pfx := netip.MustParsePrefix
	var snaps []snapshot
	snaps = append(snaps, f.take(ctx)) // nothing announced yet

	// Step 1: announcements; two routes filtered at the route server.
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}))
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), ASPath: []uint32{65010}}))
	must(t, b.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65020, 65021}}))
	// B also announces A's 10.2/16 (a longer path): A's route stays when B's
	// session drops, and its exposure changes then.
	must(t, b.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), ASPath: []uint32{65020, 65021, 65022}}))
	must(t, c.Announce(ctx, member.Route{Prefix: pfx("192.168.50.0/24")}))                                         // prefix not allowed
	must(t, c.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})) // next hop not C's
	rstest.Eventually(t, 15*time.Second, f.ribHas(func(rs []string) bool {
		return len(rs) == 6 && containsPrefix(rs, "10.3.0.0/16", "council-c", "filtered") && containsPrefix(rs, "192.168.50.0/24", "council-c", "filtered")
	}), "step 1 in the RIB")
	if _, err := c.WaitFor(ctx, "10.2.0.0/16 at C", func(rs []member.Route) bool { _, ok := member.Find(rs, pfx("10.2.0.0/16")); return ok }); err != nil {
		t.Fatal(err)
	}
	snaps = append(snaps, f.take(ctx))

	// Step 2: A withdraws 10.1/16 (B's route takes over), changes 10.2/16,
	// C fixes its next hop (filtered -> accepted).
	must(t, a.Withdraw(ctx, pfx("10.1.0.0/16")))
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), ASPath: []uint32{65010, 65011}, MED: u32(20)}))
	must(t, c.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16")}))
	rstest.Eventually(t, 15*time.Second, f.ribHas(func(rs []string) bool {
		return len(rs) == 5 && !containsPrefix(rs, "10.1.0.0/16", "nhs-a", "") && containsPrefix(rs, "10.3.0.0/16", "council-c", "accepted") &&
			slices.ContainsFunc(rs, func(s string) bool { return strings.Contains(s, "|4200000001 65010 65011|") })
	}), "step 2 in the RIB")
	snaps = append(snaps, f.take(ctx))

	// Step 3: B's session drops: its routes go, and B receives nothing.
	b.Stop()
	rstest.Eventually(t, 15*time.Second, f.ribHas(func(rs []string) bool { return !containsPrefix(rs, "10.1.0.0/16", "nhs-b", "") }), "B's routes gone")
	rstest.Eventually(t, 15*time.Second, func() bool { _, up := f.ribExported(); return !up["nhs-b"] }, "B's session down")
	snaps = append(snaps, f.take(ctx))

	rd, err := history.OpenReader(path) // while the server runs
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for i, s := range snaps {
		vs, err := rd.At(ctx, s.at, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, routeKey(v.Prefix, v.Member, v.Neighbor, v.PathID, verdictText(v.Accepted, v.Filtered), v.ASPath, v.NextHop))
		}
		slices.Sort(got)
		if !slices.Equal(got, s.routes) {
			t.Errorf("instant %d (%s): at TIME gives\n  %s\nthe RIB held\n  %s", i, s.at.Format(time.RFC3339Nano), strings.Join(got, "\n  "), strings.Join(s.routes, "\n  "))
		}
		for _, m := range specs {
			ex, up, err := rd.ExportedTo(ctx, s.at, m.Name)
			if err != nil {
				t.Fatal(err)
			}
			if up != s.up[m.Name] {
				t.Errorf("instant %d: %s session up %v in the history, %v in the RIB", i, m.Name, up, s.up[m.Name])
			}
			want := s.exported[m.Name]
			if !s.up[m.Name] {
				want = nil // nothing is sent to a member whose session is down
			}
			var got []string
			for _, v := range ex {
				got = append(got, v.Prefix.String()+"|"+v.Member)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("instant %d: exported to %s: history %v, RIB %v", i, m.Name, got, want)
			}
		}
	}

	// The history of 10.1.0.0/16: A's version ended by its withdrawal, B's
	// by the session drop; A's was exported to B and C, then B's to A and C.
	vs, err := rd.Versions(ctx, history.Query{Prefix: pfx("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("10.1.0.0/16: %d versions, want 2: %+v", len(vs), vs)
	}
	for _, v := range vs {
		switch v.Member {
		case "nhs-a":
			if v.To == nil || v.EndCause != "withdraw" {
				t.Errorf("A's 10.1.0.0/16: to %v, end cause %q; want closed by withdraw", v.To, v.EndCause)
			}
		case "nhs-b":
			if v.To == nil || !strings.HasPrefix(v.EndCause, "session down") {
				t.Errorf("B's 10.1.0.0/16: to %v, end cause %q; want closed by the session drop", v.To, v.EndCause)
			}
			// Hidden behind A's better route for C until A withdrew:
			// then C (and A) received it.
			last := v.Exports[len(v.Exports)-1]
			if !slices.Contains(last.Members, "council-c") {
				t.Errorf("B's 10.1.0.0/16 last exported to %v, want council-c included", last.Members)
			}
		}
	}
	// Covering and more specifics.
	cov, err := rd.Versions(ctx, history.Query{Prefix: pfx("10.1.2.0/24"), Covering: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cov) != 2 {
		t.Errorf("covering 10.1.2.0/24: %d versions, want the 2 of 10.1.0.0/16", len(cov))
	}
	more, err := rd.Versions(ctx, history.Query{Prefix: pfx("10.0.0.0/8"), MoreSpecifics: true})
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]bool{}
	for _, v := range more {
		prefixes[v.Prefix.String()] = true
	}
	if len(prefixes) != 3 {
		t.Errorf("more specifics of 10.0.0.0/8: %v, want 10.1/16, 10.2/16, 10.3/16", prefixes)
	}
	// Filtered by reason, by name and by code.
	for _, r := range []string{"next_hop", "8", "1101:8"} {
		fl, err := rd.Versions(ctx, history.Query{Reason: r})
		if err != nil {
			t.Fatal(err)
		}
		if len(fl) != 1 || fl[0].Prefix != pfx("10.3.0.0/16") || fl[0].To == nil {
			t.Errorf("filtered --reason %s: %+v, want C's first 10.3.0.0/16, closed", r, fl)
		}
	}
	fl, err := rd.Versions(ctx, history.Query{FilteredOnly: true, Member: "council-c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fl) != 2 {
		t.Errorf("filtered routes of council-c: %d, want 2", len(fl))
	}
	// Sessions: B went down, with the reason.
	ss, err := rd.Sessions(ctx, "nhs-b", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].Down == nil || ss[0].Up == nil || ss[0].PeerASN == nil || *ss[0].PeerASN != 4200000002 {
		t.Errorf("sessions of nhs-b: %+v", ss)
	}

	// A clean stop closes every interval; the history stays readable.
	f.stop()
	info, err := rd.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Open != 0 {
		t.Errorf("%d route versions open after a clean stop", info.Open)
	}
	ns, err := rd.Notices(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if strings.Contains(n.Text, "incomplete") || strings.Contains(n.Text, "crash") {
			t.Errorf("unexpected notice: %+v", n)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func u32(v uint32) *uint32 { return &v }
