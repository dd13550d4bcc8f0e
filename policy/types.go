package policy

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// Attrs is one received path attribute set, decoded, as the policy engine
// sees it. The route server interns attribute sets: every prefix of one
// UPDATE shares one *Attrs, and an *Attrs is immutable once built.
type Attrs struct {
	Origin uint8 // 0 IGP, 1 EGP, 2 INCOMPLETE
	// ASPath is the AS_PATH flattened in wire order (ASPath[0] is the
	// neighbour). Segments describes its segments when it is not a single
	// AS_SEQUENCE (nil for the common case).
	ASPath   []uint32
	Segments []Segment
	// PathLen is the length the decision process uses (an AS_SET counts
	// as one, confederation segments as zero).
	PathLen  int
	HasASSet bool
	// NextHop is the NEXT_HOP (IPv4) or the global MP_REACH next hop
	// (IPv6); NextHopLL the IPv6 link-local next hop, if any.
	NextHop   netip.Addr
	NextHopLL netip.Addr
	MED       uint32
	HasMED    bool
	// Communities (RFC 1997), Large (RFC 8092), and the number of extended
	// communities (RFC 4360), kept only for counting.
	Communities []uint32
	Large       []Large
	ExtCount    int
	OTC         uint32 // Only to Customer (RFC 9234), when HasOTC
	HasOTC      bool
	// Discarded lists attribute types dropped on receipt under RFC 7606
	// "attribute discard".
	Discarded []uint8
}

// Segment is an AS_PATH segment: ASPath[Start:End] of type Type (1 AS_SET,
// 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET).
type Segment struct {
	Type       uint8
	Start, End int
}

// AS_PATH segment types.
const (
	SegSet         = 1
	SegSequence    = 2
	SegConfedSeq   = 3
	SegConfedSet   = 4
	OriginIGP      = 0
	OriginEGP      = 1
	OriginIncomplt = 2
)

// Large is a large community (RFC 8092).
type Large struct{ Global, Local1, Local2 uint32 }

func (l Large) String() string { return fmt.Sprintf("%d:%d:%d", l.Global, l.Local1, l.Local2) }

// FirstAS returns the neighbour AS: the first AS of the path if the path
// starts with an AS_SEQUENCE.
func (a *Attrs) FirstAS() (uint32, bool) {
	if len(a.ASPath) == 0 || (a.Segments != nil && a.Segments[0].Type != SegSequence) {
		return 0, false
	}
	return a.ASPath[0], true
}

// OriginAS returns the origin AS (RFC 6811): the last AS of the path if the
// last segment is an AS_SEQUENCE. A path ending in an AS_SET, or an empty
// path, has no origin AS.
func (a *Attrs) OriginAS() (uint32, bool) {
	if len(a.ASPath) == 0 || (a.Segments != nil && a.Segments[len(a.Segments)-1].Type != SegSequence) {
		return 0, false
	}
	return a.ASPath[len(a.ASPath)-1], true
}

// HasCommunity reports whether the standard community c is present.
func (a *Attrs) HasCommunity(c uint32) bool { return slices.Contains(a.Communities, c) }

// Well-known communities.
const (
	CommGracefulShutdown = 0xFFFF0000 // RFC 8326
	CommBlackhole        = 0xFFFF029A // RFC 7999, 65535:666
	CommNoExport         = 0xFFFFFF01
	CommNoAdvertise      = 0xFFFFFF02
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

// Rewrite is the attribute change applied to a route on export toward a
// target with a given Variant; the route server's wire encoder applies it.
// Transparency (RFC 7947): NEXT_HOP, MED and AS_PATH stay as received
// unless a field here says otherwise.
type Rewrite struct {
	// Communities and Large replace the received lists (action
	// communities stripped, informational and NO_EXPORT/NO_ADVERTISE
	// added). A nil slice means "none".
	Communities []uint32
	Large       []Large
	// PrependAS is prepended PrependN times.
	PrependAS uint32
	PrependN  int
	// OTC is set when the route carries none (RFC 9234 egress to an
	// RS-Client); it is never changed once present.
	SetOTC bool
	OTC    uint32
	// NextHop, when valid, replaces the next hop (blackhole next-hop
	// rewrite); the IPv6 link-local next hop is then dropped.
	NextHop netip.Addr
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
