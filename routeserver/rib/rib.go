// Package rib holds the route server's routing information: per prefix,
// every member's candidate route with its verdict (the Adj-RIBs-In, kept
// pre-policy so policy can be re-run), the best route per target member
// among those the export policy allows it (path hiding mitigation, RFC
// 7947 §2.3), and the per-target export state that lets each session's
// writer send correct diffs.
//
// Memory is the design constraint. Routes live in a pointer-free arena of
// 32-byte candidates keyed by compact prefix keys; attribute sets are
// interned (package wire); export decisions are interned profiles shared
// by all routes with the same attributes and announcing member. Nothing is
// stored per (route, target) except two bits: "needs sending" and
// "advertised". What a target receives is derived from the RIB when its
// writer runs, so a slow target coalesces changes instead of queueing them.
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

// Observer receives route events (the history writer). Calls happen with
// the RIB locked: they must not block or call back into the RIB. The event
// is only valid during the call (the RIB reuses it): copy what is kept.
type Observer interface {
	RouteEvent(ev *RouteEvent)
}

// RouteEvent is a change of a received route.
type RouteEvent struct {
	Source *Source
	Family bgp.Family
	Prefix netip.Prefix
	PathID uint32
	// Attrs is nil when the route went away.
	Attrs   *wire.AttrSet
	Verdict policy.Verdict
	Cause   string // "update", "withdraw", "session down", "stale purge", "policy", "rpki", ...
	// Bulk marks the removal of one of the routes a SourceObserver was
	// told about in SourceRoutesEnd: it may skip the event.
	Bulk bool
	// At is when it happened: the RIB reads the clock once per UPDATE, so
	// the routes of one message share it.
	At time.Time
}

// SourceObserver is an Observer that takes the end of every route of a
// source in a family (a session down without graceful restart) as one
// call, before the RIB removes them one by one with Bulk route events.
type SourceObserver interface {
	Observer
	SourceRoutesEnd(s *Source, f bgp.Family, cause string)
}

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

	members int // number of members, for exposure sets
	// allowed caches allowedSet per (profile, member); cleared when the
	// profiles or the members change.
	allowed  map[uint64]policy.Bitset
	byMember []*Source // one source per member
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

// SetObserver installs the route event observer; with several calls,
// every observer gets every event (in order of installation).
func (r *RIB) SetObserver(o Observer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cur := r.obs.(type) {
	case nil:
		r.obs = o
	case *multiObserver:
		cur.list = append(cur.list, o)
	default:
		r.obs = &multiObserver{list: []Observer{cur, o}}
	}
}

// multiObserver fans events out to several observers.
type multiObserver struct{ list []Observer }

func (m *multiObserver) RouteEvent(ev *RouteEvent) {
	for _, o := range m.list {
		o.RouteEvent(ev)
	}
}

func (m *multiObserver) SourceRoutesEnd(s *Source, f bgp.Family, cause string) {
	for _, o := range m.list {
		if so, ok := o.(SourceObserver); ok {
			so.SourceRoutesEnd(s, f, cause)
		}
	}
}

func (m *multiObserver) PrefixExposure(f bgp.Family, p netip.Prefix, exp []Exposure) {
	for _, o := range m.list {
		if eo, ok := o.(ExposureObserver); ok {
			eo.PrefixExposure(f, p, exp)
		}
	}
}

func (m *multiObserver) PassStarted(at time.Time) {
	for _, o := range m.list {
		if po, ok := o.(PassObserver); ok {
			po.PassStarted(at)
		}
	}
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

// Change is one route received from a source.
type Change struct {
	Family bgp.Family
	Prefix netip.Prefix
	PathID uint32
	// Attrs is nil for a withdrawal. The RIB takes over the caller's
	// reference.
	Attrs   *wire.AttrSet
	Verdict policy.Verdict
	// Profile is the export profile (nil when the route is filtered).
	Profile *policy.Profile
}

// Result tells the caller what Apply could not do itself.
type Result struct {
	// Exceeded is set when a member passed its maximum with action
	// "teardown": the caller closes the session (Cease 1).
	Exceeded       bool
	ExceededFamily bgp.Family
	ExceededLimit  int
	// Warned is set the first time a member passes a "warn" maximum.
	Warned bool
}

// Apply applies a batch of changes from src (one UPDATE) atomically.
func (r *RIB) Apply(src *Source, changes []Change) Result {
	var res Result
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.obs != nil {
		r.now = time.Now()
		defer func() { r.now = time.Time{} }()
	}
	kicked := r.beginMark()
	for i := range changes {
		c := &changes[i]
		if c.Attrs == nil {
			r.withdraw(src, c.Family, c.Prefix, c.PathID, "withdraw")
			continue
		}
		v := c.Verdict
		if v.Accepted() && !r.replacesAccepted(src, c) {
			if lim := r.limitOf(src.Member); lim != nil && lim.Max[c.Family] > 0 &&
				r.memberAcc[src.Member][c.Family] >= lim.Max[c.Family] {
				switch lim.Action {
				case "warn":
					res.Warned = true
				case "filter":
					v.Filtered = v.Filtered | uint64Reason(policy.ReasonMaxPrefix)
				default:
					res.Exceeded, res.ExceededFamily, res.ExceededLimit = true, c.Family, lim.Max[c.Family]
					c.Attrs.Release()
					for _, rest := range changes[i+1:] {
						if rest.Attrs != nil {
							rest.Attrs.Release()
						}
					}
					r.endMark(kicked)
					return res
				}
			}
		}
		prof := uint32(0)
		if v.Accepted() && c.Profile != nil {
			prof = r.internProfile(c.Profile)
		}
		r.announce(src, c.Family, c.Prefix, c.PathID, c.Attrs, v, prof, "update")
	}
	r.endMark(kicked)
	r.sweep(false)
	return res
}

func uint64Reason(r policy.Reason) policy.ReasonSet { return policy.ReasonSet(0).Add(r) }

func (r *RIB) limitOf(member int) *Limit {
	if member >= 0 && member < len(r.limits) {
		return &r.limits[member]
	}
	return nil
}

// replacesAccepted reports whether the change replaces an accepted route
// of the same source (which does not grow the count).
func (r *RIB) replacesAccepted(src *Source, c *Change) bool {
	t := r.tables[c.Family]
	idx, ok := t.find(c.Prefix)
	if !ok {
		return false
	}
	for ci := t.entry(idx).head; ci != 0; ci = r.cands[ci].next {
		cc := &r.cands[ci]
		if cc.src == src.idx && cc.pathID == c.PathID {
			return cc.filtered == 0
		}
	}
	return false
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

// announce adds or replaces the route (src, pathID) of prefix p.
func (r *RIB) announce(src *Source, f bgp.Family, p netip.Prefix, pathID uint32, a *wire.AttrSet, v policy.Verdict, prof uint32, cause string) {
	t := r.tables[f]
	idx := t.insert(p)
	e := t.entry(idx)
	r.snapshotBest(f, e)
	var ci uint32
	for i := e.head; i != 0; i = r.cands[i].next {
		if r.cands[i].src == src.idx && r.cands[i].pathID == pathID {
			ci = i
			break
		}
	}
	accepted := v.Accepted()
	if ci != 0 {
		c := &r.cands[ci]
		old := r.attrs.Get(c.attrs)
		if c.filtered == 0 {
			src.accepted[f]--
			r.memberAcc[src.Member][f]--
		}
		if c.flags&flagStale != 0 {
			src.stale[f]--
		}
		c.attrs, c.profile, c.filtered, c.tagged, c.mods, c.flags = a.ID(), prof, uint32(v.Filtered), uint32(v.Tagged), v.Mods, 0
		if old != nil {
			old.Release()
		}
	} else {
		ci = r.allocCand()
		r.cands[ci] = cand{attrs: a.ID(), profile: prof, pathID: pathID, next: e.head,
			filtered: uint32(v.Filtered), tagged: uint32(v.Tagged), mods: v.Mods, src: src.idx}
		e = t.entry(idx)
		e.head = ci
		src.received[f]++
	}
	if accepted {
		src.accepted[f]++
		r.memberAcc[src.Member][f]++
	}
	e.best = r.selectBest(e.head, -1)
	r.markChanged(f, idx, e, ci)
	if r.obs != nil {
		r.emitRoute(RouteEvent{Source: src, Family: f, Prefix: p, PathID: pathID, Attrs: a, Verdict: v, Cause: cause})
		r.observed(f, idx)
	}
}

// emitRoute reports ev to the observer through the RIB's reused event.
func (r *RIB) emitRoute(ev RouteEvent) {
	r.ev = ev
	r.ev.Bulk = r.bulk
	if r.ev.At = r.now; r.now.IsZero() {
		r.ev.At = time.Now()
	}
	r.obs.RouteEvent(&r.ev)
	r.ev = RouteEvent{}
}

// withdraw removes the route (src, pathID) of prefix p, if held.
func (r *RIB) withdraw(src *Source, f bgp.Family, p netip.Prefix, pathID uint32, cause string) {
	t := r.tables[f]
	idx, ok := t.find(p)
	if !ok {
		return
	}
	r.removeCand(src, f, idx, func(c *cand) bool { return c.src == src.idx && c.pathID == pathID }, cause)
}

// removeCand removes the candidates of entry idx matching match.
func (r *RIB) removeCand(src *Source, f bgp.Family, idx uint32, match func(*cand) bool, cause string) {
	t := r.tables[f]
	e := t.entry(idx)
	r.snapshotBest(f, e)
	removed := false
	prev := uint32(0)
	for ci := e.head; ci != 0; {
		c := &r.cands[ci]
		next := c.next
		if !match(c) {
			prev = ci
			ci = next
			continue
		}
		s := r.sources[c.src]
		s.received[f]--
		if c.filtered == 0 {
			s.accepted[f]--
			r.memberAcc[s.Member][f]--
		}
		if c.flags&flagStale != 0 {
			s.stale[f]--
		}
		if r.obs != nil {
			r.emitRoute(RouteEvent{Source: s, Family: f, Prefix: t.prefix(idx), PathID: c.pathID, Cause: cause})
		}
		if a := r.attrs.Get(c.attrs); a != nil {
			a.Release()
		}
		if prev == 0 {
			e.head = next
		} else {
			r.cands[prev].next = next
		}
		*c = cand{}
		r.free = append(r.free, ci)
		removed = true
		ci = next
	}
	if !removed {
		return
	}
	e.best = r.selectBest(e.head, -1)
	r.markChanged(f, idx, e, 0)
	if r.obs != nil {
		r.observed(f, idx)
	}
	if e.head == 0 {
		if r.referenced(f, idx) {
			r.empty[f] = append(r.empty[f], idx)
		} else {
			t.remove(idx)
		}
	}
}

// Maintain does periodic housekeeping; the server calls it every few
// seconds.
func (r *RIB) Maintain() {
	r.mu.Lock()
	r.sweep(true)
	r.mu.Unlock()
}

// sweep removes entries that became empty while a target still had them
// advertised or pending, once their withdrawals went out. force sweeps
// regardless of how many there are.
func (r *RIB) sweep(force bool) {
	for f := range r.empty {
		if len(r.empty[f]) == 0 || (!force && len(r.empty[f]) < 1024) {
			continue
		}
		t := r.tables[f]
		keep := r.empty[f][:0]
		for _, idx := range r.empty[f] {
			e := t.entry(idx)
			switch {
			case e.head != 0:
				// In use again.
			case r.referenced(bgp.Family(f), idx):
				keep = append(keep, idx)
			default:
				t.remove(idx)
			}
		}
		r.empty[f] = keep
	}
}

// referenced reports whether any target still has idx advertised or
// pending; such entries stay (empty) until their withdrawal is sent.
func (r *RIB) referenced(f bgp.Family, idx uint32) bool {
	for _, s := range r.targets {
		if o := s.out; o != nil && (o.adv[f].has(idx) || o.dirty[f].has(idx)) {
			return true
		}
	}
	return false
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
	r.endMark(true)
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
