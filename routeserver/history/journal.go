package history

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fedrs/fedrs/routeserver/wire"
)

// The journal bounds what a crash loses without making a table load pay
// for the history's indexes. While the route server is busy (see
// holdState), the writer does not insert route versions: every
// journalEvery it resolves the queued route events to database ids
// (interning attributes, verdicts, member sets as usual), packs them into
// a compact blob and commits it as one row of the journal table, together
// with the session, configuration and RPKI events of the batch, which
// go to their tables at once. That costs a small fraction of inserting the
// rows, so convergence is not slowed, and what is journaled survives a
// crash. Once the route server is idle, the writer applies the journal to
// the tables, a row per transaction (the row is deleted in the same
// transaction). A start after a crash applies what the dead run
// journaled before it closes the intervals left open at its last_seen.

// Limits of the journal.
const (
	// journalEvery: while the writer holds, the queue is journaled at
	// least this often, so a crash loses at most about this much (plus
	// the time of one transaction).
	journalEvery = 200 * time.Millisecond
	// maxJournalRow bounds the events of one journal row, and so the
	// transaction that applies it (a fraction of a second).
	maxJournalRow = 16 * blockEvents
	// maxApply bounds the events applied directly in one transaction.
	maxApply = 16 * blockEvents
)

// journalBuf is what the writer keeps while journaling a batch: the
// records, and the attribute sets they use that are not interned yet.
// A row is the attribute sets (each as its table key: family, next hops,
// canonical attributes), then the records.
type journalBuf struct {
	data          []byte
	first, prevAt int64
	events        int
	attrs         []*wire.AttrSet
	attrIdx       map[*wire.AttrSet]int32
	keys          []byte
}

func (j *journalBuf) add(r *rec) {
	if j.events == 0 {
		j.first, j.prevAt = r.at, 0 // the first record's time is whole
	}
	j.data = appendRec(j.data, r, j.prevAt)
	j.prevAt = r.at
	j.events++
}

// attr returns a's id when it is interned (known), else its number in
// the row, negated (-1 for the first).
func (j *journalBuf) attr(a *wire.AttrSet, known map[*wire.AttrSet]int32) int32 {
	if id, ok := known[a]; ok {
		return id
	}
	if i, ok := j.attrIdx[a]; ok {
		return -(i + 1)
	}
	if j.attrIdx == nil {
		j.attrIdx = map[*wire.AttrSet]int32{}
	}
	i := int32(len(j.attrs))
	j.attrIdx[a] = i
	j.attrs = append(j.attrs, a)
	k := appendAttrKey(nil, a)
	j.keys = binary.AppendUvarint(j.keys, uint64(len(k)))
	j.keys = append(j.keys, k...)
	return -(i + 1)
}

func (j *journalBuf) reset() {
	j.data, j.events, j.keys = j.data[:0], 0, j.keys[:0]
	j.attrs = nil
	clear(j.attrIdx)
}

// flushJournal inserts the journal row gathered in w.jbuf.
func (w *writer) flushJournal() error {
	j := &w.jbuf
	if j.events == 0 {
		return nil
	}
	blob := binary.AppendUvarint(make([]byte, 0, 10+len(j.keys)+len(j.data)), uint64(len(j.attrs)))
	blob = append(append(blob, j.keys...), j.data...)
	res, err := w.tx.ExecContext(w.ctx, "INSERT INTO journal (run_id, first_at, last_at, events, data) VALUES (?, ?, ?, ?, ?)",
		w.runID, j.first, j.prevAt, j.events, blob)
	if err != nil {
		return fmt.Errorf("journaling route events: %w", err)
	}
	if len(j.attrs) > 0 {
		// Kept for applying the row in this run; after a crash the keys
		// in the row are decoded instead.
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("journaling route events: %w", err)
		}
		if w.jattrs == nil {
			w.jattrs = map[int64][]*wire.AttrSet{}
		}
		w.jattrs[id] = j.attrs
		w.jnew = append(w.jnew, id)
	}
	w.jrows++
	w.jevents += j.events
	if w.joldest == 0 {
		w.joldest = j.first
	}
	j.reset()
	return nil
}

// journalOldest reads when the oldest journaled event happened (0: the
// journal is empty), and the rows and events waiting.
func (w *writer) readJournalState() error {
	var rows, events, first sql.NullInt64
	if err := w.db.QueryRowContext(w.ctx, "SELECT COUNT(*), SUM(events), MIN(first_at) FROM journal").Scan(&rows, &events, &first); err != nil {
		return err
	}
	w.jrows, w.jevents, w.joldest = int(rows.Int64), int(events.Int64), first.Int64
	return nil
}

// replayOne applies the oldest journal row to the tables in one
// transaction, deleting it; it reports whether there was one.
func (w *writer) replayOne() (bool, error) {
	var id, events int64
	var data []byte
	err := w.db.QueryRowContext(w.ctx, "SELECT id, events, data FROM journal ORDER BY id LIMIT 1").Scan(&id, &events, &data)
	if errors.Is(err, sql.ErrNoRows) {
		w.jrows, w.jevents, w.joldest = 0, 0, 0
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := w.begin(); err != nil {
		return false, err
	}
	if err := w.applyRow(id, data); err != nil {
		w.tx.Rollback()
		w.tx = nil
		w.resync()
		return false, err
	}
	err = w.tx.Commit()
	w.tx = nil
	if err != nil {
		w.resync()
		return false, err
	}
	delete(w.jattrs, id)
	w.jrows--
	w.jevents -= int(events)
	var first sql.NullInt64
	if w.db.QueryRowContext(w.ctx, "SELECT MIN(first_at) FROM journal").Scan(&first) == nil {
		w.joldest = first.Int64
	}
	w.r.lastCommit.Store(now())
	w.r.commits.Add(1)
	return true, nil
}

// applyRow applies journal row id (its data) and deletes it, in w.tx.
func (w *writer) applyRow(id int64, data []byte) error {
	ids, data, err := w.rowAttrs(data, w.jattrs[id])
	if err != nil {
		return fmt.Errorf("journal row %d: %w", id, err)
	}
	d := recReader{b: data}
	var r rec
	for d.next(&r) {
		if r.attrs < 0 {
			if i := int(-r.attrs - 1); i < len(ids) {
				r.attrs = ids[i]
			} else {
				d.err = fmt.Errorf("%w: attribute set %d of %d", errJournalCorrupt, i, len(ids))
				break
			}
		}
		if err := w.applyRec(&r); err != nil {
			return fmt.Errorf("applying journal row %d: %w", id, err)
		}
	}
	if d.err != nil {
		return fmt.Errorf("journal row %d: %w", id, d.err)
	}
	if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM journal WHERE id = ?", id); err != nil {
		return fmt.Errorf("journal row %d: %w", id, err)
	}
	return w.flush()
}

// rowAttrs reads the attribute section of a journal row and interns its
// sets: from the sets held in memory (ptrs) or, after a crash, from their
// keys. It returns the ids by number and the rest of the row.
func (w *writer) rowAttrs(data []byte, ptrs []*wire.AttrSet) ([]int32, []byte, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 {
		return nil, nil, errJournalCorrupt
	}
	data = data[k:]
	ids := make([]int32, 0, n)
	var scratch *wire.Table
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l {
			return nil, nil, errJournalCorrupt
		}
		key := data[k : k+int(l)]
		data = data[k+int(l):]
		var a *wire.AttrSet
		if int(i) < len(ptrs) {
			a = ptrs[i]
		} else {
			if scratch == nil {
				scratch = wire.NewTable()
			}
			var err error
			if a, err = decodeAttrKey(key, scratch); err != nil {
				return nil, nil, err
			}
		}
		id, err := w.attrSet(a)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
	}
	return ids, data, nil
}

// resync reads the writer's state from the database again after a
// transaction that applied journal rows was rolled back: the caches may
// name rows that no longer exist, and the open route versions moved with
// the events applied before the failure.
func (w *writer) resync() {
	w.resetCaches()
	w.reloadMembers()
	clear(w.open)
	if err := w.loadOpen(); err != nil {
		w.r.log.Error("history: re-reading the open route versions failed", "db", w.r.path, "err", err)
	}
}

// dropJournalRow gives up on the oldest journal row (it cannot be
// applied): its events are recorded as a gap. It reports whether the row
// is gone; one that cannot even be deleted (the disk is full) stays, to
// be applied later or by the next start.
func (w *writer) dropJournalRow(cause error) bool {
	var id, first, last, events int64
	if err := w.db.QueryRowContext(w.ctx, "SELECT id, first_at, last_at, events FROM journal ORDER BY id LIMIT 1").Scan(&id, &first, &last, &events); err != nil {
		return errors.Is(err, sql.ErrNoRows)
	}
	res, err := w.db.ExecContext(w.ctx, "DELETE FROM journal WHERE id = ?", id)
	if err == nil {
		if n, _ := res.RowsAffected(); n != 1 {
			err = fmt.Errorf("%d rows deleted", n)
		}
	}
	if err != nil {
		w.r.log.Error("history: a journal row could not be applied nor set aside; it stays, to be applied later (or by the next start)",
			"db", w.r.path, "row", id, "events", events, "err", fmt.Errorf("%w; deleting it: %w", cause, err))
		return false
	}
	w.r.log.Error("history: a journal row could not be applied; its events are recorded as a gap", "db", w.r.path, "row", id, "events", events, "err", cause)
	delete(w.jattrs, id)
	w.pending.merge(gap{first: first, last: last, routes: uint64(events)})
	w.r.dropped.Add(uint64(events))
	w.readJournalState()
	return true
}

// drainJournal applies the whole journal; false when a row could be
// neither applied nor set aside (it stays, and what follows it).
func (w *writer) drainJournal() bool {
	for w.jrows > 0 {
		ok, err := w.replayOne()
		if err != nil {
			if !w.dropJournalRow(err) {
				return false
			}
			continue
		}
		if !ok {
			return true
		}
	}
	return true
}
