package policy

import (
	"fmt"
	"net/netip"
)

// rpki: route origin validation (RFC 6811) is not Invalid. An accepted
// BLACKHOLE route is Valid when a VRP covering it authorises its origin,
// whatever the maxLength. It records the ROV state; without an RPKI
// source the route is not checked.
func checkROV(r *route) Reason {
	e := r.e
	if e.rpki == nil {
		r.skip("no RPKI data source: the route is not checked (state not-checked)")
		return ReasonNone
	}
	p, origin := r.p, r.origin
	st := e.rpki.ROV(p, origin, r.originOK)
	relaxed := false
	if st == ROVInvalid && r.blackhole && r.originOK {
		// A blackhole route is more specific than any ROA's maxLength
		// allows; it is Valid when a VRP covering it authorises its
		// origin, whatever the maxLength (ROV(p/L) is Valid exactly when
		// such a VRP of length <= L exists).
		for l := r.bits - 1; l >= 0; l-- {
			if e.rpki.ROV(netip.PrefixFrom(p.Addr(), l).Masked(), origin, true) == ROVValid {
				st, relaxed = ROVValid, true
				break
			}
		}
	}
	r.mods = r.mods.WithROV(st)
	if r.tr != nil {
		s := fmt.Sprintf("ROV state of %s from origin AS%d is %s", p, origin, st)
		if !r.originOK {
			s = fmt.Sprintf("ROV state of %s without an origin AS (AS_SET) is %s", p, st)
		}
		if relaxed {
			s += " (a BLACKHOLE route: maxLength is ignored, a VRP covering it authorises AS" + fmt.Sprint(origin) + ")"
		}
		if x, ok := e.rpki.(RPKIExplainer); ok {
			if d := x.ExplainROV(p, origin, r.originOK); d != "" {
				s += ": " + d
			}
		}
		r.explain(s)
	}
	if st == ROVInvalid {
		return ReasonRPKIInvalid
	}
	return ReasonNone
}
