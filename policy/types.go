package policy

import (
	"math/bits"
	"net/netip"
)

// Mods are route-level marks the import policy sets: they change the
// route's preference inside the route server and how it is exported, and
// carry the validation states that informational communities and the
// looking glass show.
type Mods uint32

// Mods bits.
const (
	ModGracefulShutdown Mods   = 1 << iota // lowest preference (RFC 8326)
	ModBlackhole                           // an accepted BLACKHOLE route (RFC 7999)
	modRPKIShift        = iota             // 2 bits of ROVState
	_
	modASPAShift // 2 bits of ASPAState
	_
	modRegistryShift // 2 bits of RegistryState
	_
)

// ROV returns the route origin validation state recorded in m.
func (m Mods) ROV() ROVState { return ROVState(m >> modRPKIShift & 3) }

// ASPA returns the ASPA verification state recorded in m.
func (m Mods) ASPA() ASPAState { return ASPAState(m >> modASPAShift & 3) }

// Registry returns the federation registry state recorded in m.
func (m Mods) Registry() RegistryState { return RegistryState(m >> modRegistryShift & 3) }

// WithROV, WithASPA and WithRegistry return m with the state replaced.
func (m Mods) WithROV(s ROVState) Mods { return m&^(3<<modRPKIShift) | Mods(s)<<modRPKIShift }
func (m Mods) WithASPA(s ASPAState) Mods {
	return m&^(3<<modASPAShift) | Mods(s)<<modASPAShift
}
func (m Mods) WithRegistry(s RegistryState) Mods {
	return m&^(3<<modRegistryShift) | Mods(s)<<modRegistryShift
}

// ROVState is a route origin validation outcome (RFC 6811).
type ROVState uint8

// ROV states; ROVNotChecked when no VRP data is configured or the check is off.
const (
	ROVNotChecked ROVState = iota
	ROVValid
	ROVNotFound
	ROVInvalid
)

func (s ROVState) String() string {
	return [...]string{"not-checked", "valid", "not-found", "invalid"}[s&3]
}

// ASPAState is an ASPA verification outcome.
type ASPAState uint8

// ASPA states.
const (
	ASPANotChecked ASPAState = iota
	ASPAValid
	ASPAUnknown
	ASPAInvalid
)

func (s ASPAState) String() string {
	return [...]string{"not-checked", "valid", "unknown", "invalid"}[s&3]
}

// RegistryState is how a route relates to the federation ownership registry.
type RegistryState uint8

// Registry states.
const (
	RegistryNotChecked   RegistryState = iota
	RegistryOwned                      // registered to the announcing member (or shared with it)
	RegistryUnregistered               // no member registered it
	RegistryConflict                   // registered to another member: a hijack
)

func (s RegistryState) String() string {
	return [...]string{"not-checked", "owned", "unregistered", "conflict"}[s&3]
}

// ReasonSet is a set of Reasons.
type ReasonSet uint64

// Has reports whether r is in s.
func (s ReasonSet) Has(r Reason) bool { return s&(1<<r) != 0 }

// Add returns s with r added.
func (s ReasonSet) Add(r Reason) ReasonSet { return s | 1<<r }

// Reasons lists the reasons in s in code order.
func (s ReasonSet) Reasons() []Reason {
	var out []Reason
	for s != 0 {
		r := Reason(bits.TrailingZeros64(uint64(s)))
		out = append(out, r)
		s &^= 1 << r
	}
	return out
}

// Verdict is the outcome of import policy for one route.
type Verdict struct {
	// Filtered holds the reasons that filter the route; empty means
	// accepted. Tagged holds reasons of checks in "tag" mode: recorded,
	// shown, but not filtering.
	Filtered ReasonSet
	Tagged   ReasonSet
	Mods     Mods
}

// Accepted reports whether the route may be exported at all.
func (v Verdict) Accepted() bool { return v.Filtered == 0 }

// Variant is how one target receives an exported route beyond the
// route-level rewrite: AS_PATH prepends and added well-known communities.
// The zero Variant is the default that most targets get.
type Variant uint8

// Variant fields.
const (
	VariantPrependMask Variant = 3 // 0-3 prepends of the announcing member's AS
	VariantNoExport    Variant = 1 << 2
	VariantNoAdvertise Variant = 1 << 3
)

// Prepends returns the number of prepends.
func (v Variant) Prepends() int { return int(v & VariantPrependMask) }

// Bitset is a set of member indices.
type Bitset []uint64

// Has reports whether i is in b (false beyond its length).
func (b Bitset) Has(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(i&63)) != 0
}

// Set adds i to b, growing it as needed, and returns it.
func (b Bitset) Set(i int) Bitset {
	for len(b) <= i>>6 {
		b = append(b, 0)
	}
	b[i>>6] |= 1 << (i & 63)
	return b
}

// Profile is the export decision of one route toward every target member.
// Profiles are computed once per attribute set and announcing member (not
// per route) and shared.
type Profile struct {
	// Deny holds the target members that must not receive the route.
	// DenyAll short-cuts "nobody" (filtered routes, RS:0:0 without
	// exceptions).
	Deny    Bitset
	DenyAll bool
	// Variants, when non-nil, gives each target member's Variant (indexed
	// by member index); nil means every target gets the zero Variant.
	Variants []Variant
}

// Allows reports whether target member t may receive the route.
func (p *Profile) Allows(t int) bool { return !p.DenyAll && !p.Deny.Has(t) }

// VariantFor returns target t's Variant.
func (p *Profile) VariantFor(t int) Variant {
	if t < len(p.Variants) {
		return p.Variants[t]
	}
	return 0
}

// RPKI is what the policy engine needs from the RPKI tables; the route
// server supplies it. Implementations must be safe for concurrent use and
// must not allocate per call.
type RPKI interface {
	ROV(prefix netip.Prefix, origin uint32, originKnown bool) ROVState
	// ASPA verifies the upstream path of a route from an RS-Client; path
	// is in wire order and neighbor is the member's configured AS, which
	// the most recently added AS must equal (the neighbour step of the
	// upstream procedure).
	ASPA(path []uint32, hasSet bool, neighbor uint32) ASPAState
}
