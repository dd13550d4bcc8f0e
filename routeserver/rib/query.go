package rib

import (
	"net/netip"
	"slices"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Route is a read-only view of one candidate route.
type Route struct {
	Source  *Source
	Family  bgp.Family
	Prefix  netip.Prefix
	PathID  uint32
	Attrs   *wire.AttrSet
	Verdict policy.Verdict
	Profile *policy.Profile // nil when filtered
	// Best: it is the best route among all accepted ones for the prefix.
	Best  bool
	Stale bool
}

func (r *RIB) view(f bgp.Family, idx, ci uint32) Route {
	t := r.tables[f]
	c := &r.cands[ci]
	v := Route{
		Source: r.sources[c.src], Family: f, Prefix: t.prefix(idx), PathID: c.pathID,
		Attrs:   r.attrs.Get(c.attrs),
		Verdict: policy.Verdict{Filtered: policy.ReasonSet(c.filtered), Tagged: policy.ReasonSet(c.tagged), Mods: c.mods},
		Best:    t.entry(idx).best == ci, Stale: c.flags&flagStale != 0,
	}
	if c.profile != 0 {
		v.Profile = r.profiles[c.profile]
	}
	return v
}

// Filter selects routes for Routes.
type Filter struct {
	// Source, when non-nil, keeps the routes received from it; Member,
	// when >= 0, those of any of the member's sources.
	Source *Source
	Member int
	// Filtered / Accepted keep only filtered or only accepted routes.
	Filtered, Accepted bool
	// Family, when HasFamily, restricts to one family.
	Family    bgp.Family
	HasFamily bool
}

// Routes returns the routes matching flt, in prefix order per family,
// skipping the first offset and returning at most limit (0: all); total
// is the number that matched. Like Walk, it reads the table in chunks
// (routing goes on meanwhile; consistent per prefix, not a point-in-time
// snapshot) and builds only the page's routes.
func (r *RIB) Routes(flt Filter, offset, limit int) (out []Route, total int) {
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if flt.HasFamily && flt.Family != f {
			continue
		}
		t := r.tables[f]
		keys := r.collect(t, r.getKeys(), func(idx uint32, e *entry) int {
			n := 0
			for ci := e.head; ci != 0; ci = r.cands[ci].next {
				if r.matches(&flt, ci) {
					n++
				}
			}
			return n
		})
		out, total = r.routesPage(f, keys, out, total, offset, limit, func(_ *entry, ci uint32) bool { return r.matches(&flt, ci) })
		r.putKeys(keys)
	}
	return out, total
}

// routesPage appends to out the routes (those keep allows) of the keys of
// family f (from collect, unordered) that fall into the page, given total
// routes before them.
func (r *RIB) routesPage(f bgp.Family, keys []skey, out []Route, total, offset, limit int, keep func(e *entry, ci uint32) bool) ([]Route, int) {
	want := limit - len(out)
	if limit > 0 && want <= 0 {
		for _, k := range keys {
			total += int(k.n)
		}
		return out, total
	}
	if limit == 0 {
		want = 0
	}
	var (
		sel     []skey
		skip, n int
	)
	if off := max(0, offset-total); want > 0 && allOne(keys) {
		// A page of prefixes: select it, do not sort the table.
		n = len(keys)
		if off < n {
			end := min(n, off+want)
			selectRange(keys, off, end)
			sel = keys[off:end]
		}
	} else {
		slices.SortFunc(keys, cmpSkey)
		sel, skip, n = page(keys, off, want)
	}
	read(r, r.tables[f], sel, func(k skey, e *entry, buf []Route) []Route {
		for ci := e.head; ci != 0; ci = r.cands[ci].next {
			if keep(e, ci) {
				buf = append(buf, r.view(f, k.idx, ci))
			}
		}
		return buf
	}, func(rs []Route) bool {
		if skip > 0 {
			d := min(skip, len(rs))
			rs, skip = rs[d:], skip-d
		}
		if limit > 0 {
			rs = rs[:min(len(rs), limit-len(out))]
		}
		out = append(out, rs...)
		return limit == 0 || len(out) < limit
	})
	return out, total + n
}

// Exportable returns what the export policy gives member: per prefix the
// route chosen for it (the best of the routes its export policy allows),
// in prefix order, with paging as Routes. It is the decision, whether or
// not a session of the member is up: what the member holds is Held.
func (r *RIB) Exportable(member int, offset, limit int) (out []Route, total int) {
	r.mu.RLock()
	target := r.anySource(member)
	r.mu.RUnlock()
	if target == nil {
		return nil, 0
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		t := r.tables[f]
		keys := r.collect(t, r.getKeys(), func(idx uint32, e *entry) int {
			if e.best != 0 && r.bestFor(e, target) != 0 {
				return 1
			}
			return 0
		})
		out, total = r.routesPage(f, keys, out, total, offset, limit, func(e *entry, ci uint32) bool {
			return ci == r.bestFor(e, target)
		})
		r.putKeys(keys)
	}
	return out, total
}

// ExportableTo returns the route the export policy chooses for member for
// prefix (ok false: none), whether or not the member's session is up.
func (r *RIB) ExportableTo(member int, p netip.Prefix) (Route, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	target := r.anySource(member)
	if target == nil {
		return Route{}, false
	}
	f := familyOf(p)
	idx, ok := r.tables[f].find(p)
	if !ok {
		return Route{}, false
	}
	ci := r.bestFor(r.tables[f].entry(idx), target)
	if ci == 0 {
		return Route{}, false
	}
	return r.view(f, idx, ci), true
}

// anySource returns a source of member usable as a target identity (the
// export decision depends on the member, not the session).
func (r *RIB) anySource(member int) *Source {
	for _, s := range r.sources {
		if s.Member == member {
			return s
		}
	}
	return nil
}

// LookupMode selects prefixes for Lookup.
type LookupMode int

// Lookup modes.
const (
	Exact         LookupMode = iota
	LongestMatch             // the most specific prefix containing the address/prefix
	Covering                 // every prefix containing it (less specifics and itself)
	MoreSpecifics            // every prefix inside it (itself and more specifics)
)

// Lookup returns every candidate route (accepted and filtered) of the
// prefixes selected by mode, in prefix order.
func (r *RIB) Lookup(p netip.Prefix, mode LookupMode) []Route {
	f := familyOf(p)
	t := r.tables[f]
	if mode == MoreSpecifics {
		// Possibly the whole table: walked in chunks, as Routes.
		keys := r.collect(t, r.getKeys(), func(idx uint32, _ *entry) int {
			if q := t.prefix(idx); q.Bits() >= p.Bits() && p.Contains(q.Addr()) {
				return 1
			}
			return 0
		})
		out, _ := r.routesPage(f, keys, nil, 0, 0, 0, func(*entry, uint32) bool { return true })
		r.putKeys(keys)
		return out
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var idxs []uint32
	switch mode {
	case Exact:
		if idx, ok := t.find(p); ok {
			idxs = append(idxs, idx)
		}
	case LongestMatch, Covering:
		for bits := p.Bits(); bits >= 0; bits-- {
			q, _ := p.Addr().Prefix(bits)
			if idx, ok := t.find(q); ok && t.entry(idx).head != 0 {
				idxs = append(idxs, idx)
				if mode == LongestMatch {
					break
				}
			}
		}
	}
	slices.SortFunc(idxs, func(a, b uint32) int { return comparePrefix(t.prefix(a), t.prefix(b)) })
	var out []Route
	for _, idx := range idxs {
		for ci := t.entry(idx).head; ci != 0; ci = r.cands[ci].next {
			out = append(out, r.view(f, idx, ci))
		}
	}
	return out
}

// SourceStats is a source's counters.
type SourceStats struct {
	Up                          bool
	Since                       time.Time
	Received, Accepted, Stale   [bgp.NumFamilies]int
	Exported, PendingOut        [bgp.NumFamilies]int
	MemberAccepted              [bgp.NumFamilies]int
	SendFamilies                [bgp.NumFamilies]bool
	PrefixesV4, PrefixesV6, All int
}

// Stats returns the counters of s.
func (r *RIB) Stats(s *Source) SourceStats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := SourceStats{Up: s.up, Since: s.upSince, Received: s.received, Accepted: s.accepted, Stale: s.stale, SendFamilies: s.sendFam}
	if s.Member >= 0 && s.Member < len(r.memberAcc) {
		st.MemberAccepted = r.memberAcc[s.Member]
	}
	if o := s.out; o != nil {
		o.mu.Lock()
		for f := range o.adv {
			st.Exported[f] = popcount(o.adv[f])
			st.PendingOut[f] = o.ndirty[f]
		}
		o.mu.Unlock()
	}
	return st
}

// Totals are RIB-wide counters.
type Totals struct {
	Prefixes   [bgp.NumFamilies]int
	Routes     int
	AttrSets   int
	Profiles   int
	Sources    int
	Targets    int
	PendingOut int
}

// Totals returns RIB-wide counters.
func (r *RIB) Totals() Totals {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t := Totals{Routes: len(r.cands) - 1 - len(r.free), AttrSets: r.attrs.Len(), Profiles: len(r.profiles) - 1,
		Sources: len(r.sources), Targets: len(r.targets)}
	for f := range r.tables {
		t.Prefixes[f] = r.tables[f].len()
	}
	t.PendingOut = r.pendingOutLocked()
	return t
}

// PendingOut returns the changes waiting to be sent, summed over the
// targets: how much routing work the route server has in hand.
func (r *RIB) PendingOut() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pendingOutLocked()
}

func (r *RIB) pendingOutLocked() int {
	n := 0
	for _, s := range r.targets {
		s.out.mu.Lock()
		for f := range s.out.ndirty {
			n += s.out.ndirty[f]
		}
		s.out.mu.Unlock()
	}
	return n
}

func popcount(b bitset) int {
	n := 0
	for _, w := range b {
		n += bitsOnes(w)
	}
	return n
}

func familyOf(p netip.Prefix) bgp.Family {
	if p.Addr().Is4() {
		return bgp.IPv4Unicast
	}
	return bgp.IPv6Unicast
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
