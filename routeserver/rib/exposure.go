package rib

import (
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Exposure says which members a route of a prefix is exported to: for
// each accepted candidate, the members whose best route it is, computed
// over every configured member whether or not its session is up (so that a
// member's session flapping does not rewrite the exposure of every route;
// "could member X reach P at T" is then: X's session was up at T and X is
// in the set of the route that held P at T).
type Exposure struct {
	Source  *Source
	PathID  uint32
	Members policy.Bitset
}

// ExposureObserver is an Observer that also wants exposures: it gets the
// full exposure of a prefix after every change of it (none when no route
// of the prefix is left). The exp slice is only valid during the call (the
// RIB reuses it); the Members bitsets are never modified and may be kept.
type ExposureObserver interface {
	Observer
	PrefixExposure(f bgp.Family, p netip.Prefix, exp []Exposure)
}

// PassObserver is an ExposureObserver that wants the time of a
// re-evaluation pass (a policy reload, an RPKI change): the RIB calls
// PassStarted before the pass reports its changes, and the exposures it
// then reports for prefixes without a route event of their own (a reload
// that changes only to whom a route is exported) changed at that time.
type PassObserver interface {
	PassStarted(at time.Time)
}

// passStarted starts a re-evaluation pass: the changes it reports happen
// now. RIB write lock held; the caller resets r.now.
func (r *RIB) passStarted() {
	if r.obs == nil {
		return
	}
	r.now = time.Now()
	if po, ok := r.obs.(PassObserver); ok {
		po.PassStarted(r.now)
	}
}

// SetMembers tells the RIB how many members exist (for exposure sets).
func (r *RIB) SetMembers(n int) {
	r.mu.Lock()
	r.members = n
	clear(r.allowed)
	r.mu.Unlock()
}

// emitExposure computes and reports the exposure of entry idx.
func (r *RIB) emitExposure(f bgp.Family, idx uint32) {
	eo, ok := r.obs.(ExposureObserver)
	if !ok {
		return
	}
	t := r.tables[f]
	e := t.entry(idx)
	if e.head == 0 {
		// No route left: the versions just closed ended their exposures.
		return
	}
	p := t.prefix(idx)
	out := r.expBuf[:0]
	accepted := 0
	for ci := e.head; ci != 0; ci = r.cands[ci].next {
		if r.cands[ci].filtered == 0 && r.cands[ci].profile != 0 {
			accepted++
		}
	}
	if accepted == 1 {
		// The common case: one route, exported to whom its profile allows.
		c := &r.cands[e.best]
		if e.best != 0 && c.profile != 0 {
			out = append(out, Exposure{Source: r.sources[c.src], PathID: c.pathID, Members: r.allowedSet(c)})
		}
	} else if accepted > 1 {
		sets := map[uint32]policy.Bitset{}
		for m := 0; m < r.members; m++ {
			target := r.memberTarget(m)
			if target == nil {
				continue
			}
			if ci := r.bestFor(e, target); ci != 0 {
				sets[ci] = sets[ci].Set(m)
			}
		}
		for ci := e.head; ci != 0; ci = r.cands[ci].next {
			if s, ok := sets[ci]; ok {
				out = append(out, Exposure{Source: r.sources[r.cands[ci].src], PathID: r.cands[ci].pathID, Members: s})
			}
		}
	}
	eo.PrefixExposure(f, p, out)
	clear(out)
	r.expBuf = out[:0]
}

// allowedSet is every member the candidate's profile allows, except its
// own member. Sets are cached per (profile, member), so the result is
// shared and must not be modified.
func (r *RIB) allowedSet(c *cand) policy.Bitset {
	prof := r.profiles[c.profile]
	if prof.DenyAll {
		return nil
	}
	own := r.sources[c.src].Member
	key := uint64(c.profile)<<32 | uint64(uint32(own))
	if b, ok := r.allowed[key]; ok {
		return b
	}
	var b policy.Bitset
	for m := 0; m < r.members; m++ {
		if m != own && !prof.Deny.Has(m) {
			b = b.Set(m)
		}
	}
	if r.allowed == nil {
		r.allowed = map[uint64]policy.Bitset{}
	}
	r.allowed[key] = b
	return b
}

// memberTarget returns a source of member m to stand for it as a target
// (the export decision depends on the member only).
func (r *RIB) memberTarget(m int) *Source {
	if m < len(r.byMember) {
		return r.byMember[m]
	}
	return nil
}
