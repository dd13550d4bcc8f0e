package wire

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// AttrSet is an interned attribute set: the decoded view the policy engine
// reads, the canonical attribute bytes the encoder rewrites, and caches of
// what was derived from it (export profiles, encoded variants). Every
// prefix that arrived with the same attributes from the same family shares
// one AttrSet. It is immutable apart from its caches and reference count.
type AttrSet struct {
	bgp.Attrs
	Family bgp.Family

	id   uint32
	key  string // family, canonical attributes, next hops
	raw  int    // offset of the canonical attributes in key
	rawN int
	refs atomic.Int32
	dead bool // removed from the table (guarded by Table.mu)
	t    *Table

	// Caches of derived values, copy-on-write so readers take no lock.
	tmpls atomic.Pointer[[]tmplEntry]
	profs atomic.Pointer[[]profEntry]
	mu    sync.Mutex // serialises cache writers
}

// TemplateKey identifies an encoded export template of a set.
type TemplateKey struct {
	Gen     uint32 // policy generation
	Member  int32  // announcing member
	Mods    uint32
	Variant uint8
	AS4     bool
}

// ProfileKey identifies a cached export profile of a set.
type ProfileKey struct {
	Gen    uint32
	Member int32
	Mods   uint32
}

type tmplEntry struct {
	k TemplateKey
	t *Template
}

type profEntry struct {
	k ProfileKey
	p any
}

// ID is the set's handle, stable while the set is referenced; 0 is never
// a valid ID.
func (a *AttrSet) ID() uint32 { return a.id }

// Raw returns the canonical attribute bytes: every attribute passed on,
// AS_PATH in 4-octet form, without NEXT_HOP, MP_REACH_NLRI and
// MP_UNREACH_NLRI. It must not be modified.
func (a *AttrSet) Raw() []byte {
	return unsafe.Slice(unsafe.StringData(a.key[a.raw:]), a.rawN)
}

// Retain adds a reference.
func (a *AttrSet) Retain() { a.refs.Add(1) }

// Release drops a reference; the set leaves the table with its last one.
func (a *AttrSet) Release() {
	if a.refs.Add(-1) == 0 {
		a.t.remove(a)
	}
}

// Template returns the template cached under k, computing it with f on a
// miss. Lookups take no lock.
func (a *AttrSet) Template(k TemplateKey, f func() *Template) *Template {
	if p := a.tmpls.Load(); p != nil {
		for i := range *p {
			if (*p)[i].k == k {
				return (*p)[i].t
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var cur []tmplEntry
	if p := a.tmpls.Load(); p != nil {
		cur = *p
		for i := range cur {
			if cur[i].k == k {
				return cur[i].t
			}
		}
	}
	t := f()
	next := append(cur[:len(cur):len(cur)], tmplEntry{k, t})
	a.tmpls.Store(&next)
	return t
}

// Profile returns the export profile cached under k, computing it with f
// on a miss. The value is opaque here (the codec does not know the policy
// engine): the route server caches the engine's *policy.Profile.
func (a *AttrSet) Profile(k ProfileKey, f func() any) any {
	if p := a.profs.Load(); p != nil {
		for i := range *p {
			if (*p)[i].k == k {
				return (*p)[i].p
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var cur []profEntry
	if p := a.profs.Load(); p != nil {
		cur = *p
		for i := range cur {
			if cur[i].k == k {
				return cur[i].p
			}
		}
	}
	v := f()
	next := append(cur[:len(cur):len(cur)], profEntry{k, v})
	a.profs.Store(&next)
	return v
}

// DropCache forgets every cached value (after a policy change).
func (a *AttrSet) DropCache() {
	a.mu.Lock()
	a.tmpls.Store(nil)
	a.profs.Store(nil)
	a.mu.Unlock()
}

const chunkBits = 12

type chunk [1 << chunkBits]*AttrSet

// Table interns attribute sets. It is safe for concurrent use.
type Table struct {
	mu     sync.Mutex
	m      map[string]*AttrSet
	chunks atomic.Pointer[[]*chunk]
	next   uint32
	free   []uint32
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{m: make(map[string]*AttrSet), next: 1}
	t.chunks.Store(&[]*chunk{})
	return t
}

// Len returns the number of live sets.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Get returns the set with the given ID (nil if none).
func (t *Table) Get(id uint32) *AttrSet {
	cs := *t.chunks.Load()
	c := int(id >> chunkBits)
	if c >= len(cs) {
		return nil
	}
	return (*AttrSet)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&cs[c][id&(1<<chunkBits-1)]))))
}

// Intern returns the set for these attributes with one reference taken.
// a and segs are copied on a miss.
func (t *Table) Intern(f bgp.Family, raw []byte, a *bgp.Attrs, segs []bgp.Segment) *AttrSet {
	var kb [512]byte
	k := append(kb[:0], byte(f))
	k = appendAddr(k, a.NextHop)
	k = appendAddr(k, a.NextHopLL)
	rawOff := len(k)
	k = append(k, raw...)

	t.mu.Lock()
	if s, ok := t.m[string(k)]; ok {
		s.refs.Add(1)
		t.mu.Unlock()
		return s
	}
	s := &AttrSet{Attrs: *a, Family: f, key: string(k), raw: rawOff, rawN: len(raw), t: t}
	if len(segs) > 0 {
		s.Segments = append([]bgp.Segment(nil), segs...)
	}
	s.ASPath = append([]uint32(nil), a.ASPath...)
	s.refs.Store(1)
	if n := len(t.free); n > 0 {
		s.id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		s.id = t.next
		t.next++
	}
	t.place(s)
	t.m[s.key] = s
	t.mu.Unlock()
	return s
}

// place stores s in its slot, growing the chunk list (copy on write so
// that Get needs no lock). Called with t.mu held.
func (t *Table) place(s *AttrSet) {
	cs := *t.chunks.Load()
	c := int(s.id >> chunkBits)
	if c >= len(cs) {
		ncs := make([]*chunk, c+1)
		copy(ncs, cs)
		for i := len(cs); i <= c; i++ {
			ncs[i] = new(chunk)
		}
		t.chunks.Store(&ncs)
		cs = ncs
	}
	atomicStore(&cs[c][s.id&(1<<chunkBits-1)], s)
}

func (t *Table) remove(s *AttrSet) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.dead || s.refs.Load() != 0 {
		return
	}
	s.dead = true
	if t.m[s.key] == s {
		delete(t.m, s.key)
	}
	cs := *t.chunks.Load()
	atomicStore(&cs[s.id>>chunkBits][s.id&(1<<chunkBits-1)], nil)
	t.free = append(t.free, s.id)
}

func atomicStore(p **AttrSet, s *AttrSet) {
	atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(p)), unsafe.Pointer(s))
}

// Each calls f for every live set (under the table lock: f must be quick
// and must not intern or release).
func (t *Table) Each(f func(*AttrSet)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.m {
		f(s)
	}
}

func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		v := a.As4()
		return append(append(b, 4), v[:]...)
	default:
		v := a.As16()
		return append(append(b, 16), v[:]...)
	}
}

// RetainN adds n references (n may be 0).
func (a *AttrSet) RetainN(n int32) {
	if n != 0 {
		a.refs.Add(n)
	}
}
