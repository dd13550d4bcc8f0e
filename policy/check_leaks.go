package policy

import (
	"fmt"
	"strings"
)

// otc_leak: the route carries no OTC (RFC 9234 §5): every member is an
// RS-Client, and a route from an RS-Client with OTC is a leak.
func checkOTCLeak(r *route) Reason {
	if r.a.HasOTC {
		return ReasonOTCLeak
	}
	return ReasonNone
}

func explainOTCLeak(r *route, res Reason) string {
	if res == ReasonNone {
		return "the route carries no OTC"
	}
	return fmt.Sprintf("the route carries OTC %d; %s is an RS-Client and a route from an RS-Client must not carry OTC (RFC 9234 §5)", r.a.OTC, r.m.name)
}

// member_leak: no other federation member's AS is behind the first hop,
// unless the member is transit for it.
func checkMemberLeak(r *route) Reason {
	a := r.a
	for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
		if j := r.e.byASN.lookup(asn); j >= 0 && j != r.mi && !r.m.transitFr.Has(j) {
			return ReasonMemberLeak
		}
	}
	return ReasonNone
}

func explainMemberLeak(r *route, res Reason) string {
	e, m, a := r.e, r.m, r.a
	if res != ReasonNone {
		var names []string
		for _, asn := range a.ASPath[1:] {
			if j := e.byASN.lookup(asn); j >= 0 && j != r.mi && !m.transitFr.Has(j) {
				names = appendUniq(names, fmt.Sprintf("%s (AS%d)", e.members[j].name, asn))
			}
		}
		return fmt.Sprintf("AS_PATH %s carries the federation member %s behind the first hop and %s is not transit for it", pathText(a), strings.Join(names, ", "), m.name)
	}
	var transit []string
	for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
		if j := e.byASN.lookup(asn); j >= 0 && j != r.mi {
			transit = appendUniq(transit, e.members[j].name)
		}
	}
	if len(transit) > 0 {
		return fmt.Sprintf("behind the first hop: %s, which %s is transit for (transit_for)", strings.Join(transit, ", "), m.name)
	}
	return "no other federation member's AS behind the first hop"
}
