package rib

import (
	"sync"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Committer is the audit history as the durable gate sees it: each
// observer call hands it events numbered in order; Committed passes an
// event's number once the event is committed ([history] durable).
type Committer interface {
	// Pushed is the number of the last event handed over.
	Pushed() uint64
	// Committed is the number up to which every event is committed.
	Committed() uint64
}

// gate holds exports back until the history has committed the events of
// their routes: Fill skips (and leaves dirty) an entry whose latest
// change was numbered past Committed, and the targets that skipped are
// kicked again after the next commit (HistoryCommitted). It costs 4 bytes
// per prefix, only while it is on; without it, the RIB does one nil
// check per change and per Fill.
type gate struct {
	c Committer
	// stamp, per family and entry index: the low 32 bits of Pushed after
	// the entry's latest change (written under the RIB's write lock, read
	// under its read lock).
	stamp [bgp.NumFamilies][]uint32

	last uint32 // the latest stamp written

	mu      sync.Mutex
	waiting map[*Source]waiter // targets that skipped entries
}

// maxHeld bounds the entries one Fill skips: a table load keeps most
// entries waiting for a moment, and Fill must not scan them all at each
// commit.
const maxHeld = 1024

type waiter struct {
	kick func()
	need uint32 // the largest stamp skipped
}

// SetDurable turns the durable gate on with c (nil: off). Turning it off
// releases every held export.
func (r *RIB) SetDurable(c Committer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case c == nil && r.gate != nil:
		r.gate = nil
		r.gateNow.Store(nil)
		for _, s := range r.targets {
			if s.kick != nil {
				s.kick()
			}
		}
	case c != nil && (r.gate == nil || r.gate.c != c):
		r.gate = &gate{c: c, waiting: map[*Source]waiter{}}
		r.gateNow.Store(r.gate)
	}
}

// HistoryCommitted wakes the targets whose held exports the history has
// now committed. The history calls it after each commit; it does not
// take the RIB's lock.
func (r *RIB) HistoryCommitted() {
	g := r.gateNow.Load()
	if g == nil {
		return
	}
	done := uint32(g.c.Committed())
	var kicks []func()
	g.mu.Lock()
	for s, w := range g.waiting {
		if int32(w.need-done) <= 0 {
			kicks = append(kicks, w.kick)
			delete(g.waiting, s)
		}
	}
	g.mu.Unlock()
	for _, k := range kicks {
		if k != nil {
			k()
		}
	}
}

// observed reports the exposure of entry idx after a change (the last
// observer call of a change) and, with the durable gate on, stamps the
// entry with the events handed over so far. RIB write lock held.
func (r *RIB) observed(f bgp.Family, idx uint32) {
	r.emitExposure(f, idx)
	if r.gate != nil {
		r.gate.mark(f, idx)
	}
}

// mark stamps entry idx of f with the events handed over so far (its
// change's included). RIB write lock held.
func (g *gate) mark(f bgp.Family, idx uint32) {
	s := g.stamp[f]
	if int(idx) >= len(s) {
		n := max(int(idx)+1, 2*len(s), 1024)
		grown := make([]uint32, n)
		copy(grown, s)
		g.stamp[f], s = grown, grown
	}
	g.last = uint32(g.c.Pushed())
	s[idx] = g.last
}

// allDone reports whether every stamp is committed (done: the low 32
// bits of Committed); Fill then checks no entry.
func (g *gate) allDone(done uint32) bool { return int32(g.last-done) <= 0 }

// ready reports whether entry idx's latest change is committed (done is
// the low 32 bits of Committed; Fill calls it only when !allDone(done)).
// A waiting stamp lies in (done, last], the events handed over and not
// committed yet, a short window: that is the test. Comparing the stamp
// with done alone (serial arithmetic) would hold for good every entry
// left unchanged for 2^31 events, which a route server up for months
// reaches: its stamp would look newer than done.
func (g *gate) ready(f bgp.Family, idx, done uint32) bool {
	s := g.stamp[f]
	if int(idx) >= len(s) {
		return true
	}
	d := s[idx] - done
	return d == 0 || d > g.last-done
}

// hold puts the entries Fill skipped for target s back as dirty and has
// s kicked once they are committed. RIB read lock and o.mu held.
func (g *gate) hold(s *Source, o *outState, f bgp.Family, held []uint32) {
	var need uint32
	for i, idx := range held {
		if o.dirty[f].set(idx) {
			o.ndirty[f]++
			o.dsum[f].set(idx >> 6)
		}
		if st := g.stamp[f][idx]; i == 0 || int32(st-need) > 0 {
			need = st
		}
	}
	g.mu.Lock()
	if w, ok := g.waiting[s]; !ok || int32(need-w.need) > 0 {
		g.waiting[s] = waiter{kick: s.kick, need: need}
	}
	g.mu.Unlock()
	// A commit may have come between Fill's check and the registration.
	if int32(need-uint32(g.c.Committed())) <= 0 && s.kick != nil {
		s.kick()
	}
}
