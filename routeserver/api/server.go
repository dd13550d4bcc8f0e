package api

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
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
}

// API serves the control API of one route server.
type API struct {
	srv  *routeserver.Server
	opts Options
	reg  *prometheus.Registry
}

// New builds the API for srv.
func New(srv *routeserver.Server, opts Options) *API {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	a := &API{srv: srv, opts: opts, reg: prometheus.NewRegistry()}
	a.reg.MustRegister(&collector{a})
	return a
}

// Serve listens on the configured control socket and, if configured, the
// read-only TCP listener, until ctx ends.
func (a *API) Serve(ctx context.Context, sc conf.Server) error {
	var ln net.Listener
	if sc.Control != "" {
		var err error
		if ln, err = Listen(sc.Control); err != nil {
			return err
		}
	}
	return a.ServeOn(ctx, ln, sc)
}

// ServeOn is Serve with the control socket already open (ln, from Listen;
// nil for none): fedrs run takes its socket before anything else. Closing
// ln at the end removes the socket file.
func (a *API) ServeOn(ctx context.Context, ln net.Listener, sc conf.Server) error {
	var servers []*http.Server
	var errc = make(chan error, 2)
	if ln != nil {
		hs := &http.Server{Handler: a.Handler(true), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, hs)
		go func() { errc <- hs.Serve(ln) }()
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, hs := range servers {
			hs.Shutdown(sctx)
		}
	}
	if sc.ControlTCP != "" {
		token := sc.ControlTokenSecret
		if token == "" {
			token = sc.ControlToken
		}
		var lc net.ListenConfig
		tln, err := lc.Listen(ctx, "tcp", sc.ControlTCP)
		if err != nil {
			stop()
			return fmt.Errorf("control API on %s: %w", sc.ControlTCP, err)
		}
		if sc.ControlTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(sc.ControlTLSCert, sc.ControlTLSKey)
			if err != nil {
				tln.Close()
				stop()
				return fmt.Errorf("control API TLS certificate %s / key %s: %w", sc.ControlTLSCert, sc.ControlTLSKey, err)
			}
			tln = tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		}
		hs := &http.Server{Handler: readOnly(token, a.Handler(false)), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, hs)
		go func() { errc <- hs.Serve(tln) }()
	}
	if len(servers) == 0 {
		<-ctx.Done()
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
	return nil
}

// Listen opens the control socket at path with mode 0600 (creating its
// directory), replacing a socket file that nobody answers on (left by a
// process that was killed). It refuses a socket that answers.
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
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// readOnly guards the TCP listener: a bearer token and GET only.
func readOnly(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fedrs"`)
			writeErr(w, http.StatusUnauthorized, errors.New("a bearer token is required (Authorization: Bearer TOKEN)"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeErr(w, http.StatusForbidden, errors.New("the TCP control listener is read-only; use the unix socket to change anything"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Handler returns the API's routes; write enables the changing endpoints.
func (a *API) Handler(write bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/neighbors", a.neighbors)
	mux.HandleFunc("GET /v1/members/{member}/routes", a.routes)
	mux.HandleFunc("GET /v1/lookup", a.lookup)
	mux.HandleFunc("GET /v1/route", a.route)
	mux.HandleFunc("GET /v1/explain", a.explain)
	mux.HandleFunc("GET /v1/mrt", a.mrtDump)
	mux.HandleFunc("GET /v1/rpki", a.rpki)
	mux.HandleFunc("GET /v1/maintenance", a.maintenanceStatus)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	if write {
		mux.HandleFunc("POST /v1/reload", a.reload)
		// A dry run reads a file named by the client: unix socket only.
		mux.HandleFunc("POST /v1/check", a.check)
		mux.HandleFunc("POST /v1/members/{member}/shutdown", a.shutdown)
		mux.HandleFunc("POST /v1/members/{member}/enable", a.enable)
		mux.HandleFunc("POST /v1/members/{member}/clear", a.clear)
		mux.HandleFunc("POST /v1/maintenance", a.maintenanceStart)
		mux.HandleFunc("POST /v1/maintenance/start", a.maintenanceStart)
		mux.HandleFunc("POST /v1/maintenance/stop", a.maintenanceStop)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s; see the README (\"Control API\")", r.Method, r.URL.Path))
	})
	return mux
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

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	srv := a.srv
	cfg := srv.Config()
	tot := srv.RIB().Totals()
	st := Status{
		Version: a.opts.Version, ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID.String(),
		Started: srv.Started(), UptimeSeconds: int64(time.Since(srv.Started()).Seconds()),
		ConfigFile: cfg.File, ConfigHash: cfg.Hash, Members: len(cfg.Members),
		PrefixesV4: tot.Prefixes[bgp.IPv4Unicast], PrefixesV6: tot.Prefixes[bgp.IPv6Unicast],
		Routes: tot.Routes, AttrSets: tot.AttrSets, PendingOut: tot.PendingOut, Maintenance: srv.InMaintenance(),
		MaintenancePhase: string(srv.MaintenanceStatus().Phase),
	}
	for _, n := range srv.Neighbors() {
		st.Neighbors++
		if n.Peer.State() == session.Established {
			st.SessionsUp++
		}
		s := srv.RIB().Stats(n.Source)
		for f := range s.Received {
			st.Accepted += s.Accepted[f]
			st.Filtered += s.Received[f] - s.Accepted[f]
		}
	}
	if m := a.opts.RPKI; m != nil && rpki.Configured(cfg) {
		rs := m.Status()
		st.RPKI = &RPKIStatus{Serial: rs.Serial, Updated: rs.Updated, VRPs: rs.VRPsV4 + rs.VRPsV6, ASPAs: rs.ASPAs, Sources: len(rs.Sources)}
	}
	if h := a.opts.History; h != nil {
		st.History = h.Stats()
	}
	if b := a.opts.BMP; b != nil {
		st.BMP = b.Status()
	}
	if m := a.opts.MRT; m != nil {
		ms := m.Status()
		st.MRT = &ms
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) neighbors(w http.ResponseWriter, r *http.Request) {
	out := []Neighbor{}
	cfg := a.srv.Config()
	for _, n := range a.srv.Neighbors() {
		out = append(out, a.neighbor(cfg, n))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) neighbor(cfg *conf.Config, n routeserver.Neighbor) Neighbor {
	info := n.Peer.Info()
	st := a.srv.RIB().Stats(n.Source)
	var m conf.Member
	if n.Member >= 0 && n.Member < len(cfg.Members) {
		m = cfg.Members[n.Member]
	}
	out := Neighbor{
		Member: m.Name, Description: m.Description, Neighbor: n.Source.Addr.String(), ASN: m.ASN,
		State: info.State.String(), Since: info.Since, AdminDown: info.AdminDown,
		Flaps: info.Flaps, MessagesIn: info.MsgIn, MessagesOut: info.MsgOut, UpdatesIn: info.UpdIn, UpdatesOut: info.UpdOut,
		LastError: info.LastError, Passive: n.Peer.Config().Passive,
		NotificationSent: MakeNotification(info.LastNotifySent), NotificationReceived: MakeNotification(info.LastNotifyRecvd),
	}
	if ev := info.LastNotifySent; ev != nil {
		out.LastSent = ev.String()
	}
	if ev := info.LastNotifyRecvd; ev != nil {
		out.LastReceived = ev.String()
	}
	if t := info.DownSince; !t.IsZero() {
		out.DownSince = &t
	}
	if t := info.LastUp; !t.IsZero() {
		out.LastUp = &t
	}
	if t := info.LastErrorAt; !t.IsZero() && info.LastError != "" {
		out.LastErrorAt = &t
	}
	if info.State == session.Established {
		out.UptimeSeconds = int64(time.Since(info.Since).Seconds())
	}
	if info.IdleUntil.After(time.Now()) {
		t := info.IdleUntil
		out.IdleUntil = &t
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		out.Received += st.Received[f]
		out.Accepted += st.Accepted[f]
		out.Exported += st.Exported[f]
		out.Stale += st.Stale[f]
		out.PendingOut += st.PendingOut[f]
		if st.SendFamilies[f] || st.Received[f] > 0 {
			out.PerFamily = append(out.PerFamily, FamilyCnt{Family: familyName(f), Received: st.Received[f], Accepted: st.Accepted[f], Exported: st.Exported[f]})
		}
	}
	out.Filtered = out.Received - out.Accepted
	if ng := info.Negotiated; ng != nil {
		nj := &Negotiated{
			HoldTime: int(ng.HoldTime / time.Second), Keepalive: int(ng.Keepalive / time.Second), PeerID: ng.PeerID.String(),
			FourOctetAS: ng.FourOctetAS, RouteRefresh: ng.RouteRefresh, ExtendedMessage: ng.ExtendedMessage,
			Role: "none", GracefulRestart: ng.GracefulRestart,
			LocalAddress: ng.LocalAddr.String(), RemoteAddress: ng.RemoteAddr.String(),
		}
		if ng.HasRole {
			nj.Role = bgp.RoleName(ng.PeerRole)
		}
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if ng.Families[f] {
				nj.Families = append(nj.Families, f.String())
			}
			if ng.AddPathRx[f] {
				nj.AddPathReceive = append(nj.AddPathReceive, f.String())
			}
		}
		out.Negotiated = nj
	}
	return out
}

// paging reads offset and limit (default 1000, at most 100000).
func paging(r *http.Request) (int, int, error) {
	offset, limit := 0, 1000
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("offset %q: want a number ≥ 0", v)
		}
		offset = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return 0, 0, fmt.Errorf("limit %q: want 1-100000", v)
		}
		limit = n
	}
	return offset, limit, nil
}

func (a *API) toRoutes(rs []rib.Route) []Route {
	out := make([]Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, MakeRoute(r, a.srv.MemberName(r.Source.Member)))
	}
	return out
}

func (a *API) routes(w http.ResponseWriter, r *http.Request) {
	mi, err := a.srv.MemberIndex(r.PathValue("member"))
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	offset, limit, err := paging(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	flt := rib.Filter{Member: mi}
	switch f := r.URL.Query().Get("family"); f {
	case "":
	case "ipv4":
		flt.HasFamily, flt.Family = true, bgp.IPv4Unicast
	case "ipv6":
		flt.HasFamily, flt.Family = true, bgp.IPv6Unicast
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("family %q: want ipv4 or ipv6", f))
		return
	}
	var (
		rs    []rib.Route
		total int
	)
	switch v := r.URL.Query().Get("view"); v {
	case "", "received":
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "accepted":
		flt.Accepted = true
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "filtered":
		flt.Filtered = true
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "exported":
		out, err := a.exported(mi, rib.HeldFilter{Family: flt.Family, HasFamily: flt.HasFamily}, offset, limit)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("view %q: want received, accepted, filtered or exported", v))
		return
	}
	writeJSON(w, http.StatusOK, RouteList{Total: total, Offset: offset, Limit: limit, Routes: a.toRoutes(rs)})
}

// exported is what member mi holds from the route server, with the
// attributes exactly as they were sent (the UPDATE decoded as the member
// decodes it).
func (a *API) exported(mi int, flt rib.HeldFilter, offset, limit int) (RouteList, error) {
	hs, total, pending := a.srv.RIB().Held(mi, flt, offset, limit)
	out := RouteList{Total: total, Offset: offset, Limit: limit, Pending: pending, Routes: make([]Route, 0, len(hs))}
	for i := range hs {
		sent, err := routeserver.SentAttrs(&hs[i])
		if err != nil {
			return RouteList{}, fmt.Errorf("%s for %s: %w", hs[i].Prefix, a.srv.MemberName(mi), err)
		}
		r := hs[i].Route
		r.Attrs = sent
		x := MakeRoute(r, a.srv.MemberName(r.Source.Member))
		x.Pending = hs[i].Pending
		out.Routes = append(out.Routes, x)
	}
	if why := a.srv.NoSession(mi, flt); why != "" {
		out.Note = why
	}
	return out, nil
}

// parsePrefix accepts a prefix or an address (as a host prefix).
func parsePrefix(s string) (netip.Prefix, bool, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p != p.Masked() {
			return p, false, fmt.Errorf("prefix %q has host bits set; did you mean %s?", s, p.Masked())
		}
		return p, false, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true, nil
	}
	return netip.Prefix{}, false, fmt.Errorf("%q is not a prefix or an address; e.g. 10.40.0.0/16, 2001:db8:400::/40 or 10.40.1.7", s)
}

func (a *API) lookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, isAddr, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	mode := rib.Exact
	if isAddr {
		mode = rib.LongestMatch
	}
	switch m := q.Get("mode"); m {
	case "":
	case "exact":
		mode = rib.Exact
	case "longest":
		mode = rib.LongestMatch
	case "covering":
		mode = rib.Covering
	case "more-specifics":
		mode = rib.MoreSpecifics
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("mode %q: want exact, longest, covering or more-specifics", m))
		return
	}
	rs := a.srv.RIB().Lookup(p, mode)
	writeJSON(w, http.StatusOK, RouteList{Total: len(rs), Limit: len(rs), Routes: a.toRoutes(rs)})
}

func (a *API) route(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	mi, err := a.srv.MemberIndex(q.Get("member"))
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	pathID, err := optPathID(q.Get("path_id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	for _, x := range a.srv.RIB().Lookup(p, rib.Exact) {
		if x.Source.Member == mi && (pathID == nil || *pathID == x.PathID) {
			out := MakeRoute(x, a.srv.MemberName(mi))
			out.ExportedTo, out.PendingTo = a.srv.Receivers(x)
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	writeErr(w, http.StatusNotFound, fmt.Errorf("%s has no route for %s", q.Get("member"), p))
}

func optPathID(s string) (*uint32, error) {
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("path_id %q: want a number", s)
	}
	id := uint32(v)
	return &id, nil
}

func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	pathID, err := optPathID(q.Get("path_id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	tr, err := a.srv.Explain(q.Get("member"), p, pathID, q.Get("to"))
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, tr.String())
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	var req ReloadRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: want nothing, or JSON like {\"config\": \"/etc/fedrs/fedrs.toml\"}: %w", err))
			return
		}
	}
	running := a.srv.Config().AbsFile()
	if req.Config != "" {
		if !filepath.IsAbs(req.Config) {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("config %q: want the absolute path of the configuration file", req.Config))
			return
		}
		if !sameFile(req.Config, running) {
			writeErr(w, http.StatusConflict, fmt.Errorf("reload refused, nothing changed: this route server runs %s and reloads only that file, not %s "+
				"(a running route server's configuration file is fixed at its start, as under a service manager); "+
				"to see what %s would change: fedrs check -c %s --diff", running, req.Config, req.Config, req.Config))
			return
		}
	}
	res, err := a.srv.ReloadFile()
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	writeJSON(w, http.StatusOK, ReloadResult{Config: running, Summary: res.String(), Deferred: res.Deferred, Reevaluated: res.Reevaluated,
		Reset: res.SessionsReset, Added: res.SessionsAdded, Removed: res.SessionsRemoved, RPKIProblems: res.RPKIProblems})
}

// sameFile reports whether the paths a and b name the same file: the same
// path, or (through links) the same inode.
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// check is a dry-run reload: the import policy of another configuration
// file over the routes held now. Nothing changes.
func (a *API) check(w http.ResponseWriter, r *http.Request) {
	var req CheckRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: want JSON like {\"config\": \"/etc/fedrs/fedrs.toml.new\"}: %w", err))
		return
	}
	if req.Config == "" || !filepath.IsAbs(req.Config) {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("config %q: want the absolute path of the configuration file to check", req.Config))
		return
	}
	if req.Limit < 0 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %d: want 0 or more (0: the default, 1000)", req.Limit))
		return
	}
	if req.Limit == 0 {
		req.Limit = 1000
	}
	cfg, err := conf.Load(req.Config)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	res, err := a.srv.DryRun(cfg, req.Limit)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	running := res.Running
	out := CheckResult{
		Config: cfg.File, ConfigHash: cfg.Hash, RunningConfig: running.File, RunningHash: running.Hash,
		Changes: res.Changes.String(), Deferred: res.Deferred, Checked: res.Checked, Limit: req.Limit,
		Totals:    CheckTotals{WouldFilter: res.NumFilter, WouldAccept: res.NumAccept, ReasonsChanged: res.NumReasons, WouldWithdraw: res.NumWithdraw},
		RPKINotes: res.RPKINotes,
	}
	conv := func(cs []routeserver.VerdictChange) []CheckRoute {
		l := make([]CheckRoute, 0, len(cs))
		for _, c := range cs {
			l = append(l, MakeCheckRoute(c))
		}
		return l
	}
	out.WouldFilter, out.WouldAccept, out.ReasonsChanged, out.WouldWithdraw = conv(res.Filter), conv(res.Accept), conv(res.Reasons), conv(res.Withdraw)
	writeJSON(w, http.StatusOK, out)
}

type messageBody struct {
	Message string `json:"message"`
	Wait    string `json:"wait"`
}

func readBody(r *http.Request) (messageBody, error) {
	var b messageBody
	if r.ContentLength == 0 {
		return b, nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("request body: want JSON like {\"message\": \"maintenance until 02:00\"}: %w", err)
	}
	return b, nil
}

func (a *API) shutdown(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if len(b.Message) > 255 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("message is %d octets; RFC 9003 allows at most 255", len(b.Message)))
		return
	}
	if err := a.srv.ShutdownMember(r.PathValue("member"), b.Message); err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "shut down"})
}

func (a *API) enable(w http.ResponseWriter, r *http.Request) {
	if err := a.srv.EnableMember(r.PathValue("member")); err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "enabled"})
}

func (a *API) clear(w http.ResponseWriter, r *http.Request) {
	dir := r.URL.Query().Get("direction")
	if dir == "" {
		dir = "in"
	}
	res, err := a.srv.ClearMember(r.PathValue("member"), dir)
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := ClearResult{Member: r.PathValue("member"), Direction: dir, Sessions: []ClearSession{}}
	done := 0
	for _, cs := range res {
		out.Sessions = append(out.Sessions, ClearSession{Neighbor: cs.Neighbor, State: cs.State,
			Families: append([]string{}, cs.Families...), Notes: cs.Notes})
		if cs.Done() {
			done++
		}
	}
	what := "ROUTE-REFRESH sent"
	if dir == "out" {
		what = "routes resent"
	}
	out.Result = fmt.Sprintf("soft clear %s: %s on %d of %d sessions", dir, what, done, len(res))
	writeJSON(w, http.StatusOK, out)
}

// maintenanceStart is POST /v1/maintenance/start (and POST
// /v1/maintenance, its first name).
func (a *API) maintenanceStart(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	wait := 5 * time.Minute
	if b.Wait != "" {
		if wait, err = conf.ParseDuration(b.Wait); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("wait: %w", err))
			return
		}
		if wait < 0 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("wait %q: want a duration of 0s or more, e.g. 5m", b.Wait))
			return
		}
	}
	if len(b.Message) > 255 {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("message is %d octets; RFC 9003 allows at most 255", len(b.Message)))
		return
	}
	if b.Message == "" {
		b.Message = "route server maintenance"
	}
	st, err := a.srv.StartMaintenance(b.Message, wait)
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := MakeMaintenance(st)
	out.Result = fmt.Sprintf("GRACEFUL_SHUTDOWN sent on every route to %d sessions; sessions close in %v (at %s)",
		len(st.Sessions), wait, st.CloseAt.Format(time.RFC3339))
	writeJSON(w, http.StatusOK, out)
}

// maintenanceStatus is GET /v1/maintenance.
func (a *API) maintenanceStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, MakeMaintenance(a.srv.MaintenanceStatus()))
}

// maintenanceStop is POST /v1/maintenance/stop.
func (a *API) maintenanceStop(w http.ResponseWriter, r *http.Request) {
	res, err := a.srv.StopMaintenance()
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	out := MakeMaintenance(a.srv.MaintenanceStatus())
	out.Result = res
	writeJSON(w, http.StatusOK, out)
}

// MRTStatsTrailer is the HTTP trailer of GET /v1/mrt: the dump's
// mrt.Stats as JSON, sent once the dump is complete.
const MRTStatsTrailer = "Fedrs-Mrt-Stats"

// mrtDump streams an MRT TABLE_DUMP_V2 dump of the RIB.
func (a *API) mrtDump(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", mrt.FileName(now)))
	w.Header().Set("Trailer", MRTStatsTrailer)
	st, err := mrt.Dump(w, a.srv, now)
	if err != nil {
		// Mid-stream: the status is sent; break the response so the
		// client sees a failed transfer, not a short dump.
		a.opts.Log.Warn("MRT dump over the control API failed", "err", err)
		panic(http.ErrAbortHandler)
	}
	b, _ := json.Marshal(st)
	w.Header().Set(MRTStatsTrailer, string(b))
}
