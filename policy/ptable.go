package policy

import (
	"cmp"
	"net/netip"
	"slices"
)

// pkey is a prefix as a left-aligned 128-bit key: an IPv4 address sits in
// the top 32 bits of hi. Keys of the two families live in separate tables.
type pkey struct {
	hi, lo uint64
	bits   uint8
}

func keyOf(p netip.Prefix) pkey {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		return pkey{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32, bits: uint8(p.Bits())}
	}
	b := a.As16()
	return pkey{
		hi:   uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
		lo:   uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]),
		bits: uint8(p.Bits()),
	}
}

// family is 0 for IPv4, 1 for IPv6.
func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// ptable is an immutable set of prefixes, each with a list of payloads,
// answering "which entries cover this prefix" without allocating. Entries
// are sorted by (address, length); parent[i] is the nearest entry that
// covers entry i. The deepest entry covering a query is the last entry at
// or before the query in that order, or one of its ancestors (prefixes
// nest or are disjoint), so a lookup is one binary search and a short
// climb along parents.
type ptable[T any] struct {
	hi, lo []uint64
	bits   []uint8
	parent []int32
	poff   []int32 // payloads of entry i: pay[poff[i]:poff[i+1]]
	pay    []T
}

type pentry[T any] struct {
	p netip.Prefix
	v T
}

func buildPTable[T any](entries []pentry[T]) ptable[T] {
	es := slices.Clone(entries)
	for i := range es {
		es[i].p = es[i].p.Masked()
	}
	slices.SortStableFunc(es, func(a, b pentry[T]) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	// Sized for every entry up front: no append slack stays behind (the
	// tables of large prefix lists are the policy's biggest memory).
	n := len(es)
	t := ptable[T]{hi: make([]uint64, 0, n), lo: make([]uint64, 0, n), bits: make([]uint8, 0, n),
		parent: make([]int32, 0, n), poff: make([]int32, 0, n+1), pay: make([]T, 0, n)}
	var stack []int32
	for i := 0; i < len(es); {
		j := i
		for j < len(es) && es[j].p == es[i].p {
			t.pay = append(t.pay, es[j].v)
			j++
		}
		k := keyOf(es[i].p)
		idx := int32(len(t.bits))
		t.hi = append(t.hi, k.hi)
		t.lo = append(t.lo, k.lo)
		t.bits = append(t.bits, k.bits)
		t.poff = append(t.poff, int32(len(t.pay)-(j-i)))
		for len(stack) > 0 && !t.covers(stack[len(stack)-1], k) {
			stack = stack[:len(stack)-1]
		}
		par := int32(-1)
		if len(stack) > 0 {
			par = stack[len(stack)-1]
		}
		t.parent = append(t.parent, par)
		stack = append(stack, idx)
		i = j
	}
	t.poff = append(t.poff, int32(len(t.pay)))
	return t
}

// len is the number of distinct prefixes.
func (t *ptable[T]) len() int { return len(t.bits) }

// covers reports whether entry i contains the prefix k (equal or less
// specific).
func (t *ptable[T]) covers(i int32, k pkey) bool {
	b := t.bits[i]
	if b > k.bits {
		return false
	}
	if b <= 64 {
		return (k.hi^t.hi[i])>>(64-b) == 0 || b == 0
	}
	return k.hi == t.hi[i] && (k.lo^t.lo[i])>>(128-b) == 0
}

// deepest returns the longest entry covering k, or -1.
func (t *ptable[T]) deepest(k pkey) int32 {
	lo, hi := 0, len(t.bits)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		// entry m <= k ?
		le := t.hi[m] < k.hi || t.hi[m] == k.hi && (t.lo[m] < k.lo || t.lo[m] == k.lo && t.bits[m] <= k.bits)
		if le {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := int32(lo - 1)
	for i >= 0 && !t.covers(i, k) {
		i = t.parent[i]
	}
	return i
}

// payloads returns entry i's payloads.
func (t *ptable[T]) payloads(i int32) []T { return t.pay[t.poff[i]:t.poff[i+1]] }

// prefix returns entry i as a netip.Prefix (for explanations).
func (t *ptable[T]) prefix(i int32, fam int) netip.Prefix {
	if fam == 0 {
		v := uint32(t.hi[i] >> 32)
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), int(t.bits[i]))
	}
	var b [16]byte
	for j := 0; j < 8; j++ {
		b[j] = byte(t.hi[i] >> (56 - 8*j))
		b[8+j] = byte(t.lo[i] >> (56 - 8*j))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), int(t.bits[i]))
}

// pset is a ptable per address family.
type pset[T any] struct{ fam [2]ptable[T] }

func buildPSet[T any](entries []pentry[T]) pset[T] {
	var v4, v6 []pentry[T]
	for _, e := range entries {
		if !e.p.IsValid() {
			continue
		}
		if e.p.Addr().Is4() {
			v4 = append(v4, e)
		} else {
			v6 = append(v6, e)
		}
	}
	return pset[T]{fam: [2]ptable[T]{buildPTable(v4), buildPTable(v6)}}
}
