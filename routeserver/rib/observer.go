package rib

import (
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

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
