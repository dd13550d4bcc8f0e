package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/fedrs/fedrs/conf"
)

// prefix_allowed: the prefix is in the member's prefixes or prefix list,
// or those of a member it is transit for, at a length the entry admits.
// An accepted BLACKHOLE route is allowed at any length.
func checkPrefixAllowed(r *route) Reason {
	if hit, _ := allowMatch(r.allow, r.allowNode, uint8(r.bits)); !hit && !r.blackhole {
		return ReasonPrefixNotAllowed
	}
	return ReasonNone
}

func explainPrefixAllowed(r *route, res Reason) string {
	m := r.m
	if res != ReasonNone {
		if r.allowNode >= 0 {
			return fmt.Sprintf("%s is inside %s's %s but its length /%d is not allowed there", r.p, m.name, allowRanges(r.e, r.allow, r.allowNode, r.fam), r.bits)
		}
		return fmt.Sprintf("%s is not in %s's prefixes or prefix list", r.p, m.name)
	}
	if _, hitNode := allowMatch(r.allow, r.allowNode, uint8(r.bits)); hitNode >= 0 {
		return fmt.Sprintf("%s matches %s", r.p, allowRangeText(r.e, m, r.allow, hitNode, r.fam, uint8(r.bits)))
	}
	return fmt.Sprintf("BLACKHOLE route %s is covered by %s's %s (any length up to /%d)", r.p, m.name, allowRanges(r.e, r.allow, r.allowNode, r.fam), r.famMax)
}

// origin_allowed: the route has an origin AS and it is one of the
// member's origin ASNs.
func checkOriginAllowed(r *route) Reason {
	if !r.originOK || !r.m.origins.has(r.origin) {
		return ReasonOriginNotAllowed
	}
	return ReasonNone
}

func explainOriginAllowed(r *route, res Reason) string {
	m := r.m
	switch {
	case res == ReasonNone:
		return fmt.Sprintf("origin AS%d is one of %s's origin ASNs %s", r.origin, m.name, m.origins)
	case !r.originOK:
		return fmt.Sprintf("the route has no origin AS (AS_PATH %s ends in an AS_SET or is empty); %s's origin ASNs are %s", pathText(r.a), m.name, m.origins)
	}
	return fmt.Sprintf("origin AS%d is not one of %s's origin ASNs %s", r.origin, m.name, m.origins)
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

// allowSource names where an allowed-prefix payload of prefix p comes from.
func (e *Engine) allowSource(r allowPay, p netip.Prefix) string {
	text := conf.PrefixRange{Prefix: p, GE: int(r.ge), LE: int(r.le)}.String()
	switch r.src {
	case srcOwn:
		return "prefix " + text
	case srcList:
		return "prefix list entry " + text
	}
	return fmt.Sprintf("prefix %s of %s (transit_for)", text, e.members[r.src].name)
}

// allowRanges lists every allowed range covering the query from node up.
func allowRanges(e *Engine, t *ptable[allowPay], node int32, fam int) string {
	var parts []string
	for i := node; i >= 0; i = t.parent[i] {
		for _, r := range t.payloads(i) {
			parts = append(parts, e.allowSource(r, t.prefix(i, fam)))
		}
	}
	if len(parts) == 0 {
		return "(no prefix)"
	}
	return strings.Join(parts, ", ")
}

// allowRangeText names the range at node that admits bits.
func allowRangeText(e *Engine, m *member, t *ptable[allowPay], node int32, fam int, bits uint8) string {
	for _, r := range t.payloads(node) {
		if bits >= r.lo && bits <= r.hi {
			return m.name + "'s " + e.allowSource(r, t.prefix(node, fam))
		}
	}
	return m.name + "'s prefixes"
}
