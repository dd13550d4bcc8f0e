package rib

import (
	"net/netip"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Evaluator re-runs import policy for one held route: it returns the new
// verdict and, for accepted routes, the export profile.
type Evaluator func(src *Source, f session.Family, p netip.Prefix, a *wire.AttrSet) (policy.Verdict, *policy.Profile)

// Reevaluate re-runs import policy for the routes whose prefix match
// selects (nil: all) and applies the verdicts that changed, exporting the
// differences; no session is reset. newGen, when true, also starts a new
// export generation (templates are re-encoded: use after a policy change).
// It returns the number of routes whose verdict changed.
func (r *RIB) Reevaluate(match func(session.Family, netip.Prefix) bool, eval Evaluator, newGen bool, cause string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if newGen {
		r.gen++
		r.profiles = r.profiles[:1]
		clear(r.profPtr)
		clear(r.profKey)
	}
	changed := 0
	for f := session.Family(0); f < session.NumFamilies; f++ {
		t := r.tables[f]
		for idx := uint32(1); int(idx) < t.limit(); idx++ {
			e := t.entry(idx)
			if e.head == 0 {
				continue
			}
			p := t.prefix(idx)
			if match != nil && !match(f, p) {
				continue
			}
			touched := false
			for ci := e.head; ci != 0; ci = r.cands[ci].next {
				c := &r.cands[ci]
				src := r.sources[c.src]
				a := r.attrs.Get(c.attrs)
				v, prof := eval(src, f, p, a)
				if policy.ReasonSet(c.filtered).Has(policy.ReasonMaxPrefix) {
					// Counting is the RIB's business, not the policy's:
					// a route over the limit stays so.
					v.Filtered = v.Filtered.Add(policy.ReasonMaxPrefix)
					prof = nil
				}
				var pid uint32
				if v.Accepted() && prof != nil {
					pid = r.internProfile(prof)
				}
				if !newGen && uint32(v.Filtered) == c.filtered && uint32(v.Tagged) == c.tagged && v.Mods == c.mods && pid == c.profile {
					continue
				}
				if !touched {
					r.snapshotBest(f, e)
					touched = true
				}
				wasAcc, isAcc := c.filtered == 0, v.Accepted()
				if wasAcc != isAcc || uint32(v.Filtered) != c.filtered || uint32(v.Tagged) != c.tagged || v.Mods != c.mods {
					changed++
					if r.obs != nil {
						r.obs.RouteEvent(&RouteEvent{Source: src, Family: f, Prefix: p, PathID: c.pathID, Attrs: a, Verdict: v, Cause: cause})
					}
				}
				switch {
				case wasAcc && !isAcc:
					src.accepted[f]--
					r.memberAcc[src.Member][f]--
				case !wasAcc && isAcc:
					src.accepted[f]++
					r.memberAcc[src.Member][f]++
				}
				c.filtered, c.tagged, c.mods, c.profile = uint32(v.Filtered), uint32(v.Tagged), v.Mods, pid
			}
			if touched {
				e.best = r.selectBest(e.head, -1)
				if r.obs != nil {
					r.emitExposure(f, idx)
				}
				// Every candidate may have changed: compare per target
				// against the snapshot, and resend where the best is a
				// re-evaluated route (its rewrite may differ).
				for _, s := range r.targets {
					if !s.sendFam[f] {
						continue
					}
					nb := r.bestFor(e, s)
					if nb != r.scratch[s.idx] || (newGen && nb != 0) {
						r.markDirty(s, f, idx)
					}
				}
			} else if newGen {
				for _, s := range r.targets {
					if s.sendFam[f] && r.bestFor(e, s) != 0 {
						r.markDirty(s, f, idx)
					}
				}
			}
		}
	}
	r.endMark(true)
	return changed
}
