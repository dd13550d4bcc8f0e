package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
)

// The history-backed answers of the [http] listener: the event list
// (GET /v1/history/events, the /events page), a member's sessions over
// the last days (GET /v1/history/sessions, the member page) and the
// filter decisions by reason (GET /v1/history/filtered, the overview).
// Each is computed once here, for the JSON and the page, and narrowed to
// the viewer: a member sees its own events (its sessions, its routes'
// filter decisions) and those that concern every member (reloads, RPKI
// changes, history gaps), never another member's.

// Default periods of the member page's sessions and the overview's
// filter counts.
const (
	sessionsPeriod = 7 * 24 * time.Hour
	filteredPeriod = 24 * time.Hour
	// maxSessionHistory bounds GET /v1/history/sessions's limit.
	maxSessionHistory = 1000
)

// SessionInterval is one BGP session of a member as the history recorded
// it, with its NOTIFICATION in words.
type SessionInterval struct {
	history.Session
	// Notification says the NOTIFICATION sent or received at the end
	// ("sent Cease/Administrative Shutdown: "maintenance"").
	Notification string `json:"notification,omitempty"`
}

// SessionHistory is GET /v1/history/sessions: a member's sessions (all
// members' for the operator without member) overlapping [since, until).
type SessionHistory struct {
	Member    string            `json:"member,omitempty"`
	Since     time.Time         `json:"since"`
	Until     time.Time         `json:"until"`
	Sessions  []SessionInterval `json:"sessions"`
	Truncated bool              `json:"truncated"`
}

// FilteredCounts is GET /v1/history/filtered: the filter decisions made
// in [since, until) by reason, with each reason's Euro-IX (or fedrs)
// code and large community.
type FilteredCounts struct {
	Member  string                `json:"member,omitempty"`
	Since   time.Time             `json:"since"`
	Until   time.Time             `json:"until"`
	Reasons []history.ReasonCount `json:"reasons"`
}

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Errorf(format, args...)}
}

// eventsStatus is the HTTP status of an error of the history answers.
func eventsStatus(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.Is(err, ErrNoHistory):
		return http.StatusNotFound
	case errors.Is(err, history.ErrUnknownMember), errors.Is(err, routeserver.ErrUnknownMember), errors.Is(err, routeserver.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, history.ErrBadEventQuery):
		return http.StatusBadRequest
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// viewerMember resolves the member parameter for viewer v: "" (every
// member) for the operator without one, the viewer itself for a member
// without one; a member viewer asking for another member is forbidden
// (403), an unknown member is 404.
func (a *API) viewerMember(v viewer, name string) (string, error) {
	if !v.all() && v.name == "" {
		// Not signed in as anyone: never "every member".
		return "", &httpError{http.StatusForbidden, fmt.Errorf("%w: sign in to see events and sessions", errForbidden)}
	}
	if name == "" {
		return v.name, nil
	}
	mi, err := a.srv.MemberIndex(name)
	if err != nil {
		return "", &httpError{http.StatusNotFound, fmt.Errorf("member %q: %w", name, err)}
	}
	if !v.is(mi) {
		return "", &httpError{http.StatusForbidden, fmt.Errorf("%w: member %q: a member's view shows its own events and sessions only (you are %s)", errForbidden, name, v.name)}
	}
	return name, nil
}

// parseTime reads the RFC 3339 time of query parameter field ("" gives
// def).
func parseTime(q url.Values, field string, def time.Time) (time.Time, error) {
	s := strings.TrimSpace(q.Get(field))
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("%s %q: want an RFC 3339 time, e.g. 2026-12-03T08:00:00Z", field, s)
	}
	return t, nil
}

// eventQuery reads an event query from the request's parameters: member,
// prefix, kind (repeated or comma separated), reason, since, until, limit,
// after, before.
func (a *API) eventQuery(r *http.Request) (history.EventQuery, error) {
	q := r.URL.Query()
	var eq history.EventQuery
	m, err := a.viewerMember(viewerOf(r), strings.TrimSpace(q.Get("member")))
	if err != nil {
		return eq, err
	}
	eq.Member = m
	if s := strings.TrimSpace(q.Get("prefix")); s != "" {
		p, _, err := parsePrefix(s)
		if err != nil {
			return eq, badRequest("prefix: %v", err)
		}
		eq.Prefix = p
	}
	for _, k := range q["kind"] {
		for _, k := range strings.Split(k, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if !validKind(k) {
				return eq, badRequest("kind %q: want one or more of %s", k, strings.Join(history.EventKinds, ", "))
			}
			eq.Kinds = append(eq.Kinds, k)
		}
	}
	if s := strings.TrimSpace(q.Get("reason")); s != "" {
		if _, _, err := history.ParseReason(s); err != nil {
			return eq, badRequest("%v", err)
		}
		eq.Reason = s
	}
	if eq.Since, err = parseTime(q, "since", time.Time{}); err != nil {
		return eq, err
	}
	if eq.Until, err = parseTime(q, "until", time.Time{}); err != nil {
		return eq, err
	}
	if !eq.Since.IsZero() && !eq.Until.IsZero() && !eq.Until.After(eq.Since) {
		return eq, badRequest("until %s is not after since %s", eq.Until.Format(time.RFC3339), eq.Since.Format(time.RFC3339))
	}
	eq.Limit = history.DefaultEventLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > history.MaxEventLimit {
			return eq, badRequest("limit %q: want 1-%d", s, history.MaxEventLimit)
		}
		eq.Limit = n
	}
	for _, c := range []struct {
		field string
		to    *string
	}{{"after", &eq.After}, {"before", &eq.Before}} {
		if s := q.Get(c.field); s != "" {
			if err := history.ParseEventCursor(s); err != nil {
				return eq, badRequest("%s %q: not an event cursor (use the next or prev of a page, or an event's id)", c.field, s)
			}
			*c.to = s
		}
	}
	if eq.After != "" && eq.Before != "" {
		return eq, badRequest("after and before: give one of them")
	}
	return eq, nil
}

func validKind(k string) bool {
	for _, x := range history.EventKinds {
		if x == k {
			return true
		}
	}
	return false
}

// events is one page of the event list for r's query and viewer: what
// GET /v1/history/events returns and the /events page shows.
func (a *API) events(r *http.Request, eq history.EventQuery) (history.EventPage, error) {
	rd, err := a.historyReader()
	if err != nil {
		return history.EventPage{}, err
	}
	page, err := rd.Events(r.Context(), eq)
	if err != nil {
		return page, err
	}
	asn := a.srv.Config().Server.ASN
	member := !viewerOf(r).all()
	for i := range page.Events {
		e := &page.Events[i]
		for j := range e.Reasons {
			e.Reasons[j].Community = fmt.Sprintf("%d:1101:%d", asn, e.Reasons[j].Code)
		}
		if member && e.Kind == history.EventReload {
			// What changed may name other members: a member sees that
			// the configuration was reloaded, not how.
			e.File, e.Changes = "", ""
		}
	}
	return page, nil
}

func (a *API) historyEvents(w http.ResponseWriter, r *http.Request) {
	eq, err := a.eventQuery(r)
	if err != nil {
		writeErr(w, eventsStatus(err), err)
		return
	}
	page, err := a.events(r, eq)
	if err != nil {
		writeErr(w, eventsStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// sessionHistory is the sessions of member ("" all) overlapping [since,
// until), at most limit.
func (a *API) sessionHistory(r *http.Request, member string, since, until time.Time, limit int) (SessionHistory, error) {
	out := SessionHistory{Member: member, Since: since, Until: until, Sessions: []SessionInterval{}}
	rd, err := a.historyReader()
	if err != nil {
		return out, err
	}
	ss, err := rd.SessionsLimit(r.Context(), member, since, until, limit+1)
	if err != nil {
		return out, err
	}
	if len(ss) > limit {
		ss, out.Truncated = ss[:limit], true
	}
	for _, s := range ss {
		var notes []string
		if s.Sent != nil {
			notes = append(notes, "sent "+history.NotifyText(s.Sent))
		}
		if s.Received != nil {
			notes = append(notes, "received "+history.NotifyText(s.Received))
		}
		out.Sessions = append(out.Sessions, SessionInterval{Session: s, Notification: strings.Join(notes, "; ")})
	}
	return out, nil
}

func (a *API) historySessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	member, since, until, status, err := a.memberPeriod(r, sessionsPeriod)
	if err != nil {
		writeErr(w, status, err)
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSessionHistory {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %q: want 1-%d", s, maxSessionHistory))
			return
		}
		limit = n
	}
	out, err := a.sessionHistory(r, member, since, until, limit)
	if err != nil {
		writeErr(w, eventsStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// filteredCounts is the filter decisions of [since, until) by reason, of
// member ("" all).
func (a *API) filteredCounts(r *http.Request, member string, since, until time.Time) (FilteredCounts, error) {
	out := FilteredCounts{Member: member, Since: since, Until: until, Reasons: []history.ReasonCount{}}
	rd, err := a.historyReader()
	if err != nil {
		return out, err
	}
	rc, err := rd.FilteredByReason(r.Context(), member, since, until)
	if err != nil {
		return out, err
	}
	asn := a.srv.Config().Server.ASN
	for i := range rc {
		rc[i].Community = fmt.Sprintf("%d:1101:%d", asn, rc[i].Code)
	}
	out.Reasons = rc
	return out, nil
}

func (a *API) historyFiltered(w http.ResponseWriter, r *http.Request) {
	member, since, until, status, err := a.memberPeriod(r, filteredPeriod)
	if err != nil {
		writeErr(w, status, err)
		return
	}
	out, err := a.filteredCounts(r, member, since, until)
	if err != nil {
		writeErr(w, eventsStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// memberPeriod reads a history query's member (narrowed to the viewer)
// and its [since, until) period (default: the last period until now); on
// error it also returns the HTTP status.
func (a *API) memberPeriod(r *http.Request, period time.Duration) (member string, since, until time.Time, status int, err error) {
	q := r.URL.Query()
	if member, err = a.viewerMember(viewerOf(r), strings.TrimSpace(q.Get("member"))); err != nil {
		return "", since, until, eventsStatus(err), err
	}
	now := time.Now()
	if since, err = parseTime(q, "since", now.Add(-period)); err != nil {
		return "", since, until, eventsStatus(err), err
	}
	if until, err = parseTime(q, "until", now); err != nil {
		return "", since, until, eventsStatus(err), err
	}
	if !until.After(since) {
		return "", since, until, http.StatusBadRequest, fmt.Errorf("until %s is not after since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	return member, since, until, http.StatusOK, nil
}
