package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// Prefix search (GET /v1/prefixes, the page /prefixes) and the
// per-target explanation (GET /v1/explain, the page
// /members/{member}/routes/{prefix}). Which candidate each target
// receives is read from the RIB's own per-target decision
// (rib.ExportableTo, the decision; rib.HeldRoute, what the target holds):
// nothing here decides between routes.

// PrefixSearch is GET /v1/prefixes: for the prefix matched, every
// candidate path and what each target member receives.
type PrefixSearch struct {
	// Query is q as given; Match is exact or longest.
	Query string `json:"query"`
	Match string `json:"match"`
	// Prefix is the prefix matched; Family ipv4 or ipv6.
	Prefix string `json:"prefix"`
	Family string `json:"family"`
	// RSASN is the route server's AS (of the reasons' large communities,
	// RSASN:1101:code).
	RSASN uint32 `json:"rs_asn"`
	// Candidates are the routes the members sent for the prefix, best
	// first, with their verdict and reasons and the members that hold
	// each (exported_to). A member viewer sees its own, and the route it
	// receives exactly as sent (without the sender's reasons).
	Candidates []Route `json:"candidates"`
	// Targets are the members, in configuration order, with what each
	// receives for the prefix. A member viewer sees its own row and the
	// rows of the members its routes are exported to (or not, and why).
	Targets []PrefixTarget `json:"targets"`
	// Viewer is the member the answer is narrowed to ("" for the
	// operator).
	Viewer string `json:"viewer,omitempty"`
}

// PrefixTarget is what one member receives for the prefix.
type PrefixTarget struct {
	Member string `json:"member"`
	ASN    uint32 `json:"asn"`
	// Status is "receives" (it holds the route from From with PathID:
	// sent on an established session and neither withdrawn nor replaced
	// since), "pending" (the route server chose From's route for it; its
	// session writer has not sent it yet) or "none".
	Status string `json:"status"`
	From   string `json:"from,omitempty"`
	PathID uint32 `json:"path_id,omitempty"`
	// Candidate is the index in Candidates of the route it receives (or
	// is about to), -1 when none or not shown to the viewer.
	Candidate int `json:"candidate"`
	// Pending marks a target that holds a route with a change of the
	// prefix queued for it.
	Pending bool `json:"pending,omitempty"`
	// Reason, when it receives nothing: "filtered" (every route of the
	// other members is filtered at import), "not exportable by policy"
	// (the export policy allows it none), "session down" (no established
	// session carrying the family) or "not sent". Detail says more.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Sent is the route as it was sent to the target (prepends, action
	// communities stripped, informational communities and OTC added).
	Sent *Route `json:"sent,omitempty"`
}

// Target statuses and reasons (PrefixTarget).
const (
	TargetReceives = "receives"
	TargetPending  = "pending"
	TargetNone     = "none"

	ReasonFiltered      = "filtered"
	ReasonNotExportable = "not exportable by policy"
	ReasonSessionDown   = "session down"
	ReasonNotSent       = "not sent"
)

// maxQuery is the longest q (and explain prefix) accepted.
const maxQuery = 64

// errForbidden marks what a member viewer may not see (403).
var errForbidden = errors.New("forbidden")

// httpError is an error with its HTTP status.
type httpError struct {
	status int
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func failf(status int, format string, args ...any) error {
	return &httpError{status, fmt.Errorf(format, args...)}
}

// statusOf is the HTTP status of an error of this file (or errStatus's).
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	if errors.Is(err, errForbidden) {
		return http.StatusForbidden
	}
	return errStatus(err)
}

// parseQuery reads q and match: the prefix or address searched and the
// lookup mode (default: exact for a prefix, longest for an address).
func parseQuery(q, match string) (netip.Prefix, string, error) {
	if q == "" {
		return netip.Prefix{}, "", failf(http.StatusBadRequest, "q is required: a prefix or an address, e.g. 10.40.0.0/16, 2001:db8:400::/40 or 10.40.1.7")
	}
	if len(q) > maxQuery {
		return netip.Prefix{}, "", failf(http.StatusBadRequest, "q is %d characters long; a prefix or an address has at most %d", len(q), maxQuery)
	}
	p, isAddr, err := parsePrefix(strings.TrimSpace(q))
	if err != nil {
		return netip.Prefix{}, "", failf(http.StatusBadRequest, "q: %v", err)
	}
	switch match {
	case "":
		match = "exact"
		if isAddr {
			match = "longest"
		}
	case "exact", "longest":
	default:
		return netip.Prefix{}, "", failf(http.StatusBadRequest, "match %q: want exact or longest", match)
	}
	return p, match, nil
}

func (a *API) prefixes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := a.prefixSearch(viewerOf(r), q.Get("q"), q.Get("match"))
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// prefixSearch is what GET /v1/prefixes returns and the page /prefixes
// shows, narrowed to v.
func (a *API) prefixSearch(v viewer, query, match string) (PrefixSearch, error) {
	p, match, err := parseQuery(query, match)
	if err != nil {
		return PrefixSearch{}, err
	}
	mode := rib.Exact
	if match == "longest" {
		mode = rib.Covering
	}
	// Group the candidates by prefix; the most specific prefix with
	// something v may see is the match.
	var (
		matched netip.Prefix
		cands   []rib.Route
	)
	rs := a.srv.RIB().Lookup(p, mode)
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j].Prefix == rs[i].Prefix {
			j++
		}
		if pp := rs[i].Prefix; a.visiblePrefix(v, pp, rs[i:j]) && (!matched.IsValid() || pp.Bits() > matched.Bits()) {
			matched, cands = pp, rs[i:j]
		}
		i = j
	}
	if !matched.IsValid() {
		if match == "exact" {
			return PrefixSearch{}, failf(http.StatusNotFound, "no route for %s (exact match): no member sent one%s", p, v.mayNotSee())
		}
		return PrefixSearch{}, failf(http.StatusNotFound, "no route covers %s (longest match): no member sent %s or a less specific prefix%s", query, p, v.mayNotSee())
	}
	cfg := a.srv.Config()
	out := PrefixSearch{
		Query: query, Match: match, Prefix: matched.String(), Family: familyName(familyOf(matched)),
		RSASN: cfg.Server.ASN, Candidates: []Route{}, Targets: []PrefixTarget{}, Viewer: v.name,
	}
	sortCandidates(cands)
	for _, c := range cands {
		if !v.is(c.Source.Member) {
			continue
		}
		x := MakeRoute(c, a.srv.MemberName(c.Source.Member))
		x.ExportedTo, x.PendingTo = a.srv.Receivers(c)
		out.Candidates = append(out.Candidates, x)
	}
	for ti, m := range cfg.Members {
		t, show := a.prefixTarget(v, ti, matched, cands, &out)
		if show {
			t.Member, t.ASN = m.Name, m.ASN
			out.Targets = append(out.Targets, t)
		}
	}
	return out, nil
}

// mayNotSee completes a not-found message for a member viewer.
func (v viewer) mayNotSee() string {
	if v.all() {
		return ""
	}
	return " that " + v.name + " may see (its own routes and the routes exported to it)"
}

// visiblePrefix reports whether v sees anything of prefix p with
// candidates cs: the operator everything, a member its own routes and
// the route it holds.
func (a *API) visiblePrefix(v viewer, p netip.Prefix, cs []rib.Route) bool {
	if v.all() {
		return len(cs) > 0
	}
	for _, c := range cs {
		if c.Source.Member == v.member {
			return true
		}
	}
	_, ok := a.srv.RIB().HeldRoute(v.member, p)
	return ok
}

// sortCandidates orders the candidates best first, then accepted before
// filtered, then by member and path ID.
func sortCandidates(cs []rib.Route) {
	rank := func(r rib.Route) int {
		switch {
		case r.Best:
			return 0
		case r.Verdict.Accepted():
			return 1
		}
		return 2
	}
	slices.SortStableFunc(cs, func(a, b rib.Route) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		if d := a.Source.Member - b.Source.Member; d != 0 {
			return d
		}
		if a.PathID != b.PathID {
			if a.PathID < b.PathID {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Source.Addr.String(), b.Source.Addr.String())
	})
}

// prefixTarget is what target ti receives for p among the candidates cs,
// as v may see it (show false: v may not see the row).
func (a *API) prefixTarget(v viewer, ti int, p netip.Prefix, cs []rib.Route, out *PrefixSearch) (PrefixTarget, bool) {
	t := PrefixTarget{Status: TargetNone, Candidate: -1}
	rb := a.srv.RIB()
	f := familyOf(p)
	own := !v.all() && v.member == ti
	// The route server's decision for ti, and what ti holds.
	chosen, hasChosen := rb.ExportableTo(ti, p)
	held, holds := rb.HeldRoute(ti, p)
	index := func(r rib.Route) int {
		for i, c := range out.Candidates {
			if c.Member == a.srv.MemberName(r.Source.Member) && c.PathID == r.PathID && c.Neighbor == r.Source.Addr.String() {
				return i
			}
		}
		return -1
	}
	switch {
	case holds:
		t.Status, t.From, t.PathID, t.Pending = TargetReceives, a.srv.MemberName(held.Source.Member), held.PathID, held.Pending
		if sent, err := routeserver.SentAttrs(&held); err == nil {
			r := held.Route
			r.Attrs = sent
			x := MakeRoute(r, t.From)
			x.Best = false
			t.Sent = &x
		} else {
			t.Detail = "the attributes sent cannot be shown: " + err.Error()
		}
		if own && !v.is(held.Source.Member) && t.Sent != nil {
			// The route the member viewer receives: shown as sent,
			// without the sender's reasons or exposure.
			t.Sent.TaggedReasons, t.Sent.FilteredReasons = []Reason{}, []Reason{}
			x := *t.Sent
			x.ExportedTo, x.PendingTo = []string{v.name}, nil
			out.Candidates = append(out.Candidates, x)
		}
		t.Candidate = index(held.Route)
	case hasChosen:
		if why := a.srv.NoSession(ti, rib.HeldFilter{Family: f, HasFamily: true}); why != "" {
			t.Reason, t.Detail = ReasonSessionDown, why
		} else if _, pending := a.srv.Receivers(chosen); slices.Contains(pending, a.srv.MemberName(ti)) {
			t.Status, t.From, t.PathID = TargetPending, a.srv.MemberName(chosen.Source.Member), chosen.PathID
			t.Detail = "a change of this prefix is queued for it; its session writer has not sent it yet"
			t.Candidate = index(chosen)
		} else {
			t.Reason, t.Detail = ReasonNotSent, "the UPDATE could not be built within the session's message size"
		}
	default:
		t.Reason, t.Detail = noneReason(a.srv, ti, cs)
		if t.Reason == "" {
			// A route is allowed to it, yet none is chosen: it has no
			// session the RIB knows of.
			t.Reason, t.Detail = ReasonSessionDown, a.srv.NoSession(ti, rib.HeldFilter{Family: f, HasFamily: true})
		}
	}
	if v.all() {
		return t, true
	}
	if own {
		if t.Status == TargetNone && t.Reason != ReasonSessionDown {
			// Why none of the others' routes reaches it is theirs.
			t.Reason, t.Detail = ReasonNotSent, "the route server exports no route for this prefix to "+v.name
		}
		if t.Status == TargetPending && !v.is(chosen.Source.Member) {
			t.From, t.PathID, t.Candidate = "", 0, -1
		}
		return t, true
	}
	// Another member's row: only about the viewer's own routes (their
	// exposure).
	var mine []rib.Route
	for _, c := range cs {
		if c.Source.Member == v.member {
			mine = append(mine, c)
		}
	}
	if len(mine) == 0 {
		return t, false
	}
	if (t.Status == TargetReceives || t.Status == TargetPending) && t.From == v.name {
		return t, true
	}
	t = PrefixTarget{Status: TargetNone, Candidate: -1}
	t.Reason, t.Detail = noneReason(a.srv, ti, mine)
	if t.Reason == "" {
		// Own routes allowed to it: another route is chosen for it, or
		// it cannot receive (its session): not the viewer's to know.
		t.Reason, t.Detail = ReasonNotSent, "it does not receive "+v.name+"'s route: another route is preferred for it, or its session is down"
	}
	return t, true
}

// noneReason says why target ti gets none of the candidates cs by the
// export policy ("" when one of them is allowed to it).
func noneReason(srv *routeserver.Server, ti int, cs []rib.Route) (string, string) {
	var others, accepted int
	for _, c := range cs {
		if c.Source.Member == ti {
			continue
		}
		others++
		if !c.Verdict.Accepted() {
			continue
		}
		accepted++
		if c.Profile != nil && c.Profile.Allows(ti) {
			return "", ""
		}
	}
	name := srv.MemberName(ti)
	switch {
	case others == 0:
		return ReasonNotExportable, "the only route is " + name + "'s own: a route is never sent back to the member that sent it"
	case accepted == 0:
		return ReasonFiltered, "every route for this prefix from the other members is filtered at import (reasons above)"
	}
	return ReasonNotExportable, "the export policy allows " + name + " none of the accepted routes (action communities, groups or an AS_PATH loop; see the explanation)"
}

func familyOf(p netip.Prefix) bgp.Family {
	if p.Addr().Is4() {
		return bgp.IPv4Unicast
	}
	return bgp.IPv6Unicast
}

// explainFor is the policy trace of member's route for p (the one with
// pathID when given) toward target to ("" for none), as viewer v may see
// it: what GET /v1/explain returns and the explanation page shows. A
// member viewer may explain its own routes (toward any target) and
// another member's route only toward itself when it holds that route;
// delivery details about other members are reduced to what concerns
// its own route.
func (a *API) explainFor(v viewer, member string, p netip.Prefix, pathID *uint32, to string) (policy.Trace, error) {
	if !v.all() && member != v.name {
		if to != v.name {
			return policy.Trace{}, fmt.Errorf("%w; to see how the route server treats %s's route toward you, ask with to=%s: %w", notYours(v, member), member, v.name, errForbidden)
		}
		mi, err := a.srv.MemberIndex(member)
		if err != nil {
			return policy.Trace{}, err
		}
		h, ok := a.srv.RIB().HeldRoute(v.member, p)
		if !ok || h.Source.Member != mi || (pathID != nil && *pathID != h.PathID) {
			return policy.Trace{}, fmt.Errorf("%w (you do not receive %s's route for %s; a member may explain another member's route only when it receives it): %w", notYours(v, member), member, p, errForbidden)
		}
		if pathID == nil {
			id := h.PathID
			pathID = &id
		}
	}
	tr, err := a.srv.Explain(member, p, pathID, to)
	if err != nil {
		return tr, err
	}
	// What a member may see of it (narrow.go): another member's route
	// as sent, without the sender's import checks; its own route without
	// whose route a target prefers.
	tr, err = explainFor(v, member, to, tr)
	if err != nil {
		return tr, fmt.Errorf("%w: %w", err, errForbidden)
	}
	return tr, nil
}
