package rib

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

// seqHistory numbers every route event as the history's queue does
// (Pushed) and commits up to a number the test sets (Committed).
type seqHistory struct{ pushed, committed atomic.Uint64 }

func (h *seqHistory) RouteEvent(*RouteEvent) { h.pushed.Add(1) }
func (h *seqHistory) Pushed() uint64         { return h.pushed.Load() }
func (h *seqHistory) Committed() uint64      { return h.committed.Load() }

// TestDurableGateLongRun: the durable gate holds a change until the
// history has committed its event, and keeps doing so after the event
// numbers have run past 2^31 and 2^32 (a route server that stays up for
// months): a route whose last change is older than 2^31 events is
// committed long ago and goes to a member that asks for the table again,
// and a new change is held until its commit, then sent.
func TestDurableGateLongRun(t *testing.T) {
	for _, start := range []uint64{0, 1<<31 - 3, 1<<32 - 3} {
		tr := newTestRIB(t, 3)
		h := &seqHistory{}
		h.pushed.Store(start)
		h.committed.Store(start)
		tr.r.SetObserver(h)
		tr.r.SetDurable(h)
		for i := range tr.srcs {
			tr.drain(t, i)
		}
		old, fresh := netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")
		tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], old.String())
		if s := tr.drain(t, 1); s.announced[old] != nil {
			t.Fatalf("start %d: %s sent before its event was committed", start, old)
		}
		h.committed.Store(h.pushed.Load())
		if s := tr.drain(t, 1); s.announced[old] == nil {
			t.Fatalf("start %d: %s not sent once committed", start, old)
		}
		// 2^31 + 10 events later (other prefixes' changes, sessions...),
		// all committed, member 1 asks for the table again.
		h.pushed.Add(1<<31 + 10)
		h.committed.Store(h.pushed.Load())
		tr.announce(2, tr.attrs(2, []uint32{300}, 0), tr.profile[2], fresh.String())
		tr.r.Refresh(tr.srcs[1], 0)
		s := tr.drain(t, 1)
		if s.announced[old] == nil {
			t.Errorf("start %d: after 2^31 more events, the refresh left out %s (committed long ago)", start, old)
		}
		if s.announced[fresh] != nil {
			t.Errorf("start %d: %s sent before its event was committed", start, fresh)
		}
		h.committed.Store(h.pushed.Load())
		if s := tr.drain(t, 1); s.announced[fresh] == nil {
			t.Errorf("start %d: %s not sent once committed", start, fresh)
		}
	}
}
