package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/fedrs/fedrs/conf"
)

// httpLimits harden the [http] listener against slow and greedy clients.
type httpLimits struct {
	// ReadHeader bounds the time to read a request's headers; Read the
	// whole request; Write the time from the end of the request headers
	// to the end of the response (generous: a full route dump is large);
	// Idle how long a keep-alive connection waits for its next request.
	ReadHeader, Read, Write, Idle time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConcurrent requests are served at once; more get 503.
	MaxConcurrent int
}

// defaultHTTPLimits are documented in the README ("HTTP listener").
var defaultHTTPLimits = httpLimits{
	ReadHeader:     10 * time.Second,
	Read:           30 * time.Second,
	Write:          2 * time.Minute,
	Idle:           2 * time.Minute,
	MaxHeaderBytes: 64 << 10,
	MaxConcurrent:  64,
}

// ListenHTTP opens the [http] listener (TLS when configured).
func ListenHTTP(ctx context.Context, hc conf.HTTP) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", hc.Listen)
	if err != nil {
		return nil, fmt.Errorf("HTTP listener on %s: %w", hc.Listen, err)
	}
	if hc.Cert != "" {
		cert, err := tls.LoadX509KeyPair(hc.Cert, hc.Key)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("HTTP listener TLS certificate %s / key %s: %w", hc.Cert, hc.Key, err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return ln, nil
}

// httpServer is the [http] listener's server: its handler and limits.
func (a *API) httpServer(hc conf.HTTP) *http.Server {
	l := a.limits
	return &http.Server{
		Handler:           a.HTTPHandler(hc),
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// HTTPHandler is everything the [http] listener serves, in one mux:
// the browser pages (/, /members/{member}, /static/, /login), the
// read-only control API (/v1/..., /metrics) and, with birdwatcher, the
// Alice-LG endpoints (/birdwatcher/...), all behind the read-only guard,
// the concurrency cap, authentication and the access rules (access.go).
func (a *API) HTTPHandler(hc conf.HTTP) http.Handler {
	au := newAuth(a, hc)
	rt := a.httpRoutes(hc, au)
	return readOnly(limitConcurrent(a.limits.MaxConcurrent, a.hold, a.guard(au, rt)))
}

// httpRoutes registers every route of the [http] listener.
func (a *API) httpRoutes(hc conf.HTTP, au *auth) *routes {
	rt := newRoutes()
	a.registerPages(rt)
	au.register(rt)
	for _, e := range a.endpoints() {
		if !e.Write {
			rt.HandleFunc(e.Method+" "+e.Path, e.h)
		}
	}
	if hc.Birdwatcher {
		rt.Handle("/birdwatcher/", a.birdwatcherHandler())
	}
	rt.HandleFunc("/", noEndpoint)
	return rt
}

// readOnly refuses every method but GET and HEAD, except the sign-in
// form's POST /login and POST /logout.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signIn := r.Method == http.MethodPost && (r.URL.Path == "/login" || r.URL.Path == "/logout")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !signIn {
			writeErr(w, http.StatusForbidden, errors.New("the HTTP listener is read-only; use the unix control socket ([server] control: fedrs reload, fedrs member ...) to change anything"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limitConcurrent serves at most n requests at once and answers 503 to
// the others at once. hold, when set (tests), runs while a request holds
// its slot.
func limitConcurrent(n int, hold func(*http.Request), h http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusServiceUnavailable, fmt.Errorf("too many requests at once (%d); try again", n))
			return
		}
		defer func() { <-slots }()
		if hold != nil {
			hold(r)
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPURL is the base URL of the HTTP listener hc listening on addr.
func HTTPURL(hc conf.HTTP, addr net.Addr) string {
	scheme := "http"
	if hc.Cert != "" {
		scheme = "https"
	}
	return scheme + "://" + addr.String() + "/"
}
