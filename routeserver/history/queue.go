package history

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
)

type evKind uint8

const (
	evRoute evKind = iota
	evExposure
	evSourceEnd
	evSessionUp
	evSessionDown
	evRPKI
	evConfig
	evSynced
	evSync
	evStop
	evControl
)

// event is one queued hook call. A table load queues one per route, so it
// is small (104 bytes) and holds one pointer: the garbage collector scans
// one word of it, and a queue of a million costs a tenth of a gigabyte.
// Sources and causes are numbered by the queue; what few events carry
// beyond that is in their block's extras.
type event struct {
	attrs    *wire.AttrSet // the only pointer; nil: none (the route went away)
	at       int64         // unix µs at the hook
	verdict  policy.Verdict
	addr     [16]byte  // the prefix's address (As16)
	expSet   [2]uint64 // the members of the prefix's one exposure (up to 128 members)
	pathID   uint32
	src      uint32 // source number (queue.srcs); 0: none
	expSrc   uint32 // source number of the one exposure; 0: none (or in the extra)
	expPath  uint32
	x        uint32 // 1 + index of the event's extra in its block; 0: none
	cause    uint16 // cause number (queue.causes); 0: none or in the extra
	kind     evKind
	fam      bgp.Family
	bits     uint8 // the prefix's length
	hasExp   bool  // an evRoute carrying its prefix's exposure (one queue slot for both)
	expWords uint8 // words of expSet in use
}

// extra is what few events carry.
type extra struct {
	more  []rib.Exposure // the prefix's exposure when it does not fit in the event
	other any            // session, configuration and RPKI events
	sync  chan struct{}  // evSync
	cause string         // a cause past the numbered ones
}

// block is a fixed-size run of queued events with their extras.
type block struct {
	ev  []event
	x   []extra
	seq uint64 // the queue's seq after its last event
}

// events is a batch of queued events, in order, in blocks.
type events []*block

// blockEvents is the size of a queue block (about 100 kB).
const blockEvents = 1024

// maxFreeBlocks bounds the empty blocks kept for reuse (about 7 MB): a
// burst's backlog is given back to the garbage collector once written.
const maxFreeBlocks = 64

// maxCauses bounds the numbered causes; rarer ones go in extras.
const maxCauses = 4096

// queue is a bounded event queue of fixed-size blocks: the hooks append
// under a mutex (never waiting on the writer, never copying what is
// queued), the writer takes filled blocks and gives them back for reuse,
// so a burst costs no reallocation.
type queue struct {
	mu      sync.Mutex
	blocks  events // the last one is being filled
	n       int
	free    events // empty blocks for reuse
	control int    // Sync and stop events queued
	prompt  int    // events to commit promptly queued: sessions, configuration, RPKI, Sync, stop
	limit   int
	// seq numbers the events handed to the queue, queued or dropped (a
	// dropped one is committed as part of a gap); written under mu.
	seq    atomic.Uint64
	gap    gap
	closed bool
	wake   chan struct{}

	// Numbering of sources and causes (only grows; index 0 is "none").
	srcIDs   map[*rib.Source]uint32
	srcs     []*rib.Source
	causeIDs map[string]uint16
	causes   []string
	// The last numbered source and cause (a table load repeats them).
	lastSrc     *rib.Source
	lastSrcID   uint32
	lastCause   string
	lastCauseID uint16
	lastAt      int64 // time of the newest route event (an exposure that follows shares it)
}

func (q *queue) init(limit int) {
	q.limit = limit
	q.wake = make(chan struct{}, 1)
	q.srcIDs = map[*rib.Source]uint32{}
	q.srcs = []*rib.Source{nil}
	q.causeIDs = map[string]uint16{}
	q.causes = []string{""}
}

func (q *queue) srcLocked(s *rib.Source) uint32 {
	if s == nil {
		return 0
	}
	if s == q.lastSrc {
		return q.lastSrcID
	}
	id, ok := q.srcIDs[s]
	if !ok {
		id = uint32(len(q.srcs))
		q.srcs = append(q.srcs, s)
		q.srcIDs[s] = id
	}
	q.lastSrc, q.lastSrcID = s, id
	return id
}

// causeLocked numbers c; it returns 0 when c is empty or past maxCauses
// (the caller keeps it in an extra).
func (q *queue) causeLocked(c string) uint16 {
	if c == "" {
		return 0
	}
	if c == q.lastCause {
		return q.lastCauseID
	}
	id, ok := q.causeIDs[c]
	if !ok {
		if len(q.causes) >= maxCauses {
			return 0
		}
		id = uint16(len(q.causes))
		q.causes = append(q.causes, c)
		q.causeIDs[c] = id
	}
	q.lastCause, q.lastCauseID = c, id
	return id
}

// appendLocked queues ev with its extra x (nil: none) and returns where
// it is.
func (q *queue) appendLocked(ev event, x *extra) (*block, *event) {
	if k := len(q.blocks); k == 0 || len(q.blocks[k-1].ev) == blockEvents {
		var b *block
		if f := len(q.free); f > 0 {
			b, q.free = q.free[f-1], q.free[:f-1]
		} else {
			b = &block{ev: make([]event, 0, blockEvents)}
		}
		q.blocks = append(q.blocks, b)
	}
	b := q.blocks[len(q.blocks)-1]
	if x != nil {
		b.x = append(b.x, *x)
		ev.x = uint32(len(b.x))
	}
	b.ev = append(b.ev, ev)
	q.n++
	if ev.kind == evSync || ev.kind == evStop {
		q.control++
	}
	if ev.kind.prompt() {
		q.prompt++
	}
	b.seq = q.seq.Add(1)
	return b, &b.ev[len(b.ev)-1]
}

// prompt reports whether events of kind k are committed at once rather
// than gathered with route events: session, configuration and RPKI
// events, End-of-RIB records, a session's routes ending, Sync and stop.
func (k evKind) prompt() bool { return k >= evSourceEnd }

// fullLocked reports whether ev has no room; it then counts it in the gap.
func (q *queue) fullLocked(kind evKind, at int64) bool {
	if q.n < q.limit && !q.closed {
		return false
	}
	q.seq.Add(1)
	if q.gap.first == 0 {
		q.gap.first = at
	}
	q.gap.last = at
	switch kind {
	case evRoute:
		q.gap.routes++
	case evExposure:
		q.gap.exposures++
	default:
		q.gap.others++
	}
	return true
}

// wakeAfterPush wakes the writer on the first event and at half the bound.
func (q *queue) wakeAfterPush(n int) {
	if n == 1 || n == q.limit/2 {
		q.signal()
	}
}

// pushRoute queues a route event, or drops and counts it when the queue
// is full.
func (q *queue) pushRoute(re *rib.RouteEvent, at int64, r *Recorder) {
	ev := event{kind: evRoute, at: at, fam: re.Family, addr: re.Prefix.Addr().As16(), bits: uint8(re.Prefix.Bits()),
		pathID: re.PathID, attrs: re.Attrs, verdict: re.Verdict}
	q.mu.Lock()
	q.lastAt = at
	if q.fullLocked(evRoute, at) {
		q.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	ev.src = q.srcLocked(re.Source)
	var x *extra
	if ev.cause = q.causeLocked(re.Cause); ev.cause == 0 && re.Cause != "" {
		x = &extra{cause: re.Cause}
	}
	q.appendLocked(ev, x)
	n := q.n
	q.mu.Unlock()
	q.wakeAfterPush(n)
}

// pushExposure hands a prefix's exposure to the newest queued event when
// that is the route event of the same prefix (the RIB reports a prefix's
// exposure right after its route events): the pair then takes one queue
// slot. Otherwise it queues an exposure event, or drops and counts it.
// exp is the RIB's, valid during the call.
func (q *queue) pushExposure(f bgp.Family, p netip.Prefix, exp []rib.Exposure, r *Recorder) {
	addr, bits := p.Addr().As16(), uint8(p.Bits())
	q.mu.Lock()
	if k := len(q.blocks); k > 0 {
		b := q.blocks[k-1]
		if i := len(b.ev) - 1; i >= 0 {
			if ev := &b.ev[i]; ev.kind == evRoute && !ev.hasExp && ev.fam == f && ev.bits == bits && ev.addr == addr {
				ev.hasExp = true
				q.setExposureLocked(b, ev, exp)
				q.mu.Unlock()
				return
			}
		}
	}
	at := q.lastAt
	if at == 0 {
		at = now()
	}
	if q.fullLocked(evExposure, at) {
		q.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	b, ev := q.appendLocked(event{kind: evExposure, at: at, fam: f, addr: addr, bits: bits}, nil)
	q.setExposureLocked(b, ev, exp)
	n := q.n
	q.mu.Unlock()
	q.wakeAfterPush(n)
}

// setExposureLocked stores exp in ev (one exposure of up to 128 members)
// or in an extra of its block b.
func (q *queue) setExposureLocked(b *block, ev *event, exp []rib.Exposure) {
	if len(exp) == 0 {
		return
	}
	if len(exp) == 1 && len(exp[0].Members) <= len(ev.expSet) {
		e := &exp[0]
		ev.expSrc, ev.expPath = q.srcLocked(e.Source), e.PathID
		ev.expWords = uint8(copy(ev.expSet[:], e.Members))
		return
	}
	if ev.x == 0 {
		b.x = append(b.x, extra{})
		ev.x = uint32(len(b.x))
	}
	b.x[ev.x-1].more = slices.Clone(exp)
}

// push queues an event that is neither a route nor an exposure, with its
// extra, or drops and counts it when the queue is full.
func (q *queue) push(ev event, x *extra, r *Recorder) {
	q.mu.Lock()
	if q.fullLocked(ev.kind, ev.at) {
		q.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	q.appendLocked(ev, x)
	n := q.n
	q.mu.Unlock()
	q.wakeAfterPush(n)
}

// pushControl queues an event past the bound (they are rare: Sync, stop,
// configuration loads, a session's routes ending); src is its source.
func (q *queue) pushControl(ev event, x *extra, src *rib.Source) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	ev.src = q.srcLocked(src)
	if ev.kind == evSourceEnd {
		q.lastAt = ev.at
	}
	if c := x; c != nil && c.cause != "" {
		if ev.cause = q.causeLocked(c.cause); ev.cause != 0 {
			c.cause = ""
		}
	}
	q.appendLocked(ev, x)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// taken is what the writer takes from the queue: blocks of events, the
// gap accumulated so far, and the numbering to read them with.
type taken struct {
	blocks events
	gap    gap
	srcs   []*rib.Source
	causes []string
	seq    uint64 // every event up to this sequence number is in blocks or gap
}

// take removes the oldest queued events, whole blocks of them up to
// about limit (at least one block), and the gap accumulated so far.
func (q *queue) take(limit int) taken {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := len(q.blocks)
	if n := limit/blockEvents + 1; n < k {
		k = n
	}
	t := taken{gap: q.gap, srcs: q.srcs, causes: q.causes}
	q.gap = gap{}
	if k >= len(q.blocks) {
		t.blocks = q.blocks
		q.blocks = nil
		q.n, q.control, q.prompt = 0, 0, 0
		t.seq = q.seq.Load()
		return t
	}
	t.blocks = append(events(nil), q.blocks[:k]...)
	q.blocks = append(q.blocks[:0], q.blocks[k:]...)
	for _, b := range t.blocks {
		q.n -= len(b.ev)
		for i := range b.ev {
			if k := b.ev[i].kind; k == evSync || k == evStop {
				q.control--
			}
			if b.ev[i].kind.prompt() {
				q.prompt--
			}
		}
	}
	t.seq = t.blocks[len(t.blocks)-1].seq
	return t
}

// oldest returns the time of the oldest queued event (0: none).
func (q *queue) oldest() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.blocks) == 0 || len(q.blocks[0].ev) == 0 {
		return 0
	}
	return q.blocks[0].ev[0].at
}

// recycle gives taken blocks back, emptied, keeping at most
// maxFreeBlocks for reuse.
func (q *queue) recycle(bs events) {
	for _, b := range bs {
		clear(b.ev) // drop references
		clear(b.x)
		b.ev, b.x = b.ev[:0], b.x[:0]
	}
	q.mu.Lock()
	for _, b := range bs {
		if len(q.free) >= maxFreeBlocks || len(q.free)*blockEvents >= q.limit {
			break
		}
		q.free = append(q.free, b)
	}
	q.mu.Unlock()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// controlQueued reports whether a Sync or stop is waiting.
func (q *queue) controlQueued() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.control > 0
}

// promptQueued reports whether an event to commit promptly is waiting.
func (q *queue) promptQueued() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.prompt > 0
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// item is a queued event as the writer reads it: the source, cause and
// extra resolved.
type item struct {
	*event
	src   *rib.Source
	cause string
	x     *extra
}

// read resolves the i-th event of block b with the numbering of t.
func (t *taken) read(b *block, i int) item {
	ev := &b.ev[i]
	it := item{event: ev}
	if int(ev.src) < len(t.srcs) {
		it.src = t.srcs[ev.src]
	}
	if ev.x != 0 {
		it.x = &b.x[ev.x-1]
		it.cause = it.x.cause
	}
	if ev.cause != 0 && int(ev.cause) < len(t.causes) {
		it.cause = t.causes[ev.cause]
	}
	return it
}

// prefix returns the event's prefix.
func (ev *event) prefix() netip.Prefix {
	a := netip.AddrFrom16(ev.addr)
	if ev.fam == bgp.IPv4Unicast {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(ev.bits))
}

// exposures returns the prefix's exposure the item carries; one is built
// in *one (no allocation).
func (it *item) exposures(t *taken, one *[1]rib.Exposure) []rib.Exposure {
	if it.x != nil && it.x.more != nil {
		return it.x.more
	}
	if it.expSrc != 0 && int(it.expSrc) < len(t.srcs) {
		one[0] = rib.Exposure{Source: t.srcs[it.expSrc], PathID: it.expPath, Members: policy.Bitset(it.expSet[:it.expWords])}
		return one[:]
	}
	return nil
}

// syncChan returns the channel of an evSync (nil otherwise).
func (it *item) syncChan() chan struct{} {
	if it.x != nil {
		return it.x.sync
	}
	return nil
}
