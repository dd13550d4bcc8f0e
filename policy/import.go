package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Import evaluates the import policy of a route that member announced:
// every check except max-prefix (the RIB counts accepted routes and adds
// ReasonMaxPrefix itself). It does not allocate and is safe for
// concurrent use. member must be a valid member index.
func (e *Engine) Import(member int, p netip.Prefix, a *bgp.Attrs) Verdict {
	return e.eval(member, p, a, nil)
}

// hit records reason r under the check's action.
func (v *Verdict) hit(act uint8, r Reason) {
	switch act {
	case actFilter:
		v.Filtered = v.Filtered.Add(r)
	case actTag:
		v.Tagged = v.Tagged.Add(r)
	}
}

// eval is the import chain. With tr non-nil it also records every step in
// words; the verdict is the same either way (Import and Explain share this
// code).
func (e *Engine) eval(mi int, p netip.Prefix, a *bgp.Attrs, tr *tracer) Verdict {
	m := &e.members[mi]
	var v Verdict
	p = p.Masked()
	fam := family(p)
	k := keyOf(p)
	bits := p.Bits()
	famMax := p.Addr().BitLen()

	// One pass over the standard communities for the ones import acts on.
	var hasBH, hasGS bool
	for _, c := range a.Communities {
		switch c {
		case bgp.CommBlackhole:
			hasBH = true
		case bgp.CommGracefulShutdown:
			hasGS = true
		}
	}

	// The member's allowed prefixes: the deepest covering entry.
	allow := &m.allowed.fam[fam]
	allowNode := allow.deepest(k)

	// BLACKHOLE (RFC 7999) is decided first because an accepted blackhole
	// relaxes the length bound and the allowed-prefix lengths; its step is
	// reported in its place in the check order.
	bhReq := hasBH && m.act[cBlackhole] != actOff
	blackhole := bhReq && allowNode >= 0

	// prefix_length
	if act := m.act[cPrefixLength]; act == actOff {
		tr.off(cPrefixLength)
	} else {
		lo, hi := int(m.minLen[fam]), int(m.maxLen[fam])
		if blackhole {
			hi = famMax
		}
		switch {
		case bits > hi:
			v.hit(act, ReasonPrefixTooLong)
			if tr != nil {
				tr.step(cPrefixLength, act, ReasonPrefixTooLong, fmt.Sprintf("/%d is longer than %s allows for IPv%d (at most /%d)", bits, m.name, ipv(fam), hi))
			}
		case bits < lo:
			v.hit(act, ReasonPrefixTooShort)
			if tr != nil {
				tr.step(cPrefixLength, act, ReasonPrefixTooShort, fmt.Sprintf("/%d is shorter than %s allows for IPv%d (at least /%d)", bits, m.name, ipv(fam), lo))
			}
		default:
			if tr != nil {
				s := fmt.Sprintf("/%d is within /%d-/%d for IPv%d", bits, lo, hi, ipv(fam))
				if blackhole && bits > int(m.maxLen[fam]) {
					s = fmt.Sprintf("/%d is an accepted BLACKHOLE route: blackholes may be up to /%d (ordinary routes /%d-/%d)", bits, famMax, lo, m.maxLen[fam])
				}
				tr.pass(cPrefixLength, s)
			}
		}
	}

	// bogon_prefix
	if act := m.act[cBogonPrefix]; act == actOff {
		tr.off(cBogonPrefix)
	} else {
		t := &m.bogons.fam[fam]
		hit := int32(-1)
		for i := t.deepest(k); i >= 0; i = t.parent[i] {
			for _, b := range t.payloads(i) {
				if uint8(bits) >= b.lo && uint8(bits) <= b.hi {
					hit = i
					break
				}
			}
			if hit >= 0 {
				break
			}
		}
		if hit >= 0 {
			v.hit(act, ReasonBogonPrefix)
			if tr != nil {
				b := t.prefix(hit, fam)
				s := fmt.Sprintf("%s is inside the bogon prefix %s", p, b)
				if b == p {
					s = fmt.Sprintf("%s is on the bogon list", p)
				}
				tr.step(cBogonPrefix, act, ReasonBogonPrefix, s)
			}
		} else if tr != nil {
			tr.pass(cBogonPrefix, fmt.Sprintf("%s is not inside any of the %d bogon prefixes (a /0 entry matches only the default route)", p, t.len()))
		}
	}

	// bogon_asn
	if act := m.act[cBogonASN]; act == actOff {
		tr.off(cBogonASN)
	} else {
		bad := -1
		for i, asn := range a.ASPath {
			if m.bogonASNs.has(asn) {
				bad = i
				break
			}
		}
		if bad >= 0 {
			v.hit(act, ReasonBogonASN)
			if tr != nil {
				var list []string
				for _, asn := range a.ASPath {
					if m.bogonASNs.has(asn) {
						list = appendUniq(list, fmt.Sprint(asn))
					}
				}
				tr.step(cBogonASN, act, ReasonBogonASN, fmt.Sprintf("AS_PATH contains the bogon ASN %s (bogon ASNs: %s)", strings.Join(list, ", "), m.bogonASNs))
			}
		} else if tr != nil {
			tr.pass(cBogonASN, fmt.Sprintf("no ASN in the AS_PATH is a bogon (bogon ASNs: %s)", m.bogonASNs))
		}
	}

	// as_path_length
	if act := m.act[cASPathLength]; act == actOff {
		tr.off(cASPathLength)
	} else {
		switch n := a.PathLen; {
		case m.maxPath > 0 && n > m.maxPath:
			v.hit(act, ReasonASPathTooLong)
			if tr != nil {
				tr.step(cASPathLength, act, ReasonASPathTooLong, fmt.Sprintf("AS_PATH length %d is more than the maximum %d", n, m.maxPath))
			}
		case n < m.minPath:
			v.hit(act, ReasonASPathTooShort)
			if tr != nil {
				tr.step(cASPathLength, act, ReasonASPathTooShort, fmt.Sprintf("AS_PATH length %d is less than the minimum %d", n, m.minPath))
			}
		default:
			if tr != nil {
				tr.pass(cASPathLength, fmt.Sprintf("AS_PATH length %d is within %d-%d (an AS_SET counts as one)", n, m.minPath, m.maxPath))
			}
		}
	}

	// as_set
	if act := m.act[cASSet]; act == actOff {
		tr.off(cASSet)
	} else if a.HasASSet {
		v.hit(act, ReasonASSet)
		if tr != nil {
			tr.step(cASSet, act, ReasonASSet, fmt.Sprintf("AS_PATH %s contains an AS_SET (RFC 9774 deprecates them)", pathText(a)))
		}
	} else if tr != nil {
		tr.pass(cASSet, "AS_PATH has no AS_SET")
	}

	// first_as
	if act := m.act[cFirstAS]; act == actOff {
		tr.off(cFirstAS)
	} else if first, ok := a.FirstAS(); !ok || first != m.asn {
		v.hit(act, ReasonFirstAS)
		if tr != nil {
			s := fmt.Sprintf("first AS %d is not %s's AS%d", first, m.name, m.asn)
			if !ok {
				s = fmt.Sprintf("AS_PATH %s does not start with an AS_SEQUENCE holding %s's AS%d", pathText(a), m.name, m.asn)
			}
			tr.step(cFirstAS, act, ReasonFirstAS, s)
		}
	} else if tr != nil {
		tr.pass(cFirstAS, fmt.Sprintf("first AS %d is %s's", first, m.name))
	}

	// next_hop
	if act := m.act[cNextHop]; act == actOff {
		tr.off(cNextHop)
	} else {
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
		// The IPv6 link-local next hop (RFC 2545) must be link-local; when
		// the member's configuration lists link-local addresses, it must
		// be one of them. Otherwise it cannot be tied to the member by
		// configuration and is not compared.
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
		if !ok || llBad {
			v.hit(act, ReasonNextHop)
			if tr != nil {
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
				tr.step(cNextHop, act, ReasonNextHop, s)
			}
		} else if tr != nil {
			s := fmt.Sprintf("NEXT_HOP %s is one of %s's addresses", a.NextHop, m.name)
			switch {
			case a.NextHopLL.IsValid() && len(m.llHops) > 0:
				s += fmt.Sprintf("; the link-local next hop %s is one of its link-local addresses", a.NextHopLL)
			case a.NextHopLL.IsValid():
				s += fmt.Sprintf("; the link-local next hop %s is link-local (%s has no link-local address configured to compare it with)", a.NextHopLL, m.name)
			}
			tr.pass(cNextHop, s)
		}
	}

	// prefix_allowed
	if act := m.act[cPrefixAllowed]; act == actOff {
		tr.off(cPrefixAllowed)
	} else {
		hit, hitNode := allowMatch(allow, allowNode, uint8(bits))
		if !hit && blackhole {
			hit = true
		}
		if !hit {
			v.hit(act, ReasonPrefixNotAllowed)
			if tr != nil {
				s := fmt.Sprintf("%s is not in %s's prefixes or prefix list", p, m.name)
				if allowNode >= 0 {
					s = fmt.Sprintf("%s is inside %s's %s but its length /%d is not allowed there", p, m.name, allowRanges(e, allow, allowNode, fam), bits)
				}
				tr.step(cPrefixAllowed, act, ReasonPrefixNotAllowed, s)
			}
		} else if tr != nil {
			var s string
			if hitNode < 0 {
				s = fmt.Sprintf("BLACKHOLE route %s is covered by %s's %s (any length up to /%d)", p, m.name, allowRanges(e, allow, allowNode, fam), famMax)
			} else {
				s = fmt.Sprintf("%s matches %s", p, allowRangeText(e, m, allow, hitNode, fam, uint8(bits)))
			}
			tr.pass(cPrefixAllowed, s)
		}
	}

	// origin_allowed
	origin, originOK := a.OriginAS()
	if act := m.act[cOriginAllowed]; act == actOff {
		tr.off(cOriginAllowed)
	} else if !originOK || !m.origins.has(origin) {
		v.hit(act, ReasonOriginNotAllowed)
		if tr != nil {
			s := fmt.Sprintf("origin AS%d is not one of %s's origin ASNs %s", origin, m.name, m.origins)
			if !originOK {
				s = fmt.Sprintf("the route has no origin AS (AS_PATH %s ends in an AS_SET or is empty); %s's origin ASNs are %s", pathText(a), m.name, m.origins)
			}
			tr.step(cOriginAllowed, act, ReasonOriginNotAllowed, s)
		}
	} else if tr != nil {
		tr.pass(cOriginAllowed, fmt.Sprintf("origin AS%d is one of %s's origin ASNs %s", origin, m.name, m.origins))
	}

	// registry
	if act := m.act[cRegistry]; act == actOff {
		tr.off(cRegistry)
	} else {
		t := &e.registry.fam[fam]
		node := t.deepest(k)
		state := RegistryUnregistered
		via := int32(-1) // owner this member is transit for
		if node >= 0 {
			state = RegistryConflict
			for _, r := range t.payloads(node) {
				if int(r.member) == mi {
					state = RegistryOwned
					break
				}
			}
			if state == RegistryConflict {
				for _, r := range t.payloads(node) {
					if m.transitFr.Has(int(r.member)) && originOK && e.members[r.member].origins.has(origin) {
						state, via = RegistryOwned, r.member
						break
					}
				}
			}
		}
		v.Mods = v.Mods.WithRegistry(state)
		if state == RegistryConflict {
			v.hit(act, ReasonRegistryConflict)
		}
		if tr != nil {
			var s string
			switch {
			case state == RegistryUnregistered:
				s = fmt.Sprintf("%s is not registered to any member", p)
			case state == RegistryConflict:
				s = fmt.Sprintf("%s is registered to %s, not to %s", p, e.ownersText(t, node, fam, p), m.name)
			case via >= 0:
				s = fmt.Sprintf("%s is registered to %s; %s is transit for %s and the origin AS%d is %s's", p, e.ownersText(t, node, fam, p), m.name, e.members[via].name, origin, e.members[via].name)
			default:
				s = fmt.Sprintf("%s is registered to %s", p, e.ownersText(t, node, fam, p))
			}
			if state == RegistryConflict {
				tr.step(cRegistry, act, ReasonRegistryConflict, s)
			} else {
				tr.pass(cRegistry, s+" (registry state "+state.String()+")")
			}
		}
	}

	// otc_leak
	if act := m.act[cOTCLeak]; act == actOff {
		tr.off(cOTCLeak)
	} else if a.HasOTC {
		v.hit(act, ReasonOTCLeak)
		if tr != nil {
			tr.step(cOTCLeak, act, ReasonOTCLeak, fmt.Sprintf("the route carries OTC %d; %s is an RS-Client and a route from an RS-Client must not carry OTC (RFC 9234 §5)", a.OTC, m.name))
		}
	} else if tr != nil {
		tr.pass(cOTCLeak, "the route carries no OTC")
	}

	// member_leak
	if act := m.act[cMemberLeak]; act == actOff {
		tr.off(cMemberLeak)
	} else {
		leak := false
		for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
			if j := e.byASN.lookup(asn); j >= 0 && j != mi && !m.transitFr.Has(j) {
				leak = true
				break
			}
		}
		if leak {
			v.hit(act, ReasonMemberLeak)
			if tr != nil {
				var names []string
				for _, asn := range a.ASPath[1:] {
					if j := e.byASN.lookup(asn); j >= 0 && j != mi && !m.transitFr.Has(j) {
						names = appendUniq(names, fmt.Sprintf("%s (AS%d)", e.members[j].name, asn))
					}
				}
				tr.step(cMemberLeak, act, ReasonMemberLeak, fmt.Sprintf("AS_PATH %s carries the federation member %s behind the first hop and %s is not transit for it", pathText(a), strings.Join(names, ", "), m.name))
			}
		} else if tr != nil {
			var transit []string
			for _, asn := range a.ASPath[min(1, len(a.ASPath)):] {
				if j := e.byASN.lookup(asn); j >= 0 && j != mi {
					transit = appendUniq(transit, e.members[j].name)
				}
			}
			s := "no other federation member's AS behind the first hop"
			if len(transit) > 0 {
				s = fmt.Sprintf("behind the first hop: %s, which %s is transit for (transit_for)", strings.Join(transit, ", "), m.name)
			}
			tr.pass(cMemberLeak, s)
		}
	}

	// transit_free
	if act := m.act[cTransitFree]; act == actOff {
		tr.off(cTransitFree)
	} else {
		bad := false
		if len(m.transitFree) > 0 {
			for _, asn := range a.ASPath {
				if asn != m.asn && m.transitFree.has(asn) {
					bad = true
					break
				}
			}
		}
		if bad {
			v.hit(act, ReasonTransitFree)
			if tr != nil {
				var list []string
				for _, asn := range a.ASPath {
					if asn != m.asn && m.transitFree.has(asn) {
						list = appendUniq(list, fmt.Sprint(asn))
					}
				}
				tr.step(cTransitFree, act, ReasonTransitFree, fmt.Sprintf("AS_PATH contains the transit-free ASN %s: a member does not get transit from them", strings.Join(list, ", ")))
			}
		} else if tr != nil {
			tr.pass(cTransitFree, fmt.Sprintf("no transit-free ASN in the AS_PATH (transit-free ASNs: %s; the member's own ASN is exempt)", m.transitFree))
		}
	}

	// rpki (route origin validation)
	if act := m.act[cRPKI]; act == actOff {
		tr.off(cRPKI)
	} else if e.rpki == nil {
		if tr != nil {
			tr.skip(cRPKI, "no RPKI data source: the route is not checked (state not-checked)")
		}
	} else {
		st := e.rpki.ROV(p, origin, originOK)
		relaxed := false
		if st == ROVInvalid && blackhole && originOK {
			// A blackhole route is more specific than any ROA's
			// maxLength allows; it is Valid when a VRP covering it
			// authorises its origin, whatever the maxLength (ROV(p/L)
			// is Valid exactly when such a VRP of length <= L exists).
			for l := bits - 1; l >= 0; l-- {
				if e.rpki.ROV(netip.PrefixFrom(p.Addr(), l).Masked(), origin, true) == ROVValid {
					st, relaxed = ROVValid, true
					break
				}
			}
		}
		v.Mods = v.Mods.WithROV(st)
		if st == ROVInvalid {
			v.hit(act, ReasonRPKIInvalid)
		}
		if tr != nil {
			s := fmt.Sprintf("ROV state of %s from origin AS%d is %s", p, origin, st)
			if !originOK {
				s = fmt.Sprintf("ROV state of %s without an origin AS (AS_SET) is %s", p, st)
			}
			if relaxed {
				s += " (a BLACKHOLE route: maxLength is ignored, a VRP covering it authorises AS" + fmt.Sprint(origin) + ")"
			}
			if x, ok := e.rpki.(RPKIExplainer); ok {
				if d := x.ExplainROV(p, origin, originOK); d != "" {
					s += ": " + d
				}
			}
			if st == ROVInvalid {
				tr.step(cRPKI, act, ReasonRPKIInvalid, s)
			} else {
				tr.pass(cRPKI, s)
			}
		}
	}

	// aspa
	if act := m.act[cASPA]; act == actOff {
		tr.off(cASPA)
	} else if e.rpki == nil {
		if tr != nil {
			tr.skip(cASPA, "no RPKI data source: the path is not verified (state not-checked)")
		}
	} else {
		st := e.rpki.ASPA(a.ASPath, a.HasASSet, m.asn)
		v.Mods = v.Mods.WithASPA(st)
		if st == ASPAInvalid {
			v.hit(act, ReasonASPAInvalid)
		}
		if tr != nil {
			s := fmt.Sprintf("ASPA upstream verification of AS_PATH %s from %s (AS%d) is %s", pathText(a), m.name, m.asn, st)
			if x, ok := e.rpki.(RPKIExplainer); ok {
				if d := x.ExplainASPA(a.ASPath, a.HasASSet, m.asn); d != "" {
					s += ": " + d
				}
			}
			if st == ASPAInvalid {
				tr.step(cASPA, act, ReasonASPAInvalid, s)
			} else {
				tr.pass(cASPA, s)
			}
		}
	}

	// communities
	if act := m.act[cCommunities]; act == actOff {
		tr.off(cCommunities)
	} else {
		n := len(a.Communities) + len(a.Large) + a.ExtCount
		if n > m.maxComm {
			v.hit(act, ReasonTooManyCommunities)
			if tr != nil {
				tr.step(cCommunities, act, ReasonTooManyCommunities, fmt.Sprintf("%d communities (%d standard, %d large, %d extended) are more than the maximum %d", n, len(a.Communities), len(a.Large), a.ExtCount, m.maxComm))
			}
		} else if tr != nil {
			tr.pass(cCommunities, fmt.Sprintf("%d communities (%d standard, %d large, %d extended), at most %d", n, len(a.Communities), len(a.Large), a.ExtCount, m.maxComm))
		}
	}

	// max_prefix is stateful: the RIB counts accepted routes.
	if tr != nil {
		if m.act[cMaxPrefix] == actOff {
			tr.off(cMaxPrefix)
		} else {
			tr.skip(cMaxPrefix, "counted by the RIB over the member's accepted routes, not per route (see the session's max_prefixes)")
		}
	}

	// blackhole
	if act := m.act[cBlackhole]; act == actOff {
		tr.off(cBlackhole)
	} else if bhReq && !blackhole {
		v.hit(act, ReasonBlackholeNotAllowed)
		if tr != nil {
			tr.step(cBlackhole, act, ReasonBlackholeNotAllowed, fmt.Sprintf("BLACKHOLE (65535:666) for %s, which is not inside any prefix %s may announce; the route is treated as an ordinary route", p, m.name))
		}
	} else if blackhole {
		v.Mods |= ModBlackhole
		if tr != nil {
			tr.mark(cBlackhole, fmt.Sprintf("BLACKHOLE (65535:666) for %s inside %s's %s: accepted as a blackhole route, sent only to members with blackhole_receive, with NO_EXPORT", p, m.name, allowRanges(e, allow, allowNode, fam)))
		}
	} else if tr != nil {
		tr.pass(cBlackhole, "no BLACKHOLE community")
	}

	// graceful_shutdown
	if m.act[cGracefulShutdown] == actOff {
		tr.off(cGracefulShutdown)
	} else if hasGS {
		v.Mods |= ModGracefulShutdown
		if tr != nil {
			tr.mark(cGracefulShutdown, "GRACEFUL_SHUTDOWN (65535:0): the route gets the lowest preference inside the route server (RFC 8326); the community is passed on")
		}
	} else if tr != nil {
		tr.pass(cGracefulShutdown, "no GRACEFUL_SHUTDOWN community")
	}
	return v
}

// allowMatch walks the covering entries from node up and reports whether
// one admits the length bits, and which.
func allowMatch(t *ptable[allowPay], node int32, bits uint8) (bool, int32) {
	for i := node; i >= 0; i = t.parent[i] {
		for _, r := range t.payloads(i) {
			if bits >= r.lo && bits <= r.hi {
				return true, i
			}
		}
	}
	return false, -1
}

func ipv(fam int) int {
	if fam == 0 {
		return 4
	}
	return 6
}
