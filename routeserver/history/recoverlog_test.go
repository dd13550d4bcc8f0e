package history_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestRecoveryWarnedOnce: a start over a database a crash left (a run
// without a stop, sessions and route versions open) says so in exactly
// one warning; a start after a clean stop says nothing of the kind.
func TestRecoveryWarnedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	rec, err := history.Open(path, history.Options{Heartbeat: time.Hour, CommitDelay: time.Millisecond, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	const pool = 10
	s := newSynth(2, 4)
	s.sessionsUp(rec)
	for i := 0; i < pool; i++ {
		s.emit(rec, i, pool)
	}
	must(t, rec.Sync(ctx))

	// The database as a crash now would leave it.
	crashed := filepath.Join(dir, "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crashed+suffix)
	}
	// The warning ("previous run did not stop cleanly; its open intervals
	// were closed ... and marked recovered"), or any other record saying
	// the same.
	const warning = "marked recovered"
	var warned atomic.Int64
	log := slog.New(countHandler{Handler: rstest.StrictLog(t).Handler(), n: &warned, msg: warning})
	rec2, err := history.Open(crashed, history.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	rep := rec2.Recovered()
	must(t, rec2.Close())
	if rep.Runs != 1 || rep.Sessions != 2 || rep.Routes != pool {
		t.Errorf("recovered %+v; want 1 run, 2 sessions, %d route versions", rep, pool)
	}
	if n := warned.Load(); n != 1 {
		t.Errorf("%q logged %d times over a crashed database; want once", warning, n)
	}

	// rec2 stopped cleanly: the next start has nothing to recover.
	rec3, err := history.Open(crashed, history.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	rep = rec3.Recovered()
	must(t, rec3.Close())
	if rep.Runs != 0 {
		t.Errorf("recovered %+v after a clean stop", rep)
	}
	if n := warned.Load(); n != 1 {
		t.Errorf("%q logged again after a clean stop (%d in all)", warning, n)
	}
}
