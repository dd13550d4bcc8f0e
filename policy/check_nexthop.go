package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// next_hop: the NEXT_HOP (IPv6: the global next hop) is one of the
// member's neighbours or next_hops, and the IPv6 link-local next hop, if
// any, is acceptable (see nextHops).
func checkNextHop(r *route) Reason {
	if ok, llBad := r.nextHops(); !ok || llBad {
		return ReasonNextHop
	}
	return ReasonNone
}

// nextHops reports whether the global next hop is one of the member's
// addresses, and whether the IPv6 link-local next hop is bad. The
// link-local next hop (RFC 2545) must be link-local; when the member's
// configuration lists link-local addresses, it must be one of them.
// Otherwise it cannot be tied to the member by configuration and is not
// compared.
func (r *route) nextHops() (ok, llBad bool) {
	m, a := r.m, r.a
	nh := a.NextHop
	if nh.Is4In6() {
		nh = nh.Unmap()
	}
	if nh.Zone() != "" {
		nh = nh.WithZone("")
	}
	for _, x := range m.nextHops {
		if x == nh {
			ok = true
			break
		}
	}
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
	return ok, llBad
}

func explainNextHop(r *route, res Reason) string {
	m, a := r.m, r.a
	if res == ReasonNone {
		s := fmt.Sprintf("NEXT_HOP %s is one of %s's addresses", a.NextHop, m.name)
		switch {
		case a.NextHopLL.IsValid() && len(m.llHops) > 0:
			s += fmt.Sprintf("; the link-local next hop %s is one of its link-local addresses", a.NextHopLL)
		case a.NextHopLL.IsValid():
			s += fmt.Sprintf("; the link-local next hop %s is link-local (%s has no link-local address configured to compare it with)", a.NextHopLL, m.name)
		}
		return s
	}
	ok, _ := r.nextHops()
	switch {
	case !a.NextHop.IsValid():
		return "the route has no global NEXT_HOP"
	case !ok:
		return fmt.Sprintf("NEXT_HOP %s is not one of %s's addresses %s", a.NextHop, m.name, addrsText(m.nextHops))
	case !a.NextHopLL.IsLinkLocalUnicast():
		return fmt.Sprintf("the IPv6 link-local next hop %s is not a link-local address (fe80::/10)", a.NextHopLL)
	}
	return fmt.Sprintf("the IPv6 link-local next hop %s is not one of %s's link-local addresses %s", a.NextHopLL, m.name, addrsText(m.llHops))
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
