package rib

import (
	"net/netip"
	"slices"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Evaluator re-runs import policy for one held route: it returns the new
// verdict and, for accepted routes, the export profile.
type Evaluator func(src *Source, f bgp.Family, p netip.Prefix, a *wire.AttrSet) (policy.Verdict, *policy.Profile)

// Reevaluate re-runs import policy for the routes whose prefix match
// selects (nil: all) and applies the verdicts that changed, exporting the
// differences; no session is reset. newGen, when true, starts a new policy
// generation: every route is re-evaluated with a fresh profile table and
// re-announced (templates are re-encoded): use it after a policy change.
// It returns the number of routes whose verdict changed.
func (r *RIB) Reevaluate(match func(bgp.Family, netip.Prefix) bool, eval Evaluator, newGen bool, cause string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.passStarted()
	defer func() { r.now = time.Time{} }()
	if newGen {
		r.gen++
		return r.reevaluateAll(eval, cause)
	}
	changed := 0
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
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
			// Candidates whose UPDATE changes (the template depends on
			// the mods, informational communities included, and on the
			// profile's variant): a target they stay best for gets them
			// again.
			var buf [4]uint32
			resend := buf[:0]
			for ci := e.head; ci != 0; ci = r.cands[ci].next {
				c := &r.cands[ci]
				src := r.sources[c.src]
				a := r.attrs.Get(c.attrs)
				v, prof := r.evalKeepingMaxPrefix(eval, c, src, f, p, a)
				var pid uint32
				if v.Accepted() && prof != nil {
					pid = r.internProfile(prof)
				}
				if uint32(v.Filtered) == c.filtered && uint32(v.Tagged) == c.tagged && v.Mods == c.mods && pid == c.profile {
					continue
				}
				if !touched {
					r.snapshotBest(f, e)
					touched = true
				}
				if v.Mods != c.mods || pid != c.profile {
					resend = append(resend, ci)
				}
				if r.applyVerdict(c, src, f, p, a, v, pid, cause) {
					changed++
				}
			}
			if !touched {
				continue
			}
			e.best = r.selectBest(e.head, -1)
			if r.obs != nil {
				r.observed(f, idx)
			}
			// Resend where a target's best changed, or where it stays
			// but goes out differently (a new RPKI state's informational
			// community): what a member holds is what the RIB would
			// send it now.
			for _, s := range r.targets {
				if !s.sendFam[f] {
					continue
				}
				if b := r.bestFor(e, s); b != r.scratch[s.idx] || (b != 0 && slices.Contains(resend, b)) {
					r.markDirty(s, f, idx)
				}
			}
		}
	}
	r.endMark()
	return changed
}

// evalKeepingMaxPrefix runs eval, keeping a max-prefix filter: counting is
// the RIB's business, not the policy's, so a route over the limit stays so.
func (r *RIB) evalKeepingMaxPrefix(eval Evaluator, c *cand, src *Source, f bgp.Family, p netip.Prefix, a *wire.AttrSet) (policy.Verdict, *policy.Profile) {
	v, prof := eval(src, f, p, a)
	if policy.ReasonSet(c.filtered).Has(policy.ReasonMaxPrefix) {
		v.Filtered = v.Filtered.Add(policy.ReasonMaxPrefix)
		prof = nil
	}
	return v, prof
}

// applyVerdict stores a new verdict in c, keeping the counters right; it
// reports whether the verdict (not only the profile) changed.
func (r *RIB) applyVerdict(c *cand, src *Source, f bgp.Family, p netip.Prefix, a *wire.AttrSet, v policy.Verdict, pid uint32, cause string) bool {
	changed := uint32(v.Filtered) != c.filtered || uint32(v.Tagged) != c.tagged || v.Mods != c.mods
	if changed && r.obs != nil {
		r.emitRoute(RouteEvent{Source: src, Family: f, Prefix: p, PathID: c.pathID, Attrs: a, Verdict: v, Cause: cause})
	}
	wasAcc, isAcc := c.filtered == 0, v.Accepted()
	switch {
	case wasAcc && !isAcc:
		src.accepted[f]--
		r.memberAcc[src.Member][f]--
	case !wasAcc && isAcc:
		src.accepted[f]++
		r.memberAcc[src.Member][f]++
	}
	c.filtered, c.tagged, c.mods, c.profile = uint32(v.Filtered), uint32(v.Tagged), v.Mods, pid
	return changed
}

// reevaluateAll re-runs policy on every route with a fresh profile table
// and marks every prefix for every target. Candidates keep pointing into
// the old table until they are re-evaluated, and nothing reads another
// entry's candidates meanwhile, so the table is swapped up front.
func (r *RIB) reevaluateAll(eval Evaluator, cause string) int {
	r.profiles = []*policy.Profile{nil}
	clear(r.allowed)
	clear(r.profPtr)
	clear(r.profKey)
	changed := 0
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		t := r.tables[f]
		for idx := uint32(1); int(idx) < t.limit(); idx++ {
			e := t.entry(idx)
			if e.head == 0 {
				continue
			}
			p := t.prefix(idx)
			for ci := e.head; ci != 0; ci = r.cands[ci].next {
				c := &r.cands[ci]
				src := r.sources[c.src]
				a := r.attrs.Get(c.attrs)
				v, prof := r.evalKeepingMaxPrefix(eval, c, src, f, p, a)
				var pid uint32
				if v.Accepted() && prof != nil {
					pid = r.internProfile(prof)
				}
				if r.applyVerdict(c, src, f, p, a, v, pid, cause) {
					changed++
				}
			}
			e.best = r.selectBest(e.head, -1)
			if r.obs != nil {
				r.observed(f, idx)
			}
			for _, s := range r.targets {
				if s.sendFam[f] {
					r.markDirty(s, f, idx)
				}
			}
		}
	}
	r.endMark()
	return changed
}
