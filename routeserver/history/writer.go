package history

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Cache bounds: the database is the truth, these maps only save lookups.
const (
	maxAttrPtrCache  = 1 << 16
	maxAttrHashCache = 1 << 18
	maxCauseCache    = 4096
	maxSetCache      = 1 << 14
)

// prefixKey identifies a prefix compactly (no pointers).
type prefixKey struct {
	fam  uint8
	bits uint8
	addr [16]byte
}

func keyOf(f bgp.Family, p netip.Prefix) prefixKey {
	return prefixKey{fam: uint8(f), bits: uint8(p.Bits()), addr: p.Addr().As16()}
}

// key is the event's prefix as a prefixKey.
func (ev *event) key() prefixKey { return prefixKey{fam: uint8(ev.fam), bits: ev.bits, addr: ev.addr} }

// prefix returns the key's prefix.
func (k prefixKey) prefix() netip.Prefix {
	a := netip.AddrFrom16(k.addr)
	if bgp.Family(k.fam) == bgp.IPv4Unicast {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}

// openRoute is an open route version and its open exposure interval.
type openRoute struct {
	src     int32
	attrs   int32
	verdict int32
	expSet  int32
	pathID  uint32
	row     int64
	expFrom int64 // valid_from of the open exposure row (0: none)
	inRow   bool  // the first export set is in the route row (routes.set_id)
}

type memberRef struct {
	id   int64
	name string
	asn  uint32
}

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

// replayDead applies what runs that did not stop cleanly journaled but
// did not apply, on top of the route versions they left open.
func (w *writer) replayDead() error {
	if err := w.readJournalState(); err != nil {
		return fmt.Errorf("%s: reading the journal: %w", w.r.path, err)
	}
	if w.jrows == 0 {
		return nil
	}
	start, events := time.Now(), w.jevents
	if err := w.loadOpen(); err != nil {
		return fmt.Errorf("%s: reading the open route versions: %w", w.r.path, err)
	}
	if !w.drainJournal() {
		return fmt.Errorf("%s: the previous run's journal could not be applied (see the log); nothing was changed", w.r.path)
	}
	clear(w.open)
	w.r.recovered.Journaled = int64(events)
	w.r.log.Info("history: applied the events the previous run had journaled", "db", w.r.path, "events", events, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (w *writer) resetCaches() {
	w.byName = map[string]int64{}
	w.sources = map[*rib.Source]int32{}
	w.attrPtr = map[*wire.AttrSet]int32{}
	w.attrHash = map[[16]byte]int32{}
	w.verdicts = map[policy.Verdict]int32{}
	w.causes = map[string]int32{}
	w.sets = map[string]int32{}
}

const recoveredCause = "recovered: the previous run ended without a clean stop (crash, kill or power loss); closed at its last heartbeat"

// startRun closes what an unclean previous run left open and records this
// run.
func (w *writer) startRun() error {
	ctx, path := w.ctx, w.r.path
	host, _ := os.Hostname()
	type prev struct {
		id, lastSeen, pid int64
		host              string
	}
	var prevs []prev
	rows, err := w.db.QueryContext(ctx, "SELECT id, last_seen, pid, host FROM runs WHERE stopped_at IS NULL")
	if err != nil {
		return fmt.Errorf("%s: reading runs: %w", path, err)
	}
	for rows.Next() {
		var p prev
		if err := rows.Scan(&p.id, &p.lastSeen, &p.pid, &p.host); err != nil {
			rows.Close()
			return fmt.Errorf("%s: reading runs: %w", path, err)
		}
		prevs = append(prevs, p)
	}
	rows.Close()
	nowUS := now()
	var lastSeen int64
	for _, p := range prevs {
		if p.host == host && int(p.pid) != os.Getpid() && processAlive(int(p.pid)) &&
			nowUS-p.lastSeen < int64(6*w.r.opts.Heartbeat/time.Microsecond)+30e6 {
			return fmt.Errorf("%s: another fedrs process (pid %d) is writing this history database (last seen %s); stop it first",
				path, p.pid, time.UnixMicro(p.lastSeen).Format(time.RFC3339))
		}
		lastSeen = max(lastSeen, p.lastSeen)
	}
	if err := w.replayDead(); err != nil {
		return err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer tx.Rollback()
	if len(prevs) > 0 {
		var causeID int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO causes (text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text = excluded.text RETURNING id",
			recoveredCause).Scan(&causeID); err != nil {
			return fmt.Errorf("%s: recovery: %w", path, err)
		}
		rep := &w.r.recovered
		rep.Runs, rep.LastSeen = len(prevs), time.UnixMicro(lastSeen)
		exec := func(n *int64, q string, args ...any) error {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("%s: recovery: %w", path, err)
			}
			*n, _ = res.RowsAffected()
			return nil
		}
		if err := exec(&rep.Exposures, openExposures("valid_to = MAX(valid_from, ?), recovered = 1"), lastSeen); err != nil {
			return err
		}
		if err := exec(&rep.Routes, "UPDATE routes SET valid_to = MAX(valid_from, ?), to_cause = ?, recovered = 1 WHERE valid_to IS NULL", lastSeen, causeID); err != nil {
			return err
		}
		if err := exec(&rep.Sessions, "UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ?, recovered = 1 WHERE down_at IS NULL", lastSeen, recoveredCause); err != nil {
			return err
		}
		var n int64
		if err := exec(&n, "UPDATE runs SET stopped_at = last_seen, clean = 0, recovered_at = ?, recovered_routes = ?, recovered_exposures = ?, recovered_sessions = ? WHERE stopped_at IS NULL",
			nowUS, rep.Routes, rep.Exposures, rep.Sessions); err != nil {
			return err
		}
	}
	if err := tx.QueryRowContext(ctx, "INSERT INTO runs (started_at, last_seen, pid, host, version) VALUES (?, ?, ?, ?, ?) RETURNING id",
		nowUS, nowUS, os.Getpid(), host, w.r.opts.Version).Scan(&w.runID); err != nil {
		return fmt.Errorf("%s: recording the run: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if rep := w.r.recovered; rep.Runs > 0 {
		w.r.log.Warn("history: previous run did not stop cleanly; its open intervals were closed at its last heartbeat and marked recovered",
			"db", path, "last_seen", rep.LastSeen, "routes", rep.Routes, "exposures", rep.Exposures, "sessions", rep.Sessions)
	}
	return nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// run is the writer goroutine. Route events reach the tables in one of
// two ways. While the route server is idle they are applied directly, in
// transactions of at most maxApply events gathered for CommitDelay. While
// it is busy (holdState: a table load, a burst) they are journaled
// (journal.go) at least every journalEvery, cheaply, and applied once it
// has been idle for holdSettle, or once the oldest has waited
// write_behind. Session, configuration and RPKI events are committed at
// once either way. So a crash loses at most about the last journalEvery
// of events, and a table load does not pay for the history's indexes.
func (w *writer) run() {
	defer close(w.r.done)
	hb := time.NewTicker(w.r.opts.Heartbeat)
	defer hb.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	wait := func(d time.Duration) {
		timer.Reset(d)
		select {
		case <-w.r.q.wake:
		case <-timer.C:
		case <-hb.C:
			w.heartbeat()
		}
		timer.Stop()
	}
	q := &w.r.q
	gathered := false
	for {
		n := q.len()
		if n == 0 && w.jrows == 0 {
			w.r.holding.Store(false)
			w.hold.idle()
			gathered = false
			select {
			case <-q.wake:
			case <-hb.C:
				w.heartbeat()
			}
			continue
		}
		if q.controlQueued() {
			// Sync or stop: everything reaches the tables, in order
			// (or, when the journal cannot be applied, the journal: a
			// stop then leaves it to the next start).
			drained := w.drainJournal()
			if w.persist(q.take(maxApply), !drained) {
				return
			}
			continue
		}
		holding := w.hold.update(w)
		w.r.holding.Store(holding || w.jrows > 0)
		w.checkpoints(!holding && w.jrows == 0)
		durable := w.r.durable.Load()
		if holding || w.jrows > 0 {
			if n > 0 && (durable || q.promptQueued() || n >= maxJournalRow || n >= q.limit/2 || ageOf(q.oldest()) >= journalEvery) {
				if w.persist(q.take(4*maxJournalRow), true) {
					return
				}
				continue
			}
			if w.jrows > 0 && (!holding || ageOf(w.joldest) >= time.Duration(w.r.writeBehind.Load())) && !time.Now().Before(w.replayAt) {
				w.replayAt = time.Time{}
				if _, err := w.replayOne(); err != nil && !w.dropJournalRow(err) {
					// Neither applied nor set aside (the disk is full):
					// try again later, not in a loop.
					w.replayWait = min(max(2*w.replayWait, time.Second), time.Minute)
					w.replayAt = time.Now().Add(w.replayWait)
				} else {
					w.replayWait = 0
				}
				w.publishJournal()
				continue
			}
			d := holdTick
			if n > 0 {
				d = min(d, max(journalEvery-ageOf(q.oldest()), time.Millisecond))
			}
			wait(d)
			continue
		}
		// Let a short queue gather a little so a trickle of events does
		// not make a transaction each (not in durable mode: exports wait
		// for the commit).
		if !gathered && n < 4096 && !durable && !q.promptQueued() {
			gathered = true
			wait(w.r.opts.CommitDelay)
			continue
		}
		gathered = false
		if w.persist(q.take(maxApply), false) {
			return
		}
		if w.pruneMore {
			w.prune()
		}
	}
}

// checkpoints turns SQLite's automatic WAL checkpoints on or off. While
// the writer journals they are off: copying into the database the journal
// rows that will soon be deleted would cost CPU during a table load; the
// WAL grows instead, by a few megabytes, until the journal is applied.
func (w *writer) checkpoints(on bool) {
	if on == !w.ckptOff {
		return
	}
	pages := 1000 // SQLite's default
	if !on {
		pages = 0
	}
	if _, err := w.db.ExecContext(w.ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", pages)); err != nil {
		w.r.log.Warn("history: setting WAL checkpoints", "db", w.r.path, "err", err)
		return
	}
	w.ckptOff = !on
}

// ageOf is how long ago the event at unix µs at happened (0 for none).
func ageOf(at int64) time.Duration {
	if at == 0 {
		return 0
	}
	return time.Duration(now()-at) * time.Microsecond
}

// Write-behind: a burst is holdBurstMin or more events waiting that came
// at holdRate a second or more, or the route server's word (SetBusy).
const (
	holdTick     = 50 * time.Millisecond
	holdRate     = 20000
	holdBurstMin = 1000
	// holdSettle: after a hold, the writer waits for the route server to
	// stay idle this long before it applies the journal (the last
	// UPDATEs of a load are still on their way to the members).
	holdSettle = time.Second
)

// holdState says whether the route server is busy, so that route events
// are journaled rather than applied: from the first sign of a burst
// until it has been idle for holdSettle.
type holdState struct {
	on      bool
	quiet   time.Time // when the route server went idle (settling)
	lastSeq uint64
	lastAt  time.Time
}

func (h *holdState) idle() {
	if h.on && h.quiet.IsZero() {
		h.quiet = time.Now()
	}
}

// update re-evaluates the state and reports whether to hold.
func (h *holdState) update(w *writer) bool {
	if w.r.writeBehind.Load() <= 0 {
		h.on = false
		return false
	}
	q := &w.r.q
	n, old := q.len(), q.oldest()
	busy := n >= holdBurstMin && float64(n) >= holdRate*ageOf(old).Seconds()
	seq, t := q.seq.Load(), time.Now()
	if el := t.Sub(h.lastAt); el >= holdTick {
		if !h.lastAt.IsZero() && float64(seq-h.lastSeq) >= holdRate*el.Seconds() && seq-h.lastSeq >= holdBurstMin/10 {
			busy = true
		}
		h.lastSeq, h.lastAt = seq, t
	}
	if f := w.r.busy.Load(); !busy && f != nil && (*f)() {
		busy = true
	}
	switch {
	case busy:
		if !h.on {
			w.r.log.Debug("history: route server busy; journaling route events", "queued", n)
		}
		h.on, h.quiet = true, time.Time{}
	case !h.on:
	case h.quiet.IsZero():
		h.quiet = t
	case t.Sub(h.quiet) >= holdSettle:
		h.on = false
	}
	return h.on
}

// seenAt is the run's last_seen to record: now, or, while events wait in
// the queue, just before the oldest of them (the history is complete up
// to last_seen), and never before the newest event committed.
func (w *writer) seenAt(committed int64) int64 {
	at := now()
	if old := w.r.q.oldest(); old != 0 && old-1 < at {
		at = old - 1
	}
	return max(at, committed)
}

// cursor is a position in a taken batch.
type cursor struct{ b, i int }

// persist commits a taken batch: journaled (journal true) or applied.
// A Sync or stop in a journaled batch ends the journaled part: the
// journal is then applied and the rest of the batch after it. It
// returns true after a stop event.
func (w *writer) persist(t taken, journal bool) (stop bool) {
	w.taken = &t
	var syncs []chan struct{}
	defer func() {
		q := &w.r.q
		q.recycle(t.blocks)
		w.r.committedSeq.Store(t.seq)
		if f := w.r.onCommitted.Load(); f != nil {
			(*f)()
		}
		w.publishJournal()
		if w.r.opts.OnCommit != nil {
			c := Commit{Seq: w.r.commits.Load(), Events: w.r.committed.Load(), At: time.UnixMicro(w.r.lastCommit.Load())}
			if w.lastEvent != 0 {
				c.LastEvent = time.UnixMicro(w.lastEvent)
			}
			w.r.opts.OnCommit(c)
		}
		for _, c := range syncs {
			close(c)
		}
	}()
	from := cursor{}
	if journal {
		rest, done, st := w.commitBatch(&t, from, true, &syncs)
		if done || st {
			return st
		}
		w.drainJournal()
		from = rest
		t.gap = gap{} // recorded with the journaled part
	}
	_, _, stop = w.commitBatch(&t, from, false, &syncs)
	return stop
}

// publishJournal updates the journal figures for Stats.
func (w *writer) publishJournal() {
	w.r.journaled.Store(int64(w.jevents))
	w.r.journalOldest.Store(w.joldest)
}

// commitBatch commits the events of t from cursor from in one
// transaction, journaled or applied. Journaling stops before a Sync or
// stop event: rest is where, and done is false. It returns stop true
// after a stop event.
func (w *writer) commitBatch(t *taken, from cursor, journal bool, syncs *[]chan struct{}) (rest cursor, done, stop bool) {
	batch, g := t.blocks, t.gap
	done = true
	if len(batch) == 0 && g.total() == 0 && w.pending.total() == 0 {
		return rest, true, false
	}
	if err := w.begin(); err != nil {
		w.failed(err, batch, from, g)
		for bi := from.b; bi < len(batch); bi++ {
			b := batch[bi]
			for i := range b.ev {
				if bi == from.b && i < from.i {
					continue
				}
				it := t.read(b, i)
				if c := it.syncChan(); c != nil {
					*syncs = append(*syncs, c)
				}
			}
		}
		return rest, true, w.hasStop(batch)
	}
	w.journaling = journal
	defer func() { w.journaling = false }()
	var err error
	if w.pending.total() > 0 {
		err = w.insertGap(w.pending, "write failed")
	}
	n := uint64(0)
scan:
	for bi := from.b; bi < len(batch); bi++ {
		b := batch[bi]
		for i := range b.ev {
			if bi == from.b && i < from.i {
				continue
			}
			if err != nil {
				break scan
			}
			if k := b.ev[i].kind; journal && (k == evSync || k == evStop) {
				rest, done = cursor{bi, i}, false
				break scan
			}
			it := t.read(b, i)
			if w.event(&it, &n, syncs, &err) {
				stop = true
			}
		}
	}
	if err == nil && journal {
		err = w.flushJournal()
	}
	if stop {
		// Whatever arrived after the stop cannot be written any more.
		w.r.q.close()
		rest := w.r.q.take(math.MaxInt)
		g2 := rest.gap
		for _, b := range rest.blocks {
			for i := range b.ev {
				it := rest.read(b, i)
				if c := it.syncChan(); c != nil {
					*syncs = append(*syncs, c)
					continue
				}
				g2.add(b.ev[i])
			}
		}
		w.r.q.recycle(rest.blocks)
		g.merge(g2)
	}
	if err == nil && g.total() > 0 {
		err = w.insertGap(g, "queue full")
		if err == nil {
			w.r.gaps.Add(1)
		}
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.jbuf.reset()
		for _, id := range w.jnew {
			delete(w.jattrs, id)
		}
		w.jnew = w.jnew[:0]
		w.failed(err, batch, from, g)
		return rest, true, stop || w.hasStop(batch)
	}
	w.pending = gap{}
	w.jnew = w.jnew[:0]
	w.r.committed.Add(n)
	return rest, done, stop
}

func (w *writer) hasStop(batch events) bool {
	for _, b := range batch {
		for i := range b.ev {
			if b.ev[i].kind == evStop {
				return true
			}
		}
	}
	return false
}

// event applies one queued event; it reports a stop. n counts the data
// events, syncs collects the Sync channels to close after the commit.
func (w *writer) event(ev *item, n *uint64, syncs *[]chan struct{}, err *error) (stop bool) {
	switch ev.kind {
	case evRoute, evExposure, evSourceEnd:
		*n++
		if ev.kind == evRoute && ev.hasExp {
			*n++
		}
		r := &w.rbuf
		var ok bool
		if ok, *err = w.resolve(ev, r); ok && *err == nil {
			if w.journaling {
				w.jbuf.add(r)
				if w.jbuf.events >= maxJournalRow {
					*err = w.flushJournal()
				}
			} else {
				*err = w.applyRec(r)
			}
		}
	case evSessionUp:
		*err = w.sessionUp(ev)
		*n++
	case evSessionDown:
		*err = w.sessionDown(ev)
		*n++
	case evRPKI:
		*err = w.rpki(ev)
		*n++
	case evConfig:
		*err = w.config(ev)
		*n++
	case evSynced:
		*err = w.synced(ev)
		*n++
	case evSync:
		*syncs = append(*syncs, ev.syncChan())
	case evStop:
		*err = w.stop(ev)
		stop = true
	}
	if ev.at > w.batchLast && ev.kind != evSync {
		w.batchLast = ev.at
	}
	return stop
}

func (g *gap) add(ev event) {
	if g.first == 0 || ev.at < g.first {
		g.first = ev.at
	}
	g.last = max(g.last, ev.at)
	switch ev.kind {
	case evRoute:
		g.routes++
		if ev.hasExp {
			g.exposures++
		}
	case evExposure:
		g.exposures++
	default:
		g.others++
	}
}

func (g *gap) merge(o gap) {
	if o.total() == 0 {
		return
	}
	if g.first == 0 || (o.first != 0 && o.first < g.first) {
		g.first = o.first
	}
	g.last = max(g.last, o.last)
	g.routes += o.routes
	g.exposures += o.exposures
	g.others += o.others
}

// failed handles a transaction that could not be committed: its events are
// counted as dropped and recorded as a gap once writes work again, and the
// in-memory state is reset (the rolled-back rows do not exist), after
// closing in the database what was open.
func (w *writer) failed(err error, batch events, from cursor, g gap) {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
	msg := err.Error()
	w.r.lastErr.Store(&msg)
	w.r.writeErrs.Add(1)
	w.r.log.Error("history: write failed; the batch is recorded as a gap", "db", w.r.path, "err", err)
	lost := g
	for bi := from.b; bi < len(batch); bi++ {
		for i, ev := range batch[bi].ev {
			if bi == from.b && i < from.i {
				continue
			}
			if ev.kind != evSync && ev.kind != evStop {
				lost.add(ev)
			}
		}
	}
	w.r.dropped.Add(lost.total() - g.total())
	w.pending.merge(lost)
	// Close what is open at the time of the first lost event, so that no
	// interval stays open on a state the database no longer follows.
	at := lost.first
	if at == 0 {
		at = now()
	}
	if _, err := w.db.ExecContext(w.ctx, openExposures("valid_to = MAX(valid_from, ?), recovered = 1"), at); err == nil {
		w.db.ExecContext(w.ctx, "UPDATE routes SET valid_to = MAX(valid_from, ?), recovered = 1 WHERE valid_to IS NULL", at)
		w.db.ExecContext(w.ctx, "UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = 'history write failed', recovered = 1 WHERE down_at IS NULL", at)
	}
	clear(w.open)
	clear(w.sessions)
	w.resetCaches()
	w.reloadMembers()
}

// reloadMembers re-resolves the members of the configuration after a
// failed transaction (which may have been the one that inserted them).
func (w *writer) reloadMembers() {
	for i, m := range w.members {
		var id int64
		if err := w.db.QueryRowContext(w.ctx, "INSERT INTO members (name, asn) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET asn = excluded.asn RETURNING id",
			m.name, m.asn).Scan(&id); err != nil {
			w.r.log.Error("history: re-reading members failed", "db", w.r.path, "err", err)
			return
		}
		w.members[i].id = id
		w.byName[m.name] = id
	}
}

func (w *writer) begin() error {
	if d := w.r.durable.Load(); d != w.syncFull {
		// Durable: a commit is on disk when it returns (the WAL is
		// synced at each commit), not only safe from a process crash.
		level := "NORMAL"
		if d {
			level = "FULL"
		}
		if _, err := w.db.ExecContext(w.ctx, "PRAGMA synchronous = "+level); err != nil {
			return err
		}
		w.syncFull = d
	}
	tx, err := w.db.BeginTx(w.ctx, nil)
	if err != nil {
		return err
	}
	w.tx = tx
	w.batchLast = 0
	w.resetBuffers()
	return nil
}

func (w *writer) commit() error {
	if err := w.flush(); err != nil {
		return err
	}
	at := w.seenAt(max(w.batchLast, w.lastEvent))
	if _, err := w.tx.ExecContext(w.ctx, "UPDATE runs SET last_seen = MAX(last_seen, ?) WHERE id = ?", at, w.runID); err != nil {
		return err
	}
	err := w.tx.Commit()
	w.tx = nil
	if err != nil {
		return err
	}
	if w.batchLast != 0 {
		w.lastEvent = w.batchLast
	}
	w.r.lastCommit.Store(now())
	w.r.commits.Add(1)
	w.updateSize()
	return nil
}

// heartbeat refreshes the run's last_seen, the size figure, and prunes.
func (w *writer) heartbeat() {
	if _, err := w.db.ExecContext(w.ctx, "UPDATE runs SET last_seen = MAX(last_seen, ?) WHERE id = ?", w.seenAt(w.lastEvent), w.runID); err != nil {
		w.r.log.Warn("history: heartbeat failed", "db", w.r.path, "err", err)
	}
	w.updateSize()
	w.prune()
}

func (w *writer) updateSize() {
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(w.r.path + suffix); err == nil {
			size += st.Size()
		}
	}
	w.r.dbSize.Store(size)
}

// prune deletes one small batch per table of rows whose interval ended
// before now-retain; it sets pruneMore when a table had more.
func (w *writer) prune() {
	w.pruneMore = false
	if w.retain <= 0 {
		return
	}
	cut := now() - int64(w.retain/time.Microsecond)
	n := w.r.opts.PruneBatch
	tx, err := w.db.BeginTx(w.ctx, nil)
	if err != nil {
		w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
		return
	}
	defer tx.Rollback()
	for _, q := range []string{
		"DELETE FROM exposures WHERE route_id IN (SELECT id FROM routes WHERE valid_to < ?1 ORDER BY valid_to LIMIT ?2)",
		"DELETE FROM routes WHERE id IN (SELECT id FROM routes WHERE valid_to < ?1 ORDER BY valid_to LIMIT ?2)",
		"DELETE FROM session_syncs WHERE session_id IN (SELECT id FROM sessions WHERE down_at < ?1 ORDER BY id LIMIT ?2)",
		"DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE down_at < ?1 ORDER BY id LIMIT ?2)",
		"DELETE FROM gaps WHERE id IN (SELECT id FROM gaps WHERE last_at < ?1 LIMIT ?2)",
		"DELETE FROM rpki_changes WHERE id IN (SELECT id FROM rpki_changes WHERE at < ?1 LIMIT ?2)",
		"DELETE FROM configs WHERE id IN (SELECT id FROM configs WHERE at < ?1 AND id <> (SELECT MAX(id) FROM configs) LIMIT ?2)",
		"DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE stopped_at < ?1 LIMIT ?2)",
	} {
		res, err := tx.ExecContext(w.ctx, q, cut, n)
		if err != nil {
			w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
			return
		}
		if k, _ := res.RowsAffected(); k >= int64(n) {
			w.pruneMore = true
		}
	}
	if err := tx.Commit(); err != nil {
		w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
	}
}

// openExposures is an UPDATE of the open exposures (those of open route
// versions) with the given SET clause.
func openExposures(set string) string {
	return "UPDATE exposures SET " + set + " WHERE valid_to IS NULL AND route_id IN (SELECT id FROM routes WHERE valid_to IS NULL)"
}

// ---- events ----

// setExposure records that route version o is exported to set from at.
// The first set, when it starts with the version and its row is not
// written yet, goes into the row: one insert fewer for most versions.
func (w *writer) setExposure(o *openRoute, set int32, at int64) {
	if set == o.expSet {
		return
	}
	if !o.inRow && o.expFrom == 0 && o.expSet == 0 && w.rowExp(o.row, at, set) {
		o.inRow, o.expSet = true, set
		return
	}
	if o.expFrom != 0 {
		w.closeExp(o.row, o.expFrom, at)
		o.expFrom = 0
	}
	// After a set in the row, even "nobody" needs a row to end it.
	if set != 0 || o.inRow {
		w.addExp(o.row, at, set)
		o.expFrom = at
	}
	o.expSet = set
}

// closeAllExposures ends every open exposure (exports turned off).
func (w *writer) closeAllExposures(at int64) error {
	for _, list := range w.open {
		for i := range list {
			w.setExposure(&list[i], 0, at)
		}
	}
	return w.flush()
}

func (w *writer) sessionUp(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	member, err := w.memberByName(s.member)
	if err != nil {
		return err
	}
	key := s.member + "\x00" + s.neighbor
	if row, ok := w.sessions[key]; ok {
		if _, err := w.tx.ExecContext(w.ctx, "UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ? WHERE id = ?",
			ev.at, "superseded: a new session came up before the end of this one was recorded", row); err != nil {
			return err
		}
	}
	row := w.nextSession
	w.nextSession++
	n := s.neg
	var peerASN, hold any
	var peerID, local, remote, neg any
	fams := ""
	if n != nil {
		peerASN, hold = n.PeerASN, int64(n.HoldTime/time.Second)
		peerID, local, remote = n.PeerID.String(), n.LocalAddr.String(), n.RemoteAddr.String()
		b, _ := json.Marshal(negotiatedJSON(n))
		neg = string(b)
		// The route server sends a family on a session iff it was
		// negotiated there (routeserver: neighbor.Established).
		var fs []string
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if n.Families[f] {
				fs = append(fs, strconv.Itoa(familyNumber(f)))
			}
		}
		fams = strings.Join(fs, " ")
	}
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO sessions (id, member_id, neighbor, up_at, peer_asn, peer_id, local_addr, remote_addr, hold_time, negotiated, families) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		row, member, s.neighbor, ev.at, peerASN, peerID, local, remote, hold, neg, fams); err != nil {
		return fmt.Errorf("recording a session: %w", err)
	}
	w.sessions[key] = row
	return nil
}

func (w *writer) sessionDown(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	member, err := w.memberByName(s.member)
	if err != nil {
		return err
	}
	d := s.down
	reason := d.Reason
	if d.Err != nil && !strings.Contains(reason, d.Err.Error()) {
		reason = strings.TrimSpace(reason + ": " + d.Err.Error())
	}
	var sc, ss, sm, rc, rs, rm any
	if n := d.Sent; n != nil {
		sc, ss = n.Code, n.Subcode
		if msg, ok := n.ShutdownMessage(); ok {
			sm = msg
		}
	}
	if n := d.Received; n != nil {
		rc, rs = n.Code, n.Subcode
		if msg, ok := n.ShutdownMessage(); ok {
			rm = msg
		}
	}
	gr := 0
	if d.GracefulRestart {
		gr = 1
	}
	key := s.member + "\x00" + s.neighbor
	row, ok := w.sessions[key]
	if !ok {
		row = w.nextSession
		w.nextSession++
		if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO sessions (id, member_id, neighbor) VALUES (?, ?, ?)", row, member, s.neighbor); err != nil {
			return err
		}
	}
	delete(w.sessions, key)
	_, err = w.tx.ExecContext(w.ctx, `UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ?,
		sent_code = ?, sent_subcode = ?, sent_message = ?, recv_code = ?, recv_subcode = ?, recv_message = ?, graceful_restart = ? WHERE id = ?`,
		ev.at, reason, sc, ss, sm, rc, rs, rm, gr, row)
	return err
}

// synced records the end of a session's initial transfer of a family
// (End-of-RIB sent).
func (w *writer) synced(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	row, ok := w.sessions[s.member+"\x00"+s.neighbor]
	if !ok {
		return nil // the session's up was not recorded (or it is already down)
	}
	_, err := w.tx.ExecContext(w.ctx, "INSERT OR IGNORE INTO session_syncs (session_id, family, synced_at) VALUES (?, ?, ?)",
		row, familyNumber(ev.fam), ev.at)
	return err
}

type negJSON struct {
	Families             []string `json:"families"`
	AddPathRx            []string `json:"add_path_rx,omitempty"`
	AddPathTx            []string `json:"add_path_tx,omitempty"`
	FourOctetAS          bool     `json:"four_octet_as"`
	RouteRefresh         bool     `json:"route_refresh"`
	EnhancedRouteRefresh bool     `json:"enhanced_route_refresh"`
	ExtendedMessage      bool     `json:"extended_message"`
	Role                 string   `json:"role,omitempty"`
	GracefulRestart      bool     `json:"graceful_restart"`
	RestartTime          int64    `json:"restart_time,omitempty"`
	Keepalive            int64    `json:"keepalive"`
	Capabilities         []uint8  `json:"peer_capabilities,omitempty"`
}

func negotiatedJSON(n *session.Negotiated) negJSON {
	fams := func(b [bgp.NumFamilies]bool) []string {
		var out []string
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if b[f] {
				out = append(out, f.String())
			}
		}
		return out
	}
	j := negJSON{Families: fams(n.Families), AddPathRx: fams(n.AddPathRx), AddPathTx: fams(n.AddPathTx),
		FourOctetAS: n.FourOctetAS, RouteRefresh: n.RouteRefresh, EnhancedRouteRefresh: n.EnhancedRouteRefresh,
		ExtendedMessage: n.ExtendedMessage, GracefulRestart: n.GracefulRestart,
		RestartTime: int64(n.GRRestartTime / time.Second), Keepalive: int64(n.Keepalive / time.Second),
		Capabilities: n.PeerCapabilities}
	if n.HasRole {
		j.Role = roleName(n.PeerRole)
	}
	return j
}

func roleName(r uint8) string {
	switch r {
	case 0:
		return "provider"
	case 1:
		return "rs"
	case 2:
		return "rs-client"
	case 3:
		return "customer"
	case 4:
		return "peer"
	}
	return "role-" + strconv.Itoa(int(r))
}

func (w *writer) rpki(ev *item) error {
	c := ev.x.other.(*rpkiInfo)
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO rpki_changes (at, serial, vrps, aspas, verdicts_changed) VALUES (?, ?, ?, ?, ?)",
		ev.at, c.serial, c.vrps, c.aspas, c.changed)
	return err
}

func (w *writer) config(ev *item) error {
	c := ev.x.other.(*configInfo)
	members := make([]memberRef, 0, len(c.members))
	for _, m := range c.members {
		var id int64
		if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO members (name, asn) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET asn = excluded.asn RETURNING id",
			m.name, m.asn).Scan(&id); err != nil {
			return fmt.Errorf("recording member %s: %w", m.name, err)
		}
		members = append(members, memberRef{id: id, name: m.name, asn: m.asn})
		w.byName[m.name] = id
	}
	w.members = members
	// Member indices may mean other members now.
	clear(w.sources)
	clear(w.sets)
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO configs (at, run_id, file, sha256, members, changes) VALUES (?, ?, ?, ?, ?, ?)",
		ev.at, w.runID, c.file, c.hash, len(c.members), c.changes); err != nil {
		return err
	}
	w.retain = c.retain
	if w.exports && !c.exports {
		r := rec{op: recExportsOff, at: ev.at}
		if w.journaling {
			w.jbuf.add(&r)
		} else if err := w.applyRec(&r); err != nil {
			return err
		}
	}
	w.exports = c.exports
	return nil
}

func (w *writer) insertGap(g gap, reason string) error {
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO gaps (first_at, last_at, recorded_at, route_events, exposure_events, other_events, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
		g.first, g.last, now(), g.routes, g.exposures, g.others, reason)
	if err == nil {
		w.r.log.Warn("history: events were dropped; gap recorded", "db", w.r.path, "from", time.UnixMicro(g.first), "to", time.UnixMicro(g.last),
			"route_events", g.routes, "exposure_events", g.exposures, "other_events", g.others, "reason", reason)
	}
	return err
}

// stop closes every open interval at the stop time and records the clean
// stop.
func (w *writer) stop(ev *item) error {
	if w.jrows > 0 {
		// The journal could not be applied: closing the versions now
		// would put its earlier events after their end. The run stays
		// open, as after a crash: the next start applies the journal,
		// then closes the run at its last_seen, with a notice.
		w.r.log.Error("history: stopping with route events journaled that could not be applied; the next start applies them and recovers this run",
			"db", w.r.path, "events", w.jevents)
		return nil
	}
	cause, err := w.cause("stopped: route server shut down")
	if err != nil {
		return err
	}
	// The open route versions are the ones the writer holds (their open
	// exposures end with them).
	for _, list := range w.open {
		for _, o := range list {
			w.closeRoute(o.row, ev.at, cause)
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	for _, q := range []struct {
		q    string
		args []any
	}{
		{"UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = 'route server stopped' WHERE down_at IS NULL", []any{ev.at}},
		{"UPDATE runs SET stopped_at = ?, last_seen = MAX(last_seen, ?), clean = 1 WHERE id = ?", []any{ev.at, ev.at, w.runID}},
	} {
		if _, err := w.tx.ExecContext(w.ctx, q.q, q.args...); err != nil {
			return err
		}
	}
	clear(w.open)
	clear(w.sessions)
	return nil
}

// ---- interning ----

func (w *writer) memberByName(name string) (int64, error) {
	if id, ok := w.byName[name]; ok {
		return id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO members (name, asn) VALUES (?, 0) ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id",
		name).Scan(&id); err != nil {
		return 0, fmt.Errorf("recording member %s: %w", name, err)
	}
	w.byName[name] = id
	return id, nil
}

// memberIndex returns the member of configuration index i.
func (w *writer) memberIndex(i int) (memberRef, error) {
	if i >= 0 && i < len(w.members) {
		return w.members[i], nil
	}
	name := "member-" + strconv.Itoa(i)
	id, err := w.memberByName(name)
	return memberRef{id: id, name: name}, err
}

func (w *writer) source(s *rib.Source) (int32, error) {
	if id, ok := w.sources[s]; ok {
		return id, nil
	}
	m, err := w.memberIndex(s.Member)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO sources (member_id, addr) VALUES (?, ?) ON CONFLICT(member_id, addr) DO UPDATE SET addr = excluded.addr RETURNING id",
		m.id, s.Addr.String()).Scan(&id); err != nil {
		return 0, fmt.Errorf("recording neighbour %s: %w", s.Name, err)
	}
	w.sources[s] = int32(id)
	return int32(id), nil
}

func (w *writer) attrSet(a *wire.AttrSet) (int32, error) {
	if id, ok := w.attrPtr[a]; ok {
		return id, nil
	}
	h := attrHash(a)
	id, ok := w.attrHash[h]
	if !ok {
		var id64 int64
		err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM attr_sets WHERE hash = ?", h[:]).Scan(&id64)
		if errors.Is(err, sql.ErrNoRows) {
			t := attrText(&a.Attrs)
			err = w.tx.QueryRowContext(w.ctx, `INSERT INTO attr_sets (hash, origin, as_path, origin_as, next_hop, next_hop_ll, med, communities, large, ext_count, otc, discarded)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				h[:], t.origin, t.asPath, t.originAS, t.nextHop, t.nextHopLL, t.med, t.communities, t.large, a.ExtCount, t.otc, t.discarded).Scan(&id64)
		}
		if err != nil {
			return 0, fmt.Errorf("interning an attribute set: %w", err)
		}
		id = int32(id64)
		if len(w.attrHash) >= maxAttrHashCache {
			clear(w.attrHash)
		}
		w.attrHash[h] = id
	}
	if len(w.attrPtr) >= maxAttrPtrCache {
		clear(w.attrPtr)
	}
	w.attrPtr[a] = id
	return id, nil
}

// attrHash hashes the canonical form the attribute table interns by.
func attrHash(a *wire.AttrSet) [16]byte {
	h := sha256.New()
	var b [40]byte
	k := append(b[:0], byte(a.Family))
	k = append(k, a.NextHop.AsSlice()...)
	k = append(k, 0xff)
	k = append(k, a.NextHopLL.AsSlice()...)
	k = append(k, 0xff)
	h.Write(k)
	h.Write(a.Raw())
	var out [16]byte
	copy(out[:], h.Sum(b[:0]))
	return out
}

type attrTextForm struct {
	origin, asPath, nextHop, nextHopLL, communities, large, discarded string
	originAS, med, otc                                                any
}

func attrText(a *bgp.Attrs) attrTextForm {
	t := attrTextForm{origin: originName(a.Origin), asPath: a.PathString()}
	if a.NextHop.IsValid() {
		t.nextHop = a.NextHop.String()
	}
	if a.NextHopLL.IsValid() {
		t.nextHopLL = a.NextHopLL.String()
	}
	if as, ok := a.OriginAS(); ok {
		t.originAS = int64(as)
	}
	if a.HasMED {
		t.med = int64(a.MED)
	}
	if a.HasOTC {
		t.otc = int64(a.OTC)
	}
	var b strings.Builder
	for i, c := range a.Communities {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", c>>16, c&0xffff)
	}
	t.communities = b.String()
	b.Reset()
	for i, l := range a.Large {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.String())
	}
	t.large = b.String()
	b.Reset()
	for i, d := range a.Discarded {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(d)))
	}
	t.discarded = b.String()
	return t
}

func originName(o uint8) string {
	switch o {
	case bgp.OriginIGP:
		return "igp"
	case bgp.OriginEGP:
		return "egp"
	case bgp.OriginIncomplt:
		return "incomplete"
	}
	return "origin-" + strconv.Itoa(int(o))
}

func (w *writer) verdict(v policy.Verdict) (int32, error) {
	if id, ok := w.verdicts[v]; ok {
		return id, nil
	}
	names := func(s policy.ReasonSet) string {
		var out []string
		for _, r := range s.Reasons() {
			out = append(out, r.String())
		}
		return strings.Join(out, " ")
	}
	filtered, tagged := names(v.Filtered), names(v.Tagged)
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	bh, gs := v.Mods&policy.ModBlackhole != 0, v.Mods&policy.ModGracefulShutdown != 0
	key := fmt.Sprintf("f=%s;t=%s;rov=%s;aspa=%s;reg=%s;bh=%d;gs=%d", filtered, tagged, v.Mods.ROV(), v.Mods.ASPA(), v.Mods.Registry(), b2i(bh), b2i(gs))
	var id int64
	err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM verdicts WHERE key = ?", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = w.tx.QueryRowContext(w.ctx, `INSERT INTO verdicts (key, accepted, filtered, tagged, rov, aspa, registry, blackhole, graceful_shutdown)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			key, b2i(v.Accepted()), filtered, tagged, v.Mods.ROV().String(), v.Mods.ASPA().String(), v.Mods.Registry().String(), b2i(bh), b2i(gs)).Scan(&id)
		if err == nil {
			for _, kind := range []struct {
				name string
				set  policy.ReasonSet
			}{{"filtered", v.Filtered}, {"tagged", v.Tagged}} {
				for _, r := range kind.set.Reasons() {
					if _, err = w.tx.ExecContext(w.ctx, "INSERT OR IGNORE INTO verdict_reasons (verdict_id, kind, reason, code) VALUES (?, ?, ?, ?)",
						id, kind.name, r.String(), r.Info().Code); err != nil {
						break
					}
				}
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("interning a verdict: %w", err)
	}
	w.verdicts[v] = int32(id)
	return int32(id), nil
}

func (w *writer) cause(text string) (int32, error) {
	if id, ok := w.causes[text]; ok {
		return id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO causes (text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text = excluded.text RETURNING id", text).Scan(&id); err != nil {
		return 0, fmt.Errorf("interning a cause: %w", err)
	}
	if len(w.causes) >= maxCauseCache {
		clear(w.causes)
	}
	w.causes[text] = int32(id)
	return int32(id), nil
}

// memberSet interns the set of members of a bitset (configuration
// indices); 0 for the empty set.
func (w *writer) memberSet(b policy.Bitset) (int32, error) {
	w.setBuf = w.setBuf[:0]
	for _, word := range b {
		w.setBuf = binary.LittleEndian.AppendUint64(w.setBuf, word)
	}
	if id, ok := w.sets[string(w.setBuf)]; ok {
		return id, nil
	}
	ids := w.idBuf[:0]
	var names []string
	for i := 0; i < len(b)*64; i++ {
		if b.Has(i) {
			m, err := w.memberIndex(i)
			if err != nil {
				return 0, err
			}
			ids = append(ids, m.id)
			names = append(names, m.name)
		}
	}
	w.idBuf = ids
	if len(ids) == 0 {
		w.sets[string(w.setBuf)] = 0
		return 0, nil
	}
	slices.Sort(ids)
	var kb strings.Builder
	for i, id := range ids {
		if i > 0 {
			kb.WriteByte(' ')
		}
		kb.WriteString(strconv.FormatInt(id, 10))
	}
	slices.Sort(names)
	var id int64
	err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM member_sets WHERE key = ?", kb.String()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = w.tx.QueryRowContext(w.ctx, "INSERT INTO member_sets (key, members, size) VALUES (?, ?, ?) RETURNING id",
			kb.String(), strings.Join(names, " "), len(ids)).Scan(&id)
		for _, m := range ids {
			if err != nil {
				break
			}
			_, err = w.tx.ExecContext(w.ctx, "INSERT INTO member_set_members (member_id, set_id) VALUES (?, ?)", m, id)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("interning a member set: %w", err)
	}
	if len(w.sets) >= maxSetCache {
		clear(w.sets)
	}
	w.sets[string(w.setBuf)] = int32(id)
	return int32(id), nil
}

// ---- prefixes ----

func familyNumber(f bgp.Family) int {
	if f == bgp.IPv6Unicast {
		return 6
	}
	return 4
}

// prefixRange returns the first and last address of p as big-endian bytes
// (4 for IPv4, 16 for IPv6).
func prefixRange(p netip.Prefix) (start, end []byte) {
	p = p.Masked()
	start = p.Addr().AsSlice()
	end = slices.Clone(start)
	bits := p.Bits()
	for i := range end {
		lo := i * 8
		switch {
		case bits <= lo:
			end[i] = 0xff
		case bits < lo+8:
			end[i] |= byte(0xff >> (bits - lo))
		}
	}
	return start, end
}
