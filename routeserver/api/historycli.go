package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/history"
)

// The endpoints of `fedrs history --socket`: the same answers as the
// command computes from the database file (history.VersionsAnswer,
// RIBAnswer, SessionsAnswer), so that a NOC without read access to the
// file asks the route server, on the read-only socket, and sees the same.

// writeHistoryErr answers a history error: 404 naming an unknown member
// (kind unknown_member), 400 a malformed query.
func writeHistoryErr(w http.ResponseWriter, err error) {
	status := eventsStatus(err)
	if errors.Is(err, history.ErrUnknownMember) {
		writeJSON(w, status, Error{Error: err.Error(), Kind: "unknown_member"})
		return
	}
	writeErr(w, status, err)
}

// boolParam reads a true/false parameter ("" false).
func boolParam(q url.Values, field string) (bool, error) {
	s := q.Get(field)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("%s %q: want true or false", field, s)
	}
	return b, nil
}

// limitParam reads limit (absent: 0, no cap).
func limitParam(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, badRequest("limit %q: want a number of rows, 1 or more", s)
	}
	return n, nil
}

// window reads since and until (absent: unbounded).
func window(q url.Values) (since, until time.Time, err error) {
	if since, err = parseTime(q, "since", time.Time{}); err != nil {
		return
	}
	if until, err = parseTime(q, "until", time.Time{}); err != nil {
		return
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		err = badRequest("until %s is not after since %s", until.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
	}
	return
}

// historyVersions is GET /v1/history/versions: fedrs history prefix,
// member and filtered.
func (a *API) historyVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var hq history.Query
	var err error
	if s := strings.TrimSpace(q.Get("prefix")); s != "" {
		if hq.Prefix, err = history.ParsePrefix(s); err != nil {
			writeHistoryErr(w, badRequest("prefix: %v", err))
			return
		}
	}
	for _, b := range []struct {
		field string
		to    *bool
	}{{"covering", &hq.Covering}, {"more_specifics", &hq.MoreSpecifics}, {"filtered", &hq.FilteredOnly}} {
		if *b.to, err = boolParam(q, b.field); err != nil {
			writeHistoryErr(w, err)
			return
		}
	}
	hq.Member, hq.Reason = strings.TrimSpace(q.Get("member")), strings.TrimSpace(q.Get("reason"))
	if hq.Reason != "" {
		if _, _, err := history.ParseReason(hq.Reason); err != nil {
			writeHistoryErr(w, badRequest("reason: %v", err))
			return
		}
	}
	if hq.Since, hq.Until, err = window(q); err != nil {
		writeHistoryErr(w, err)
		return
	}
	if hq.Limit, err = limitParam(q); err != nil {
		writeHistoryErr(w, err)
		return
	}
	rd, err := a.historyReader()
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	ans, err := rd.VersionsAnswer(r.Context(), hq)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// historyRIB is GET /v1/history/rib: fedrs history at.
func (a *API) historyRIB(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if strings.TrimSpace(q.Get("t")) == "" {
		writeHistoryErr(w, badRequest("t: missing, the time (RFC 3339), e.g. 2026-12-03T08:00:00Z"))
		return
	}
	t, err := parseTime(q, "t", time.Time{})
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	n, err := limitParam(q)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	rd, err := a.historyReader()
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	ans, err := rd.RIBAnswer(r.Context(), t, strings.TrimSpace(q.Get("member")), strings.TrimSpace(q.Get("exported_to")), n)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// historySessionRecords is GET /v1/history/session-records: fedrs history
// sessions.
func (a *API) historySessionRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, until, err := window(q)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	n, err := limitParam(q)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	rd, err := a.historyReader()
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	ans, err := rd.SessionsAnswer(r.Context(), strings.TrimSpace(q.Get("member")), since, until, n)
	if err != nil {
		writeHistoryErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}
