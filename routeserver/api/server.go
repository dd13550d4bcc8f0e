package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/rpki"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Gauges is implemented by components that export extra metrics (the
// history writer): names to values, names already prefixed "fedrs_".
type Gauges interface {
	Gauges() map[string]float64
}

// Stats is implemented by components whose status the API shows.
type Stats interface {
	Stats() any
}

// Options are the API's collaborators.
type Options struct {
	Version string
	RPKI    *rpki.Manager
	History interface {
		Gauges
		Stats
	}
	// BMP is the BMP streamer, when collectors are configured.
	BMP interface{ Status() []bmp.Status }
	// MRT runs the periodic MRT dumps, when [mrt] dump_dir is set.
	MRT interface{ Status() mrt.PeriodicStatus }
	Log *slog.Logger
	// Restart, when set, performs a planned (graceful) restart: it
	// writes the restart marker and has the process close its sessions
	// without a NOTIFICATION and exit (POST /v1/restart). Nil: the
	// endpoint answers 409.
	Restart func() (RestartResult, error)
	// Readonly is the read-only control socket ([server]
	// control_readonly, from ListenGroup; nil for none), and Admin the
	// admin socket's path its refusals name.
	Readonly net.Listener
	Admin    string
	// Audit, when set, receives every state-changing request on a
	// control socket after it is answered (and refused ones on the
	// read-only socket), with its caller: the history records them.
	Audit func(ControlRequest)
}

// API serves the control API of one route server.
type API struct {
	srv  *routeserver.Server
	opts Options
	reg  *prometheus.Registry
	// limits harden the HTTP listener; hold (tests) runs while a request
	// holds one of its concurrency slots.
	limits httpLimits
	hold   func(*http.Request)
	prom   http.Handler
	// hist is the read-only reader on the history database.
	hist historyReaders
}

// New builds the API for srv.
func New(srv *routeserver.Server, opts Options) *API {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	a := &API{srv: srv, opts: opts, reg: prometheus.NewRegistry(), limits: defaultHTTPLimits}
	a.reg.MustRegister(&collector{a})
	a.prom = promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
	return a
}

// Serve listens on the control socket at control ("" for none) and, if
// hc.Listen is set, the read-only HTTP listener, until ctx ends.
func (a *API) Serve(ctx context.Context, control string, hc conf.HTTP) error {
	var ln net.Listener
	if control != "" {
		var err error
		if ln, err = Listen(control); err != nil {
			return err
		}
	}
	return a.ServeOn(ctx, ln, hc)
}

// ServeOn is Serve with the control socket already open (ln, from Listen;
// nil for none): fedrs run takes its socket before anything else. Closing
// ln at the end removes the socket file. hc is the HTTP listener in effect
// (conf.Config.HTTPListener).
func (a *API) ServeOn(ctx context.Context, ln net.Listener, hc conf.HTTP) error {
	var hln net.Listener
	if hc.Listen != "" {
		var err error
		if hln, err = ListenHTTP(ctx, hc); err != nil {
			if ln != nil {
				ln.Close()
			}
			if a.opts.Readonly != nil {
				a.opts.Readonly.Close()
			}
			return err
		}
	}
	return a.ServeListeners(ctx, ln, hln, hc)
}

// ServeListeners is ServeOn with the HTTP listener also open (hln, from
// ListenHTTP; nil for none), so that the caller knows its address.
func (a *API) ServeListeners(ctx context.Context, ln, hln net.Listener, hc conf.HTTP) error {
	var servers []*http.Server
	var errc = make(chan error, 3)
	if ln != nil {
		hs := &http.Server{Handler: a.Handler(true), ReadHeaderTimeout: 10 * time.Second, ConnContext: callerContext}
		servers = append(servers, hs)
		go func() { errc <- hs.Serve(ln) }()
	}
	if ro := a.opts.Readonly; ro != nil {
		hs := &http.Server{Handler: a.ReadOnlyHandler(a.opts.Admin), ReadHeaderTimeout: 10 * time.Second, ConnContext: callerContext}
		servers = append(servers, hs)
		go func() { errc <- hs.Serve(ro) }()
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, hs := range servers {
			hs.Shutdown(sctx)
		}
	}
	if hln != nil {
		a.opts.Log.Info("HTTP listener", "url", HTTPURL(hc, hln.Addr()))
		hs := a.httpServer(hc)
		servers = append(servers, hs)
		go func() { errc <- hs.Serve(hln) }()
	}
	if len(servers) == 0 {
		<-ctx.Done()
		a.closeHistory()
		return nil
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			a.opts.Log.Error("control API stopped", "err", err)
		}
	}
	stop()
	a.closeHistory()
	return nil
}

// Listen opens the control socket at path with mode 0660 (creating its
// directory), replacing a socket file that nobody answers on (left by a
// process that was killed). It refuses a socket that answers, and a path
// that is not a socket (a regular file, a directory): nothing is removed.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use: is another fedrs running?", path)
	}
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket == 0 {
		return nil, fmt.Errorf("control socket %s: a file that is not a socket is in the way", path)
	}
	os.Remove(path)
	old := umask(0o117)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// Endpoint is one route of the control API, as Handler registers it.
type Endpoint struct {
	Method, Path string
	// Write: the endpoint changes something (or reads a file the client
	// names); it is served on the unix socket only.
	Write bool
}

// endpoint is an Endpoint with its handler.
type endpoint struct {
	Endpoint
	h http.HandlerFunc
}

// endpoints is the one table of the API's routes: Handler registers
// these, Endpoints lists them, openapi.json documents them.
func (a *API) endpoints() []endpoint {
	ro := func(method, path string, h http.HandlerFunc) endpoint {
		return endpoint{Endpoint{method, path, false}, h}
	}
	rw := func(method, path string, h http.HandlerFunc) endpoint {
		return endpoint{Endpoint{method, path, true}, h}
	}
	return []endpoint{
		ro("GET", "/v1/status", a.status),
		ro("GET", "/v1/neighbors", a.neighbors),
		ro("GET", "/v1/members/{member}/routes", a.routes),
		ro("GET", "/v1/lookup", a.lookup),
		ro("GET", "/v1/route", a.route),
		ro("GET", "/v1/explain", a.explain),
		ro("GET", "/v1/prefixes", a.prefixes),
		ro("GET", "/v1/mrt", a.mrtDump),
		ro("GET", "/v1/rpki", a.rpki),
		ro("GET", "/v1/maintenance", a.maintenanceStatus),
		ro("GET", "/v1/history/events", a.historyEvents),
		ro("GET", "/v1/history/sessions", a.historySessions),
		ro("GET", "/v1/history/filtered", a.historyFiltered),
		ro("GET", "/v1/history/prefix", a.historyPrefix),
		ro("GET", "/v1/history/at", a.historyAtHandler),
		ro("GET", "/v1/history/versions", a.historyVersions),
		ro("GET", "/v1/history/rib", a.historyRIB),
		ro("GET", "/v1/history/session-records", a.historySessionRecords),
		ro("GET", "/v1/openapi.json", serveOpenAPI),
		ro("GET", "/metrics", a.metrics),
		rw("POST", "/v1/reload", a.reload),
		rw("POST", "/v1/restart", a.restart),
		// A dry run reads a file named by the client: unix socket only.
		rw("POST", "/v1/check", a.check),
		rw("POST", "/v1/members/{member}/shutdown", a.shutdown),
		rw("POST", "/v1/members/{member}/enable", a.enable),
		rw("POST", "/v1/members/{member}/clear", a.clear),
		rw("POST", "/v1/maintenance", a.maintenanceStart),
		rw("POST", "/v1/maintenance/start", a.maintenanceStart),
		rw("POST", "/v1/maintenance/stop", a.maintenanceStop),
	}
}

// Endpoints lists every route Handler(true) serves; Handler(false) serves
// those without Write.
func Endpoints() []Endpoint {
	var out []Endpoint
	for _, e := range (&API{}).endpoints() {
		out = append(out, e.Endpoint)
	}
	return out
}

// Handler returns the API's routes; write enables the changing endpoints.
func (a *API) Handler(write bool) http.Handler {
	mux := http.NewServeMux()
	for _, e := range a.endpoints() {
		switch {
		case write && e.Write:
			mux.HandleFunc(e.Method+" "+e.Path, a.audited(e.h))
		case !e.Write:
			mux.HandleFunc(e.Method+" "+e.Path, e.h)
		}
	}
	mux.HandleFunc("/", noEndpoint)
	return mux
}

// noEndpoint answers a request no route matches.
func noEndpoint(w http.ResponseWriter, r *http.Request) {
	writeErr(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s; see the README (\"Control API\")", r.Method, r.URL.Path))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	e := Error{Error: err.Error()}
	if errors.Is(err, routeserver.ErrUnknownMember) {
		e.Kind = "unknown_member"
	}
	if errors.Is(err, ErrNoHistory) {
		e.Kind = "no_history"
	}
	writeJSON(w, status, e)
}

// errStatus maps an error to its HTTP status.
func errStatus(err error) int {
	if errors.Is(err, routeserver.ErrNotFound) {
		return http.StatusNotFound
	}
	if errors.Is(err, routeserver.ErrWrongState) {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
