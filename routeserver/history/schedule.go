package history

import (
	"fmt"
	"os"
	"time"
)

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

// heartbeat refreshes the run's last_seen, the size figure, and prunes.
func (w *writer) heartbeat() {
	if _, err := w.db.ExecContext(w.ctx, "UPDATE runs SET last_seen = MAX(last_seen, ?) WHERE id = ?", w.seenAt(w.lastEvent), w.runID); err != nil {
		w.r.log.Warn("history: heartbeat failed", "db", w.r.path, "err", err)
	}
	w.updateSize()
	w.prune()
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

func (w *writer) updateSize() {
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(w.r.path + suffix); err == nil {
			size += st.Size()
		}
	}
	w.r.dbSize.Store(size)
}
