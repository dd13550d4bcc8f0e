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

// Overlap is two members claiming the same or nested prefixes.
type Overlap struct {
	A, B Claim
	// Conflict is false when both claims are marked shared, which makes
	// the overlap intended.
	Conflict bool   `json:"conflict"`
	Reason   string `json:"reason"`
}

// Overlaps reports every pair of claims of different members whose
// prefixes are equal or nested. A is the less specific claim.
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
			if t.Member == c.Member {
				continue
			}
			o := Overlap{A: t, B: c, Conflict: !(t.Shared && c.Shared)}
			rel := "contains"
			if t.Prefix == c.Prefix {
				rel = "equals"
			}
			o.Reason = fmt.Sprintf("%s (%s) %s %s (%s)", t.Prefix, t.Member, rel, c.Prefix, c.Member)
			if !o.Conflict {
				o.Reason += "; both marked shared"
			}
			out = append(out, o)
		}
		open = append(open, c)
	}
	return out
}
