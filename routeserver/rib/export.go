package rib

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
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

// fillScratch is what one Fill needs; pooled, so that only running
// writers hold UPDATE-building buffers, not every target.
type fillScratch struct {
	builders [maxBuilders]builder
	wbuf     []byte
	held     []uint32 // entries the durable gate holds back
}

const maxBuilders = 8

type builder struct {
	tmpl *wire.Template
	nlri []byte
}

// allows reports whether candidate c may be exported to target s.
func (r *RIB) allows(c *cand, s *Source) bool {
	if c.profile == 0 || r.sources[c.src].Member == s.Member {
		return false
	}
	return r.profiles[c.profile].Allows(s.Member)
}

// bestFor returns the best candidate of e for target s (0: none). The
// global best is the answer whenever s may receive it (the best of a set is
// the best of every subset containing it); otherwise the decision process
// runs over the candidates s may receive: path hiding mitigation.
func (r *RIB) bestFor(e *entry, s *Source) uint32 {
	if e.best == 0 {
		return 0
	}
	if r.allows(&r.cands[e.best], s) {
		return e.best
	}
	if r.cands[e.head].next == 0 {
		return 0 // the only candidate is not for s
	}
	return r.selectBest(e.head, int(s.idx))
}

// selectBest runs the decision process (RFC 4271 §9.1.2.2, as it applies
// to a route server) over the accepted candidates of a list, restricted to
// those target may receive (target -1: all accepted). Steps: highest
// preference (GRACEFUL_SHUTDOWN routes get the lowest, RFC 8326), shortest
// AS_PATH, lowest ORIGIN, lowest MED among routes from the same
// neighbouring AS, lowest BGP Identifier, lowest peer address, lowest path
// identifier.
func (r *RIB) selectBest(head uint32, target int) uint32 {
	var buf [16]uint32
	cs := buf[:0]
	var t *Source
	if target >= 0 {
		t = r.sources[target]
	}
	for ci := head; ci != 0; ci = r.cands[ci].next {
		c := &r.cands[ci]
		if c.profile == 0 && c.filtered != 0 {
			continue
		}
		if c.filtered != 0 {
			continue
		}
		if t != nil && !r.allows(c, t) {
			continue
		}
		cs = append(cs, ci)
	}
	switch len(cs) {
	case 0:
		return 0
	case 1:
		return cs[0]
	}
	// Preference.
	cs = keepBest(cs, func(ci uint32) int64 {
		if r.cands[ci].mods&policy.ModGracefulShutdown != 0 {
			return 0
		}
		return 1
	}, true)
	cs = keepBest(cs, func(ci uint32) int64 { return int64(r.attrOf(ci).PathLen) }, false)
	cs = keepBest(cs, func(ci uint32) int64 { return int64(r.attrOf(ci).Origin) }, false)
	if len(cs) > 1 {
		cs = r.medStep(cs)
	}
	cs = keepBest(cs, func(ci uint32) int64 { return int64(r.sources[r.cands[ci].src].routerID) }, false)
	if len(cs) > 1 {
		best := cs[0]
		for _, ci := range cs[1:] {
			a, b := r.sources[r.cands[ci].src].peerAddr, r.sources[r.cands[best].src].peerAddr
			if c := a.Compare(b); c < 0 || (c == 0 && r.cands[ci].pathID < r.cands[best].pathID) {
				best = ci
			}
		}
		return best
	}
	return cs[0]
}

func (r *RIB) attrOf(ci uint32) *wire.AttrSet { return r.attrs.Get(r.cands[ci].attrs) }

// keepBest keeps the candidates with the highest (max) or lowest key.
func keepBest(cs []uint32, key func(uint32) int64, max bool) []uint32 {
	if len(cs) < 2 {
		return cs
	}
	best := key(cs[0])
	for _, ci := range cs[1:] {
		k := key(ci)
		if (max && k > best) || (!max && k < best) {
			best = k
		}
	}
	out := cs[:0]
	for _, ci := range cs {
		if key(ci) == best {
			out = append(out, ci)
		}
	}
	return out
}

// medStep removes every route for which a route from the same neighbour
// AS has a lower MED (a missing MED counts as 0).
func (r *RIB) medStep(cs []uint32) []uint32 {
	out := cs[:0:0]
	for _, ci := range cs {
		a := r.attrOf(ci)
		nas, _ := a.FirstAS()
		keep := true
		for _, cj := range cs {
			if cj == ci {
				continue
			}
			b := r.attrOf(cj)
			if bas, _ := b.FirstAS(); bas == nas && b.MED < a.MED {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, ci)
		}
	}
	return out
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

func (r *RIB) beginMark() bool { return true }

// endMark wakes the writers of targets that got work.
func (r *RIB) endMark(bool) {
	for _, s := range r.targets {
		if s.out.kickPending {
			s.out.kickPending = false
			if s.kick != nil {
				s.kick()
			}
		}
	}
}

// Fill implements the target's Outbox: it appends UPDATEs for the dirty
// entries of s, up to about limit octets.
func (r *RIB) Fill(s *Source, buf []byte, limit int) []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o := s.out
	if o == nil || !s.up {
		return buf
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	sc := r.scratchPool.Get().(*fillScratch)
	defer r.scratchPool.Put(sc)
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if !s.sendFam[f] {
			continue
		}
		buf = r.fillFamily(s, o, sc, f, buf, limit)
		if len(buf) >= limit {
			break
		}
	}
	return buf
}

func (r *RIB) fillFamily(s *Source, o *outState, sc *fillScratch, f bgp.Family, buf []byte, limit int) []byte {
	if o.ndirty[f] > 0 {
		fl := filler{r: r, s: s, o: o, sc: sc, f: f, t: r.tables[f], buf: buf, wd: sc.wbuf[:0],
			wOver: wire.WithdrawOverhead(f), lastMem: -1}
		// The summary finds the non-zero dirty words without scanning the
		// others (one summary word covers 4096 entries). Whole words are
		// taken, so the limit may be passed by up to 64 entries' worth.
		words, sum := o.dirty[f], o.dsum[f]
		g := r.gate
		var done uint32
		if g != nil {
			if done = uint32(g.c.Committed()); g.allDone(done) {
				g = nil
			}
		}
	scan:
		for si := 0; si < len(sum) && o.ndirty[f] > 0; si++ {
			for sum[si] != 0 {
				wi := si<<6 | bits.TrailingZeros64(sum[si])
				sum[si] &= sum[si] - 1
				for words[wi] != 0 {
					bit := bits.TrailingZeros64(words[wi])
					words[wi] &= words[wi] - 1
					o.ndirty[f]--
					if g != nil && !g.ready(f, uint32(wi<<6|bit), done) {
						if sc.held = append(sc.held, uint32(wi<<6|bit)); len(sc.held) >= maxHeld {
							break scan // the rest waits for the next commit
						}
						continue
					}
					fl.entry(uint32(wi<<6 | bit))
				}
				if len(fl.buf)+fl.pending >= limit {
					break scan
				}
			}
		}
		for i := range sc.builders {
			fl.flushBuilder(&sc.builders[i])
		}
		fl.flushWithdraw()
		sc.wbuf = fl.wd
		buf = fl.buf
		if len(sc.held) > 0 {
			g.hold(s, o, f, sc.held)
			sc.held = sc.held[:0]
		}
	}
	if o.ndirty[f] == 0 && o.eorDue[f] {
		o.eorDue[f] = false
		buf = wire.AppendEndOfRIB(buf, f)
		r.endOfRIBSent(s, f)
	}
	return buf
}

// filler builds the UPDATEs of one Fill for one target and family:
// announcements packed per export template (up to maxBuilders templates
// at a time), withdrawals packed together.
type filler struct {
	r       *RIB
	s       *Source
	o       *outState
	sc      *fillScratch
	f       bgp.Family
	t       famTable
	buf     []byte
	pending int // bytes in builders and wd not yet in buf
	wd      []byte
	wOver   int
	next    int // builder to evict next

	// The last template looked up, for runs of entries sharing it.
	lastAttrs uint32
	lastMem   int
	lastMods  policy.Mods
	lastVar   policy.Variant
	lastTmpl  *wire.Template
}

func (fl *filler) flushWithdraw() {
	if len(fl.wd) > 0 {
		fl.buf = wire.AppendWithdraw(fl.buf, fl.f, fl.wd)
		fl.pending -= len(fl.wd)
		fl.wd = fl.wd[:0]
	}
}

func (fl *filler) flushBuilder(b *builder) {
	if len(b.nlri) > 0 {
		fl.buf = wire.AppendAnnounce(fl.buf, b.tmpl, b.nlri)
		fl.pending -= len(b.nlri)
	}
	b.tmpl, b.nlri = nil, b.nlri[:0]
}

// entry adds what the target must be told about entry idx: its best
// route for the target, or a withdrawal of what it was sent.
func (fl *filler) entry(idx uint32) {
	r, o, f := fl.r, fl.o, fl.f
	p := fl.t.prefix(idx)
	best := r.bestFor(fl.t.entry(idx), fl.s)
	var tmpl *wire.Template
	if best != 0 {
		c := &r.cands[best]
		member := r.sources[c.src].Member
		v := r.profiles[c.profile].VariantFor(fl.s.Member)
		if c.attrs == fl.lastAttrs && member == fl.lastMem && c.mods == fl.lastMods && v == fl.lastVar {
			tmpl = fl.lastTmpl
		} else {
			a := r.attrs.Get(c.attrs)
			key := wire.TemplateKey{Gen: r.gen, Member: int32(member), Mods: uint32(c.mods), Variant: uint8(v), AS4: o.as4}
			mods := c.mods
			tmpl = a.Template(key, func() *wire.Template {
				rw := r.exp.Rewrite(member, &a.Attrs, mods, v)
				return wire.Encode(a, &rw, o.as4)
			})
			fl.lastAttrs, fl.lastMem, fl.lastMods, fl.lastVar, fl.lastTmpl = c.attrs, member, c.mods, v, tmpl
		}
		if wire.AnnounceOverhead(tmpl)+wire.NLRILen(p, false) > o.maxLen {
			tmpl = nil // attributes too large for any message: not sendable
		}
	}
	l := wire.NLRILen(p, false)
	if tmpl == nil {
		if o.adv[f].clear(idx) {
			if fl.wOver+len(fl.wd)+l > o.maxLen {
				fl.flushWithdraw()
			}
			fl.wd = wire.AppendNLRI(fl.wd, p, 0, false)
			fl.pending += l
		}
		return
	}
	o.adv[f].set(idx)
	builders := &fl.sc.builders
	var b *builder
	for i := range builders {
		if builders[i].tmpl == tmpl {
			b = &builders[i]
			break
		}
	}
	if b == nil {
		for i := range builders {
			if builders[i].tmpl == nil {
				b = &builders[i]
				break
			}
		}
		if b == nil {
			b = &builders[fl.next]
			fl.next = (fl.next + 1) % maxBuilders
			fl.flushBuilder(b)
		}
		b.tmpl = tmpl
	}
	if wire.AnnounceOverhead(tmpl)+len(b.nlri)+l > o.maxLen {
		fl.flushBuilder(b)
		b.tmpl = tmpl
	}
	b.nlri = wire.AppendNLRI(b.nlri, p, 0, false)
	fl.pending += l
}

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
	r.endMark(true)
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
			r.endMark(true)
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
		r.endMark(true)
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
	r.endMark(true)
}

func bitsOnes(w uint64) int { return bits.OnesCount64(w) }

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
	r.endMark(true)
}
