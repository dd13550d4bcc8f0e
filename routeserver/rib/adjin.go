package rib

import (
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Change is one route received from a source.
type Change struct {
	Family bgp.Family
	Prefix netip.Prefix
	PathID uint32
	// Attrs is nil for a withdrawal. The RIB takes over the caller's
	// reference.
	Attrs   *wire.AttrSet
	Verdict policy.Verdict
	// Profile is the export profile (nil when the route is filtered).
	Profile *policy.Profile
}

// Result tells the caller what Apply could not do itself.
type Result struct {
	// Exceeded is set when a member passed its maximum with action
	// "teardown": the caller closes the session (Cease 1).
	Exceeded       bool
	ExceededFamily bgp.Family
	ExceededLimit  int
	// Warned is set the first time a member passes a "warn" maximum.
	Warned bool
}

// Apply applies a batch of changes from src (one UPDATE) atomically.
func (r *RIB) Apply(src *Source, changes []Change) Result {
	var res Result
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.obs != nil {
		r.now = time.Now()
		defer func() { r.now = time.Time{} }()
	}
	for i := range changes {
		c := &changes[i]
		if c.Attrs == nil {
			r.withdraw(src, c.Family, c.Prefix, c.PathID, "withdraw")
			continue
		}
		v := c.Verdict
		if v.Accepted() && !r.replacesAccepted(src, c) {
			if lim := r.limitOf(src.Member); lim != nil && lim.Max[c.Family] > 0 &&
				r.memberAcc[src.Member][c.Family] >= lim.Max[c.Family] {
				switch lim.Action {
				case "warn":
					res.Warned = true
				case "filter":
					v.Filtered = v.Filtered | uint64Reason(policy.ReasonMaxPrefix)
				default:
					res.Exceeded, res.ExceededFamily, res.ExceededLimit = true, c.Family, lim.Max[c.Family]
					c.Attrs.Release()
					for _, rest := range changes[i+1:] {
						if rest.Attrs != nil {
							rest.Attrs.Release()
						}
					}
					r.endMark()
					return res
				}
			}
		}
		prof := uint32(0)
		if v.Accepted() && c.Profile != nil {
			prof = r.internProfile(c.Profile)
		}
		r.announce(src, c.Family, c.Prefix, c.PathID, c.Attrs, v, prof, "update")
	}
	r.endMark()
	r.sweep(false)
	return res
}

func uint64Reason(r policy.Reason) policy.ReasonSet { return policy.ReasonSet(0).Add(r) }

func (r *RIB) limitOf(member int) *Limit {
	if member >= 0 && member < len(r.limits) {
		return &r.limits[member]
	}
	return nil
}

// replacesAccepted reports whether the change replaces an accepted route
// of the same source (which does not grow the count).
func (r *RIB) replacesAccepted(src *Source, c *Change) bool {
	t := r.tables[c.Family]
	idx, ok := t.find(c.Prefix)
	if !ok {
		return false
	}
	for ci := t.entry(idx).head; ci != 0; ci = r.cands[ci].next {
		cc := &r.cands[ci]
		if cc.src == src.idx && cc.pathID == c.PathID {
			return cc.filtered == 0
		}
	}
	return false
}

// announce adds or replaces the route (src, pathID) of prefix p.
func (r *RIB) announce(src *Source, f bgp.Family, p netip.Prefix, pathID uint32, a *wire.AttrSet, v policy.Verdict, prof uint32, cause string) {
	t := r.tables[f]
	idx := t.insert(p)
	e := t.entry(idx)
	r.snapshotBest(f, e)
	var ci uint32
	for i := e.head; i != 0; i = r.cands[i].next {
		if r.cands[i].src == src.idx && r.cands[i].pathID == pathID {
			ci = i
			break
		}
	}
	accepted := v.Accepted()
	if ci != 0 {
		c := &r.cands[ci]
		old := r.attrs.Get(c.attrs)
		if c.filtered == 0 {
			src.accepted[f]--
			r.memberAcc[src.Member][f]--
		}
		if c.flags&flagStale != 0 {
			src.stale[f]--
		}
		c.attrs, c.profile, c.filtered, c.tagged, c.mods, c.flags = a.ID(), prof, uint32(v.Filtered), uint32(v.Tagged), v.Mods, 0
		if old != nil {
			old.Release()
		}
	} else {
		ci = r.allocCand()
		r.cands[ci] = cand{attrs: a.ID(), profile: prof, pathID: pathID, next: e.head,
			filtered: uint32(v.Filtered), tagged: uint32(v.Tagged), mods: v.Mods, src: src.idx}
		e = t.entry(idx)
		e.head = ci
		src.received[f]++
	}
	if accepted {
		src.accepted[f]++
		r.memberAcc[src.Member][f]++
	}
	e.best = r.selectBest(e.head, -1)
	r.markChanged(f, idx, e, ci)
	if r.obs != nil {
		r.emitRoute(RouteEvent{Source: src, Family: f, Prefix: p, PathID: pathID, Attrs: a, Verdict: v, Cause: cause})
		r.observed(f, idx)
	}
}

// withdraw removes the route (src, pathID) of prefix p, if held.
func (r *RIB) withdraw(src *Source, f bgp.Family, p netip.Prefix, pathID uint32, cause string) {
	t := r.tables[f]
	idx, ok := t.find(p)
	if !ok {
		return
	}
	r.removeCand(src, f, idx, func(c *cand) bool { return c.src == src.idx && c.pathID == pathID }, cause)
}

// removeCand removes the candidates of entry idx matching match.
func (r *RIB) removeCand(src *Source, f bgp.Family, idx uint32, match func(*cand) bool, cause string) {
	t := r.tables[f]
	e := t.entry(idx)
	r.snapshotBest(f, e)
	removed := false
	prev := uint32(0)
	for ci := e.head; ci != 0; {
		c := &r.cands[ci]
		next := c.next
		if !match(c) {
			prev = ci
			ci = next
			continue
		}
		s := r.sources[c.src]
		s.received[f]--
		if c.filtered == 0 {
			s.accepted[f]--
			r.memberAcc[s.Member][f]--
		}
		if c.flags&flagStale != 0 {
			s.stale[f]--
		}
		if r.obs != nil {
			r.emitRoute(RouteEvent{Source: s, Family: f, Prefix: t.prefix(idx), PathID: c.pathID, Cause: cause})
		}
		if a := r.attrs.Get(c.attrs); a != nil {
			a.Release()
		}
		if prev == 0 {
			e.head = next
		} else {
			r.cands[prev].next = next
		}
		*c = cand{}
		r.free = append(r.free, ci)
		removed = true
		ci = next
	}
	if !removed {
		return
	}
	e.best = r.selectBest(e.head, -1)
	r.markChanged(f, idx, e, 0)
	if r.obs != nil {
		r.observed(f, idx)
	}
	if e.head == 0 {
		if r.referenced(f, idx) {
			r.empty[f] = append(r.empty[f], idx)
		} else {
			t.remove(idx)
		}
	}
}

// Maintain does periodic housekeeping; the server calls it every few
// seconds.
func (r *RIB) Maintain() {
	r.mu.Lock()
	r.sweep(true)
	r.mu.Unlock()
}

// sweep removes entries that became empty while a target still had them
// advertised or pending, once their withdrawals went out. force sweeps
// regardless of how many there are.
func (r *RIB) sweep(force bool) {
	for f := range r.empty {
		if len(r.empty[f]) == 0 || (!force && len(r.empty[f]) < 1024) {
			continue
		}
		t := r.tables[f]
		keep := r.empty[f][:0]
		for _, idx := range r.empty[f] {
			e := t.entry(idx)
			switch {
			case e.head != 0:
				// In use again.
			case r.referenced(bgp.Family(f), idx):
				keep = append(keep, idx)
			default:
				t.remove(idx)
			}
		}
		r.empty[f] = keep
	}
}

// referenced reports whether any target still has idx advertised or
// pending; such entries stay (empty) until their withdrawal is sent.
func (r *RIB) referenced(f bgp.Family, idx uint32) bool {
	for _, s := range r.targets {
		if o := s.out; o != nil && (o.adv[f].has(idx) || o.dirty[f].has(idx)) {
			return true
		}
	}
	return false
}
