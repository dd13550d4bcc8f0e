package history

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
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

// Journal record operations.
const (
	recRoute      = 1 // a route version starts or ends (with the prefix's exposure when hasExp)
	recExposure   = 2 // a prefix's exposure changes
	recSourceEnd  = 3 // every route of a source in a family ends (session down)
	recExportsOff = 4 // exposures stop being recorded ([history] exports = false)
)

// rec is one route-table event resolved to database ids: what the
// journal stores, and what applyRec writes.
type rec struct {
	op     uint8
	at     int64
	k      prefixKey
	pathID uint32
	src    int32
	// attrs is the attribute set's id; 0: the route went away; -n in a
	// journal row: the row's n-th attribute set, interned when the row is
	// applied (interning a table load's many sets is what would cost).
	attrs    int32
	verdict  int32
	filtered bool
	hasExp   bool
	cause    int32
	exps     []expRef
}

// expRef is one exposure entry resolved: the route (source, path id) and
// its member set.
type expRef struct {
	pathID   uint32
	src, set int32
}

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

// resolve turns a queued route, exposure or source-end event into r,
// interning what it refers to; ok is false for events that are not for
// the route tables (or exposures while they are not recorded).
func (w *writer) resolve(ev *item, r *rec) (ok bool, err error) {
	*r = rec{at: ev.at, exps: r.exps[:0]}
	switch ev.kind {
	case evRoute:
		r.op, r.k, r.pathID = recRoute, ev.key(), ev.pathID
		if r.src, err = w.source(ev.src); err != nil {
			return false, err
		}
		if ev.attrs != nil {
			if w.journaling {
				r.attrs = w.jbuf.attr(ev.attrs, w.attrPtr)
			} else if r.attrs, err = w.attrSet(ev.attrs); err != nil {
				return false, err
			}
			if r.verdict, err = w.verdict(ev.verdict); err != nil {
				return false, err
			}
			r.filtered = !ev.verdict.Accepted()
		}
		if r.cause, err = w.cause(ev.cause); err != nil {
			return false, err
		}
		if ev.hasExp && w.exports {
			r.hasExp = true
			err = w.resolveExps(ev, r)
		}
		return true, err
	case evExposure:
		if !w.exports {
			return false, nil
		}
		r.op, r.k, r.hasExp = recExposure, ev.key(), true
		return true, w.resolveExps(ev, r)
	case evSourceEnd:
		r.op, r.k = recSourceEnd, prefixKey{fam: uint8(ev.fam)}
		if r.src, err = w.source(ev.src); err != nil {
			return false, err
		}
		r.cause, err = w.cause(ev.cause)
		return true, err
	}
	return false, nil
}

func (w *writer) resolveExps(ev *item, r *rec) error {
	var one [1]rib.Exposure
	for _, e := range ev.exposures(w.taken, &one) {
		src, err := w.source(e.Source)
		if err != nil {
			return err
		}
		set, err := w.memberSet(e.Members)
		if err != nil {
			return err
		}
		r.exps = append(r.exps, expRef{pathID: e.PathID, src: src, set: set})
	}
	return nil
}

// applyRec writes a resolved event to the route tables.
func (w *writer) applyRec(r *rec) error {
	switch r.op {
	case recRoute:
		if err := w.applyRoute(r); err != nil {
			return err
		}
		if r.hasExp {
			return w.applyExposure(r)
		}
		return nil
	case recExposure:
		return w.applyExposure(r)
	case recSourceEnd:
		return w.applySourceEnd(r)
	case recExportsOff:
		return w.closeAllExposures(r.at)
	}
	return fmt.Errorf("journal: unknown operation %d", r.op)
}

func (w *writer) applyRoute(r *rec) error {
	list := w.open[r.k]
	idx := -1
	for i := range list {
		if list[i].src == r.src && list[i].pathID == r.pathID {
			idx = i
			break
		}
	}
	if r.attrs != 0 && idx >= 0 && list[idx].attrs == r.attrs && list[idx].verdict == r.verdict {
		return nil // the same version again (a repeated UPDATE)
	}
	if idx >= 0 {
		// Its open exposure, if any, ends with it: an exposure left open
		// lasts until its route version's end (see the schema), which
		// saves a write per route change.
		w.closeRoute(list[idx].row, r.at, r.cause)
		list = slices.Delete(list, idx, idx+1)
	}
	if r.attrs != 0 {
		row := w.nextRoute
		w.nextRoute++
		pfx := r.k.prefix()
		start, end := prefixRange(pfx)
		filtered := 0
		if r.filtered {
			filtered = 1
		}
		w.addRoute(routeRow{id: row, family: familyNumber(bgp.Family(r.k.fam)), start: start, end: end, plen: pfx.Bits(), pathID: r.pathID,
			src: r.src, attrs: r.attrs, verdict: r.verdict, filtered: filtered, from: r.at, fromCause: r.cause})
		list = append(list, openRoute{src: r.src, attrs: r.attrs, verdict: r.verdict, pathID: r.pathID, row: row})
	}
	if len(list) == 0 {
		delete(w.open, r.k)
	} else {
		w.open[r.k] = list
	}
	return w.maybeFlush()
}

func (w *writer) applyExposure(r *rec) error {
	list := w.open[r.k]
	for i := range list {
		o := &list[i]
		var set int32
		for _, e := range r.exps {
			if e.pathID == o.pathID && e.src == o.src {
				set = e.set
				break
			}
		}
		w.setExposure(o, set, r.at)
	}
	return w.maybeFlush()
}

// applySourceEnd closes every open route version of a source in a family
// (its session went down).
func (w *writer) applySourceEnd(r *rec) error {
	for k, list := range w.open {
		if k.fam != r.k.fam {
			continue
		}
		kept := list[:0]
		for _, o := range list {
			if o.src == r.src {
				w.closeRoute(o.row, r.at, r.cause)
			} else {
				kept = append(kept, o)
			}
		}
		switch {
		case len(kept) == 0:
			delete(w.open, k)
		case len(kept) < len(list):
			clear(list[len(kept):])
			w.open[k] = kept
		}
		if err := w.maybeFlush(); err != nil {
			return err
		}
	}
	return nil
}

// ---- encoding ----

// appendRec appends r to a journal blob; prevAt is the time of the
// record before it (times are stored as differences).
func appendRec(b []byte, r *rec, prevAt int64) []byte {
	b = append(b, r.op)
	b = binary.AppendVarint(b, r.at-prevAt)
	switch r.op {
	case recRoute, recExposure:
		b = append(b, r.k.fam, r.k.bits)
		if r.k.fam == uint8(bgp.IPv4Unicast) {
			b = append(b, r.k.addr[12:]...)
		} else {
			b = append(b, r.k.addr[:]...)
		}
		if r.op == recRoute {
			var flags byte
			if r.filtered {
				flags |= 1
			}
			if r.hasExp {
				flags |= 2
			}
			b = binary.AppendUvarint(b, uint64(r.pathID))
			b = binary.AppendUvarint(b, uint64(r.src))
			b = binary.AppendVarint(b, int64(r.attrs))
			b = binary.AppendUvarint(b, uint64(r.verdict))
			b = binary.AppendUvarint(b, uint64(r.cause))
			b = append(b, flags)
		}
		if r.hasExp {
			b = binary.AppendUvarint(b, uint64(len(r.exps)))
			for _, e := range r.exps {
				b = binary.AppendUvarint(b, uint64(e.pathID))
				b = binary.AppendUvarint(b, uint64(e.src))
				b = binary.AppendUvarint(b, uint64(e.set))
			}
		}
	case recSourceEnd:
		b = append(b, r.k.fam)
		b = binary.AppendUvarint(b, uint64(r.src))
		b = binary.AppendUvarint(b, uint64(r.cause))
	}
	return b
}

var errJournalCorrupt = errors.New("journal row is corrupt")

// recReader decodes a journal blob.
type recReader struct {
	b      []byte
	prevAt int64
	err    error
}

func (d *recReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recReader) bytes(n int) []byte {
	if len(d.b) < n {
		d.err = errJournalCorrupt
		d.b = nil
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

// next decodes the next record into r; false at the end or on an error
// (d.err).
func (d *recReader) next(r *rec) bool {
	if len(d.b) == 0 || d.err != nil {
		return false
	}
	*r = rec{exps: r.exps[:0], op: d.bytes(1)[0]}
	delta, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		return false
	}
	d.b = d.b[n:]
	r.at = d.prevAt + delta
	d.prevAt = r.at
	switch r.op {
	case recRoute, recExposure:
		h := d.bytes(2)
		r.k.fam, r.k.bits = h[0], h[1]
		if r.k.fam == uint8(bgp.IPv4Unicast) {
			r.k.addr = [16]byte{10: 0xff, 11: 0xff}
			copy(r.k.addr[12:], d.bytes(4))
		} else {
			copy(r.k.addr[:], d.bytes(16))
		}
		if r.op == recRoute {
			r.pathID = uint32(d.uvarint())
			r.src = int32(d.uvarint())
			r.attrs = int32(d.varint())
			r.verdict = int32(d.uvarint())
			r.cause = int32(d.uvarint())
			flags := d.bytes(1)[0]
			r.filtered, r.hasExp = flags&1 != 0, flags&2 != 0
		} else {
			r.hasExp = true
		}
		if r.hasExp {
			n := d.uvarint()
			for i := uint64(0); i < n && d.err == nil; i++ {
				r.exps = append(r.exps, expRef{pathID: uint32(d.uvarint()), src: int32(d.uvarint()), set: int32(d.uvarint())})
			}
		}
	case recSourceEnd:
		r.k.fam = d.bytes(1)[0]
		r.src = int32(d.uvarint())
		r.cause = int32(d.uvarint())
	case recExportsOff:
	default:
		d.err = fmt.Errorf("%w: operation %d", errJournalCorrupt, r.op)
	}
	return d.err == nil
}

// ---- writing and applying the journal ----

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

// appendAttrKey appends a's identity as the attribute table keys it:
// family, next hop, link-local next hop (each length-prefixed) and the
// canonical attributes.
func appendAttrKey(b []byte, a *wire.AttrSet) []byte {
	b = append(b, byte(a.Family))
	for _, ad := range []netip.Addr{a.NextHop, a.NextHopLL} {
		s := ad.AsSlice()
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return append(b, a.Raw()...)
}

// decodeAttrKey rebuilds an attribute set from its key (a start after a
// crash applies journal rows whose sets only the dead run held): the
// attributes are decoded again as an UPDATE carrying them would be.
func decodeAttrKey(key []byte, t *wire.Table) (*wire.AttrSet, error) {
	bad := fmt.Errorf("%w: attribute set key", errJournalCorrupt)
	if len(key) < 3 {
		return nil, bad
	}
	f := bgp.Family(key[0])
	var nh [2][]byte
	rest := key[1:]
	for i := range nh {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, bad
		}
		nh[i], rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
	}
	attrs := append([]byte(nil), rest...)
	var nlri []byte
	switch f {
	case bgp.IPv4Unicast:
		if len(nh[0]) != 4 {
			return nil, bad
		}
		attrs = append(attrs, wire.FlagTransitive, 3, 4)
		attrs = append(attrs, nh[0]...)
		nlri = []byte{0} // 0.0.0.0/0: the set needs a route to carry it
	case bgp.IPv6Unicast:
		v := []byte{0, 2, 1, byte(len(nh[0]) + len(nh[1]))}
		v = append(append(append(v, nh[0]...), nh[1]...), 0, 0) // reserved, then ::/0
		attrs = append(attrs, wire.FlagOptional|wire.FlagExtLen, wire.AttrMPReach, byte(len(v)>>8), byte(len(v)))
		attrs = append(attrs, v...)
	default:
		return nil, bad
	}
	body := binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(len(attrs)))
	body = append(append(body, attrs...), nlri...)
	d := wire.Decoder{FourOctetAS: true, Table: t}
	u, err := d.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bad, err)
	}
	if u.Attrs[f] == nil {
		return nil, fmt.Errorf("%w: %v", bad, u.TreatAsWithdraw)
	}
	return u.Attrs[f], nil
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

// loadOpen reads the open route versions (and their open exposures) into
// the writer's state: a start after a crash needs them to apply what the
// dead run journaled.
func (w *writer) loadOpen() error {
	// The version's exposure is its last exposure row while that is
	// open; a closed last row ended it (the set went to nobody, and the
	// first set was not in the route row): no row to close then.
	rows, err := w.db.QueryContext(w.ctx, `SELECT r.id, r.family, r.pstart, r.plen, r.path_id, r.source_id, r.attrs_id, r.verdict_id, r.set_id,
		(SELECT e.valid_from FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1),
		(SELECT e.set_id FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1),
		(SELECT e.valid_to IS NULL FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1)
		FROM routes r WHERE r.valid_to IS NULL ORDER BY r.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o openRoute
		var fam, plen int
		var start []byte
		var set, expFrom, expSet, expOpen sql.NullInt64
		if err := rows.Scan(&o.row, &fam, &start, &plen, &o.pathID, &o.src, &o.attrs, &o.verdict, &set, &expFrom, &expSet, &expOpen); err != nil {
			return err
		}
		f := bgp.IPv4Unicast
		if fam == 6 {
			f = bgp.IPv6Unicast
		}
		var k prefixKey
		k.fam, k.bits = uint8(f), uint8(plen)
		if f == bgp.IPv4Unicast {
			k.addr = [16]byte{10: 0xff, 11: 0xff}
			copy(k.addr[12:], start)
		} else {
			copy(k.addr[:], start)
		}
		o.inRow, o.expSet = set.Valid, int32(set.Int64)
		switch {
		case expFrom.Valid && expOpen.Int64 == 1:
			o.expFrom, o.expSet = expFrom.Int64, int32(expSet.Int64)
		case expFrom.Valid:
			o.expSet = 0 // ended: exported to nobody since
		}
		w.open[k] = append(w.open[k], o)
	}
	return rows.Err()
}
