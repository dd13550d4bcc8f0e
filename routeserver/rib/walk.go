package rib

import (
	"slices"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Walking the table without stalling routing.
//
// A dump of the whole table (an MRT file, a birdwatcher table, a page deep
// in a member's routes) never holds the RIB's lock for its duration: it
// reads the table in chunks of at most walkChunk entries, taking the read
// lock for one chunk and releasing it before the next, so that Apply (the
// writer) waits at most for one chunk, not for the dump.
//
// A walk has two passes. The first collects, chunk by chunk, the compact
// sort keys of the prefixes that match (16-24 bytes per prefix, the only
// part of a walk whose size grows with the table), then sorts them without
// the lock. The second reads the routes of those prefixes in key order,
// again chunk by chunk, and hands them to the caller after releasing the
// lock (a slow HTTP client never holds routing up); a prefix whose entry
// was removed or reused in between is skipped.
//
// What a walk returns is consistent per prefix (the candidates of one
// prefix are read under one hold of the lock, with their best flags), not
// a point-in-time snapshot of the table: a prefix added while the walk
// runs may be missing, one removed may still appear if it was read before
// its removal, and two prefixes may be read at different moments.

// walkChunk is how many table entries (pass one) or prefixes (pass two)
// a walk reads under one hold of the read lock.
const walkChunk = 2048

// skey is a prefix's sort key (comparePrefix order: address, then length)
// with its entry index and, from pass one, how many of its candidates
// matched.
type skey struct {
	hi, lo uint64 // IPv4: hi = address<<8 | length, lo = 0
	bits   uint8  // IPv6 only
	n      uint16 // matching candidates, capped
	idx    uint32
}

func cmpSkey(a, b skey) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return int(a.bits) - int(b.bits)
}

func (a skey) same(b skey) bool { return a.hi == b.hi && a.lo == b.lo && a.bits == b.bits }

// noAllocUnderLock: a walk grows its slices before it takes the lock for
// a chunk, not while it holds it. An allocation can make the goroutine
// assist the garbage collector's marking, which with a large table can
// take tens of milliseconds; under the lock that would hold routing up.
//
// chunkLock read-locks the RIB for one chunk of a walk; chunkUnlock(t0)
// releases it and then runs the test hook (with the lock released), giving
// it how long the chunk held the lock.
func (r *RIB) chunkLock() (t0 time.Time) {
	r.mu.RLock()
	if r.walkHook != nil {
		t0 = time.Now()
	}
	return t0
}

func (r *RIB) chunkUnlock(t0 time.Time) {
	var held time.Duration
	if !t0.IsZero() {
		held = time.Since(t0)
	}
	r.mu.RUnlock()
	if h := r.walkHook; h != nil {
		h(held)
	}
}

// getKeys returns an empty key slice, recycled from an earlier walk: the
// keys of a large table are megabytes, and a walk that allocated them
// afresh each time would bring on garbage collections, which slow the
// route server's other goroutines (routing) down. putKeys gives it back.
func (r *RIB) getKeys() []skey {
	if p, ok := r.keyBufs.Get().(*[]skey); ok {
		return (*p)[:0]
	}
	return nil
}

func (r *RIB) putKeys(k []skey) {
	k = k[:0]
	r.keyBufs.Put(&k)
}

// collect runs pass one over family f, appending to keys: for every entry
// in use, match (RIB read-locked) says how many of its candidates count
// (0: skip it). The keys come back in table order: sort them, or select a
// page (selectRange).
func (r *RIB) collect(t famTable, keys []skey, match func(idx uint32, e *entry) int) []skey {
	for start := uint32(1); ; start += walkChunk {
		keys = slices.Grow(keys, walkChunk) // not under the lock (see noAllocUnderLock)
		t0 := r.chunkLock()
		lim := uint32(t.limit())
		end := min(start+walkChunk, lim)
		for idx := start; idx < end; idx++ {
			e := t.entry(idx)
			if e.head == 0 {
				continue
			}
			if n := match(idx, e); n > 0 {
				k := t.sortKey(idx)
				k.n = uint16(min(n, 0xffff))
				keys = append(keys, k)
			}
		}
		r.chunkUnlock(t0)
		if end >= lim {
			break
		}
	}
	return keys
}

// selectRange puts the keys of ranks lo … hi-1 (in prefix order) at
// k[lo:hi], sorted, in time linear in len(k) on average: a page deep in a
// large table without sorting the table.
func selectRange(k []skey, lo, hi int) {
	if hi-lo >= len(k)/8 {
		slices.SortFunc(k, cmpSkey)
		return
	}
	nth(k, lo)
	if hi < len(k) {
		nth(k[lo:], hi-lo)
	}
	slices.SortFunc(k[lo:hi], cmpSkey)
}

// nth reorders k so that k[i] is the key of rank i, those before it
// smaller and those after it larger: quickselect with a random pivot (a
// median of three degenerates on the interleaved sorted runs that table
// order often is); the keys are distinct.
func nth(k []skey, i int) {
	x := uint64(len(k))*0x9e3779b97f4a7c15 | 1
	lo, hi := 0, len(k)-1
	for hi > lo {
		x ^= x << 13 // xorshift64
		x ^= x >> 7
		x ^= x << 17
		pi := lo + int(x%uint64(hi-lo+1))
		k[pi], k[hi] = k[hi], k[pi]
		p := k[hi]
		s := lo
		for j := lo; j < hi; j++ {
			if cmpSkey(k[j], p) < 0 {
				k[s], k[j] = k[j], k[s]
				s++
			}
		}
		k[s], k[hi] = k[hi], k[s]
		switch {
		case s == i:
			return
		case s < i:
			lo = s + 1
		default:
			hi = s - 1
		}
	}
}

// allOne reports whether every key counts one route (then a page of
// routes is a page of keys).
func allOne(keys []skey) bool {
	for _, k := range keys {
		if k.n != 1 {
			return false
		}
	}
	return true
}

// read runs pass two: for keys in order, chunk by chunk under the read
// lock, visit is called for each key whose entry still holds its prefix
// and appends to buf what the caller wants; emit then gets the chunk's
// items with the lock released and returns false to stop the walk.
func read[T any](r *RIB, t famTable, keys []skey, visit func(k skey, e *entry, buf []T) []T, emit func([]T) bool) bool {
	var buf []T
	for len(keys) > 0 {
		n := min(len(keys), walkChunk)
		chunk := keys[:n]
		keys = keys[n:]
		buf = slices.Grow(buf[:0], 2*n)
		t0 := r.chunkLock()
		for _, k := range chunk {
			if int(k.idx) >= t.limit() || !t.sortKey(k.idx).same(k) {
				continue // removed, or the entry now holds another prefix
			}
			if e := t.entry(k.idx); e.head != 0 {
				buf = visit(k, e, buf)
			}
		}
		r.chunkUnlock(t0)
		if !emit(buf) {
			return false
		}
		clear(buf) // drop the references the chunk held
	}
	return true
}

// matches reports whether candidate ci passes flt.
func (r *RIB) matches(flt *Filter, ci uint32) bool {
	c := &r.cands[ci]
	s := r.sources[c.src]
	return !((flt.Source != nil && s != flt.Source) || (flt.Member >= 0 && s.Member != flt.Member) ||
		(flt.Filtered && c.filtered == 0) || (flt.Accepted && c.filtered != 0))
}

// Walk calls fn for every route matching flt, in prefix order per family
// (the order of Routes), until fn returns false. The RIB is read in
// chunks and fn is called without any lock held, so fn may be slow (write
// to a network client) without holding routing up; the routes of one
// prefix are read together, but the walk is not a point-in-time snapshot
// (see walk.go). Memory: the sort keys of the matching prefixes and one
// chunk of routes.
func (r *RIB) Walk(flt Filter, fn func(Route) bool) {
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
		slices.SortFunc(keys, cmpSkey)
		ok := read(r, t, keys, func(k skey, e *entry, buf []Route) []Route {
			for ci := e.head; ci != 0; ci = r.cands[ci].next {
				if r.matches(&flt, ci) {
					buf = append(buf, r.view(f, k.idx, ci))
				}
			}
			return buf
		}, func(rs []Route) bool {
			for _, rt := range rs {
				if !fn(rt) {
					return false
				}
			}
			return true
		})
		r.putKeys(keys)
		if !ok {
			return
		}
	}
}

// page cuts a page out of sorted keys by the candidate counts of pass
// one: it returns the keys that hold routes offset … offset+limit (limit
// 0: all), the number of routes before them (skip, within the first key)
// and the total.
func page(keys []skey, offset, limit int) (sel []skey, skip, total int) {
	first, last := -1, len(keys)
	for i, k := range keys {
		n := int(k.n)
		if first < 0 && total+n > offset {
			first, skip = i, offset-total
		}
		total += n
		if limit > 0 && first >= 0 && last == len(keys) && total >= offset+limit {
			last = i + 1
		}
	}
	if first < 0 {
		return nil, 0, total
	}
	return keys[first:last], skip, total
}
