package rib

import (
	"encoding/binary"
	"math/bits"
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
	sortKey() skey
}

type v4key uint64 // address << 8 | bits

func (k v4key) prefix() netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(k>>8))
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k&0xff))
}

func (k v4key) sortKey() skey { return skey{hi: uint64(k)} }

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

func (k v6key) sortKey() skey { return skey{hi: k.hi, lo: k.lo, bits: k.bits} }

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
	// sortKey is the prefix's key in prefix order, with idx set.
	sortKey(idx uint32) skey
	entry(idx uint32) *entry
	// limit is one past the highest index ever used.
	limit() int
	len() int
}

type table[K prefixKey] struct {
	mkKey func(netip.Prefix) K
	hash  func(K) uint64
	// slots is an open-addressing index (linear probing, backward-shift
	// deletion) of entry indices into keys/ents; 0 is empty. Four bytes
	// per slot instead of a map's key+value+overhead.
	slots []uint32
	used  int
	keys  []K
	ents  []entry
	free  []uint32
}

func newTable[K prefixKey](mk func(netip.Prefix) K, hash func(K) uint64) *table[K] {
	return &table[K]{mkKey: mk, hash: hash, slots: make([]uint32, 1024), keys: make([]K, 1), ents: make([]entry, 1)}
}

func hashV4(k v4key) uint64 {
	x := uint64(k) * 0x9e3779b97f4a7c15
	return x ^ x>>29
}

func hashV6(k v6key) uint64 {
	x := (k.hi*0x9e3779b97f4a7c15 ^ k.lo*0xc2b2ae3d27d4eb4f ^ uint64(k.bits)) * 0x165667b19e3779f9
	return x ^ x>>31
}

// lookup returns the slot holding k, or the empty slot where it would go.
func (t *table[K]) lookup(k K) (slot int, found bool) {
	mask := len(t.slots) - 1
	for i := int(t.hash(k)) & mask; ; i = (i + 1) & mask {
		idx := t.slots[i]
		if idx == 0 {
			return i, false
		}
		if t.keys[idx] == k {
			return i, true
		}
	}
}

func (t *table[K]) find(p netip.Prefix) (uint32, bool) {
	s, ok := t.lookup(t.mkKey(p))
	if !ok {
		return 0, false
	}
	return t.slots[s], true
}

func (t *table[K]) insert(p netip.Prefix) uint32 {
	k := t.mkKey(p)
	s, ok := t.lookup(k)
	if ok {
		return t.slots[s]
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
	t.slots[s] = i
	t.used++
	if t.used*4 > len(t.slots)*3 { // keep the load under 75%
		t.grow()
	}
	return i
}

func (t *table[K]) grow() {
	old := t.slots
	t.slots = make([]uint32, 2*len(old))
	mask := len(t.slots) - 1
	for _, idx := range old {
		if idx == 0 {
			continue
		}
		j := int(t.hash(t.keys[idx])) & mask
		for t.slots[j] != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = idx
	}
}

func (t *table[K]) remove(i uint32) {
	s, ok := t.lookup(t.keys[i])
	if !ok {
		return
	}
	// Backward-shift deletion keeps probe chains intact without tombstones.
	mask := len(t.slots) - 1
	for {
		t.slots[s] = 0
		j := s
		for {
			j = (j + 1) & mask
			idx := t.slots[j]
			if idx == 0 {
				t.used--
				var zero K
				t.keys[i] = zero
				t.ents[i] = entry{}
				t.free = append(t.free, i)
				return
			}
			home := int(t.hash(t.keys[idx])) & mask
			// Move idx back to s if s lies on its probe path (home..j).
			if (j > s && (home <= s || home > j)) || (j < s && home <= s && home > j) {
				t.slots[s] = idx
				s = j
				break
			}
		}
	}
}

func (t *table[K]) prefix(i uint32) netip.Prefix { return t.keys[i].prefix() }
func (t *table[K]) entry(i uint32) *entry        { return &t.ents[i] }
func (t *table[K]) sortKey(i uint32) skey {
	k := t.keys[i].sortKey()
	k.idx = i
	return k
}
func (t *table[K]) limit() int { return len(t.keys) }
func (t *table[K]) len() int   { return t.used }

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

func bitsOnes(w uint64) int { return bits.OnesCount64(w) }
