package history

import (
	"context"
	"fmt"
	"time"
)

// The answers of `fedrs history`, computed in one place for the command
// (reading the file) and the control API (GET /v1/history/versions, /rib,
// /session-records), so that both print the same. Their JSON is what
// `fedrs history --json` prints (fields in the order of their names).

// VersionsAnswer is the answer of history prefix, member and filtered.
type VersionsAnswer struct {
	Notices   []Notice  `json:"notices"`
	Truncated bool      `json:"truncated"`
	Versions  []Version `json:"versions"`
}

// RIBAnswer is the answer of history at: the routes held at At, or those
// exported to ExportedTo then.
type RIBAnswer struct {
	At         time.Time `json:"at"`
	ExportedTo string    `json:"exported_to,omitempty"`
	Notices    []Notice  `json:"notices"`
	Routes     []Version `json:"routes"`
	// SessionUp is set with ExportedTo: whether the member had a session
	// up at At.
	SessionUp *bool `json:"session_up,omitempty"`
	Truncated bool  `json:"truncated"`
}

// SessionsAnswer is the answer of history sessions.
type SessionsAnswer struct {
	Sessions  []Session `json:"sessions"`
	Truncated bool      `json:"truncated"`
}

// fetchLimit is what to ask for to keep n rows and know whether more
// match (n 0: no cap).
func fetchLimit(n int) int {
	if n <= 0 {
		return 0
	}
	return n + 1
}

// truncated keeps the first n of s (n 0: all) and reports whether there
// were more.
func truncated[T any](s []T, n int) ([]T, bool) {
	if n > 0 && len(s) > n {
		return s[:n], true
	}
	return s, false
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// VersionsAnswer is the versions q selects (at most q.Limit, 0: all) and
// the notices of the gaps in q's time range.
func (r *Reader) VersionsAnswer(ctx context.Context, q Query) (VersionsAnswer, error) {
	n := q.Limit
	q.Limit = fetchLimit(n)
	vs, err := r.Versions(ctx, q)
	if err != nil {
		return VersionsAnswer{}, err
	}
	var a VersionsAnswer
	vs, a.Truncated = truncated(vs, n)
	ns, err := r.Notices(ctx, q.Since, q.Until)
	if err != nil {
		return VersionsAnswer{}, err
	}
	a.Versions, a.Notices = nonNil(vs), nonNil(ns)
	return a, nil
}

// RIBAnswer is the routes held at t (of member, "" all), or with
// exportedTo those exported to that member then; at most limit (0: all).
func (r *Reader) RIBAnswer(ctx context.Context, t time.Time, member, exportedTo string, limit int) (RIBAnswer, error) {
	ns, err := r.Notices(ctx, t, t.Add(time.Microsecond))
	if err != nil {
		return RIBAnswer{}, err
	}
	tn, err := r.TransferNotices(ctx, t, exportedTo)
	if err != nil {
		return RIBAnswer{}, err
	}
	ns = append(ns, tn...)
	a := RIBAnswer{At: t, ExportedTo: exportedTo}
	var vs []Version
	if exportedTo != "" {
		var up bool
		if vs, up, err = r.ExportedToLimit(ctx, t, exportedTo, fetchLimit(limit)); err != nil {
			return RIBAnswer{}, err
		}
		if !up {
			ns = append(ns, Notice{From: t, To: t, Text: fmt.Sprintf("member %s had no session up at this time: nothing was exported to it", exportedTo)})
		}
		a.SessionUp = &up
	} else if vs, err = r.AtLimit(ctx, t, member, fetchLimit(limit)); err != nil {
		return RIBAnswer{}, err
	}
	vs, a.Truncated = truncated(vs, limit)
	a.Routes, a.Notices = nonNil(vs), nonNil(ns)
	return a, nil
}

// SessionsAnswer is the sessions of member ("" all) overlapping [since,
// until) (zero: unbounded), at most limit (0: all).
func (r *Reader) SessionsAnswer(ctx context.Context, member string, since, until time.Time, limit int) (SessionsAnswer, error) {
	ss, err := r.SessionsLimit(ctx, member, since, until, fetchLimit(limit))
	if err != nil {
		return SessionsAnswer{}, err
	}
	var a SessionsAnswer
	ss, a.Truncated = truncated(ss, limit)
	a.Sessions = nonNil(ss)
	return a, nil
}
