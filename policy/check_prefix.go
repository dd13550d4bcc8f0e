package policy

import "fmt"

// prefix_length: the prefix length is within the member's bounds for the
// family. An accepted BLACKHOLE route may be up to the family's maximum.
func checkPrefixLength(r *route) Reason {
	m := r.m
	lo, hi := int(m.minLen[r.fam]), int(m.maxLen[r.fam])
	if r.blackhole {
		hi = r.famMax
	}
	switch {
	case r.bits > hi:
		if r.tr != nil {
			r.explain(fmt.Sprintf("/%d is longer than %s allows for IPv%d (at most /%d)", r.bits, m.name, ipv(r.fam), hi))
		}
		return ReasonPrefixTooLong
	case r.bits < lo:
		if r.tr != nil {
			r.explain(fmt.Sprintf("/%d is shorter than %s allows for IPv%d (at least /%d)", r.bits, m.name, ipv(r.fam), lo))
		}
		return ReasonPrefixTooShort
	}
	if r.tr != nil {
		s := fmt.Sprintf("/%d is within /%d-/%d for IPv%d", r.bits, lo, hi, ipv(r.fam))
		if r.blackhole && r.bits > int(m.maxLen[r.fam]) {
			s = fmt.Sprintf("/%d is an accepted BLACKHOLE route: blackholes may be up to /%d (ordinary routes /%d-/%d)", r.bits, r.famMax, lo, m.maxLen[r.fam])
		}
		r.explain(s)
	}
	return ReasonNone
}

// bogon_prefix: the prefix is not a bogon prefix nor inside one, at the
// lengths each entry matches (a /0 entry matches only the default route).
func checkBogonPrefix(r *route) Reason {
	t := &r.m.bogons.fam[r.fam]
	hit := int32(-1)
	for i := t.deepest(r.k); i >= 0; i = t.parent[i] {
		for _, b := range t.payloads(i) {
			if uint8(r.bits) >= b.lo && uint8(r.bits) <= b.hi {
				hit = i
				break
			}
		}
		if hit >= 0 {
			break
		}
	}
	if hit < 0 {
		if r.tr != nil {
			r.explain(fmt.Sprintf("%s is not inside any of the %d bogon prefixes (a /0 entry matches only the default route)", r.p, t.len()))
		}
		return ReasonNone
	}
	if r.tr != nil {
		b := t.prefix(hit, r.fam)
		s := fmt.Sprintf("%s is inside the bogon prefix %s", r.p, b)
		if b == r.p {
			s = fmt.Sprintf("%s is on the bogon list", r.p)
		}
		r.explain(s)
	}
	return ReasonBogonPrefix
}

func ipv(fam int) int {
	if fam == 0 {
		return 4
	}
	return 6
}
