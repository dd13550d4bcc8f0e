package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/conf"
)

// asnSet is an immutable set of AS numbers: sorted, merged, disjoint
// ranges, looked up by binary search.
type asnSet []conf.ASNRange

func newASNSet(rs []conf.ASNRange) asnSet {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b conf.ASNRange) int { return cmp.Compare(a.Min, b.Min) })
	out := s[:0]
	for _, r := range s {
		if r.Max < r.Min {
			continue
		}
		if n := len(out); n > 0 && (r.Min <= out[n-1].Max || out[n-1].Max != ^uint32(0) && r.Min == out[n-1].Max+1) {
			if r.Max > out[n-1].Max {
				out[n-1].Max = r.Max
			}
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

func (s asnSet) has(asn uint32) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].Max < asn {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s) && s[lo].Min <= asn
}

// String lists the set as ranges, for explanations.
func (s asnSet) String() string {
	if len(s) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(s))
	for _, r := range s {
		parts = append(parts, r.String())
	}
	if len(parts) > 12 {
		parts = append(parts[:12], "… ("+strconv.Itoa(len(s))+" ranges)")
	}
	return strings.Join(parts, ", ")
}

// memberASNs maps member ASNs to member indices.
type memberASNs struct {
	asn []uint32
	idx []int32
}

func (m *memberASNs) lookup(asn uint32) int {
	i, ok := slices.BinarySearch(m.asn, asn)
	if !ok {
		return -1
	}
	return int(m.idx[i])
}
