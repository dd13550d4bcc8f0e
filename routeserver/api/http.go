package api

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
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
// the browser pages (/, /members/{member}, /static/), the read-only
// control API (/v1/..., /metrics) and, with birdwatcher, the Alice-LG
// endpoints (/birdwatcher/...), all behind the listener's
// authentication, read-only guard and concurrency cap.
func (a *API) HTTPHandler(hc conf.HTTP) http.Handler {
	mux := http.NewServeMux()
	a.registerPages(mux)
	mux.Handle("/", a.Handler(false))
	if hc.Birdwatcher {
		mux.Handle("/birdwatcher/", a.birdwatcherHandler())
	}
	return authenticate(hc, readOnly(limitConcurrent(a.limits.MaxConcurrent, a.hold, mux)))
}

// authenticate requires the listener's bearer token or basic credentials,
// compared in constant time; with neither configured it lets every
// request through (the README says to keep such a listener on a loopback
// or management address).
func authenticate(hc conf.HTTP, h http.Handler) http.Handler {
	switch {
	case hc.TokenSecret != "":
		want := []byte(hc.TokenSecret)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="fedrs"`)
				writeErr(w, http.StatusUnauthorized, errors.New("a bearer token is required (Authorization: Bearer TOKEN)"))
				return
			}
			h.ServeHTTP(w, r)
		})
	case hc.BasicUser != "":
		wantUser, wantPass := []byte(hc.BasicUser), []byte(hc.BasicPassword)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			// Both compared, always, so that the time does not tell
			// which one was wrong.
			u := subtle.ConstantTimeCompare([]byte(user), wantUser)
			p := subtle.ConstantTimeCompare([]byte(pass), wantPass)
			if !ok || u&p != 1 || len(wantPass) == 0 {
				w.Header().Set("WWW-Authenticate", `Basic realm="fedrs", charset="UTF-8"`)
				writeErr(w, http.StatusUnauthorized, errors.New("basic authentication is required"))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return h
}

// readOnly refuses every method but GET and HEAD.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
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
