package rib

import (
	"sync"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// outState is what the RIB keeps per established target: for each family,
// the entries whose export may have changed (dirty) and the entries the
// target currently holds (adv). Two bits per prefix; everything else is
// derived from the RIB when the writer runs.
type outState struct {
	// mu guards the fields Fill changes (it runs under the RIB's read
	// lock, one writer per target) against readers of the counters under
	// the same read lock; changes under the RIB's write lock need no mu.
	mu     sync.Mutex
	dirty  [bgp.NumFamilies]bitset
	dsum   [bgp.NumFamilies]bitset // bit w set: dirty word w may be non-zero
	adv    [bgp.NumFamilies]bitset
	ndirty [bgp.NumFamilies]int
	eorDue [bgp.NumFamilies]bool
	maxLen int
	as4    bool

	kickPending bool
}

// snapshotBest records each target's best for e before a change.
func (r *RIB) snapshotBest(f bgp.Family, e *entry) {
	if len(r.scratch) < len(r.sources) {
		r.scratch = make([]uint32, len(r.sources)+8)
	}
	for _, s := range r.targets {
		if !s.sendFam[f] {
			continue
		}
		r.scratch[s.idx] = r.bestFor(e, s)
	}
}

// markChanged marks entry idx dirty for every target whose export changed:
// a different best, or the changed candidate itself is its best.
func (r *RIB) markChanged(f bgp.Family, idx uint32, e *entry, changed uint32) {
	for _, s := range r.targets {
		if !s.sendFam[f] {
			continue
		}
		nb := r.bestFor(e, s)
		if nb != r.scratch[s.idx] || (changed != 0 && nb == changed) {
			r.markDirty(s, f, idx)
		}
	}
}

func (r *RIB) markDirty(s *Source, f bgp.Family, idx uint32) {
	o := s.out
	if o.dirty[f].set(idx) {
		o.ndirty[f]++
		o.dsum[f].set(idx >> 6)
	}
	o.kickPending = true
}

// endMark wakes the writers of targets that got work.
func (r *RIB) endMark() {
	for _, s := range r.targets {
		if s.out.kickPending {
			s.out.kickPending = false
			if s.kick != nil {
				s.kick()
			}
		}
	}
}

// Refresh marks every entry dirty for target s, so that its Adj-RIB-Out is
// resent (ROUTE-REFRESH from the member).
func (r *RIB) Refresh(s *Source, f bgp.Family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.out == nil || !s.sendFam[f] {
		return
	}
	t := r.tables[f]
	for idx := uint32(1); int(idx) < t.limit(); idx++ {
		if s.out.adv[f].has(idx) || t.entry(idx).best != 0 {
			r.markDirty(s, f, idx) // Fill re-announces what it holds
		}
	}
	r.endMark()
}

// Regenerate starts a new export generation without re-running import
// policy: every template is encoded again (the Exporter's rewrite changed,
// e.g. maintenance adds GRACEFUL_SHUTDOWN) and every route is resent.
func (r *RIB) Regenerate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		t := r.tables[f]
		for idx := uint32(1); int(idx) < t.limit(); idx++ {
			if t.entry(idx).best == 0 {
				continue
			}
			for _, s := range r.targets {
				if s.sendFam[f] {
					r.markDirty(s, f, idx)
				}
			}
		}
	}
	r.endMark()
}
