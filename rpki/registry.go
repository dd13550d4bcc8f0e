package rpki

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/fedrs/fedrs/conf"
)

// Claim is one prefix a federation member owns, from its [[member]]
// prefixes.
type Claim struct {
	Member string       `json:"member"`
	ASN    uint32       `json:"asn"`
	Prefix netip.Prefix `json:"prefix"`
	// MaxLen is the longest route length the member may announce: the le
	// bound when given, else the prefix length.
	MaxLen uint8 `json:"max_length"`
	Shared bool  `json:"shared,omitempty"`
}

// VRP returns the claim as a local assertion.
func (c Claim) VRP() VRP { return VRP{Prefix: c.Prefix, MaxLen: c.MaxLen, ASN: c.ASN} }

// Registry is the federation ownership registry: which member owns which
// prefixes. It is immutable.
type Registry struct {
	claims []Claim // sorted by prefix, then member
}

// RegistryFromConfig builds the registry from the members' prefixes. Each
// prefix becomes a claim with the member's ASN and maxLength = le (or the
// prefix length when le is not given). Members that are shut down still own
// their prefixes.
func RegistryFromConfig(cfg *conf.Config) *Registry {
	r := &Registry{}
	if cfg == nil {
		return r
	}
	for _, m := range cfg.Members {
		for _, pr := range m.Prefixes {
			p := pr.Prefix.Masked()
			if !p.IsValid() {
				continue
			}
			ml := p.Bits()
			if pr.LE > ml && pr.LE <= p.Addr().BitLen() {
				ml = pr.LE
			}
			r.claims = append(r.claims, Claim{Member: m.Name, ASN: m.ASN, Prefix: p, MaxLen: uint8(ml), Shared: pr.Shared})
		}
	}
	return NewRegistry(r.claims)
}

// NewRegistry builds a registry from claims.
func NewRegistry(claims []Claim) *Registry {
	c := slices.Clone(claims)
	slices.SortFunc(c, func(a, b Claim) int {
		if x := comparePrefix(a.Prefix, b.Prefix); x != 0 {
			return x
		}
		return cmp.Compare(a.Member, b.Member)
	})
	return &Registry{claims: slices.Compact(c)}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// Claims returns the claims sorted by prefix (shared: do not modify).
func (r *Registry) Claims() []Claim {
	if r == nil {
		return nil
	}
	return r.claims
}

// VRPs returns the claims as VRPs (local assertions).
func (r *Registry) VRPs() []VRP {
	out := make([]VRP, 0, len(r.Claims()))
	for _, c := range r.Claims() {
		out = append(out, c.VRP())
	}
	return out
}

// Assertions returns the claims as SLURM prefix assertions with a comment
// naming the member.
func (r *Registry) Assertions() []Assertion {
	out := make([]Assertion, 0, len(r.Claims()))
	for _, c := range r.Claims() {
		cm := fmt.Sprintf("fedrs registry: member %s (AS%d)", c.Member, c.ASN)
		if c.Shared {
			cm += ", shared"
		}
		out = append(out, Assertion{VRP: c.VRP(), Comment: cm})
	}
	return out
}

// SLURM returns the registry as an RFC 8416 SLURM file of prefix
// assertions, each with a comment naming its member.
func (r *Registry) SLURM() []byte { return MarshalSLURM(r.Assertions()) }

// Owners returns the claims whose prefix covers p (equal or less
// specific), most specific first.
func (r *Registry) Owners(p netip.Prefix) []Claim {
	var out []Claim
	for _, c := range r.Claims() {
		if c.Prefix.Bits() <= p.Bits() && c.Prefix.Addr().Is4() == p.Addr().Is4() && c.Prefix.Contains(p.Addr()) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Claim) int { return cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()) })
	return out
}

// Overlap kinds. The route server's registry check decides who owns a
// route by the most specific registered prefix covering it: every member
// registering exactly that prefix owns the route, nobody else does
// (registry_conflict). From that rule:
const (
	// OverlapNested: one member's prefix strictly contains another
	// member's. A delegation, not a conflict: routes inside the more
	// specific prefix belong to its member only, and the covering
	// member's announcements there are filtered registry_conflict.
	OverlapNested = "nested"
	// OverlapShared: the same prefix registered by several members, all
	// marked shared: each of them owns the routes inside it.
	OverlapShared = "shared"
	// OverlapConflict: the same prefix registered by several members not
	// all marked shared. A prefix has one owner; `fedrs check` refuses
	// such a configuration.
	OverlapConflict = "conflict"
)

// Overlap is two members claiming the same or nested prefixes. Claims of
// one member never overlap each other, whatever their lengths. The
// claims' maxLengths (le) do not change the kind: the registry check
// matches by prefix.
type Overlap struct {
	// A is the covering claim (the first by member name when equal), B
	// the more specific one.
	A, B Claim
	// Kind is OverlapNested, OverlapShared or OverlapConflict.
	Kind string `json:"kind"`
	// Conflict is true for OverlapConflict only.
	Conflict bool   `json:"conflict"`
	Reason   string `json:"reason"`
}

// String is the overlap as both `fedrs check` and `fedrs registry check`
// print it: its kind, then the reason.
func (o Overlap) String() string { return fmt.Sprintf("%-8s %s", o.Kind, o.Reason) }

// Overlaps reports every pair of claims of different members whose
// prefixes are equal or nested, ordered by A's prefix, then B's, then
// member names: the one implementation of the registry rule that `fedrs
// check` and `fedrs registry check` both print.
func (r *Registry) Overlaps() []Overlap {
	var out []Overlap
	var open []Claim // claims containing the current one, outermost first
	for _, c := range r.Claims() {
		for len(open) > 0 {
			t := open[len(open)-1]
			if t.Prefix.Addr().Is4() == c.Prefix.Addr().Is4() && t.Prefix.Bits() <= c.Prefix.Bits() && t.Prefix.Contains(c.Prefix.Addr()) {
				break
			}
			open = open[:len(open)-1]
		}
		for _, t := range open {
			if t.Member != c.Member {
				out = append(out, overlap(t, c))
			}
		}
		open = append(open, c)
	}
	return out
}

// overlap classifies two claims of different members, a containing b.
func overlap(a, b Claim) Overlap {
	o := Overlap{A: a, B: b}
	switch {
	case a.Prefix != b.Prefix:
		o.Kind = OverlapNested
		o.Reason = fmt.Sprintf("%s (%s) contains %s (%s): routes inside %s are %s's; %s's announcements there are filtered registry_conflict",
			a.Prefix, a.Member, b.Prefix, b.Member, b.Prefix, b.Member, a.Member)
		if int(a.MaxLen) >= b.Prefix.Bits() {
			o.Reason += fmt.Sprintf(" (%s's maxLength %d reaches into it: a router validating against the registry's VRPs alone finds them valid)", a.Member, a.MaxLen)
		}
	case a.Shared && b.Shared:
		o.Kind = OverlapShared
		o.Reason = fmt.Sprintf("%s is registered to %s and %s, both marked shared: each owns the routes inside it", a.Prefix, a.Member, b.Member)
	default:
		o.Kind, o.Conflict = OverlapConflict, true
		o.Reason = fmt.Sprintf("%s is registered to %s and %s: a prefix has one owner (mark it shared in both if they own it jointly)", a.Prefix, a.Member, b.Member)
	}
	return o
}
