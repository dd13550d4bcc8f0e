package api

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
)

// What a member viewer sees of the existing answers (access.go's scoped
// routes): its own sessions and routes, with reasons and exposure, and
// the routes the route server exports to it exactly as sent; nothing
// else about other members.

// statusFor is GET /v1/status as v sees it: for a member, the counts of
// its own sessions and routes, not the route server's totals, and none
// of the operator's files and collectors.
func (a *API) statusFor(v viewer) Status {
	st := a.statusData()
	if v.all() {
		return st
	}
	st.Neighbors, st.SessionsUp, st.Accepted, st.Filtered = 0, 0, 0, 0
	st.PrefixesV4, st.PrefixesV6, st.Routes, st.AttrSets, st.PendingOut = 0, 0, 0, 0, 0
	st.ConfigFile, st.History, st.BMP, st.MRT = "", nil, nil, nil
	for _, n := range a.srv.Neighbors() {
		if n.Member != v.member {
			continue
		}
		st.Neighbors++
		if n.Peer.State() == session.Established {
			st.SessionsUp++
		}
		s := a.srv.RIB().Stats(n.Source)
		for f := range s.Received {
			st.Routes += s.Received[f]
			st.Accepted += s.Accepted[f]
			st.Filtered += s.Received[f] - s.Accepted[f]
			switch bgp.Family(f) {
			case bgp.IPv4Unicast:
				st.PrefixesV4 += s.Received[f]
			case bgp.IPv6Unicast:
				st.PrefixesV6 += s.Received[f]
			}
		}
	}
	return st
}

// neighborsFor is GET /v1/neighbors as v sees it: a member, its own.
func (a *API) neighborsFor(v viewer) []Neighbor {
	out := []Neighbor{}
	cfg := a.srv.Config()
	for _, n := range a.srv.Neighbors() {
		if v.is(n.Member) {
			out = append(out, a.neighbor(cfg, n))
		}
	}
	return out
}

// sentRoute is a route member mi holds, with the attributes exactly as
// they were sent to it.
func (a *API) sentRoute(mi int, h *rib.Held) (Route, error) {
	sent, err := routeserver.SentAttrs(h)
	if err != nil {
		return Route{}, fmt.Errorf("%s for %s: %w", h.Prefix, a.srv.MemberName(mi), err)
	}
	r := h.Route
	r.Attrs = sent
	x := MakeRoute(r, a.srv.MemberName(r.Source.Member))
	x.Pending = h.Pending
	return x, nil
}

// narrowRoutes removes from rs, for a member viewer, what the route
// server knows of other members' routes beyond what it sent: their
// reasons and whom else they went to.
func (v viewer) narrowRoutes(rs []Route) []Route {
	if v.all() {
		return rs
	}
	for i := range rs {
		if rs[i].Member != v.name {
			rs[i].FilteredReasons, rs[i].TaggedReasons = []Reason{}, []Reason{}
			rs[i].ExportedTo, rs[i].PendingTo = nil, nil
		}
	}
	return rs
}

// lookupFor is GET /v1/lookup's routes as v sees them: a member, its own
// routes among rs, and for each prefix of rs the route the route server
// exports to it, as sent.
func (a *API) lookupFor(v viewer, rs []rib.Route) ([]Route, error) {
	if v.all() {
		return a.toRoutes(rs), nil
	}
	out := []Route{}
	seen := map[netip.Prefix]bool{}
	for _, x := range rs {
		if x.Source.Member == v.member {
			out = append(out, MakeRoute(x, v.name))
			continue
		}
		if seen[x.Prefix] {
			continue
		}
		seen[x.Prefix] = true
		if h, ok := a.srv.RIB().HeldRoute(v.member, x.Prefix); ok {
			r, err := a.sentRoute(v.member, &h)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return v.narrowRoutes(out), nil
}

// heldFrom is, for member viewer v, the route of member mi for p that
// the route server exports to v, as sent; ok false when it exports none
// of mi's routes for p to v.
func (a *API) heldFrom(v viewer, mi int, p netip.Prefix, pathID *uint32) (Route, bool, error) {
	h, ok := a.srv.RIB().HeldRoute(v.member, p)
	if !ok || h.Source.Member != mi || (pathID != nil && *pathID != h.PathID) {
		return Route{}, false, nil
	}
	r, err := a.sentRoute(v.member, &h)
	if err != nil {
		return Route{}, false, err
	}
	return v.narrowRoutes([]Route{r})[0], true, nil
}

// explainFor narrows an explanation of member's route for p toward to,
// for member viewer v: its own routes are explained in full; another
// member's only toward v and only when the route server sends it to v,
// without that member's import checks and reasons, and with the route as
// sent to v.
func explainFor(v viewer, member, to string, tr policy.Trace) (policy.Trace, error) {
	if v.all() {
		return tr, nil
	}
	if member == v.name {
		// Its own route toward another member: that the target prefers
		// another route, not whose.
		if x := tr.Export; x != nil && x.Target != v.name && x.Delivery == policy.DeliveryNotSent && strings.HasSuffix(x.DeliveryDetail, " instead: the best of the routes it may receive") {
			x.DeliveryDetail = fmt.Sprintf("%s receives another member's route for %s instead: the best of the routes it may receive", x.Target, tr.Route.Prefix)
		}
		return tr, nil
	}
	if to != v.name {
		return policy.Trace{}, fmt.Errorf("%w; to see how the route server treats %s's route toward you, ask with to=%s", notYours(v, member), member, v.name)
	}
	x := tr.Export
	if x == nil || (x.Delivery != policy.DeliverySent && x.Delivery != policy.DeliveryPending) {
		return policy.Trace{}, fmt.Errorf("%w (the route server does not export its route for %s to you)", notYours(v, member), tr.Route.Prefix)
	}
	tr.Import = nil
	tr.Result = policy.VerdictText{Accepted: tr.Result.Accepted, ROV: tr.Result.ROV, ASPA: tr.Result.ASPA, Registry: tr.Result.Registry}
	if x.Sent != nil {
		tr.Route = *x.Sent
	}
	return tr, nil
}
