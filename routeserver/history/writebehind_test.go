package history_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestWriteBehind checks the writer's write-behind: while the route
// server says it is busy, route events are journaled within a fraction of
// a second (on disk, counted in last_seen) but kept out of the tables,
// which is what a table load would pay for; they reach the tables once it
// is idle, when a Sync asks, or when the oldest has waited write_behind
// — with nothing lost.
func TestWriteBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSynth(5, 50)
	const pool = 1000
	routes := func(rd *history.Reader) int64 {
		t.Helper()
		in, err := rd.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return in.Routes
	}

	t.Run("journaled while busy, applied when idle", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: time.Minute, Heartbeat: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rd, err := history.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		var busy atomic.Bool
		busy.Store(true)
		rec.SetBusy(busy.Load)
		for i := 0; i < 2*pool; i++ {
			s.emit(rec, i, pool) // every prefix announced, then replaced
		}
		t1 := time.Now() // every event happened before this
		rstest.Eventually(t, 10*time.Second, func() bool {
			st := rec.Stats()
			return st.Holding && st.Queue == 0 && st.Journaled == 2*pool && st.Unsaved == 0
		}, "the events journaled")
		// Several heartbeats (every 20 ms) while the route server is busy:
		// nothing reaches the tables, yet last_seen covers the events (they
		// are on disk: a crash now would apply them at the next start).
		// Until the oldest journaled event has waited 300 ms (15
		// heartbeats), the tables hold nothing.
		rstest.Eventually(t, 10*time.Second, func() bool {
			if n := routes(rd); n != 0 {
				t.Fatalf("while busy: %d route versions in the tables, want 0", n)
			}
			return rec.Stats().Behind >= 300*time.Millisecond
		}, "the oldest journaled event to have waited 300 ms")
		if st := rec.Stats(); st.Behind < 300*time.Millisecond || st.Journaled != 2*pool {
			t.Errorf("behind %v with %d journaled after holding for 300 ms", st.Behind, st.Journaled)
		}
		info, err := rd.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.LastSeen.Before(t1.Add(-time.Second)) {
			t.Errorf("last_seen %s, but every event up to %s is journaled", info.LastSeen.Format(time.StampMicro), t1.Format(time.StampMicro))
		}
		// A reader is told what is journaled and not in the tables yet.
		ns, err := rd.Notices(ctx, time.Time{}, time.Time{})
		if err != nil || !containsNotice(ns, fmt.Sprintf("%d route events of this time are recorded in the journal", 2*pool)) {
			t.Errorf("notices while journaled: %v %+v", err, ns)
		}

		busy.Store(false)
		rstest.Eventually(t, 20*time.Second, func() bool {
			st := rec.Stats()
			return st.Journaled == 0 && st.Queue == 0 && routes(rd) == 2*pool
		}, "the journal applied once the route server is idle")
		vs, err := rd.At(ctx, time.Now(), "")
		if err != nil {
			t.Fatal(err)
		}
		if ns, _ := rd.Notices(ctx, time.Time{}, time.Time{}); containsNotice(ns, "journal") {
			t.Errorf("a journal notice once everything is applied: %+v", ns)
		}
		if len(vs) != pool {
			t.Errorf("history at now: %d routes, want %d", len(vs), pool)
		}

		// Busy again: the withdrawals are journaled, and a Sync applies
		// them at once.
		busy.Store(true)
		for i := 2 * pool; i < 3*pool; i++ {
			s.emit(rec, i, pool)
		}
		rstest.Eventually(t, 10*time.Second, func() bool { return rec.Stats().Holding }, "the writer to hold the withdrawals")
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := rec.Stats(); st.Queue != 0 || st.Journaled != 0 || st.Dropped != 0 {
			t.Errorf("after Sync while busy: %d queued, %d journaled, %d dropped", st.Queue, st.Journaled, st.Dropped)
		}
		if vs, err = rd.At(ctx, time.Now(), ""); err != nil || len(vs) != 0 {
			t.Errorf("history at now after the withdrawals: %d routes (%v), want none", len(vs), err)
		}
	})

	t.Run("applied after write_behind although busy", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rd, err := history.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		rec.SetBusy(func() bool { return true })
		start := time.Now()
		for i := 0; i < pool; i++ {
			s.emit(rec, i, pool)
		}
		rstest.Eventually(t, 20*time.Second, func() bool {
			return routes(rd) == pool
		}, "the events applied although the route server stays busy")
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("applied after %v, before write_behind (300ms) passed", el)
		}
	})

	t.Run(`write_behind = "0s" applies at once`, func(t *testing.T) {
		cfg, err := conf.Parse([]byte("[server]\nasn = 4200000000\nrouter_id = \"10.0.0.1\"\n[history]\nwrite_behind = \"0s\"\n"+
			"[[member]]\nname = \"a\"\nasn = 4200000001\nneighbors = [\"192.0.2.1\"]\n"), "fedrs.toml")
		if err != nil {
			t.Fatal(err)
		}
		opts := history.OptionsFromConfig(cfg)
		if opts.WriteBehind >= 0 {
			t.Fatalf(`write_behind = "0s" gives WriteBehind %v, want negative (off)`, opts.WriteBehind)
		}
		path := filepath.Join(t.TempDir(), "history.db")
		rec, err := history.Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rd, err := history.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		rec.SetBusy(func() bool { return true })
		for i := 0; i < pool; i++ {
			s.emit(rec, i, pool)
		}
		rstest.Eventually(t, 20*time.Second, func() bool {
			st := rec.Stats()
			if st.Holding || st.Journaled != 0 {
				t.Fatal("the writer holds events with write-behind off")
			}
			return st.Queue == 0 && routes(rd) == pool
		}, "the events applied although the route server is busy")
	})

	t.Run("a queue filling fast is journaled early, nothing lost", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: time.Hour, Queue: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rec.SetBusy(func() bool { return true })
		for i := 0; i < pool*8/10; i++ { // 800 slots: past half the queue
			s.emit(rec, i, pool)
		}
		rstest.Eventually(t, 20*time.Second, func() bool {
			return rec.Stats().Journaled >= pool/2
		}, "the queue journaled although the route server stays busy")
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		rd, err := history.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		if st := rec.Stats(); st.Dropped != 0 || st.Journaled != 0 || routes(rd) != pool*8/10 {
			t.Errorf("%d dropped, %d journaled, %d route versions; want none, none and %d", st.Dropped, st.Journaled, routes(rd), pool*8/10)
		}
	})
}
