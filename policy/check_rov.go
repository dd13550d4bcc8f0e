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
	rp, p, origin := r.e.rpki, r.p, r.origin
	if rp == nil {
		return ReasonNone
	}
	st := rp.ROV(p, origin, r.originOK)
	if st == ROVInvalid && r.blackhole && r.originOK {
		// A blackhole route is more specific than any ROA's maxLength
		// allows; it is Valid when a VRP covering it authorises its
		// origin, whatever the maxLength (ROV(p/L) is Valid exactly when
		// such a VRP of length <= L exists).
		for l := r.bits - 1; l >= 0; l-- {
			if rp.ROV(netip.PrefixFrom(p.Addr(), l).Masked(), origin, true) == ROVValid {
				st, r.rovRelaxed = ROVValid, true
				break
			}
		}
	}
	r.mods = r.mods.WithROV(st)
	if st == ROVInvalid {
		return ReasonRPKIInvalid
	}
	return ReasonNone
}

func explainROV(r *route, _ Reason) string {
	if r.e.rpki == nil {
		return r.skipped("no RPKI data source: the route is not checked (state not-checked)")
	}
	p, origin := r.p, r.origin
	st, relaxed := r.mods.ROV(), r.rovRelaxed
	s := fmt.Sprintf("ROV state of %s from origin AS%d is %s", p, origin, st)
	if !r.originOK {
		s = fmt.Sprintf("ROV state of %s without an origin AS (AS_SET) is %s", p, st)
	}
	if relaxed {
		s += " (a BLACKHOLE route: maxLength is ignored, a VRP covering it authorises AS" + fmt.Sprint(origin) + ")"
	}
	if x, ok := r.e.rpki.(RPKIExplainer); ok {
		if d := x.ExplainROV(p, origin, r.originOK); d != "" {
			s += ": " + d
		}
	}
	return s
}
