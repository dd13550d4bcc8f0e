package policy

import "fmt"

// aspa: ASPA upstream verification of the AS_PATH, with the member's
// configured AS as the neighbour, is not Invalid. It records the ASPA
// state; without an RPKI source the path is not verified.
func checkASPA(r *route) Reason {
	if r.e.rpki == nil {
		return ReasonNone
	}
	st := r.e.rpki.ASPA(r.a.ASPath, r.a.HasASSet, r.m.asn)
	r.mods = r.mods.WithASPA(st)
	if st == ASPAInvalid {
		return ReasonASPAInvalid
	}
	return ReasonNone
}

func explainASPA(r *route, _ Reason) string {
	e, m, a := r.e, r.m, r.a
	if e.rpki == nil {
		return r.skipped("no RPKI data source: the path is not verified (state not-checked)")
	}
	s := fmt.Sprintf("ASPA upstream verification of AS_PATH %s from %s (AS%d) is %s", pathText(a), m.name, m.asn, r.mods.ASPA())
	if x, ok := e.rpki.(RPKIExplainer); ok {
		if d := x.ExplainASPA(a.ASPath, a.HasASSet, m.asn); d != "" {
			s += ": " + d
		}
	}
	return s
}
