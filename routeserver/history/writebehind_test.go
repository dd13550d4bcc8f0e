package history_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestWriteBehind checks the writer's write-behind: while the route server
// says it is busy, events wait in the queue (the lag is visible, last_seen
// stays before them), and they are written once it is idle, when a Sync
// asks, when the oldest has waited write_behind, or when the queue is
// three-quarters full — with nothing lost.
func TestWriteBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSynth(5, 50)
	const pool = 1000

	t.Run("held while busy, written when idle", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: time.Minute, Heartbeat: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		var busy atomic.Bool
		busy.Store(true)
		rec.SetBusy(busy.Load)

		s.emit(rec, 0, pool)
		t1 := time.Now() // the first event happened before this
		for i := 1; i < 2*pool; i++ {
			s.emit(rec, i, pool) // every prefix announced, then replaced
		}
		waitFor(t, 10*time.Second, "the writer to hold the events", func() bool {
			st := rec.Stats()
			return st.Holding && st.Queue == 2*pool
		})
		// Several heartbeats (every 20 ms) while the events are held: none
		// is written, and last_seen does not pass the first of them.
		for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st := rec.Stats(); st.Committed != 0 || st.Queue != 2*pool {
				t.Fatalf("while busy: %d events committed, %d queued; want 0 and %d", st.Committed, st.Queue, 2*pool)
			}
		}
		if st := rec.Stats(); st.Behind < 300*time.Millisecond {
			t.Errorf("behind %v after holding for 300 ms", st.Behind)
		}
		rd, err := history.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		info, err := rd.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !info.LastSeen.Before(t1) {
			t.Errorf("last_seen %s while the events from before %s are held: a crash now would claim them recorded",
				info.LastSeen.Format(time.StampMicro), t1.Format(time.StampMicro))
		}

		busy.Store(false)
		waitFor(t, 20*time.Second, "the held events written once the route server is idle", func() bool {
			st := rec.Stats()
			return st.Queue == 0 && st.Committed == 4*pool // each route event with its exposure
		})
		vs, err := rd.At(ctx, time.Now(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != pool {
			t.Errorf("history at now: %d routes, want %d", len(vs), pool)
		}
		if info, err = rd.Info(ctx); err != nil || info.LastSeen.Before(t1) {
			t.Errorf("last_seen %s after the catch-up, want after %s (%v)", info.LastSeen, t1, err)
		}

		// Busy again: the withdrawals wait, and a Sync writes them at once.
		busy.Store(true)
		for i := 2 * pool; i < 3*pool; i++ {
			s.emit(rec, i, pool)
		}
		waitFor(t, 10*time.Second, "the writer to hold the withdrawals", func() bool { return rec.Stats().Holding })
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := rec.Stats(); st.Queue != 0 || st.Dropped != 0 {
			t.Errorf("after Sync while busy: %d queued, %d dropped", st.Queue, st.Dropped)
		}
		if vs, err = rd.At(ctx, time.Now(), ""); err != nil || len(vs) != 0 {
			t.Errorf("history at now after the withdrawals: %d routes (%v), want none", len(vs), err)
		}
	})

	t.Run("written after write_behind although busy", func(t *testing.T) {
		rec, err := history.Open(filepath.Join(t.TempDir(), "history.db"), history.Options{Exports: true, WriteBehind: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rec.SetBusy(func() bool { return true })
		start := time.Now()
		for i := 0; i < pool; i++ {
			s.emit(rec, i, pool)
		}
		waitFor(t, 20*time.Second, "the events written although the route server stays busy", func() bool {
			st := rec.Stats()
			return st.Queue == 0 && st.Committed == 2*pool
		})
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("written after %v, before write_behind (300ms) passed", el)
		}
	})

	t.Run(`write_behind = "0s" writes at once`, func(t *testing.T) {
		cfg, err := conf.Parse([]byte("[server]\nasn = 4200000000\nrouter_id = \"10.0.0.1\"\n[history]\nwrite_behind = \"0s\"\n"+
			"[[member]]\nname = \"a\"\nasn = 4200000001\nneighbors = [\"192.0.2.1\"]\n"), "fedrs.toml")
		if err != nil {
			t.Fatal(err)
		}
		opts := history.OptionsFromConfig(cfg)
		if opts.WriteBehind >= 0 {
			t.Fatalf(`write_behind = "0s" gives WriteBehind %v, want negative (off)`, opts.WriteBehind)
		}
		rec, err := history.Open(filepath.Join(t.TempDir(), "history.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rec.SetBusy(func() bool { return true })
		for i := 0; i < pool; i++ {
			s.emit(rec, i, pool)
		}
		waitFor(t, 20*time.Second, "the events written although the route server is busy", func() bool {
			st := rec.Stats()
			if st.Holding {
				t.Fatal("the writer holds events with write-behind off")
			}
			return st.Queue == 0 && st.Committed == 2*pool
		})
	})

	t.Run("written when the queue is three-quarters full", func(t *testing.T) {
		rec, err := history.Open(filepath.Join(t.TempDir(), "history.db"), history.Options{Exports: true, WriteBehind: time.Hour, Queue: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		rec.SetBusy(func() bool { return true })
		for i := 0; i < pool*8/10; i++ { // 800 slots: past 750
			s.emit(rec, i, pool)
		}
		// The writer takes the queue once it holds 750 (route events with
		// their exposures): what came after may wait again.
		waitFor(t, 20*time.Second, "the queue written although the route server stays busy", func() bool {
			return rec.Stats().Committed >= 2*pool*3/4
		})
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := rec.Stats(); st.Dropped != 0 || st.Committed != 2*pool*8/10 {
			t.Errorf("%d events committed, %d dropped; want %d and none", st.Committed, st.Dropped, 2*pool*8/10)
		}
	})
}
