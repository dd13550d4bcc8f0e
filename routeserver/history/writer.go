package history

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// writer is the state of the writer goroutine; nothing else touches it.
type writer struct {
	r       *Recorder
	db      *sql.DB
	ctx     context.Context
	runID   int64
	retain  time.Duration
	exports bool

	nextRoute, nextSession int64

	members  []memberRef // by configuration index
	byName   map[string]int64
	sources  map[*rib.Source]int32
	attrPtr  map[*wire.AttrSet]int32
	attrHash map[[16]byte]int32
	verdicts map[policy.Verdict]int32
	causes   map[string]int32
	sets     map[string]int32
	open     map[prefixKey][]openRoute
	sessions map[string]int64

	tx        *sql.Tx
	buf       buffers
	args      []any
	batchLast int64 // newest event time in the current transaction
	lastEvent int64
	pending   gap // events lost to failed transactions, recorded when writes work again
	pruneMore bool
	taken     *taken // the batch being applied (its numbering)
	setBuf    []byte
	idBuf     []int64
	rbuf      rec // the event being resolved

	// The journal (journal.go): what is journaled and not applied yet.
	jbuf       journalBuf
	jattrs     map[int64][]*wire.AttrSet // per journal row, its sets not interned yet
	jnew       []int64                   // rows inserted by the transaction in hand
	jrows      int
	jevents    int
	joldest    int64 // time of the oldest journaled event (0: none)
	journaling bool  // the batch in hand goes to the journal
	hold       holdState
	replayAt   time.Time     // no journal row is applied before (after a row could not be)
	replayWait time.Duration // the wait before replayAt
	syncFull   bool          // PRAGMA synchronous = FULL ([history] durable)
	ckptOff    bool          // PRAGMA wal_autocheckpoint = 0 (journaling)
}

func newWriter(ctx context.Context, r *Recorder) (*writer, error) {
	w := &writer{r: r, db: r.db, ctx: ctx, retain: r.opts.Retain, exports: r.opts.Exports}
	w.resetCaches()
	w.open = map[prefixKey][]openRoute{}
	w.sessions = map[string]int64{}
	for _, c := range []struct {
		table string
		dst   *int64
	}{{"routes", &w.nextRoute}, {"sessions", &w.nextSession}} {
		var max sql.NullInt64
		if err := w.db.QueryRowContext(ctx, "SELECT MAX(id) FROM "+c.table).Scan(&max); err != nil {
			return nil, fmt.Errorf("%s: %w", r.path, err)
		}
		*c.dst = max.Int64 + 1
	}
	if err := w.startRun(); err != nil {
		return nil, err
	}
	w.updateSize()
	return w, nil
}
