package history_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// decodableAttrs appends n attribute sets decoded from UPDATEs as a
// member sends them (a start after a crash decodes the journal's sets
// from their wire form).
func decodableAttrs(t *testing.T, out []*wire.AttrSet, n int) []*wire.AttrSet {
	d := wire.Decoder{FourOctetAS: true, Table: wire.NewTable()}
	for i := 0; i < n; i++ {
		attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(0),
			bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{4200001000, 64600})}),
			bgp.NewPathAttributeNextHop(fmt.Sprintf("192.0.2.%d", i%5+1)), bgp.NewPathAttributeMultiExitDisc(uint32(i))}
		b, err := bgp.NewBGPUpdateMessage(nil, attrs, []*bgp.IPAddrPrefix{bgp.NewIPAddrPrefix(24, "10.1.2.0")}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		u, err := d.Decode(b[19:])
		if err != nil || u.Attrs[0] == nil {
			t.Fatalf("decoding the test's UPDATE: %v %v", err, u.TreatAsWithdraw)
		}
		out = append(out, u.Attrs[0])
	}
	return out
}

// TestJournalCannotBeApplied: when the journal cannot be applied nor
// removed (the disk is full: every write fails), the writer neither spins
// nor hangs: a stop returns, leaving the journal and the run open as a
// crash would, and the next start applies the journal and recovers the
// run, with nothing journaled lost.
func TestJournalCannotBeApplied(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "history.db")
	s := newSynth(5, 0)
	s.attrs = decodableAttrs(t, s.attrs, 50)
	const pool = 1000
	var tries atomic.Int64 // log lines of a journal row left in place
	log := slog.New(countHandler{Handler: testLog.Handler(), n: &tries, msg: "could not be applied nor set aside"})
	rec, err := history.Open(path, history.Options{Exports: true, WriteBehind: time.Minute, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	var busy atomic.Bool
	busy.Store(true)
	rec.SetBusy(busy.Load)
	s.sessionsUp(rec)
	for i := 0; i < pool; i++ {
		s.emit(rec, i, pool)
	}
	rstest.Eventually(t, 10*time.Second, func() bool {
		st := rec.Stats()
		return st.Queue == 0 && st.Journaled >= pool
	}, "the events journaled")

	// The journal's rows can no longer be deleted (as when the disk is
	// full, deleting needs room in the WAL).
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TRIGGER full BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END"); err != nil {
		t.Fatal(err)
	}
	busy.Store(false) // idle: the writer tries to apply the journal
	journaled := rec.Stats().Journaled
	rstest.Eventually(t, 10*time.Second, func() bool { return tries.Load() > 0 }, "the writer to try to apply the journal")
	// It waits before it tries again (a second, then longer), rather
	// than spinning and logging in a loop while the disk is full.
	first := time.Now()
	rstest.Eventually(t, 5*time.Second, func() bool { return time.Since(first) >= 500*time.Millisecond }, "half a second after the first try")
	if n := tries.Load(); n > 1 {
		t.Errorf("%d tries to apply the journal within half a second: the writer retries in a loop", n)
	}
	closed := make(chan error, 1)
	go func() { closed <- rec.Close() }()
	rstest.Eventually(t, 20*time.Second, func() bool { return len(closed) > 0 }, "Close to return although the journal cannot be applied")

	// Room again: the next start applies what was journaled.
	if _, err := db.ExecContext(ctx, "DROP TRIGGER full"); err != nil {
		t.Fatal(err)
	}
	rec2, err := history.Open(path, history.Options{Exports: true, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec2.Close()
	if rep := rec2.Recovered(); rep.Journaled != journaled || rep.Runs != 1 {
		t.Errorf("next start recovered %+v; want the %d journaled events applied and the run recovered", rep, journaled)
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
	if in.Routes != pool {
		t.Errorf("%d route versions after the next start, want %d", in.Routes, pool)
	}
	ns, err := rd.Notices(ctx, time.Time{}, time.Time{})
	if err != nil || len(ns) == 0 {
		t.Errorf("no notice of the unclean stop: %v %+v", err, ns)
	}
}

// countHandler counts the records whose message contains msg.
type countHandler struct {
	slog.Handler
	n   *atomic.Int64
	msg string
}

func (h countHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h countHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return countHandler{Handler: h.Handler.WithAttrs(as), n: h.n, msg: h.msg}
}

func (h countHandler) WithGroup(name string) slog.Handler {
	return countHandler{Handler: h.Handler.WithGroup(name), n: h.n, msg: h.msg}
}
