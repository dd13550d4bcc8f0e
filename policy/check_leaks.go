package policy

import (
	"fmt"
	"strings"
)

// otc_leak: the route carries no OTC (RFC 9234 §5): every member is an
// RS-Client, and a route from an RS-Client with OTC is a leak.
func checkOTCLeak(r *route) Reason {
	if !r.a.HasOTC {
		r.explain("the route carries no OTC")
		return ReasonNone
	}
	if r.tr != nil {
		r.explain(fmt.Sprintf("the route carries OTC %d; %s is an RS-Client and a route from an RS-Client must not carry OTC (RFC 9234 §5)", r.a.OTC, r.m.name))
	}
	return ReasonOTCLeak
}

// member_leak: no other federation member's AS is behind the first hop,
// unless the member is transit for it.
func checkMemberLeak(r *route) Reason {
	e, m, a := r.e, r.m, r.a
	leak := false
	for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
		if j := e.byASN.lookup(asn); j >= 0 && j != r.mi && !m.transitFr.Has(j) {
			leak = true
			break
		}
	}
	if !leak {
		if r.tr != nil {
			var transit []string
			for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
				if j := e.byASN.lookup(asn); j >= 0 && j != r.mi {
					transit = appendUniq(transit, e.members[j].name)
				}
			}
			s := "no other federation member's AS behind the first hop"
			if len(transit) > 0 {
				s = fmt.Sprintf("behind the first hop: %s, which %s is transit for (transit_for)", strings.Join(transit, ", "), m.name)
			}
			r.explain(s)
		}
		return ReasonNone
	}
	if r.tr != nil {
		var names []string
		for _, asn := range a.ASPath[1:] {
			if j := e.byASN.lookup(asn); j >= 0 && j != r.mi && !m.transitFr.Has(j) {
				names = appendUniq(names, fmt.Sprintf("%s (AS%d)", e.members[j].name, asn))
			}
		}
		r.explain(fmt.Sprintf("AS_PATH %s carries the federation member %s behind the first hop and %s is not transit for it", pathText(a), strings.Join(names, ", "), m.name))
	}
	return ReasonMemberLeak
}
