package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/history"
)

// The prefix history timeline: GET /v1/history/prefix (who announced a
// prefix, with which attributes and verdict, and to whom it was exported,
// over a time range), GET /v1/history/at (the routes held for a prefix at
// one instant, and whether a member could reach it then) and the page
// /prefixes/{prefix}/history that draws both (pages_timeline.go).

const (
	// timelineDefaultRange is the range of a query without from.
	timelineDefaultRange = 24 * time.Hour
	// timelineMaxRange is the longest range a query may ask for.
	timelineMaxRange = 366 * 24 * time.Hour
	// timelineMaxVersions caps the route versions of one answer.
	timelineMaxVersions = 2000
)

// PrefixHistory is the answer of GET /v1/history/prefix: every
// announcement version of a prefix that overlaps [from, to), and per
// target member the intervals in which a route for it was exported to
// that member.
type PrefixHistory struct {
	Prefix string    `json:"prefix"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Viewer is the member the answer is narrowed to ("" for the
	// operator).
	Viewer   string          `json:"viewer,omitempty"`
	Versions []PrefixVersion `json:"versions"`
	// Exported lists, per target member (by name), the intervals in
	// which a route for the prefix was exported to it: sent on an
	// Established session and not withdrawn or replaced.
	Exported []MemberIntervals `json:"exported"`
	// Notices are periods in which the history is incomplete.
	Notices []history.Notice `json:"notices,omitempty"`
	Note    string           `json:"note,omitempty"`
}

// PrefixVersion is one announcement version: a member's route for the
// prefix with one set of attributes and one verdict, from From until To
// (null: still held at the history's last commit).
type PrefixVersion struct {
	ID       int64      `json:"id"`
	Prefix   string     `json:"prefix"`
	Member   string     `json:"member"`
	Neighbor string     `json:"neighbor,omitempty"`
	PathID   uint32     `json:"path_id,omitempty"`
	From     time.Time  `json:"from"`
	To       *time.Time `json:"to"`
	// OriginAS is the last AS of the AS_PATH (absent for an empty path).
	OriginAS uint32 `json:"origin_as,omitempty"`
	ASPath   string `json:"as_path"`
	NextHop  string `json:"next_hop"`
	// AsSent: another member's route shown to a member viewer only as
	// the route server exported it to that viewer: From and To span
	// those exports, and the import verdict's details are left out.
	AsSent bool `json:"as_sent,omitempty"`
	// Verdict is "accepted" or "filtered".
	Verdict  string   `json:"verdict"`
	Accepted bool     `json:"accepted"`
	Reasons  []Reason `json:"reasons,omitempty"`
	Tagged   []string `json:"tagged,omitempty"`
	// RPKI is the route origin validation state (valid, invalid,
	// not-found); ASPA the ASPA verification state.
	RPKI        string   `json:"rpki"`
	ASPA        string   `json:"aspa,omitempty"`
	Communities []string `json:"communities,omitempty"`
	Large       []string `json:"large_communities,omitempty"`
	Cause       string   `json:"cause,omitempty"`
	EndCause    string   `json:"end_cause,omitempty"`
	// Exported lists per target member the intervals in which this
	// version was exported to it.
	Exported []MemberIntervals `json:"exported"`
}

// MemberIntervals are one target member's export intervals.
type MemberIntervals struct {
	Member    string           `json:"member"`
	Intervals []ExportInterval `json:"intervals"`
}

// ExportInterval is an interval in which a route version was exported to
// a member, To null while it still is at the last commit.
type ExportInterval struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"`
	// Version is the id of the version exported, Announcer the member
	// that announced it.
	Version   int64  `json:"version"`
	Announcer string `json:"announcer"`
	// InitialTransfer: the export began inside the session's initial
	// transfer (sent between the session's up and its End-of-RIB).
	InitialTransfer bool `json:"initial_transfer,omitempty"`
}

// HistoryAt is the answer of GET /v1/history/at: the routes for a prefix
// the route server held at one instant, with their verdicts, and with
// member, whether that member could reach the prefix then.
type HistoryAt struct {
	Prefix string    `json:"prefix"`
	At     time.Time `json:"at"`
	Viewer string    `json:"viewer,omitempty"`
	// Routes are the versions held at At; each one's exported lists the
	// members it was exported to at At.
	Routes  []PrefixVersion  `json:"routes"`
	Reach   *Reach           `json:"reach,omitempty"`
	Notices []history.Notice `json:"notices,omitempty"`
}

// Reach says whether a member could reach a prefix at an instant: which
// route (for the prefix or a covering one) was exported to it, or why
// none was.
type Reach struct {
	Member    string `json:"member"`
	SessionUp bool   `json:"session_up"`
	Reachable bool   `json:"reachable"`
	// Via is the prefix of the route exported to the member: the prefix
	// asked for or the longest covering prefix.
	Via   string         `json:"via,omitempty"`
	Route *PrefixVersion `json:"route,omitempty"`
	// Answer is one sentence; Details one line per route held for the
	// prefix that was not exported to the member, saying why.
	Answer  string   `json:"answer"`
	Details []string `json:"details,omitempty"`
}

// errField is a bad query parameter: 400 naming it.
func errField(field string, err error) error { return fmt.Errorf("%s: %w", field, err) }

// historyStatus is the HTTP status of a history error.
func historyStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoHistory), errors.Is(err, history.ErrUnknownMember), errors.Is(err, errUnknownPrefix):
		return http.StatusNotFound
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errBadQuery):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

var (
	errUnknownPrefix = errors.New("no history")
	errBadQuery      = errors.New("bad query")
)

// badQuery is an error of the query (400).
type badQuery struct{ error }

func (e badQuery) Unwrap() error      { return e.error }
func (badQuery) Is(target error) bool { return target == errBadQuery }

// bad marks err as a bad query (400).
func bad(err error) error { return badQuery{err} }

// timelinePrefix reads the prefix parameter.
func timelinePrefix(s string) (netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return netip.Prefix{}, bad(errors.New("prefix: required, e.g. prefix=10.1.0.0/16"))
	}
	p, err := history.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, bad(errField("prefix", err))
	}
	return p, nil
}

// timelineTime reads a time parameter (RFC 3339, a datetime-local
// "2026-11-25T08:00" in UTC, "now" or "-2h"); "" is def.
func timelineTime(field, s string, now, def time.Time) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	t, err := history.ParseTime(s, now, time.UTC)
	if err != nil {
		return time.Time{}, bad(errField(field, err))
	}
	return t, nil
}

// timelineRange reads from and to: to defaults to now, from to 24 h
// before to; from must be before to, at most 366 days before.
func timelineRange(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	if to, err = timelineTime("to", toS, now, now); err != nil {
		return
	}
	if from, err = timelineTime("from", fromS, now, to.Add(-timelineDefaultRange)); err != nil {
		return
	}
	if !from.Before(to) {
		return from, to, bad(fmt.Errorf("from: %s is not before to (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
	}
	if to.Sub(from) > timelineMaxRange {
		return from, to, bad(fmt.Errorf("from: the range %s … %s is longer than %d days; narrow it", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), int(timelineMaxRange/(24*time.Hour))))
	}
	return from, to, nil
}

// originAS is the last AS of an AS_PATH in its text form (an AS_SET's
// first member when the path ends in one).
func originAS(path string) uint32 {
	f := strings.Fields(strings.NewReplacer("{", " ", "}", " ", ",", " ", "(", " ", ")", " ", "[", " ", "]", " ").Replace(path))
	if len(f) == 0 {
		return 0
	}
	last := f[len(f)-1]
	if strings.HasSuffix(strings.TrimSpace(path), "}") {
		// An AS_SET: no single origin; take the set's first member.
		open := strings.LastIndex(path, "{")
		if g := strings.Fields(strings.NewReplacer(",", " ", "}", " ").Replace(path[open+1:])); open >= 0 && len(g) > 0 {
			last = g[0]
		}
	}
	n, err := strconv.ParseUint(last, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// versionOf converts a history version (its exposure intervals into per
// member intervals).
func versionOf(v *history.Version) PrefixVersion {
	out := PrefixVersion{
		ID: v.ID, Prefix: v.Prefix.String(), Member: v.Member, Neighbor: v.Neighbor, PathID: v.PathID,
		From: v.From.UTC(), To: utcPtr(v.To), OriginAS: originAS(v.ASPath), ASPath: v.ASPath, NextHop: v.NextHop,
		Accepted: v.Accepted, Tagged: v.Tagged, RPKI: v.ROV, ASPA: v.ASPA,
		Communities: v.Communities, Large: v.Large, Cause: v.Cause, EndCause: v.EndCause,
		Exported: []MemberIntervals{},
	}
	out.Verdict = "accepted"
	if !v.Accepted {
		out.Verdict = "filtered"
	}
	for _, name := range v.Filtered {
		rs := Reason{Name: name}
		if r, ok := policy.ReasonByName(name); ok {
			info := r.Info()
			rs.Code, rs.Text = info.Code, info.Text
		}
		out.Reasons = append(out.Reasons, rs)
	}
	per := map[string][]ExportInterval{}
	var order []string
	for _, e := range v.Exports {
		for _, m := range e.Members {
			iv := ExportInterval{From: e.From.UTC(), To: utcPtr(e.To), Version: v.ID, Announcer: v.Member}
			for _, tr := range e.Transfers {
				if tr.Member == m {
					iv.InitialTransfer = true
				}
			}
			list, seen := per[m]
			if !seen {
				order = append(order, m)
			}
			// Adjacent pieces (the stored sets change for other
			// members) are one interval for this member.
			if n := len(list); n > 0 && list[n-1].To != nil && list[n-1].To.Equal(iv.From) && !iv.InitialTransfer {
				list[n-1].To = iv.To
			} else {
				list = append(list, iv)
			}
			per[m] = list
		}
	}
	slices.Sort(order)
	for _, m := range order {
		out.Exported = append(out.Exported, MemberIntervals{Member: m, Intervals: per[m]})
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// intervalsOf returns member's intervals in v (nil when none).
func (v *PrefixVersion) intervalsOf(member string) []ExportInterval {
	for _, mi := range v.Exported {
		if mi.Member == member {
			return mi.Intervals
		}
	}
	return nil
}

// asSentTo narrows another member's version to what a member viewer may
// see of it: the route as exported to that viewer, during the intervals
// it was, without the import verdict's details. ok is false when it was
// never exported to the viewer.
func (v PrefixVersion) asSentTo(member string) (PrefixVersion, bool) {
	ivs := v.intervalsOf(member)
	if len(ivs) == 0 {
		return PrefixVersion{}, false
	}
	out := PrefixVersion{
		ID: v.ID, Prefix: v.Prefix, Member: v.Member, From: ivs[0].From, To: ivs[len(ivs)-1].To,
		OriginAS: v.OriginAS, ASPath: v.ASPath, NextHop: v.NextHop, AsSent: true,
		Verdict: v.Verdict, Accepted: v.Accepted, RPKI: v.RPKI,
		Exported: []MemberIntervals{{Member: member, Intervals: ivs}},
	}
	return out, true
}

// narrow applies viewer vw to versions: a member sees its own versions
// whole and the others' only as exported to it.
func narrow(vw viewer, vs []PrefixVersion) []PrefixVersion {
	if vw.all() {
		return vs
	}
	out := []PrefixVersion{}
	for _, v := range vs {
		if v.Member == vw.name {
			out = append(out, v)
		} else if s, ok := v.asSentTo(vw.name); ok {
			out = append(out, s)
		}
	}
	return out
}

// memberExports gathers, per target member, the export intervals of vs
// in time order; a member viewer gets its own only.
func memberExports(vw viewer, vs []PrefixVersion) []MemberIntervals {
	per := map[string][]ExportInterval{}
	for _, v := range vs {
		for _, mi := range v.Exported {
			if vw.all() || mi.Member == vw.name {
				per[mi.Member] = append(per[mi.Member], mi.Intervals...)
			}
		}
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names)
	out := []MemberIntervals{}
	for _, n := range names {
		ivs := per[n]
		slices.SortStableFunc(ivs, func(a, b ExportInterval) int { return a.From.Compare(b.From) })
		out = append(out, MemberIntervals{Member: n, Intervals: ivs})
	}
	return out
}

// prefixKnown reports whether the history has any version of p.
func prefixKnown(ctx context.Context, hr *history.Reader, p netip.Prefix) (bool, error) {
	vs, err := hr.Versions(ctx, history.Query{Prefix: p, Limit: 1})
	return len(vs) > 0, err
}

// prefixHistory is what GET /v1/history/prefix answers and the timeline
// page draws.
func (a *API) prefixHistory(ctx context.Context, vw viewer, p netip.Prefix, from, to time.Time) (PrefixHistory, error) {
	hr, err := a.historyReader()
	if err != nil {
		return PrefixHistory{}, err
	}
	out := PrefixHistory{Prefix: p.String(), From: from.UTC(), To: to.UTC(), Viewer: vw.name, Versions: []PrefixVersion{}, Exported: []MemberIntervals{}}
	hvs, err := hr.Versions(ctx, history.Query{Prefix: p, Since: from, Until: to, Limit: timelineMaxVersions + 1})
	if err != nil {
		return out, err
	}
	if len(hvs) > timelineMaxVersions {
		return out, bad(fmt.Errorf("from: more than %d route versions of %s in this range; narrow it", timelineMaxVersions, p))
	}
	if len(hvs) == 0 && vw.all() {
		known, err := prefixKnown(ctx, hr, p)
		if err != nil {
			return out, err
		}
		if !known {
			return out, fmt.Errorf("%w of prefix %s: no member has announced it since the history began (%s)", errUnknownPrefix, p, hr.Path())
		}
	}
	vs := make([]PrefixVersion, 0, len(hvs))
	for i := range hvs {
		vs = append(vs, versionOf(&hvs[i]))
	}
	out.Exported = memberExports(vw, vs)
	out.Versions = narrow(vw, vs)
	if len(out.Versions) == 0 {
		out.Note = fmt.Sprintf("No route for %s between %s and %s.", p, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		if !vw.all() {
			out.Note = fmt.Sprintf("%s neither announced %s nor was sent a route for it between %s and %s.", vw.name, p, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		}
	}
	if out.Notices, err = hr.Notices(ctx, from, to); err != nil {
		return out, err
	}
	return out, nil
}

// historyAt is what GET /v1/history/at answers and the timeline page's
// point-in-time form shows. member ("" for none) asks whether that
// member could reach p at t.
func (a *API) historyAt(ctx context.Context, vw viewer, p netip.Prefix, t time.Time, member string) (HistoryAt, error) {
	out := HistoryAt{Prefix: p.String(), At: t.UTC(), Viewer: vw.name, Routes: []PrefixVersion{}}
	if !vw.all() && member != "" && member != vw.name {
		return out, fmt.Errorf("%w: member: as %s you may ask only whether %s could reach a prefix, not %s", errForbidden, vw.name, vw.name, member)
	}
	hr, err := a.historyReader()
	if err != nil {
		return out, err
	}
	// The versions held at t, of p and of the prefixes covering it (a
	// covering route also reaches p).
	hvs, err := hr.Versions(ctx, history.Query{Prefix: p, Covering: true, Since: t, Until: t.Add(time.Microsecond), Limit: timelineMaxVersions + 1})
	if err != nil {
		return out, err
	}
	if len(hvs) > timelineMaxVersions {
		return out, bad(fmt.Errorf("prefix: more than %d routes held for %s and its covering prefixes", timelineMaxVersions, p))
	}
	// Unknown: never announced, and no covering route held at t (which
	// would answer "could X reach it").
	if vw.all() && len(hvs) == 0 {
		known, err := prefixKnown(ctx, hr, p)
		if err != nil {
			return out, err
		}
		if !known {
			return out, fmt.Errorf("%w of prefix %s: no member has announced it since the history began (%s)", errUnknownPrefix, p, hr.Path())
		}
	}
	var exact, all []PrefixVersion
	for i := range hvs {
		v := versionAt(versionOf(&hvs[i]), t)
		all = append(all, v)
		if hvs[i].Prefix == p {
			exact = append(exact, v)
		}
	}
	out.Routes = narrow(vw, exact)
	if out.Routes == nil {
		out.Routes = []PrefixVersion{}
	}
	if out.Notices, err = hr.Notices(ctx, t, t.Add(time.Microsecond)); err != nil {
		return out, err
	}
	if member == "" {
		return out, nil
	}
	ss, err := hr.Sessions(ctx, member, t, t.Add(time.Microsecond))
	if err != nil {
		return out, err
	}
	rc := &Reach{Member: member}
	for _, s := range ss {
		if s.Up != nil && !s.Up.After(t) && (s.Down == nil || s.Down.After(t)) {
			rc.SessionUp = true
		}
	}
	out.Reach = rc
	when := t.UTC().Format(time.RFC3339)
	if !rc.SessionUp {
		rc.Answer = fmt.Sprintf("No: %s had no established session with the route server at %s, so nothing was exported to it.", member, when)
		return out, nil
	}
	// The longest prefix (p or covering) with a version exported to
	// member at t.
	for i := len(all) - 1; i >= 0; i-- {
		if len(all[i].intervalsOf(member)) > 0 {
			v := all[i]
			if !vw.all() && v.Member != vw.name {
				v, _ = v.asSentTo(member)
			}
			rc.Reachable, rc.Via, rc.Route = true, v.Prefix, &v
			break
		}
	}
	for _, v := range exact {
		if len(v.intervalsOf(member)) > 0 {
			continue
		}
		if !vw.all() && v.Member != vw.name {
			continue // another member's route not sent to the viewer
		}
		var why string
		switch {
		case v.Member == member:
			why = fmt.Sprintf("%s's own route (AS_PATH %s): a route is never sent back to the member that announced it", v.Member, v.ASPath)
		case !v.Accepted:
			var names []string
			for _, r := range v.Reasons {
				names = append(names, r.Name)
			}
			why = fmt.Sprintf("%s's route (AS_PATH %s): filtered (%s)", v.Member, v.ASPath, strings.Join(names, ", "))
		default:
			why = fmt.Sprintf("%s's route (AS_PATH %s): accepted but not exported to %s (the export policy: action communities, groups, %s's AS in the AS_PATH, or another route was its best)", v.Member, v.ASPath, member, member)
		}
		rc.Details = append(rc.Details, why)
	}
	switch {
	case rc.Reachable && rc.Via == p.String():
		rc.Answer = fmt.Sprintf("Yes: %s's route for %s (AS_PATH %s, next hop %s) was exported to %s at %s.", rc.Route.Member, rc.Via, rc.Route.ASPath, rc.Route.NextHop, member, when)
	case rc.Reachable:
		rc.Answer = fmt.Sprintf("Yes, through the covering prefix %s: %s's route (AS_PATH %s, next hop %s) was exported to %s at %s; no route for %s itself was.", rc.Via, rc.Route.Member, rc.Route.ASPath, rc.Route.NextHop, member, when, p)
	case len(exact) == 0:
		rc.Answer = fmt.Sprintf("No: the route server held no route for %s (or a covering prefix) at %s that was exported to %s.", p, when, member)
	default:
		rc.Answer = fmt.Sprintf("No: none of the routes for %s held at %s was exported to %s.", p, when, member)
	}
	return out, nil
}

// versionAt keeps, of v's export intervals, those in force at t.
func versionAt(v PrefixVersion, t time.Time) PrefixVersion {
	var kept []MemberIntervals
	for _, mi := range v.Exported {
		var ivs []ExportInterval
		for _, iv := range mi.Intervals {
			if !iv.From.After(t) && (iv.To == nil || iv.To.After(t)) {
				ivs = append(ivs, iv)
			}
		}
		if len(ivs) > 0 {
			kept = append(kept, MemberIntervals{Member: mi.Member, Intervals: ivs})
		}
	}
	if kept == nil {
		kept = []MemberIntervals{}
	}
	v.Exported = kept
	return v
}

// historyPrefix serves GET /v1/history/prefix?prefix=P&from=T1&to=T2.
func (a *API) historyPrefix(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := timelinePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	from, to, err := timelineRange(q.Get("from"), q.Get("to"), time.Now())
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	out, err := a.prefixHistory(r.Context(), viewerOf(r), p, from, to)
	if err != nil {
		writeErr(w, historyStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// historyAtHandler serves GET /v1/history/at?t=T&prefix=P[&member=X].
func (a *API) historyAtHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := timelinePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	now := time.Now()
	t, err := timelineTime("t", q.Get("t"), now, now)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	out, err := a.historyAt(r.Context(), viewerOf(r), p, t, strings.TrimSpace(q.Get("member")))
	if err != nil {
		writeErr(w, historyStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
