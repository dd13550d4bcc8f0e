package policy

import "fmt"

// aspa: ASPA upstream verification of the AS_PATH, with the member's
// configured AS as the neighbour, is not Invalid. It records the ASPA
// state; without an RPKI source the path is not verified.
func checkASPA(r *route) Reason {
	e, m, a := r.e, r.m, r.a
	if e.rpki == nil {
		r.skip("no RPKI data source: the path is not verified (state not-checked)")
		return ReasonNone
	}
	st := e.rpki.ASPA(a.ASPath, a.HasASSet, m.asn)
	r.mods = r.mods.WithASPA(st)
	if r.tr != nil {
		s := fmt.Sprintf("ASPA upstream verification of AS_PATH %s from %s (AS%d) is %s", pathText(a), m.name, m.asn, st)
		if x, ok := e.rpki.(RPKIExplainer); ok {
			if d := x.ExplainASPA(a.ASPath, a.HasASSet, m.asn); d != "" {
				s += ": " + d
			}
		}
		r.explain(s)
	}
	if st == ASPAInvalid {
		return ReasonASPAInvalid
	}
	return ReasonNone
}
