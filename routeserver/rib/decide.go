package rib

import (
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// allows reports whether candidate c may be exported to target s.
func (r *RIB) allows(c *cand, s *Source) bool {
	if c.profile == 0 || r.sources[c.src].Member == s.Member {
		return false
	}
	return r.profiles[c.profile].Allows(s.Member)
}

// bestFor returns the best candidate of e for target s (0: none). The
// global best is the answer whenever s may receive it; otherwise the
// decision process runs over the candidates s may receive: path hiding
// mitigation. Because MED is compared only among routes from the same
// neighbouring AS, the steps are not a total order, and a decision over
// only the candidates s may receive could, in rare MED cases, prefer
// another one than the global best; the global best is kept then (it is
// what s would get without path hiding; decide_test.go pins this case).
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
