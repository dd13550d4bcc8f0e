package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Receiver counts the routes one member's session holds: a bit per prefix
// of the family, set on announce and cleared on withdraw, and two counters
// (routes it should hold, routes it should not). It decodes only what it
// counts: withdrawn routes, NLRI, and the NLRI inside MP_REACH_NLRI and
// MP_UNREACH_NLRI. A Receiver belongs to its session's reading goroutine;
// Stats may be read from others.
type Receiver struct {
	t        *Table
	f        Family
	me       int
	expected int
	held     []uint64
	unknown  map[unknownKey]struct{}
	conv     *Convergence
	churn    *Churn
	done     bool

	nHeld   atomic.Int64 // held and expected
	nExtra  atomic.Int64 // held but not expected: own, RPKI invalid, not in the table
	updates atomic.Int64
	nlri    atomic.Int64
	last    atomic.Int64 // time of the last UPDATE, ns since the Unix epoch

	samples []time.Duration // churn latencies seen (owned by the reader)
}

type unknownKey struct {
	hi, lo uint64
	bits   uint8
	f      Family
}

// NewReceiver returns the receiver of member me's session in family f;
// conv (may be nil) learns when it holds exactly what it should.
func NewReceiver(t *Table, f Family, me int, conv *Convergence, churn *Churn) *Receiver {
	r := &Receiver{t: t, f: f, me: me, expected: t.Expected(f, me), conv: conv, churn: churn,
		held: make([]uint64, (t.Count(f)+63)/64)}
	if r.expected == 0 {
		r.done = true
	}
	if conv != nil {
		conv.add(r.done)
	}
	return r
}

// ReceiverStats is what a receiver counted.
type ReceiverStats struct {
	Expected int   `json:"expected"`
	Held     int   `json:"held"`
	Extra    int   `json:"extra"`
	Updates  int64 `json:"updates"`
	NLRI     int64 `json:"nlri"`
}

// Stats returns the receiver's counts (safe from any goroutine).
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{Expected: r.expected, Held: int(r.nHeld.Load()), Extra: int(r.nExtra.Load()),
		Updates: r.updates.Load(), NLRI: r.nlri.Load()}
}

// Done reports whether the receiver holds every route it should and no
// other (safe from any goroutine).
func (r *Receiver) Done() bool {
	return int(r.nHeld.Load()) == r.expected && r.nExtra.Load() == 0
}

// LastUpdate returns when the last UPDATE arrived (zero before the first).
func (r *Receiver) LastUpdate() time.Time {
	if v := r.last.Load(); v != 0 {
		return time.Unix(0, v)
	}
	return time.Time{}
}

var errShort = errors.New("UPDATE shorter than its lengths say")

// Update counts one UPDATE message body (after the 19-octet header).
func (r *Receiver) Update(body []byte) error {
	r.updates.Add(1)
	var now time.Time
	if r.churn != nil {
		now = time.Now()
		r.last.Store(now.UnixNano())
	}
	if len(body) < 4 {
		return errShort
	}
	wl := int(binary.BigEndian.Uint16(body))
	if 2+wl+2 > len(body) {
		return errShort
	}
	if err := r.prefixes(IPv4, body[2:2+wl], false, now); err != nil {
		return err
	}
	al := int(binary.BigEndian.Uint16(body[2+wl:]))
	if 4+wl+al > len(body) {
		return errShort
	}
	attrs := body[4+wl : 4+wl+al]
	for len(attrs) > 0 {
		if len(attrs) < 3 {
			return errShort
		}
		flags, typ := attrs[0], attrs[1]
		hl, l := 3, int(attrs[2])
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				return errShort
			}
			hl, l = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if hl+l > len(attrs) {
			return errShort
		}
		v := attrs[hl : hl+l]
		switch typ {
		case 14: // MP_REACH_NLRI: AFI, SAFI, next hop length, next hop, reserved, NLRI
			if len(v) < 5 || 5+int(v[3]) > len(v) {
				return errShort
			}
			if err := r.prefixes(afiFamily(v), v[5+int(v[3]):], true, now); err != nil {
				return err
			}
		case 15: // MP_UNREACH_NLRI: AFI, SAFI, withdrawn
			if len(v) < 3 {
				return errShort
			}
			if err := r.prefixes(afiFamily(v), v[3:], false, now); err != nil {
				return err
			}
		}
		attrs = attrs[hl+l:]
	}
	if err := r.prefixes(IPv4, body[4+wl+al:], true, now); err != nil {
		return err
	}
	if d := r.Done(); d != r.done {
		r.done = d
		if r.conv != nil {
			r.conv.change(d)
		}
	}
	return nil
}

func afiFamily(v []byte) Family {
	if binary.BigEndian.Uint16(v) == 2 {
		return IPv6
	}
	return IPv4
}

// prefixes applies a run of encoded prefixes.
func (r *Receiver) prefixes(f Family, b []byte, announce bool, now time.Time) error {
	for len(b) > 0 {
		bits := int(b[0])
		n := (bits + 7) / 8
		if bits > f.addrBits() || 1+n > len(b) {
			return fmt.Errorf("malformed %s prefix (length %d, %d octets left)", f, bits, len(b)-1)
		}
		var hi, lo uint64
		for i := 0; i < n; i++ {
			if i < 8 {
				hi |= uint64(b[1+i]) << (56 - 8*i)
			} else {
				lo |= uint64(b[1+i]) << (56 - 8*(i-8))
			}
		}
		b = b[1+n:]
		r.nlri.Add(1)
		idx, owner, ok := 0, 0, false
		if f == r.f && bits <= 64 {
			idx, owner, ok = r.t.Lookup(f, hi, bits)
		}
		if !ok {
			r.unknownPrefix(unknownKey{hi, lo, uint8(bits), f}, announce)
			continue
		}
		w, bit := idx/64, uint64(1)<<(idx%64)
		has := r.held[w]&bit != 0
		if has == announce {
			continue // a replacement, or a withdraw of what we do not hold
		}
		r.held[w] ^= bit
		d := int64(1)
		if !announce {
			d = -1
		}
		if owner != r.me && !r.t.Invalid(f, idx) {
			r.nHeld.Add(d)
			if r.churn != nil {
				r.churnSample(idx, announce, now)
			}
		} else {
			r.nExtra.Add(d)
		}
	}
	return nil
}

func (r *Receiver) unknownPrefix(k unknownKey, announce bool) {
	if r.unknown == nil {
		r.unknown = map[unknownKey]struct{}{}
	}
	_, has := r.unknown[k]
	switch {
	case announce && !has:
		r.unknown[k] = struct{}{}
		r.nExtra.Add(1)
	case !announce && has:
		delete(r.unknown, k)
		r.nExtra.Add(-1)
	}
}

func (r *Receiver) churnSample(idx int, announce bool, now time.Time) {
	v := r.churn.pending[r.f][idx].Load()
	if v == 0 || (v&1 == 1) != announce {
		return
	}
	if d := now.Sub(r.churn.base) - time.Duration(v>>1); d >= 0 {
		r.samples = append(r.samples, d)
	}
}

// Samples returns the churn latencies the receiver saw; call it only once
// the session's reader has stopped.
func (r *Receiver) Samples() []time.Duration { return r.samples }

// Convergence tells when every receiver of a run holds exactly what it
// should, for the first time.
type Convergence struct {
	mu     sync.Mutex
	total  int
	done   int
	at     time.Time
	closed bool
	ch     chan struct{}
}

// NewConvergence returns a Convergence with no receivers.
func NewConvergence() *Convergence { return &Convergence{ch: make(chan struct{})} }

func (c *Convergence) add(done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if done {
		c.done++
	}
}

func (c *Convergence) change(done bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if done {
		c.done++
	} else {
		c.done--
	}
	if c.done == c.total && !c.closed {
		c.closed, c.at = true, now
		close(c.ch)
	}
}

// C is closed when every receiver is done for the first time.
func (c *Convergence) C() <-chan struct{} { return c.ch }

// At is when that happened (zero before).
func (c *Convergence) At() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

// Progress returns how many receivers are done, of how many.
func (c *Convergence) Progress() (done, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done, c.total
}

// Churn holds when each prefix was last announced or withdrawn by the
// churn driver, for the receivers' latency samples.
type Churn struct {
	base    time.Time
	pending [2][]atomic.Int64 // (time since base)<<1 | 1 for announce
}

// NewChurn returns the churn record for table t.
func NewChurn(t *Table) *Churn {
	c := &Churn{base: time.Now()}
	for _, f := range []Family{IPv4, IPv6} {
		c.pending[f] = make([]atomic.Int64, t.Count(f))
	}
	return c
}

// mark records that prefix idx is being announced or withdrawn now.
func (c *Churn) mark(f Family, idx int, announce bool) {
	v := int64(time.Since(c.base)) << 1
	if announce {
		v |= 1
	}
	c.pending[f][idx].Store(v)
}
