package history_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// TestReplayAfterExposureEnded: a start after a crash applies the dead
// run's journal on top of the route versions it left open, with their
// exposure as it stood: a route that was exported to member-1 until t2
// and to nobody after, then (journaled) to member-2 from t3, reads so
// after the recovery: member-1 from t1 to t2, member-2 from t3, and
// member-1's interval is not stretched to t3.
func TestReplayAfterExposureEnded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	s := newSynth(3, 0)
	s.attrs = decodableAttrs(t, s.attrs, 1)
	rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: time.Hour, Heartbeat: time.Hour, CommitDelay: time.Millisecond, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	var busy atomic.Bool
	rec.SetBusy(busy.Load)
	s.sessionsUp(rec)
	p := benchPrefix(1)
	src := s.srcs[0]
	exposure := func(at time.Time, members ...int) {
		var set policy.Bitset
		for _, m := range members {
			set = set.Set(m)
		}
		rec.PassStarted(at)
		rec.PrefixExposure(bgp.IPv4Unicast, p, []rib.Exposure{{Source: src, Members: set}})
	}
	must(t, rec.Sync(ctx)) // the sessions are up from here
	t0 := time.Now().Add(10 * time.Millisecond).Truncate(time.Millisecond)
	t1, t2, t3 := t0.Add(10*time.Millisecond), t0.Add(20*time.Millisecond), t0.Add(30*time.Millisecond)
	rstest.Eventually(t, 5*time.Second, func() bool { return time.Now().After(t3.Add(10 * time.Millisecond)) }, "the test's instants to be past")
	rec.RouteEvent(&rib.RouteEvent{Source: src, Family: bgp.IPv4Unicast, Prefix: p, Attrs: s.attrs[0], Cause: "update", At: t0})
	exposure(t0) // exported to nobody at first
	must(t, rec.Sync(ctx))
	exposure(t1, 1)
	must(t, rec.Sync(ctx))
	exposure(t2) // nobody again
	must(t, rec.Sync(ctx))
	busy.Store(true)
	exposure(t3, 2)
	rstest.Eventually(t, 10*time.Second, func() bool { return rec.Stats().Journaled == 1 }, "the exposure journaled")

	// The database as a crash now would leave it.
	crashed := filepath.Join(dir, "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crashed+suffix)
	}
	rec2, err := history.Open(crashed, history.Options{Exports: true, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec2.Close()
	if rep := rec2.Recovered(); rep.Journaled != 1 {
		t.Fatalf("recovered %+v, want the journaled exposure applied", rep)
	}
	rd, err := history.OpenReader(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	vs, err := rd.Versions(ctx, history.Query{Prefix: p})
	if err != nil || len(vs) != 1 {
		t.Fatalf("%s: %v %+v", p, err, vs)
	}
	for _, e := range vs[0].Exports {
		switch {
		case slices.Contains(e.Members, "member-1"):
			if !e.From.Equal(t1) || e.To == nil || !e.To.Equal(t2) {
				t.Errorf("exported to member-1 from %s to %v; want %s to %s", e.From, e.To, t1, t2)
			}
		case slices.Contains(e.Members, "member-2"):
			if !e.From.Equal(t3) {
				t.Errorf("exported to member-2 from %s; want %s", e.From, t3)
			}
		}
	}
	if len(vs[0].Exports) != 2 {
		t.Errorf("exports %+v; want member-1 then member-2", vs[0].Exports)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
