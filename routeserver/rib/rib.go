package rib

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Exporter supplies the export rewrite (the policy engine).
type Exporter interface {
	Rewrite(member int, a *bgp.Attrs, mods policy.Mods, v policy.Variant) bgp.Rewrite
}

// Limit is a member's maximum-prefix setting.
type Limit struct {
	Max     [bgp.NumFamilies]int // 0: none
	Action  string               // "teardown", "warn", "filter"
	Restart time.Duration
}

// Source is one neighbour session slot of a member: where routes come
// from and, while established, a target routes go to.
type Source struct {
	idx    uint16
	Member int        // member index in the policy engine
	Name   string     // for logs and the looking glass
	Addr   netip.Addr // neighbour address

	up       bool
	neg      *session.Negotiated
	routerID uint32
	peerAddr netip.Addr
	sendFam  [bgp.NumFamilies]bool
	out      *outState
	kick     func()
	upSince  time.Time

	received [bgp.NumFamilies]int // candidates held (accepted + filtered)
	accepted [bgp.NumFamilies]int
	stale    [bgp.NumFamilies]int
	grTimer  *time.Timer
	grGen    uint64
}

// Index returns the source's index.
func (s *Source) Index() int { return int(s.idx) }

// cand is one candidate route. 32 bytes, no pointers.
type cand struct {
	attrs    uint32 // wire.AttrSet ID
	profile  uint32 // interned export profile (0: filtered, exported nowhere)
	pathID   uint32
	next     uint32
	filtered uint32 // policy.ReasonSet
	tagged   uint32 // policy.ReasonSet
	mods     policy.Mods
	src      uint16
	flags    uint16
}

const flagStale = 1

// RIB is the route server's routing table. Safe for concurrent use.
type RIB struct {
	mu      sync.RWMutex
	tables  [bgp.NumFamilies]famTable
	cands   []cand
	free    []uint32
	sources []*Source
	targets []*Source // established sources, for export marking
	attrs   *wire.Table

	exp       Exporter
	gen       uint32 // export generation: bumps on policy change
	limits    []Limit
	memberAcc [][bgp.NumFamilies]int
	profiles  []*policy.Profile
	profPtr   map[*policy.Profile]uint32
	profKey   map[string]uint32
	keyBuf    []byte
	obs       Observer
	ev        RouteEvent // reused for every observer call (no allocation per event)
	bulk      bool       // removing all of a source's routes (RouteEvent.Bulk)
	now       time.Time  // the time of the UPDATE being applied (zero: read the clock per event)
	expBuf    []Exposure // reused for every exposure report

	scratch []uint32 // per-target best before a change
	empty   [bgp.NumFamilies][]uint32

	scratchPool sync.Pool // *fillScratch

	// gate holds exports until the history committed their events
	// ([history] durable; durable.go); nil when off. gateNow is the same
	// for HistoryCommitted, which runs without the lock.
	gate    *gate
	gateNow atomic.Pointer[gate]

	// deferred holds every export after a planned restart until the
	// members' End-of-RIBs are in (RFC 4724 §4.1; restart.go).
	deferred bool

	members int // number of members, for exposure sets
	// allowed caches allowedSet per (profile, member); cleared when the
	// profiles or the members change.
	allowed  map[uint64]policy.Bitset
	byMember []*Source // one source per member

	// walkHook, when set (tests, benchmarks), runs after each chunk of a
	// walk with the lock released, told how long the chunk held it
	// (walk.go).
	walkHook func(held time.Duration)
	keyBufs  sync.Pool // []skey of walks (walk.go)
}

// New returns an empty RIB using attrs for attribute sets.
func New(attrs *wire.Table, exp Exporter) *RIB {
	r := &RIB{
		attrs:    attrs,
		exp:      exp,
		cands:    make([]cand, 1),
		profiles: []*policy.Profile{nil},
		profPtr:  map[*policy.Profile]uint32{},
		profKey:  map[string]uint32{},
	}
	r.scratchPool.New = func() any { return new(fillScratch) }
	r.tables[bgp.IPv4Unicast] = newTable(keyV4, hashV4)
	r.tables[bgp.IPv6Unicast] = newTable(keyV6, hashV6)
	return r
}

// Attrs returns the attribute table.
func (r *RIB) Attrs() *wire.Table { return r.attrs }

// AddSource registers a neighbour slot.
func (r *RIB) AddSource(member int, name string, addr netip.Addr) *Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &Source{idx: uint16(len(r.sources)), Member: member, Name: name, Addr: addr}
	r.sources = append(r.sources, s)
	for len(r.byMember) <= member {
		r.byMember = append(r.byMember, nil)
	}
	if r.byMember[member] == nil {
		r.byMember[member] = s
	}
	if member >= r.members {
		r.members = member + 1
		clear(r.allowed)
	}
	for len(r.memberAcc) <= member {
		r.memberAcc = append(r.memberAcc, [bgp.NumFamilies]int{})
	}
	return s
}

// SetLimits sets the members' maximum-prefix settings, indexed by member.
func (r *RIB) SetLimits(l []Limit) {
	r.mu.Lock()
	r.limits = l
	for len(r.memberAcc) < len(l) {
		r.memberAcc = append(r.memberAcc, [bgp.NumFamilies]int{})
	}
	r.mu.Unlock()
}

// internProfile returns the ID of p, interning by content.
func (r *RIB) internProfile(p *policy.Profile) uint32 {
	if id, ok := r.profPtr[p]; ok {
		return id
	}
	b := r.keyBuf[:0]
	if p.DenyAll {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, w := range p.Deny {
		for i := 0; i < 8; i++ {
			b = append(b, byte(w>>(8*i)))
		}
	}
	b = append(b, 0xff)
	for _, v := range p.Variants {
		b = append(b, byte(v))
	}
	r.keyBuf = b
	if id, ok := r.profKey[string(b)]; ok {
		r.profPtr[p] = id
		return id
	}
	id := uint32(len(r.profiles))
	r.profiles = append(r.profiles, p)
	r.profKey[string(b)] = id
	r.profPtr[p] = id
	return id
}

func (r *RIB) allocCand() uint32 {
	if n := len(r.free); n > 0 {
		i := r.free[n-1]
		r.free = r.free[:n-1]
		return i
	}
	r.cands = append(r.cands, cand{})
	return uint32(len(r.cands) - 1)
}

// String summarises the RIB for logs.
func (r *RIB) String() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "ipv4 %d prefixes, ipv6 %d prefixes, %d routes, %d attribute sets, %d profiles",
		r.tables[0].len(), r.tables[1].len(), len(r.cands)-1-len(r.free), r.attrs.Len(), len(r.profiles)-1)
	return b.String()
}

// Retire removes a source for good (its member left the configuration):
// its routes are withdrawn everywhere and it is no longer a target.
func (r *RIB) Retire(s *Source) {
	if s.up {
		r.SessionDown(s, false, 0, "neighbour removed from the configuration")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		r.removeAll(s, f, "neighbour removed from the configuration")
	}
	if s.grTimer != nil {
		s.grTimer.Stop()
	}
	s.Member = -1
	r.endMark()
}

// Renumber maps every source's member index after a configuration change
// (remap returns -1 for members that are gone) and resizes the per-member
// tables to members.
func (r *RIB) Renumber(remap func(oldMember int) int, members int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acc := make([][bgp.NumFamilies]int, members)
	for _, s := range r.sources {
		if s.Member < 0 {
			continue
		}
		old := s.Member
		s.Member = remap(old)
		if s.Member >= 0 && old < len(r.memberAcc) {
			acc[s.Member] = r.memberAcc[old]
		}
	}
	r.memberAcc = acc
	r.members = members
	clear(r.allowed)
	r.byMember = make([]*Source, members)
	for _, s := range r.sources {
		if s.Member >= 0 && r.byMember[s.Member] == nil {
			r.byMember[s.Member] = s
		}
	}
}
