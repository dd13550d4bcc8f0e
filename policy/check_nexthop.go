package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// next_hop: the NEXT_HOP (IPv6: the global next hop) is one of the
// member's neighbours or next_hops. The IPv6 link-local next hop (RFC
// 2545) must be link-local; when the member's configuration lists
// link-local addresses, it must be one of them. Otherwise it cannot be
// tied to the member by configuration and is not compared.
func checkNextHop(r *route) Reason {
	m, a := r.m, r.a
	nh := a.NextHop
	if nh.Is4In6() {
		nh = nh.Unmap()
	}
	if nh.Zone() != "" {
		nh = nh.WithZone("")
	}
	ok := false
	for _, x := range m.nextHops {
		if x == nh {
			ok = true
			break
		}
	}
	llBad := false
	if ll := a.NextHopLL; ll.IsValid() {
		if ll.Zone() != "" {
			ll = ll.WithZone("")
		}
		llBad = !ll.IsLinkLocalUnicast()
		if !llBad && len(m.llHops) > 0 {
			llBad = true
			for _, x := range m.llHops {
				if x == ll {
					llBad = false
					break
				}
			}
		}
	}
	if ok && !llBad {
		if r.tr != nil {
			s := fmt.Sprintf("NEXT_HOP %s is one of %s's addresses", a.NextHop, m.name)
			switch {
			case a.NextHopLL.IsValid() && len(m.llHops) > 0:
				s += fmt.Sprintf("; the link-local next hop %s is one of its link-local addresses", a.NextHopLL)
			case a.NextHopLL.IsValid():
				s += fmt.Sprintf("; the link-local next hop %s is link-local (%s has no link-local address configured to compare it with)", a.NextHopLL, m.name)
			}
			r.explain(s)
		}
		return ReasonNone
	}
	if r.tr != nil {
		var s string
		switch {
		case !a.NextHop.IsValid():
			s = "the route has no global NEXT_HOP"
		case !ok:
			s = fmt.Sprintf("NEXT_HOP %s is not one of %s's addresses %s", a.NextHop, m.name, addrsText(m.nextHops))
		case !a.NextHopLL.IsLinkLocalUnicast():
			s = fmt.Sprintf("the IPv6 link-local next hop %s is not a link-local address (fe80::/10)", a.NextHopLL)
		default:
			s = fmt.Sprintf("the IPv6 link-local next hop %s is not one of %s's link-local addresses %s", a.NextHopLL, m.name, addrsText(m.llHops))
		}
		r.explain(s)
	}
	return ReasonNextHop
}

func addrsText(as []netip.Addr) string {
	if len(as) == 0 {
		return "(none configured)"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}
