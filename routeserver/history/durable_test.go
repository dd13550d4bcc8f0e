package history_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// TestDurableExports: with [history] durable, no member receives a route
// before its history event is committed. While the writer is paused
// after a commit, a new route reaches the RIB but not the other members;
// once the writer goes on, they get it. In a stream of announcements,
// whenever a member first holds a route, the database already has it.
// Turned off by a reload, exports no longer wait.
func TestDurableExports(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	var paused atomic.Bool
	release, blocked := make(chan struct{}), make(chan struct{}, 1)
	rec, err := history.Open(path, history.Options{Exports: true, Log: testLog, OnCommit: func(history.Commit) {
		if paused.Load() {
			select {
			case blocked <- struct{}{}:
			default:
			}
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	specs := rstest.Three()
	extra := fmt.Sprintf("history = %q\n[history]\ndurable = true\nwrite_behind = \"0s\"", path)
	f := rstest.Start(t, specs, extra, routeserver.Options{History: rec})
	t.Cleanup(func() {
		if paused.Swap(false) {
			close(release)
		}
		f.Stop()
		rec.Close()
	})
	if !rec.Durable() {
		t.Fatal("[history] durable = true did not reach the recorder")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, c := f.Members["nhs-a"], f.Members["council-c"]
	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	recorded := func(p netip.Prefix) bool {
		vs, err := rd.Versions(ctx, history.Query{Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		return len(vs) > 0
	}
	inRIB := func(p netip.Prefix) bool {
		rs, _ := f.Srv.RIB().Routes(rib.Filter{Member: -1}, 0, 0)
		for _, r := range rs {
			if r.Prefix == p {
				return true
			}
		}
		return false
	}

	p1, p2 := netip.MustParsePrefix("10.61.0.0/16"), netip.MustParsePrefix("10.62.0.0/16")
	must(t, a.Announce(ctx, member.Route{Prefix: p1}))
	if _, err := c.WaitFor(ctx, "10.61.0.0/16", rstest.Has(p1)); err != nil {
		t.Fatal(err)
	}
	if !recorded(p1) {
		t.Fatal("council-c holds 10.61.0.0/16, which is not in the database")
	}
	// The writer stops after its next commit (of another route); then
	// 10.62.0.0/16 is announced.
	paused.Store(true)
	must(t, a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.60.0.0/16")}))
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the writer did not pause")
	}
	must(t, a.Announce(ctx, member.Route{Prefix: p2}))
	rstest.Eventually(t, 15*time.Second, func() bool { return inRIB(p2) }, "10.62.0.0/16 in the RIB")
	if rstest.Until(500*time.Millisecond, func() bool { rs, _ := c.Received(ctx); _, ok := member.Find(rs, p2); return ok }) == nil {
		t.Fatalf("council-c received 10.62.0.0/16 while its history event was not committed (recorded: %v)", recorded(p2))
	}

	if recorded(p2) {
		t.Fatal("10.62.0.0/16 is in the database although the writer is paused: the test did not pause it")
	}
	paused.Store(false)
	close(release)
	if _, err := c.WaitFor(ctx, "10.62.0.0/16 once committed", rstest.Has(p2)); err != nil {
		t.Fatal(err)
	}
	if !recorded(p2) {
		t.Fatal("council-c holds 10.62.0.0/16, which is not in the database")
	}

	// A stream of announcements: whenever council-c first holds a
	// route, the database has it.
	const n = 300
	go func() {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			a.Announce(ctx, member.Route{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(70 + i>>8), byte(i), 0}), 24)})
		}
	}()
	seen := map[netip.Prefix]bool{}
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		rs, err := c.Received(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if seen[r.Prefix] || r.Prefix.Bits() != 24 { // the /16s above are not of the stream
				continue
			}
			if !recorded(r.Prefix) {
				t.Fatalf("council-c holds %s, which the database does not have yet", r.Prefix)
			}
			seen[r.Prefix] = true
		}
		if len(seen) < n {
			return fmt.Errorf("%d of %d routes at council-c", len(seen), n)
		}
		return nil
	}, "council-c to hold the stream, each route recorded first")

	// durable off by a reload: the exports no longer wait for the writer.
	cfg, err := conf.Parse([]byte(rstest.Config(specs, fmt.Sprintf("history = %q\n[history]\ndurable = false\nwrite_behind = \"0s\"", path))), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	must(t, rec.Sync(ctx))
	if rec.Durable() {
		t.Fatal("durable still on after a reload that turned it off")
	}
	release = make(chan struct{})
	paused.Store(true)
	p3, p4 := netip.MustParsePrefix("10.63.0.0/16"), netip.MustParsePrefix("10.64.0.0/16")
	must(t, a.Announce(ctx, member.Route{Prefix: p3}))
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the writer did not pause")
	}
	must(t, a.Announce(ctx, member.Route{Prefix: p4}))
	if _, err := c.WaitFor(ctx, "10.64.0.0/16 although the writer is paused", rstest.Has(p4)); err != nil {
		t.Fatal(err)
	}
}
