package routeserver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// What the route server tells operators about exports follows one
// definition: a member holds (was exported) a route when the route server
// sent it on an Established session and has not since withdrawn or
// replaced it. A session going down ends it; it starts again only when
// the route is sent again. The looking glass, explain, the history and the
// metrics all use it.

// Receivers lists the members that hold route r and those with a change
// of its prefix queued (about to receive it, or about to see what they
// hold for the prefix change), by name.
func (s *Server) Receivers(r rib.Route) (held, pending []string) {
	h, p := s.rib.Receivers(r)
	for _, m := range h {
		held = append(held, s.MemberName(m))
	}
	for _, m := range p {
		pending = append(pending, s.MemberName(m))
	}
	return held, pending
}

// SentAttrs decodes what the member received for a held route: the UPDATE
// the route server builds for it, decoded as the member decodes it.
func SentAttrs(h *rib.Held) (*wire.AttrSet, error) {
	return h.DecodeSent(wire.NewTable())
}

// explainDelivery fills the delivery of route r to member ti into x.
func (s *Server) explainDelivery(r rib.Route, ti int, x *policy.ExportTrace) {
	target := s.MemberName(ti)
	switch {
	case !r.Verdict.Accepted():
		x.Delivery, x.DeliveryDetail = policy.DeliveryNotSent, "the route is filtered at import"
		return
	case !x.Allowed:
		x.Delivery, x.DeliveryDetail = policy.DeliveryNotSent, "the export policy does not allow it (steps above)"
		return
	}
	held, pending := s.rib.Receivers(r)
	if slices.Contains(held, ti) {
		// What it holds, read again: the same route unless it changed
		// in between (then judged below, as it stands now).
		if h, ok := s.rib.HeldRoute(ti, r.Prefix); ok && h.Source == r.Source && h.PathID == r.PathID {
			x.Delivery = policy.DeliverySent
			x.DeliveryDetail = target + " holds this route"
			x.Sent = nil // the policy's rendering; replaced by what went on the wire
			if a, err := SentAttrs(&h); err == nil {
				t := policy.RouteTextOf(r.Prefix, &a.Attrs)
				x.Sent = &t
			} else {
				x.DeliveryDetail += " (the attributes sent cannot be shown: " + err.Error() + ")"
			}
			return
		}
		held, pending = s.rib.Receivers(r)
	}
	for _, m := range pending {
		if m == ti {
			x.Delivery, x.DeliveryDetail = policy.DeliveryPending, "a change of this prefix is queued for "+target+"; its session writer has not sent it yet"
			return
		}
	}
	x.Delivery = policy.DeliveryNotSent
	if why := s.noSessionFor(ti, r.Family); why != "" {
		x.DeliveryDetail = why
		return
	}
	if h, ok := s.rib.HeldRoute(ti, r.Prefix); ok {
		x.DeliveryDetail = fmt.Sprintf("%s receives %s's route for %s instead: the best of the routes it may receive", target, s.MemberName(h.Source.Member), r.Prefix)
		return
	}
	if alt, ok := s.rib.ExportableTo(ti, r.Prefix); ok && (alt.Source != r.Source || alt.PathID != r.PathID) {
		x.DeliveryDetail = fmt.Sprintf("%s is to receive %s's route for %s instead: the best of the routes it may receive", target, s.MemberName(alt.Source.Member), r.Prefix)
		return
	}
	x.DeliveryDetail = target + " does not hold it (the UPDATE could not be built within the session's message size)"
}

// noSessionFor says why member mi has no established session carrying
// family f ("" when it has one).
func (s *Server) noSessionFor(mi int, f bgp.Family) string {
	nbrs := s.neighborsOf(mi)
	name := s.MemberName(mi)
	if len(nbrs) == 0 {
		return name + " has no neighbour configured"
	}
	var states []string
	for _, n := range nbrs {
		info := n.peer.Info()
		if info.State == session.Established {
			if st := s.rib.Stats(n.src); st.SendFamilies[f] {
				return ""
			}
			states = append(states, fmt.Sprintf("%s: established without %s", n.src.Addr, f))
			continue
		}
		st := info.State.String()
		if !info.Since.IsZero() {
			st += " since " + info.Since.UTC().Format(time.RFC3339)
		}
		states = append(states, fmt.Sprintf("%s: %s", n.src.Addr, st))
	}
	return fmt.Sprintf("%s has no established session carrying %s (%s)", name, f, strings.Join(states, ", "))
}

// NoSession says, for a member's exported view, which of the families
// asked (flt) the member has no established session for ("" when every
// one has one).
func (s *Server) NoSession(mi int, flt rib.HeldFilter) string {
	var notes []string
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if flt.HasFamily && flt.Family != f {
			continue
		}
		if why := s.noSessionFor(mi, f); why != "" {
			notes = append(notes, why)
		}
	}
	return strings.Join(notes, "; ")
}
