package rib

import (
	"encoding/binary"
	"net/netip"
)

// entry is one prefix: its candidate list and its global best.
type entry struct {
	head uint32 // first candidate (0: none)
	best uint32 // best candidate among all accepted ones (0: none)
}

// prefixKey is a compact, pointer-free prefix key (netip.Prefix holds a
// pointer, which the garbage collector would have to scan per route).
type prefixKey interface {
	comparable
	prefix() netip.Prefix
}

type v4key uint64 // address << 8 | bits

func (k v4key) prefix() netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(k>>8))
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k&0xff))
}

type v6key struct {
	hi, lo uint64
	bits   uint8
}

func (k v6key) prefix() netip.Prefix {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], k.hi)
	binary.BigEndian.PutUint64(a[8:], k.lo)
	return netip.PrefixFrom(netip.AddrFrom16(a), int(k.bits))
}

func keyV4(p netip.Prefix) v4key {
	a := p.Addr().As4()
	return v4key(uint64(binary.BigEndian.Uint32(a[:]))<<8 | uint64(p.Bits()))
}

func keyV6(p netip.Prefix) v6key {
	a := p.Addr().As16()
	return v6key{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint8(p.Bits())}
}

// famTable is the prefix table of one address family.
type famTable interface {
	find(p netip.Prefix) (uint32, bool)
	insert(p netip.Prefix) uint32
	remove(idx uint32)
	prefix(idx uint32) netip.Prefix
	entry(idx uint32) *entry
	// limit is one past the highest index ever used.
	limit() int
	len() int
}

type table[K prefixKey] struct {
	mkKey func(netip.Prefix) K
	index map[K]uint32
	keys  []K
	ents  []entry
	free  []uint32
}

func newTable[K prefixKey](mk func(netip.Prefix) K) *table[K] {
	return &table[K]{mkKey: mk, index: make(map[K]uint32), keys: make([]K, 1), ents: make([]entry, 1)}
}

func (t *table[K]) find(p netip.Prefix) (uint32, bool) {
	i, ok := t.index[t.mkKey(p)]
	return i, ok
}

func (t *table[K]) insert(p netip.Prefix) uint32 {
	k := t.mkKey(p)
	if i, ok := t.index[k]; ok {
		return i
	}
	var i uint32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
		t.keys[i] = k
		t.ents[i] = entry{}
	} else {
		i = uint32(len(t.keys))
		t.keys = append(t.keys, k)
		t.ents = append(t.ents, entry{})
	}
	t.index[k] = i
	return i
}

func (t *table[K]) remove(i uint32) {
	delete(t.index, t.keys[i])
	var zero K
	t.keys[i] = zero
	t.ents[i] = entry{}
	t.free = append(t.free, i)
}

func (t *table[K]) prefix(i uint32) netip.Prefix { return t.keys[i].prefix() }
func (t *table[K]) entry(i uint32) *entry        { return &t.ents[i] }
func (t *table[K]) limit() int                   { return len(t.keys) }
func (t *table[K]) len() int                     { return len(t.index) }

// bitset is a growable set of entry indices.
type bitset []uint64

func (b *bitset) set(i uint32) bool {
	w := int(i >> 6)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	m := uint64(1) << (i & 63)
	if (*b)[w]&m != 0 {
		return false
	}
	(*b)[w] |= m
	return true
}

func (b bitset) has(i uint32) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(i&63)) != 0
}

func (b bitset) clear(i uint32) bool {
	w := int(i >> 6)
	if w >= len(b) {
		return false
	}
	m := uint64(1) << (i & 63)
	if b[w]&m == 0 {
		return false
	}
	b[w] &^= m
	return true
}
