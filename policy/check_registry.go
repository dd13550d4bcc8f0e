package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// registry: the most specific registered prefix covering the route is
// registered to the member (or shared with it), or to a member it is
// transit for whose origin ASNs hold the route's origin; registered to
// anyone else, the route is a hijack. It records the registry state.
func checkRegistry(r *route) Reason {
	e, m := r.e, r.m
	t := &e.registry.fam[r.fam]
	node := t.deepest(r.k)
	state := RegistryUnregistered
	via := int32(-1) // owner this member is transit for
	if node >= 0 {
		state = RegistryConflict
		for _, o := range t.payloads(node) {
			if int(o.member) == r.mi {
				state = RegistryOwned
				break
			}
		}
		if state == RegistryConflict {
			for _, o := range t.payloads(node) {
				if m.transitFr.Has(int(o.member)) && r.originOK && e.members[o.member].origins.has(r.origin) {
					state, via = RegistryOwned, o.member
					break
				}
			}
		}
	}
	r.mods = r.mods.WithRegistry(state)
	r.regNode, r.regVia = node, via
	if state == RegistryConflict {
		return ReasonRegistryConflict
	}
	return ReasonNone
}

func explainRegistry(r *route, _ Reason) string {
	e, m, p := r.e, r.m, r.p
	t := &e.registry.fam[r.fam]
	state, node, via := r.mods.Registry(), r.regNode, r.regVia
	switch {
	case state == RegistryUnregistered:
		return fmt.Sprintf("%s is not registered to any member", p) + " (registry state " + state.String() + ")"
	case state == RegistryConflict:
		return fmt.Sprintf("%s is registered to %s, not to %s", p, e.ownersText(t, node, r.fam, p), m.name)
	case via >= 0:
		return fmt.Sprintf("%s is registered to %s; %s is transit for %s and the origin AS%d is %s's", p, e.ownersText(t, node, r.fam, p), m.name, e.members[via].name, r.origin, e.members[via].name) + " (registry state " + state.String() + ")"
	}
	return fmt.Sprintf("%s is registered to %s", p, e.ownersText(t, node, r.fam, p)) + " (registry state " + state.String() + ")"
}

// ownersText names the members registering entry node.
func (e *Engine) ownersText(t *ptable[regPay], node int32, fam int, p netip.Prefix) string {
	var names []string
	for _, r := range t.payloads(node) {
		names = append(names, e.members[r.member].name)
	}
	s := strings.Join(names, " and ")
	if len(names) > 1 {
		s += " (shared)"
	}
	if reg := t.prefix(node, fam); reg != p {
		s += " as part of " + reg.String()
	}
	return s
}
