package rib

import (
	"encoding/binary"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
)

// SessionUp makes an established source a target: its writer will pull a
// full dump of the RIB from Fill, then End-of-RIB per family. Stale routes
// of the source kept by graceful restart are purged now for the families
// the new session does not preserve.
func (r *RIB) SessionUp(s *Source, n *session.Negotiated, sendFam [bgp.NumFamilies]bool, kick func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.up, s.neg, s.kick, s.upSince = true, n, kick, time.Now()
	s.routerID = binary.BigEndian.Uint32(n.PeerID.AsSlice())
	s.peerAddr = n.RemoteAddr.Addr()
	s.sendFam = sendFam
	o := &outState{maxLen: n.MaxMessageLen(), as4: n.FourOctetAS}
	s.out = o
	r.targets = append(r.targets, s)
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if s.stale[f] > 0 && !(n.GracefulRestart && n.GRFamilies[f]) {
			r.purgeStale(s, f, "stale purge: family not preserved after restart")
		}
		if !sendFam[f] {
			continue
		}
		o.eorDue[f] = true
		t := r.tables[f]
		for idx := uint32(1); int(idx) < t.limit(); idx++ {
			if e := t.entry(idx); e.best != 0 && r.bestFor(e, s) != 0 {
				r.markDirty(s, f, idx)
			}
		}
	}
	o.kickPending = false
	if kick != nil {
		kick()
	}
}

// SessionDown ends a target's export and removes the source's routes, or,
// when graceful restart applies, keeps them as stale for restartTime.
func (r *RIB) SessionDown(s *Source, gracefulRestart bool, restartTime time.Duration, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := s.neg
	s.up, s.out, s.kick, s.neg = false, nil, nil, nil
	for i, t := range r.targets {
		if t == s {
			r.targets = append(r.targets[:i], r.targets[i+1:]...)
			break
		}
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		keep := gracefulRestart && n != nil && restartTime > 0
		if keep {
			r.markStale(s, f)
		} else {
			r.removeAll(s, f, cause)
		}
	}
	r.endMark()
	r.sweep(true)
	if gracefulRestart && restartTime > 0 {
		s.grGen++
		gen := s.grGen
		if s.grTimer != nil {
			s.grTimer.Stop()
		}
		s.grTimer = time.AfterFunc(restartTime, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if s.grGen != gen || s.up {
				return
			}
			for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
				r.purgeStale(s, f, "stale purge: restart time expired")
			}
			r.endMark()
		})
	}
}

// EndOfRIB records a source's End-of-RIB: its remaining stale routes of f
// are purged (RFC 4724 §4.2).
func (r *RIB) EndOfRIB(s *Source, f bgp.Family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.stale[f] > 0 {
		r.purgeStale(s, f, "stale purge: End-of-RIB")
		r.endMark()
	}
}

func (r *RIB) forEachEntryOf(s *Source, f bgp.Family, fn func(idx uint32)) {
	t := r.tables[f]
	for idx := uint32(1); int(idx) < t.limit(); idx++ {
		for ci := t.entry(idx).head; ci != 0; ci = r.cands[ci].next {
			if r.cands[ci].src == s.idx {
				fn(idx)
				break
			}
		}
	}
}

func (r *RIB) removeAll(s *Source, f bgp.Family, cause string) {
	if s.received[f] == 0 {
		return
	}
	match := func(c *cand) bool { return c.src == s.idx }
	if so, ok := r.obs.(SourceObserver); ok {
		so.SourceRoutesEnd(s, f, cause)
		r.bulk = true
		defer func() { r.bulk = false }()
	}
	r.forEachEntryOf(s, f, func(idx uint32) { r.removeCand(s, f, idx, match, cause) })
}

func (r *RIB) markStale(s *Source, f bgp.Family) {
	if s.received[f] == 0 {
		return
	}
	r.forEachEntryOf(s, f, func(idx uint32) {
		for ci := r.tables[f].entry(idx).head; ci != 0; ci = r.cands[ci].next {
			if c := &r.cands[ci]; c.src == s.idx && c.flags&flagStale == 0 {
				c.flags |= flagStale
				s.stale[f]++
			}
		}
	})
}

func (r *RIB) purgeStale(s *Source, f bgp.Family, cause string) {
	if s.stale[f] == 0 {
		return
	}
	match := func(c *cand) bool { return c.src == s.idx && c.flags&flagStale != 0 }
	r.forEachEntryOf(s, f, func(idx uint32) { r.removeCand(s, f, idx, match, cause) })
}
