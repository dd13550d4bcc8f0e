package conf

import (
	"cmp"
	"fmt"
	"slices"
)

// Overlap is a prefix registered to one member that covers a more specific
// prefix registered to another. It is allowed (a council may host an NHS
// service in part of its own space) but worth a look: routes inside the
// more specific are the second member's, the rest of the covering prefix
// the first member's.
type Overlap struct {
	Member       string      // the member registering the covering prefix
	Prefix       PrefixRange // the covering prefix
	OtherMember  string      // the member registering the more specific
	MoreSpecific PrefixRange
}

func (o Overlap) String() string {
	return fmt.Sprintf("%s (%s) covers %s (%s)", o.Prefix.Prefix, o.Member, o.MoreSpecific.Prefix, o.OtherMember)
}

// RegistryOverlaps lists every pair of registered prefixes (members'
// prefixes, not prefix list files) where one member's prefix covers a more
// specific prefix of another member, ordered by covering prefix. Identical
// prefixes are not overlaps: they are shared registrations, or a
// configuration error that Load reports.
func (c *Config) RegistryOverlaps() []Overlap {
	type reg struct {
		member int
		r      PrefixRange
	}
	var regs []reg
	for i, m := range c.Members {
		for _, r := range m.Prefixes {
			if r.Prefix.IsValid() {
				regs = append(regs, reg{i, r})
			}
		}
	}
	var out []Overlap
	for _, a := range regs {
		for _, b := range regs {
			if a.member == b.member || a.r.Prefix.Addr().Is4() != b.r.Prefix.Addr().Is4() {
				continue
			}
			if a.r.Prefix.Bits() < b.r.Prefix.Bits() && a.r.Prefix.Contains(b.r.Prefix.Addr()) {
				out = append(out, Overlap{
					Member: c.Members[a.member].Name, Prefix: a.r,
					OtherMember: c.Members[b.member].Name, MoreSpecific: b.r,
				})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Overlap) int {
		if c := x.Prefix.Prefix.Addr().Compare(y.Prefix.Prefix.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Prefix.Prefix.Bits(), y.Prefix.Prefix.Bits()); c != 0 {
			return c
		}
		if c := x.MoreSpecific.Prefix.Addr().Compare(y.MoreSpecific.Prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(x.MoreSpecific.Prefix.Bits(), y.MoreSpecific.Prefix.Bits())
	})
	return out
}
