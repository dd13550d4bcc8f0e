package conf

import (
	"iter"
	"net/netip"
)

// PrefixList is a member's prefix list file, parsed (Member.PrefixList).
// It is stored compactly — 7 bytes an IPv4 entry, 19 an IPv6 one, nothing
// for the garbage collector to trace — because lists generated with bgpq4
// for a large member or an IXP run to hundreds of thousands of entries.
// Entries keep their order within a family; IPv4 entries come first.
type PrefixList struct {
	v4 []entry4
	v6 []entry6
}

type entry4 struct {
	addr         [4]byte
	bits, ge, le uint8
}

type entry6 struct {
	addr         [16]byte
	bits, ge, le uint8
}

// NewPrefixList packs rs (entries marked Shared keep no mark: lists have
// none).
func NewPrefixList(rs []PrefixRange) PrefixList {
	var l PrefixList
	n4 := 0
	for _, r := range rs {
		if r.Prefix.Addr().Is4() {
			n4++
		}
	}
	l.v4 = make([]entry4, 0, n4)
	l.v6 = make([]entry6, 0, len(rs)-n4)
	for _, r := range rs {
		a, bits, ge, le := r.Prefix.Addr(), uint8(r.Prefix.Bits()), uint8(r.GE), uint8(r.LE)
		if a.Is4() {
			l.v4 = append(l.v4, entry4{a.As4(), bits, ge, le})
		} else {
			l.v6 = append(l.v6, entry6{a.As16(), bits, ge, le})
		}
	}
	return l
}

// Len is the number of entries.
func (l PrefixList) Len() int { return len(l.v4) + len(l.v6) }

// All yields the entries, IPv4 first.
func (l PrefixList) All() iter.Seq[PrefixRange] {
	return func(yield func(PrefixRange) bool) {
		for _, e := range l.v4 {
			if !yield(PrefixRange{Prefix: netip.PrefixFrom(netip.AddrFrom4(e.addr), int(e.bits)), GE: int(e.ge), LE: int(e.le)}) {
				return
			}
		}
		for _, e := range l.v6 {
			if !yield(PrefixRange{Prefix: netip.PrefixFrom(netip.AddrFrom16(e.addr), int(e.bits)), GE: int(e.ge), LE: int(e.le)}) {
				return
			}
		}
	}
}

// Equal reports whether l and o hold the same entries in the same order.
func (l PrefixList) Equal(o PrefixList) bool {
	if len(l.v4) != len(o.v4) || len(l.v6) != len(o.v6) {
		return false
	}
	for i := range l.v4 {
		if l.v4[i] != o.v4[i] {
			return false
		}
	}
	for i := range l.v6 {
		if l.v6[i] != o.v6[i] {
			return false
		}
	}
	return true
}
