package policy

import "fmt"

// prefix_length: the prefix length is within the member's bounds for the
// family. An accepted BLACKHOLE route may be up to the family's maximum.
func checkPrefixLength(r *route) Reason {
	lo, hi := r.lengthBounds()
	switch {
	case r.bits > hi:
		return ReasonPrefixTooLong
	case r.bits < lo:
		return ReasonPrefixTooShort
	}
	return ReasonNone
}

// lengthBounds returns the prefix lengths the member admits for the route.
func (r *route) lengthBounds() (lo, hi int) {
	lo, hi = int(r.m.minLen[r.fam]), int(r.m.maxLen[r.fam])
	if r.blackhole {
		hi = r.famMax
	}
	return lo, hi
}

func explainPrefixLength(r *route, res Reason) string {
	m := r.m
	lo, hi := r.lengthBounds()
	switch res {
	case ReasonPrefixTooLong:
		return fmt.Sprintf("/%d is longer than %s allows for IPv%d (at most /%d)", r.bits, m.name, ipv(r.fam), hi)
	case ReasonPrefixTooShort:
		return fmt.Sprintf("/%d is shorter than %s allows for IPv%d (at least /%d)", r.bits, m.name, ipv(r.fam), lo)
	}
	if r.blackhole && r.bits > int(m.maxLen[r.fam]) {
		return fmt.Sprintf("/%d is an accepted BLACKHOLE route: blackholes may be up to /%d (ordinary routes /%d-/%d)", r.bits, r.famMax, lo, m.maxLen[r.fam])
	}
	return fmt.Sprintf("/%d is within /%d-/%d for IPv%d", r.bits, lo, hi, ipv(r.fam))
}

// bogon_prefix: the prefix is not a bogon prefix nor inside one, at the
// lengths each entry matches (a /0 entry matches only the default route).
func checkBogonPrefix(r *route) Reason {
	if r.bogonHit() >= 0 {
		return ReasonBogonPrefix
	}
	return ReasonNone
}

// bogonHit returns the bogon entry the route matches, or -1.
func (r *route) bogonHit() int32 {
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
	return hit
}

func explainBogonPrefix(r *route, res Reason) string {
	t := &r.m.bogons.fam[r.fam]
	if res == ReasonNone {
		return fmt.Sprintf("%s is not inside any of the %d bogon prefixes (a /0 entry matches only the default route)", r.p, t.len())
	}
	b := t.prefix(r.bogonHit(), r.fam)
	if b == r.p {
		return fmt.Sprintf("%s is on the bogon list", r.p)
	}
	return fmt.Sprintf("%s is inside the bogon prefix %s", r.p, b)
}

func ipv(fam int) int {
	if fam == 0 {
		return 4
	}
	return 6
}
