package rpki

import (
	"cmp"
	"fmt"
	"iter"
	"net/netip"
	"slices"
)

// State is a route's origin validation state (RFC 6811 §2).
type State uint8

// The RFC 6811 validation states. The zero value is NotFound, which is also
// the state of a route that has not been validated (RFC 6811 §2).
const (
	NotFound State = iota
	Valid
	Invalid
)

func (s State) String() string {
	switch s {
	case NotFound:
		return "not-found"
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// VRP is a Validated ROA Payload: a prefix, the longest length a route of it
// may have, and the AS allowed to originate it. A VRP with ASN 0 covers
// routes but never matches one (RFC 6483 §4, RFC 6811 §2).
type VRP struct {
	Prefix netip.Prefix `json:"prefix"`
	MaxLen uint8        `json:"maxLength"`
	ASN    uint32       `json:"asn"`
}

func (v VRP) String() string { return fmt.Sprintf("%s-%d AS%d", v.Prefix, v.MaxLen, v.ASN) }

// Check reports whether the VRP is well formed: a valid, masked prefix and
// prefix length ≤ maxLength ≤ address length.
func (v VRP) Check() error {
	if !v.Prefix.IsValid() {
		return fmt.Errorf("invalid prefix %v", v.Prefix)
	}
	if v.Prefix.Addr().Is4In6() {
		return fmt.Errorf("prefix %s: IPv4-mapped IPv6 prefixes are not allowed", v.Prefix)
	}
	if v.Prefix.Masked() != v.Prefix {
		return fmt.Errorf("prefix %s has host bits set (want %s)", v.Prefix, v.Prefix.Masked())
	}
	if int(v.MaxLen) < v.Prefix.Bits() || int(v.MaxLen) > v.Prefix.Addr().BitLen() {
		return fmt.Errorf("%s: maxLength %d outside %d..%d", v.Prefix, v.MaxLen, v.Prefix.Bits(), v.Prefix.Addr().BitLen())
	}
	return nil
}

// CompareVRP orders VRPs by family (IPv4 first), address, prefix length,
// maxLength and ASN: the canonical order of VRPs.All.
func CompareVRP(a, b VRP) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.MaxLen, b.MaxLen); c != 0 {
		return c
	}
	return cmp.Compare(a.ASN, b.ASN)
}

// key is an address as two big-endian 64-bit halves; IPv4 addresses sit in
// the top 32 bits of hi.
type key struct{ hi, lo uint64 }

func keyOf(a netip.Addr) key {
	if a.Is4() {
		b := a.As4()
		return key{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32}
	}
	b := a.As16()
	var k key
	for i := 0; i < 8; i++ {
		k.hi = k.hi<<8 | uint64(b[i])
		k.lo = k.lo<<8 | uint64(b[8+i])
	}
	return k
}

func (k key) less(o key) bool { return k.hi < o.hi || (k.hi == o.hi && k.lo < o.lo) }

// mask keeps the first bits bits of k.
func (k key) mask(bits int) key {
	switch {
	case bits <= 0:
		return key{}
	case bits < 64:
		return key{hi: k.hi &^ (^uint64(0) >> bits)}
	case bits == 64:
		return key{hi: k.hi}
	case bits < 128:
		return key{hi: k.hi, lo: k.lo &^ (^uint64(0) >> (bits - 64))}
	}
	return k
}

func (k key) addr(v4 bool) netip.Addr {
	if v4 {
		h := k.hi >> 32
		return netip.AddrFrom4([4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(k.hi >> (56 - 8*i))
		b[8+i] = byte(k.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

// node is one distinct VRP prefix. Nodes are sorted by (addr, bits), and
// parent is the index of the nearest node whose prefix strictly contains
// this one (-1 if none): since prefixes nest or are disjoint, the prefixes
// covering any route are a chain of parents (see family.covering).
type node struct {
	addr   key
	parent int32
	first  uint32 // index of the node's first entry in family.vals
	count  uint32
	bits   uint8
}

// val is one (maxLength, ASN) pair of a node.
type val struct {
	asn    uint32
	maxLen uint8
}

type family struct {
	v4    bool
	nodes []node
	vals  []val
	// sk holds one search key per node, compact for the binary search:
	// for IPv4 the address and the prefix length (addr<<32 | bits, which
	// sorts like the nodes); for IPv6 the top 64 address bits.
	sk []uint64
	// bucket (IPv4 only) indexes sk by the top 16 address bits: the
	// nodes whose address starts with b are sk[bucket[b]:bucket[b+1]].
	bucket []uint32
}

func (f *family) searchKey(k key, bits int) uint64 {
	if f.v4 {
		return k.hi | uint64(bits)
	}
	return k.hi
}

// VRPs is an immutable table of VRPs with fast covering lookups. A nil or
// zero *VRPs is an empty table. Lookups do not allocate and are safe for
// concurrent use.
type VRPs struct {
	v4, v6 family
}

// NewVRPs builds a table from the VRPs, which may be in any order and may
// contain duplicates (they are merged). Malformed VRPs are rejected with an
// error naming the first one; see VRP.Check.
func NewVRPs(vrps []VRP) (*VRPs, error) {
	for i, v := range vrps {
		if err := v.Check(); err != nil {
			return nil, fmt.Errorf("VRP %d: %w", i, err)
		}
	}
	return newVRPsChecked(slices.Clone(vrps)), nil
}

// newVRPsChecked builds a table from well-formed VRPs, sorting vrps in
// place.
func newVRPsChecked(vrps []VRP) *VRPs {
	slices.SortFunc(vrps, CompareVRP)
	vrps = slices.Compact(vrps)
	n4, _ := slices.BinarySearchFunc(vrps, true, func(v VRP, _ bool) int {
		if v.Prefix.Addr().Is4() {
			return -1
		}
		return 1
	})
	t := &VRPs{}
	t.v4 = buildFamily(vrps[:n4], true)
	t.v6 = buildFamily(vrps[n4:], false)
	return t
}

func buildFamily(vrps []VRP, v4 bool) family {
	f := family{v4: v4, vals: make([]val, len(vrps))}
	nodes := 0
	for i := range vrps {
		if i == 0 || vrps[i].Prefix != vrps[i-1].Prefix {
			nodes++
		}
	}
	f.nodes = make([]node, 0, nodes)
	// stack holds the indexes of the open ancestors of the current node.
	var stack []int32
	for i, v := range vrps {
		f.vals[i] = val{asn: v.ASN, maxLen: v.MaxLen}
		if i > 0 && v.Prefix == vrps[i-1].Prefix {
			f.nodes[len(f.nodes)-1].count++
			continue
		}
		k := keyOf(v.Prefix.Addr())
		bits := v.Prefix.Bits()
		for len(stack) > 0 {
			top := &f.nodes[stack[len(stack)-1]]
			if int(top.bits) < bits && k.mask(int(top.bits)) == top.addr {
				break
			}
			stack = stack[:len(stack)-1]
		}
		parent := int32(-1)
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		f.nodes = append(f.nodes, node{addr: k, bits: uint8(bits), parent: parent, first: uint32(i), count: 1})
		stack = append(stack, int32(len(f.nodes)-1))
	}
	f.sk = make([]uint64, len(f.nodes))
	for i := range f.nodes {
		f.sk[i] = f.searchKey(f.nodes[i].addr, int(f.nodes[i].bits))
	}
	if v4 && len(f.nodes) > 0 {
		f.bucket = make([]uint32, 1<<16+1)
		j := 0
		for b := range 1 << 16 {
			for j < len(f.sk) && f.sk[j]>>48 < uint64(b) {
				j++
			}
			f.bucket[b] = uint32(j)
		}
		f.bucket[1<<16] = uint32(len(f.sk))
	}
	return f
}

func (t *VRPs) family(a netip.Addr) *family {
	if a.Is4() {
		return &t.v4
	}
	return &t.v6
}

// deepest returns the index of the deepest node covering the prefix (k,
// bits), or -1.
func (f *family) deepest(k key, bits int) int32 {
	// lo = number of nodes with (addr, bits) <= (k, bits). Search the
	// compact keys first: exact for IPv4; for IPv6 it finds the nodes
	// whose top 64 bits are <= k's, and the few with equal top bits but a
	// greater (addr, bits) are stepped over below.
	t := f.searchKey(k, bits)
	lo, hi := 0, len(f.sk)
	if f.bucket != nil {
		b := t >> 48
		lo, hi = int(f.bucket[b]), int(f.bucket[b+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.sk[m] > t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if !f.v4 {
		for lo > 0 {
			n := &f.nodes[lo-1]
			if k.less(n.addr) || (n.addr == k && int(n.bits) > bits) {
				lo--
				continue
			}
			break
		}
	}
	// Every node covering the prefix is node lo-1 or one of its ancestors.
	i := int32(lo - 1)
	for i >= 0 {
		n := &f.nodes[i]
		if int(n.bits) <= bits && k.mask(int(n.bits)) == n.addr {
			return i
		}
		i = n.parent
	}
	return -1
}

// Validate returns the RFC 6811 state of a route for prefix p with the
// given origin AS. originOK is false when the route has no usable origin
// (the AS_PATH ends in an AS_SET: origin "NONE", which matches no VRP).
// Validate does not allocate.
func (t *VRPs) Validate(p netip.Prefix, origin uint32, originOK bool) State {
	if t == nil || !p.IsValid() {
		return NotFound
	}
	a := p.Addr().Unmap()
	bits := p.Bits()
	if a.Is4() && p.Addr().Is4In6() {
		bits -= 96
	}
	f := t.family(a)
	i := f.deepest(keyOf(a).mask(bits), bits)
	if i < 0 {
		return NotFound
	}
	if !originOK || origin == 0 {
		return Invalid
	}
	for ; i >= 0; i = f.nodes[i].parent {
		n := &f.nodes[i]
		for _, v := range f.vals[n.first : n.first+n.count] {
			if v.asn == origin && int(v.maxLen) >= bits {
				return Valid
			}
		}
	}
	return Invalid
}

// Covering appends to dst the VRPs whose prefix covers p (contains it or
// equals it), most specific first, and returns the extended slice.
func (t *VRPs) Covering(dst []VRP, p netip.Prefix) []VRP {
	if t == nil || !p.IsValid() {
		return dst
	}
	a := p.Addr().Unmap()
	bits := p.Bits()
	if a.Is4() && p.Addr().Is4In6() {
		bits -= 96
	}
	f := t.family(a)
	for i := f.deepest(keyOf(a).mask(bits), bits); i >= 0; i = f.nodes[i].parent {
		dst = f.appendNode(dst, i)
	}
	return dst
}

func (f *family) appendNode(dst []VRP, i int32) []VRP {
	n := &f.nodes[i]
	pfx := netip.PrefixFrom(n.addr.addr(f.v4), int(n.bits))
	for _, v := range f.vals[n.first : n.first+n.count] {
		dst = append(dst, VRP{Prefix: pfx, MaxLen: v.maxLen, ASN: v.asn})
	}
	return dst
}

// Explanation is the outcome of origin validation with the VRPs behind it.
type Explanation struct {
	Prefix   netip.Prefix `json:"prefix"`
	Origin   uint32       `json:"origin"`
	OriginOK bool         `json:"origin_known"`
	State    State        `json:"state"`
	// Matching are the covering VRPs that match the route (they make it
	// Valid); Covering are all the VRPs that cover it (when none matches,
	// they make it Invalid).
	Matching []VRP  `json:"matching,omitempty"`
	Covering []VRP  `json:"covering,omitempty"`
	Reason   string `json:"reason"`
}

// Explain validates like Validate and also says which VRPs decided it.
func (t *VRPs) Explain(p netip.Prefix, origin uint32, originOK bool) Explanation {
	e := Explanation{Prefix: p, Origin: origin, OriginOK: originOK}
	e.State = t.Validate(p, origin, originOK)
	e.Covering = t.Covering(nil, p)
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	for _, v := range e.Covering {
		if originOK && origin != 0 && v.ASN == origin && int(v.MaxLen) >= bits {
			e.Matching = append(e.Matching, v)
		}
	}
	switch {
	case e.State == NotFound:
		e.Reason = "no VRP covers the prefix"
	case e.State == Valid:
		e.Reason = fmt.Sprintf("%d covering VRP(s) match origin AS%d", len(e.Matching), origin)
	case !originOK:
		e.Reason = "covered by VRPs, but the AS_PATH ends in an AS_SET: origin NONE matches no VRP"
	case origin == 0:
		e.Reason = "covered by VRPs, but origin AS0 matches no VRP"
	default:
		sameAS := false
		for _, v := range e.Covering {
			sameAS = sameAS || v.ASN == origin
		}
		if sameAS {
			e.Reason = fmt.Sprintf("covered by VRPs for AS%d, but the prefix length %d exceeds their maxLength", origin, bits)
		} else {
			e.Reason = fmt.Sprintf("covered by VRPs, none for origin AS%d", origin)
		}
	}
	return e
}

// Len returns the number of distinct VRPs.
func (t *VRPs) Len() int {
	if t == nil {
		return 0
	}
	return len(t.v4.vals) + len(t.v6.vals)
}

// Count returns the number of distinct IPv4 and IPv6 VRPs.
func (t *VRPs) Count() (v4, v6 int) {
	if t == nil {
		return 0, 0
	}
	return len(t.v4.vals), len(t.v6.vals)
}

// All yields every VRP in canonical order (CompareVRP).
func (t *VRPs) All() iter.Seq[VRP] {
	return func(yield func(VRP) bool) {
		if t == nil {
			return
		}
		var buf []VRP
		for _, f := range []*family{&t.v4, &t.v6} {
			for i := range f.nodes {
				buf = f.appendNode(buf[:0], int32(i))
				for _, v := range buf {
					if !yield(v) {
						return
					}
				}
			}
		}
	}
}

// Slice returns every VRP in canonical order.
func (t *VRPs) Slice() []VRP {
	out := make([]VRP, 0, t.Len())
	for v := range t.All() {
		out = append(out, v)
	}
	return out
}

// Equal reports whether both tables hold the same VRPs.
func (t *VRPs) Equal(o *VRPs) bool {
	if t.Len() != o.Len() {
		return false
	}
	a, b := t.Slice(), o.Slice()
	return slices.Equal(a, b)
}

// DiffVRPs returns the VRPs in new but not old (added) and in old but not
// new (removed), each in canonical order.
func DiffVRPs(old, new *VRPs) (added, removed []VRP) {
	a, b := old.Slice(), new.Slice()
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b):
			removed = append(removed, a[i])
			i++
		case i == len(a):
			added = append(added, b[j])
			j++
		default:
			switch c := CompareVRP(a[i], b[j]); {
			case c == 0:
				i++
				j++
			case c < 0:
				removed = append(removed, a[i])
				i++
			default:
				added = append(added, b[j])
				j++
			}
		}
	}
	return added, removed
}

// MemoryBytes estimates the heap bytes the table's arrays use.
func (t *VRPs) MemoryBytes() int {
	if t == nil {
		return 0
	}
	const nodeSize, valSize, skSize = 32, 8, 8
	return (cap(t.v4.nodes)+cap(t.v6.nodes))*nodeSize + (cap(t.v4.vals)+cap(t.v6.vals))*valSize +
		(cap(t.v4.sk)+cap(t.v6.sk))*skSize + cap(t.v4.bucket)*4
}
