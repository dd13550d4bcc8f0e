package main

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

// historySource answers `fedrs history`: the database file
// (*history.Reader) or the running route server (remoteHistory).
type historySource interface {
	VersionsAnswer(ctx context.Context, q history.Query) (history.VersionsAnswer, error)
	RIBAnswer(ctx context.Context, t time.Time, member, exportedTo string, limit int) (history.RIBAnswer, error)
	SessionsAnswer(ctx context.Context, member string, since, until time.Time, limit int) (history.SessionsAnswer, error)
	Close() error
}

// remoteHistory asks the route server on a control socket
// (GET /v1/history/versions, /rib, /session-records).
type remoteHistory struct{ cl *api.Client }

func (remoteHistory) Close() error { return nil }

// err maps the API's unknown-member answer to history.ErrUnknownMember
// (exit status 2, as with the file).
func (remoteHistory) err(err error) error {
	var se *api.StatusError
	if errors.As(err, &se) && se.Kind == "unknown_member" {
		return &exitError{2, errors.New(se.Message)}
	}
	return err
}

func setTime(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, t.Format(time.RFC3339Nano))
	}
}

func setInt(q url.Values, key string, n int) {
	if n > 0 {
		q.Set(key, strconv.Itoa(n))
	}
}

func (r remoteHistory) VersionsAnswer(ctx context.Context, hq history.Query) (history.VersionsAnswer, error) {
	q := url.Values{}
	if hq.Prefix.IsValid() {
		q.Set("prefix", hq.Prefix.String())
	}
	if hq.Covering {
		q.Set("covering", "true")
	}
	if hq.MoreSpecifics {
		q.Set("more_specifics", "true")
	}
	if hq.FilteredOnly {
		q.Set("filtered", "true")
	}
	if hq.Member != "" {
		q.Set("member", hq.Member)
	}
	if hq.Reason != "" {
		q.Set("reason", hq.Reason)
	}
	setTime(q, "since", hq.Since)
	setTime(q, "until", hq.Until)
	setInt(q, "limit", hq.Limit)
	var a history.VersionsAnswer
	return a, r.err(r.cl.Get(ctx, "/v1/history/versions", q, &a))
}

func (r remoteHistory) RIBAnswer(ctx context.Context, t time.Time, member, exportedTo string, limit int) (history.RIBAnswer, error) {
	q := url.Values{}
	setTime(q, "t", t)
	if member != "" {
		q.Set("member", member)
	}
	if exportedTo != "" {
		q.Set("exported_to", exportedTo)
	}
	setInt(q, "limit", limit)
	var a history.RIBAnswer
	return a, r.err(r.cl.Get(ctx, "/v1/history/rib", q, &a))
}

func (r remoteHistory) SessionsAnswer(ctx context.Context, member string, since, until time.Time, limit int) (history.SessionsAnswer, error) {
	q := url.Values{}
	if member != "" {
		q.Set("member", member)
	}
	setTime(q, "since", since)
	setTime(q, "until", until)
	setInt(q, "limit", limit)
	var a history.SessionsAnswer
	return a, r.err(r.cl.Get(ctx, "/v1/history/session-records", q, &a))
}
