package rib

import "github.com/fedrs/fedrs/routeserver/bgp"

// SyncObserver is an Observer that also wants to know when the route
// server has finished a target's initial transfer: after a session comes
// up, Fill sends the whole table for each family, then End-of-RIB (RFC
// 4724 §2), and calls EndOfRIBSent as it appends the marker. Until then
// the member holds only part of what it is being sent.
//
// Fill runs under the RIB's read lock, concurrently for different
// targets: EndOfRIBSent must be safe for concurrent use, must not block,
// and must not call back into the RIB.
type SyncObserver interface {
	EndOfRIBSent(s *Source, f bgp.Family)
}

func (m *multiObserver) EndOfRIBSent(s *Source, f bgp.Family) {
	for _, o := range m.list {
		if so, ok := o.(SyncObserver); ok {
			so.EndOfRIBSent(s, f)
		}
	}
}

// endOfRIBSent tells the observer that s's initial transfer of f is
// complete (Fill, read lock held).
func (r *RIB) endOfRIBSent(s *Source, f bgp.Family) {
	if so, ok := r.obs.(SyncObserver); ok {
		so.EndOfRIBSent(s, f)
	}
}
