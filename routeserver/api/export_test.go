package api

import (
	"net/http"
	"time"

	"github.com/fedrs/fedrs/conf"
)

// SetHTTPLimits shortens the HTTP listener's header timeout and
// concurrency cap, and sets hold, which runs while a request holds a slot.
// Before Serve.
func (a *API) SetHTTPLimits(readHeader time.Duration, maxConcurrent int, hold func(*http.Request)) {
	a.limits.ReadHeader, a.limits.MaxConcurrent, a.hold = readHeader, maxConcurrent, hold
}

// AsMember serves h as member mi (named name) sees it, as a member's web
// token would: tests of what a member view shows, before or without the
// token machinery.
func AsMember(h http.Handler, mi int, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, withViewer(r, viewer{member: mi, name: name}))
	})
}

// HTTPRoutes lists the patterns the [http] listener hc registers, each
// with its access rule ("" for a pattern without one).
func HTTPRoutes(a *API, hc conf.HTTP) map[string]string {
	out := map[string]string{}
	for _, p := range a.httpRoutes(hc, newAuth(a, hc)).patterns {
		out[p] = ""
		if r, ok := accessRules[p]; ok {
			out[p] = r.String()
		}
	}
	return out
}
