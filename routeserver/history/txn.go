package history

import (
	"math"
	"time"
)

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
		t.syncsFrom(from, syncs)
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
		g.merge(w.afterStop(syncs))
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

// syncsFrom collects the Sync channels of t's events from cursor from
// (a batch that could not be written still answers its Syncs).
func (t *taken) syncsFrom(from cursor, syncs *[]chan struct{}) {
	batch := t.blocks
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
}

// afterStop closes the queue after a stop event and empties it: whatever
// arrived after the stop cannot be written any more. It returns those
// events as a gap and collects their Sync channels.
func (w *writer) afterStop(syncs *[]chan struct{}) gap {
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
	return g2
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
	case evControl:
		*err = w.control(ev)
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
