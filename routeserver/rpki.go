package routeserver

import (
	"context"
	"net/netip"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
	"github.com/fedrs/fedrs/rpki"
)

// rpkiFor is what the policy engine of cfg validates with: m's published
// data when cfg asks for RPKI data, else nothing (states not-checked).
func rpkiFor(m *rpki.Manager, cfg *conf.Config) policy.RPKI {
	if m == nil || !rpki.Configured(cfg) {
		return nil
	}
	return rpkiAdapter{m}
}

// snapshotter is where an rpkiAdapter reads its data: the Manager (its
// current snapshot, lock-free) or one fixed snapshot (a dry run's
// prediction).
type snapshotter interface{ Snapshot() *rpki.Snapshot }

type fixedSnapshot struct{ s *rpki.Snapshot }

func (f fixedSnapshot) Snapshot() *rpki.Snapshot { return f.s }

// rpkiAdapter adapts RPKI data to the policy engine: no allocation.
type rpkiAdapter struct{ m snapshotter }

func (a rpkiAdapter) ROV(p netip.Prefix, origin uint32, ok bool) policy.ROVState {
	switch a.m.Snapshot().Validate(p, origin, ok) {
	case rpki.Valid:
		return policy.ROVValid
	case rpki.Invalid:
		return policy.ROVInvalid
	}
	return policy.ROVNotFound
}

// ASPA runs the upstream procedure for a route received from the member
// whose configured AS is neighbor: the route server is not an RS-Client,
// so the most recently added AS must be the member's (step 2).
func (a rpkiAdapter) ASPA(path []uint32, hasSet bool, neighbor uint32) policy.ASPAState {
	switch a.m.Snapshot().VerifyUpstream(path, hasSet, neighbor) {
	case rpki.PathValid:
		return policy.ASPAValid
	case rpki.PathInvalid:
		return policy.ASPAInvalid
	}
	return policy.ASPAUnknown
}

// ExplainROV and ExplainASPA give explain traces the VRPs and the hop
// behind a state (policy.RPKIExplainer).
func (a rpkiAdapter) ExplainROV(p netip.Prefix, origin uint32, ok bool) string {
	var t *rpki.VRPs
	if s := a.m.Snapshot(); s != nil {
		t = s.VRPs
	}
	return t.Explain(p, origin, ok).Reason
}

func (a rpkiAdapter) ExplainASPA(path []uint32, hasSet bool, neighbor uint32) string {
	var t *rpki.ASPAs
	if s := a.m.Snapshot(); s != nil {
		t = s.ASPAs
	}
	return t.Explain(rpki.Path{ASNs: path, HasSet: hasSet, Neighbor: neighbor}, rpki.Upstream).Reason
}

// evaluator re-runs the current import policy for a held route.
func (s *Server) evaluator() rib.Evaluator {
	s.mu.RLock()
	eng, gen := s.engine, s.gen
	s.mu.RUnlock()
	return func(src *rib.Source, f bgp.Family, p netip.Prefix, a *wire.AttrSet) (policy.Verdict, *policy.Profile) {
		v := eng.Import(src.Member, p, &a.Attrs)
		if !v.Accepted() {
			return v, nil
		}
		mods := v.Mods & profileMods
		return v, exportProfile(eng, gen, src.Member, a, mods)
	}
}

// followRPKI re-validates the affected routes whenever m publishes a
// change, until ctx ends. Changes arriving while a pass runs are merged
// into the next one. A pass holds policyMu exclusively: UPDATE processing
// holds it (read) from judging a route to putting it in the RIB, so a
// route judged with the data in force before the change is in the RIB
// when the pass runs and gets re-validated (with a read lock the pass
// could run in between and the route keep its stale verdict); and a pass
// never interleaves with a reload's swap of policy and re-evaluation. It
// costs UPDATE processing little: Reevaluate holds the RIB's write lock
// for the pass anyway.
func (s *Server) followRPKI(ctx context.Context, m *rpki.Manager) {
	pending := make(chan rpki.Change, 64)
	unsub := m.Subscribe(func(c rpki.Change) {
		select {
		case pending <- c:
		default:
			// Saturated: a full pass covers everything queued.
			select {
			case pending <- rpki.Change{ASPAChanged: true}:
			default:
			}
		}
	})
	go func() {
		defer unsub()
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-pending:
				batch := []rpki.Change{c}
				for more := true; more; {
					select {
					case c2 := <-pending:
						batch = append(batch, c2)
					default:
						more = false
					}
				}
				all := false
				for i := range batch {
					all = all || batch[i].ASPAChanged
				}
				match := func(f bgp.Family, p netip.Prefix) bool {
					if all {
						return true
					}
					for i := range batch {
						if batch[i].Affects(p) {
							return true
						}
					}
					return false
				}
				s.policyMu.Lock()
				n := s.rib.Reevaluate(match, s.evaluator(), false, "rpki")
				s.policyMu.Unlock()
				s.log.Info("RPKI data changed: routes re-validated", "verdicts_changed", n, "changes", len(batch), "aspa_changed", all)
			}
		}
	}()
}
