package history_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestRetention: versions that ended longer than [history] retain ago are
// pruned (with their exposures) in the background; versions still held
// are kept however old they are.
func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	rec, err := history.Open(path, history.Options{Exports: true, Retain: 300 * time.Millisecond, Heartbeat: 20 * time.Millisecond,
		CommitDelay: time.Millisecond, PruneBatch: 7, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := newSynth(4, 40)
	s.sessionsUp(rec)
	const pool = 100
	// Round 0 announces 100 prefixes, round 1 replaces them (closing the
	// first versions), round 2 withdraws half of them: 150 closed
	// versions to prune (in batches of 7), 50 open ones to keep.
	for i := 0; i < 2*pool+pool/2; i++ {
		s.emit(rec, i, pool)
	}
	if err := rec.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	in, err := rd.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.Routes != 2*pool || in.Open != pool/2 {
		t.Fatalf("before pruning: %d versions, %d open; want %d, %d", in.Routes, in.Open, 2*pool, pool/2)
	}
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		if in, err = rd.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if in.Routes != pool/2 {
			return fmt.Errorf("%d versions left, want the %d open ones", in.Routes, pool/2)
		}
		return nil
	}, "the closed versions to be pruned")
	if in.Open != pool/2 {
		t.Errorf("%d open versions after pruning, want %d", in.Open, pool/2)
	}
	vs, err := rd.Versions(ctx, history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.To != nil {
			t.Errorf("closed version %d of %s survived pruning", v.ID, v.Prefix)
		}
		if v.Accepted && len(v.Exports) == 0 {
			t.Errorf("open version %d of %s lost its exposure", v.ID, v.Prefix)
		}
	}
}
