package policy

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// ProfileMods are the Mods bits that Profile depends on; routes whose
// attribute set and announcing member are equal and whose Mods agree on
// these bits share a Profile.
const ProfileMods = ModBlackhole

// actKind is what an action community asks for.
type actKind uint8

const (
	akNone actKind = iota
	akDenyPeer
	akDenyAll
	akAllowPeer
	akDenyGroup
	akAllowGroup
	akPrependPeer
	akPrependAll
	akNoExportPeer
	akNoAdvertisePeer
)

// action is one parsed action community; arg is a member index (peer
// actions) or a group index (group actions).
type action struct {
	kind actKind
	n    uint8
	arg  int32
}

// largeAction parses a large community. own reports whether it is the
// route server's (global part = the RS ASN): every such community is
// stripped on export, whether or not it is a known action.
func (e *Engine) largeAction(l bgp.Large) (act action, own bool) {
	if l.Global != e.rsASN {
		return action{}, false
	}
	peer := func(k actKind, n uint8) (action, bool) {
		if j := e.byASN.lookup(l.Local2); j >= 0 && l.Local2 != 0 {
			return action{kind: k, n: n, arg: int32(j)}, true
		}
		return action{}, true
	}
	switch l.Local1 {
	case ActDoNotAnnounce:
		if l.Local2 == 0 {
			return action{kind: akDenyAll}, true
		}
		return peer(akDenyPeer, 0)
	case ActAnnounce:
		return peer(akAllowPeer, 0)
	case ActNotToGroup, ActToGroup:
		g, ok := e.groupIdx[l.Local2]
		if !ok {
			return action{}, true
		}
		k := akDenyGroup
		if l.Local1 == ActToGroup {
			k = akAllowGroup
		}
		return action{kind: k, arg: int32(g)}, true
	case ActPrepend1, ActPrepend2, ActPrepend3:
		n := uint8(l.Local1 - ActPrepend1 + 1)
		if l.Local2 == 0 {
			return action{kind: akPrependAll, n: n}, true
		}
		return peer(akPrependPeer, n)
	case ActNoExportToPeer:
		return peer(akNoExportPeer, 0)
	case ActNoAdvertiseToPeer:
		return peer(akNoAdvertisePeer, 0)
	}
	return action{}, true
}

// stdAction parses a standard community. own reports whether the route
// server strips it: every community RS:x (when the RS ASN fits 16 bits),
// and 0:x, 65501-65503:x, 65281:x, 65282:x when x addresses a member (or
// the RS, or 0 for "all" where that form exists). Other communities are
// foreign and pass unchanged (RFC 7947 transparency).
func (e *Engine) stdAction(c uint32) (act action, own bool) {
	hi, lo := c>>16, c&0xffff
	rs16 := e.rsASN <= 0xffff
	member := func() int {
		if lo == 0 {
			return -1
		}
		return e.byASN.lookup(lo)
	}
	switch {
	case hi == 0:
		if rs16 && lo == e.rsASN {
			return action{kind: akDenyAll}, true
		}
		if j := member(); j >= 0 {
			return action{kind: akDenyPeer, arg: int32(j)}, true
		}
	case rs16 && hi == e.rsASN:
		if j := member(); j >= 0 {
			return action{kind: akAllowPeer, arg: int32(j)}, true
		}
		return action{}, true
	case hi >= StdPrepend1 && hi <= StdPrepend3:
		n := uint8(hi - StdPrepend1 + 1)
		if lo == 0 {
			return action{kind: akPrependAll, n: n}, true
		}
		if j := member(); j >= 0 {
			return action{kind: akPrependPeer, n: n, arg: int32(j)}, true
		}
	case hi == StdNoExportToPeer:
		if j := member(); j >= 0 {
			return action{kind: akNoExportPeer, arg: int32(j)}, true
		}
	case hi == StdNoAdvertiseToPeer:
		if j := member(); j >= 0 {
			return action{kind: akNoAdvertisePeer, arg: int32(j)}, true
		}
	}
	return action{}, false
}

// actionSet is the export-relevant content of an attribute set's action
// communities.
type actionSet struct {
	denyAll               bool
	denyPeer, allowPeer   Bitset
	noExport, noAdvertise Bitset
	denyGroup, allowGroup Bitset
	prependAll            uint8
	prependPeer           []uint8 // by member index, nil when none
	any                   bool    // any action at all
	pathMembers           Bitset  // members whose ASN is in the AS_PATH
	blackhole             bool
}

func (s *actionSet) add(act action, nMembers int) {
	if act.kind == akNone {
		return
	}
	s.any = true
	switch act.kind {
	case akDenyPeer:
		s.denyPeer = s.denyPeer.Set(int(act.arg))
	case akDenyAll:
		s.denyAll = true
	case akAllowPeer:
		s.allowPeer = s.allowPeer.Set(int(act.arg))
	case akDenyGroup:
		s.denyGroup = s.denyGroup.Set(int(act.arg))
	case akAllowGroup:
		s.allowGroup = s.allowGroup.Set(int(act.arg))
	case akPrependAll:
		s.prependAll = max(s.prependAll, act.n)
	case akPrependPeer:
		if s.prependPeer == nil {
			s.prependPeer = make([]uint8, nMembers)
		}
		s.prependPeer[act.arg] = max(s.prependPeer[act.arg], act.n)
	case akNoExportPeer:
		s.noExport = s.noExport.Set(int(act.arg))
	case akNoAdvertisePeer:
		s.noAdvertise = s.noAdvertise.Set(int(act.arg))
	}
}

func (e *Engine) actions(a *bgp.Attrs, mods Mods) actionSet {
	var s actionSet
	n := len(e.members)
	for _, c := range a.Communities {
		if act, own := e.stdAction(c); own {
			s.add(act, n)
		}
	}
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own {
			s.add(act, n)
		}
	}
	for _, asn := range a.ASPath {
		if j := e.byASN.lookup(asn); j >= 0 {
			s.pathMembers = s.pathMembers.Set(j)
		}
	}
	s.blackhole = mods&ModBlackhole != 0
	return s
}

// rule is what decided an export decision.
type rule uint8

const (
	ruleDefault    rule = iota // no action community applies: announce
	ruleSelf                   // never back to the announcing member
	ruleLoop                   // target's ASN in the AS_PATH
	ruleBlackhole              // blackhole route, target did not opt in
	rulePeerDeny               // RS:0:peer / 0:peer
	rulePeerAllow              // RS:1:peer / RS:peer
	ruleGroupDeny              // RS:10:gid
	ruleGroupAllow             // RS:11:gid
	ruleDenyAll                // RS:0:0 / 0:RS
)

// decide is the export decision toward target t. Precedence, first match
// wins: the invariants (self, AS_PATH loop, blackhole opt-in), then the
// most specific level of action communities that mentions t: the peer
// level (RS:0:peer beats RS:1:peer), the group level (RS:10:gid beats
// RS:11:gid), the "everyone" level (RS:0:0); no action: announce.
func (e *Engine) decide(mi, t int, s *actionSet) (bool, Variant, rule) {
	switch {
	case t == mi:
		return false, 0, ruleSelf
	case s.pathMembers.Has(t):
		return false, 0, ruleLoop
	case s.blackhole && !e.members[t].blackholeReceive:
		return false, 0, ruleBlackhole
	}
	r := ruleDefault
	if s.any {
		switch {
		case s.denyPeer.Has(t):
			return false, 0, rulePeerDeny
		case s.allowPeer.Has(t):
			r = rulePeerAllow
		default:
			gDeny, gAllow := false, false
			for _, g := range e.members[t].groups {
				gDeny = gDeny || s.denyGroup.Has(int(g))
				gAllow = gAllow || s.allowGroup.Has(int(g))
			}
			switch {
			case gDeny:
				return false, 0, ruleGroupDeny
			case gAllow:
				r = ruleGroupAllow
			case s.denyAll:
				return false, 0, ruleDenyAll
			}
		}
	}
	var v Variant
	if s.any {
		n := s.prependAll
		if s.prependPeer != nil && s.prependPeer[t] > 0 {
			n = s.prependPeer[t]
		}
		v = Variant(n) & VariantPrependMask
		if s.noExport.Has(t) {
			v |= VariantNoExport
		}
		if s.noAdvertise.Has(t) {
			v |= VariantNoAdvertise
		}
	}
	return true, v, r
}

// Profile returns which target members may receive a route that member
// announced with attributes a and import marks mods, and with which
// Variant. RFC 7947 invariants hold whatever the communities say: never
// the announcing member, never a member whose ASN is in the AS_PATH;
// blackhole routes (ModBlackhole) only to members with blackhole_receive.
// The caller asks only for accepted routes. Profile depends on a, member
// and mods&ProfileMods only; identical profiles are interned, so callers
// may compare *Profile pointers to group targets and routes.
func (e *Engine) Profile(member int, a *bgp.Attrs, mods Mods) *Profile {
	s := e.actions(a, mods)
	n := len(e.members)
	var deny Bitset
	var variants []Variant
	denied := 0
	for t := 0; t < n; t++ {
		ok, v, _ := e.decide(member, t, &s)
		if !ok {
			deny = deny.Set(t)
			denied++
			continue
		}
		if v != 0 {
			if variants == nil {
				variants = make([]Variant, n)
			}
			variants[t] = v
		}
	}
	p := &Profile{Deny: deny, Variants: variants}
	if denied == n {
		p = &Profile{DenyAll: true}
	}
	if p.Variants != nil {
		last := len(p.Variants)
		for last > 0 && p.Variants[last-1] == 0 {
			last--
		}
		p.Variants = slices.Clip(p.Variants[:last])
	}
	return e.intern(p)
}

func (e *Engine) intern(p *Profile) *Profile {
	key := make([]byte, 0, 2+8*len(p.Deny)+len(p.Variants))
	if p.DenyAll {
		key = append(key, 1)
	} else {
		key = append(key, 0)
	}
	key = binary.AppendUvarint(key, uint64(len(p.Deny)))
	for _, w := range p.Deny {
		key = binary.LittleEndian.AppendUint64(key, w)
	}
	for _, v := range p.Variants {
		key = append(key, byte(v))
	}
	e.profMu.RLock()
	q, ok := e.profiles[string(key)]
	e.profMu.RUnlock()
	if ok {
		return q
	}
	e.profMu.Lock()
	defer e.profMu.Unlock()
	if q, ok := e.profiles[string(key)]; ok {
		return q
	}
	if len(e.profiles) < maxInterned {
		e.profiles[string(key)] = p
	}
	return p
}

// Rewrite returns the attribute rewrite for exporting a route that member
// announced (attributes a, import marks mods) to a target with Variant v:
//
//   - communities: the received ones without the route server's own action
//     communities (large ones with global part = RS ASN; the standard
//     forms the route server interprets), plus NO_EXPORT for blackhole
//     routes and for VariantNoExport, NO_ADVERTISE for VariantNoAdvertise;
//     foreign communities are kept (RFC 7947);
//   - large communities: likewise, plus the informational communities when
//     the announcing member's policy has informational = true;
//   - AS_PATH: the announcing member's ASN prepended v.Prepends() times;
//   - OTC = RS ASN when the route carries none (RFC 9234 egress to an
//     RS-Client);
//   - NEXT_HOP: for blackhole routes, the configured blackhole next hop of
//     the next hop's address family, if any.
//
// Communities and large communities come out sorted and without
// duplicates, so equal inputs give equal outputs.
func (e *Engine) Rewrite(member int, a *bgp.Attrs, mods Mods, v Variant) bgp.Rewrite {
	m := &e.members[member]
	var rw bgp.Rewrite
	bh := mods&ModBlackhole != 0

	comms := make([]uint32, 0, len(a.Communities)+2)
	for _, c := range a.Communities {
		if _, own := e.stdAction(c); !own {
			comms = append(comms, c)
		}
	}
	if bh || v&VariantNoExport != 0 {
		comms = append(comms, bgp.CommNoExport)
	}
	if v&VariantNoAdvertise != 0 {
		comms = append(comms, bgp.CommNoAdvertise)
	}
	if len(comms) > 0 {
		slices.Sort(comms)
		rw.Communities = slices.Clip(slices.Compact(comms))
	}

	large := make([]bgp.Large, 0, len(a.Large)+4+len(m.groups))
	for _, l := range a.Large {
		if l.Global != e.rsASN {
			large = append(large, l)
		}
	}
	if m.informational {
		large = append(large,
			bgp.Large{Global: e.rsASN, Local1: InfoROV, Local2: infoValue(uint8(mods.ROV()))},
			bgp.Large{Global: e.rsASN, Local1: InfoASPA, Local2: infoValue(uint8(mods.ASPA()))},
			bgp.Large{Global: e.rsASN, Local1: InfoRegistry, Local2: infoValue(uint8(mods.Registry()))})
		for _, g := range m.groups {
			large = append(large, bgp.Large{Global: e.rsASN, Local1: InfoOriginGroup, Local2: e.groups[g].id})
		}
	}
	if len(large) > 0 {
		slices.SortFunc(large, compareLarge)
		rw.Large = slices.Clip(slices.Compact(large))
	}

	if n := v.Prepends(); n > 0 {
		rw.PrependAS, rw.PrependN = m.asn, n
	}
	if !a.HasOTC {
		rw.SetOTC, rw.OTC = true, e.rsASN
	}
	if bh && a.NextHop.IsValid() {
		fam := 1
		if a.NextHop.Unmap().Is4() {
			fam = 0
		}
		if nh := m.bhNextHop[fam]; nh.IsValid() {
			rw.NextHop = nh
		}
	}
	return rw
}

func compareLarge(x, y bgp.Large) int {
	if c := cmp.Compare(x.Global, y.Global); c != 0 {
		return c
	}
	if c := cmp.Compare(x.Local1, y.Local1); c != 0 {
		return c
	}
	return cmp.Compare(x.Local2, y.Local2)
}
