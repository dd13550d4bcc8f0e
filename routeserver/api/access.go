package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fedrs/fedrs/routeserver/web"
)

// access is who may use a route of the [http] listener.
type access int

const (
	// open: anyone who reaches the listener, signed in or not (the
	// stylesheet, the sign-in form, the 404 answer). Nothing about the
	// route server.
	open access = iota + 1
	// public: every signed-in viewer gets the same answer (the OpenAPI
	// document, the RPKI summary).
	public
	// scoped: every signed-in viewer; the handler narrows its answer to
	// the viewer (viewerOf): a member sees its own sessions and routes
	// and what the route server exports to it.
	scoped
	// operatorOnly: the operator only; a member gets 403 before the
	// handler runs.
	operatorOnly
)

func (a access) String() string {
	switch a {
	case open:
		return "open"
	case public:
		return "public"
	case scoped:
		return "member-scoped"
	case operatorOnly:
		return "operator-only"
	}
	return "unknown"
}

// accessRules is the one table of who may use each route of the [http]
// listener, by the pattern it is registered with (endpoints(),
// registerPages, the sign-in routes, /birdwatcher/). A route without a
// rule is operator-only, and TestAccessRules fails for it: every new
// route gets one line here.
var accessRules = map[string]access{
	// Sign-in, assets, the 404 answer.
	"GET /login":   open,
	"POST /login":  open,
	"GET /logout":  open,
	"POST /logout": open,
	"GET /static/": open,
	"/":            open,

	// Pages.
	"GET /{$}":              scoped, // overview: a member sees its own sessions
	"GET /members/{member}": scoped, // a member sees its own page only
	"GET /prefixes":         scoped, // a member: its own candidates and what it receives
	"GET /members/{member}/routes/{prefix...}": scoped, // a member: its own routes, or toward itself as sent
	"GET /prefixes/{prefix}/history":           scoped, // a member: its own versions, others' as sent to it, its own export bars
	"GET /events":                              scoped, // a member: its own sessions and filter decisions, reloads (without changes), RPKI, gaps

	// The read-only control API (endpoints()).
	"GET /v1/status":                  scoped, // a member: its own counts
	"GET /v1/neighbors":               scoped, // a member: its own neighbours
	"GET /v1/members/{member}/routes": scoped, // a member: its own routes only
	"GET /v1/lookup":                  scoped, // a member: its own routes and those exported to it
	"GET /v1/route":                   scoped, // a member: its own routes, or as exported to it
	"GET /v1/explain":                 scoped, // a member: its own routes, or toward itself without the other's reasons
	"GET /v1/prefixes":                scoped, // as the search page
	"GET /v1/history/prefix":          scoped, // as the timeline page
	"GET /v1/history/at":              scoped, // a member: "could X reach" about itself only
	"GET /v1/history/events":          scoped, // as the events page; another member's: 403
	"GET /v1/history/sessions":        scoped, // a member: its own sessions only
	"GET /v1/history/filtered":        scoped, // a member: its own routes' filter decisions only
	"GET /v1/rpki":                    public,
	"GET /v1/openapi.json":            public,
	"GET /v1/history/versions":        operatorOnly, // fedrs history over the socket: every member's routes
	"GET /v1/history/rib":             operatorOnly, // fedrs history at: every member's routes
	"GET /v1/history/session-records": operatorOnly, // fedrs history sessions: every member's sessions
	"GET /v1/mrt":                     operatorOnly,
	"GET /v1/maintenance":             operatorOnly,
	"GET /metrics":                    operatorOnly,

	// Alice-LG.
	"/birdwatcher/": operatorOnly,
}

// ruleFor is the rule of a registered pattern ("" is the mux's own
// redirect, 404 and 405 answers: open); unknown patterns are
// operator-only.
func ruleFor(pattern string) access {
	if pattern == "" {
		return open
	}
	if r, ok := accessRules[pattern]; ok {
		return r
	}
	return operatorOnly
}

// routes is the [http] listener's mux with the patterns registered on
// it, so that a test can check each has a rule.
type routes struct {
	mux      *http.ServeMux
	patterns []string
}

func newRoutes() *routes { return &routes{mux: http.NewServeMux()} }

// Handle registers h for pattern.
func (rt *routes) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	rt.patterns = append(rt.patterns, pattern)
}

// HandleFunc registers h for pattern.
func (rt *routes) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(h))
}

// apiPath reports whether path is answered in JSON (or another machine
// format), not as a page.
func apiPath(path string) bool {
	return strings.HasPrefix(path, "/v1/") || path == "/metrics" || strings.HasPrefix(path, "/birdwatcher/")
}

// forbidden answers 403: a page for a page, a JSON error otherwise.
func (a *API) forbidden(w http.ResponseWriter, r *http.Request, err error) {
	if apiPath(r.URL.Path) {
		writeErr(w, http.StatusForbidden, err)
		return
	}
	a.errorPage(w, http.StatusForbidden, "Not yours to see", err)
}

// notYours is the 403 error of a member viewer asking about another
// member's data.
func notYours(v viewer, other string) error {
	return fmt.Errorf("you are signed in as member %s: %s's sessions and routes are not shown to other members", v.name, other)
}

// guard authenticates each request (auth), refuses operator-only routes
// to members, and serves the route with the request speaking for its
// viewer.
func (a *API) guard(au *auth, rt *routes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := rt.mux.Handler(r)
		rule := ruleFor(pattern)
		v, session, ok := au.identify(w, r, rule)
		if !ok {
			return // answered: 401, or the way to the sign-in form
		}
		// A viewer already on the request's context was set in-process
		// (tests' AsMember); nothing from the network can set one.
		if pv, ok := r.Context().Value(viewerKey{}).(viewer); ok {
			v = pv
		}
		if rule == operatorOnly && !v.all() {
			a.forbidden(w, r, fmt.Errorf("%s is for the route server's operator; you are signed in as member %s", r.URL.Path, v.name))
			return
		}
		if v.member >= 0 || session {
			w = web.SignedIn(w, v.label())
		}
		rt.mux.ServeHTTP(w, withViewer(r, v))
	})
}
