package api

import (
	"context"
	"net/http"
)

// viewer is whom an HTTP request speaks for: the operator (every member's
// data) or, with a member's own web token, one member. A member viewer
// sees its own sessions, the routes it sent (received, accepted, filtered,
// with reasons), whom its routes were exported to (their exposure), and
// the routes the route server exports to it exactly as sent; nothing else
// about other members. Every page and /v1 answer on the [http] listener
// applies it; the unix control socket is always the operator.
type viewer struct {
	// member is the member's index in the configuration, -1 for the
	// operator.
	member int
	// name is the member's name ("" for the operator).
	name string
}

// operator is the viewer that sees everything; nobody is a visitor that
// has not signed in, on the routes open to anyone (the sign-in form, the
// stylesheet): it sees nothing.
var (
	operator = viewer{member: -1}
	nobody   = viewer{member: -2}
)

type viewerKey struct{}

// withViewer is r speaking for v.
func withViewer(r *http.Request, v viewer) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), viewerKey{}, v))
}

// viewerOf is whom r speaks for (the operator unless a member token
// authenticated it).
func viewerOf(r *http.Request) viewer {
	if v, ok := r.Context().Value(viewerKey{}).(viewer); ok {
		return v
	}
	return operator
}

// all reports whether v sees every member's data.
func (v viewer) all() bool { return v.member == operator.member }

// is reports whether v may see member mi's own data (its sessions, the
// routes it sent, their reasons and exposure).
func (v viewer) is(mi int) bool { return v.all() || (v.member >= 0 && v.member == mi) }

// label is how the page header names v ("Signed in as ...").
func (v viewer) label() string {
	if v.member >= 0 {
		return v.name
	}
	return "the operator"
}
