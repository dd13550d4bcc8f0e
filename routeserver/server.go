package routeserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
	"github.com/fedrs/fedrs/rpki"
)

// Options are the parts of a Server that do not come from the config file.
type Options struct {
	Log *slog.Logger
	// Listen, when set, replaces [server] listen (tests use port 0).
	Listen []string
	// RPKI, when set, is the RPKI manager whose published data the policy
	// engine validates with while the configuration asks for RPKI data
	// (rpki.Configured; otherwise ROV and ASPA are not checked). Run
	// re-validates the affected routes whenever it publishes a change, and
	// a reload installs the new configuration's [rpki] sources and
	// registry in it (Manager.Configure) before import policy is re-run.
	// The caller runs it (Manager.Run).
	RPKI *rpki.Manager
	// History, when set, records routing events (the audit trail).
	History Recorder
	// Monitors get route and session events too (BMP streams).
	Monitors []Monitor
	// Reloads, when set, is told of every reload from the configuration
	// file (SIGHUP, the control API): before it starts and how it ended.
	Reloads ReloadObserver
}

// ReloadObserver follows the reloads from the configuration file (the
// service manager's notifications).
type ReloadObserver interface {
	Reloading()
	// Reloaded gets the reload's result, or why it was refused.
	Reloaded(res ReloadResult, err error)
}

// Monitor receives route events from the RIB (with the RIB locked: quick,
// never blocking) and the neighbours' session events.
type Monitor interface {
	rib.Observer
	SessionUp(member, neighbor string, n *session.Negotiated)
	SessionDown(member, neighbor string, ev session.DownEvent)
}

// Recorder receives the events the audit history keeps. Route events and
// exposures come from the RIB with the RIB locked: they must be quick and
// never block (queue them).
type Recorder interface {
	rib.ExposureObserver
	// ConfigLoaded records a configuration load or reload; changes is the
	// human-readable diff ("" for the first load).
	ConfigLoaded(cfg *conf.Config, changes string)
	// SessionUp and SessionDown record a neighbour's session events.
	SessionUp(member, neighbor string, n *session.Negotiated)
	SessionDown(member, neighbor string, ev session.DownEvent)
}

// busyPendingOut is the number of exports waiting (over all targets) from
// which the route server counts as busy for the history's write-behind:
// steady churn of a thousand changes a second to 50 members keeps a few
// hundred waiting; a table load keeps tens of thousands.
const busyPendingOut = 4096

// Server is a running route server.
type Server struct {
	log   *slog.Logger
	wbufs *sync.Pool // UPDATE-building buffers lent to the session writers
	opts  Options
	attrs *wire.Table
	rib   *rib.RIB

	mu      sync.RWMutex
	cfg     *conf.Config
	engine  *policy.Engine
	gen     uint32
	nbrs    map[netip.Addr]*neighbor
	started time.Time
	// reloaded is when a reload last succeeded (zero: none since start).
	reloaded time.Time
	// reloads counts reloads applied and refused (reloadcount.go).
	reloads reloadCounts

	reloadMu    sync.Mutex
	policyMu    sync.RWMutex // read-held by UPDATE processing (judgement to RIB); Reload and RPKI re-validation passes write-hold it
	maintenance atomic.Bool  // every export tagged GRACEFUL_SHUTDOWN
	maint       maintenance  // its phases (maintenance.go)
	monitors    []Monitor    // history and BMP: session events
	ln          *session.Listener
	refusedLim  atomic.Uint64 // connections refused for the limit per neighbour
	runCtx      context.Context
	wg          sync.WaitGroup
	stopped     atomic.Bool
}

// neighbor is one configured neighbour address of a member: its FSM, its
// RIB source, and the session.Handler / Outbox glue between them.
type neighbor struct {
	s          *Server
	member     int    // index into the running config; changes on reload (guarded by Server.mu / policyMu)
	memberName string // the member's name: fixed for the neighbour's life
	name       string
	cfg        session.Config
	peer       *session.Peer
	src        *rib.Source
	cancel     context.CancelFunc
	done       chan struct{}

	// Used only from the session's reader goroutine.
	dec     *wire.Decoder
	changes []rib.Change
	sendFam [bgp.NumFamilies]bool
	neg     *session.Negotiated
	warned  bool
}

// New builds a server from a validated configuration.
func New(cfg *conf.Config, opts Options) (*Server, error) {
	if err := conf.Validate(cfg); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	eng, err := policy.New(cfg, rpkiFor(opts.RPKI, cfg))
	if err != nil {
		return nil, fmt.Errorf("building the policy engine: %w", err)
	}
	s := &Server{
		wbufs:  session.NewWriteBuffers(),
		log:    opts.Log,
		opts:   opts,
		attrs:  wire.NewTable(),
		cfg:    cfg,
		engine: eng,
		nbrs:   map[netip.Addr]*neighbor{},
	}
	s.rib = rib.New(s.attrs, exporter{s})
	s.rib.SetLimits(limits(cfg))
	s.rib.SetMembers(len(cfg.Members))
	if opts.History != nil {
		s.rib.SetObserver(opts.History)
		if b, ok := opts.History.(interface{ SetBusy(func() bool) }); ok {
			// Write-behind: the recorder holds its writes while many
			// exports wait (a table load), not for the few of steady churn.
			b.SetBusy(func() bool { return s.rib.PendingOut() >= busyPendingOut })
		}
		opts.History.ConfigLoaded(cfg, "")
		s.applyDurable(cfg)
		s.monitors = append(s.monitors, opts.History)
	}
	for _, m := range opts.Monitors {
		s.rib.SetObserver(m)
		s.monitors = append(s.monitors, m)
	}
	for i := range cfg.Members {
		for _, a := range cfg.Members[i].Neighbors {
			s.addNeighbor(i, a)
		}
	}
	return s, nil
}

// exporter hands the RIB the current engine's rewrite.
type exporter struct{ s *Server }

func (e exporter) Rewrite(member int, a *bgp.Attrs, mods policy.Mods, v policy.Variant) bgp.Rewrite {
	rw := e.s.Engine().Rewrite(member, a, mods, v)
	if e.s.maintenance.Load() && !slices.Contains(rw.Communities, bgp.CommGracefulShutdown) {
		// Route-server maintenance (RFC 8326 §4): members lower the
		// preference of every route learned through us.
		rw.Communities = append(slices.Clone(rw.Communities), bgp.CommGracefulShutdown)
		slices.Sort(rw.Communities)
	}
	return rw
}

// Engine returns the current policy engine.
func (s *Server) Engine() *policy.Engine {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.engine
}

// Config returns the running configuration.
func (s *Server) Config() *conf.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// RIB returns the routing table.
func (s *Server) RIB() *rib.RIB { return s.rib }

func limits(cfg *conf.Config) []rib.Limit {
	out := make([]rib.Limit, len(cfg.Members))
	for i, m := range cfg.Members {
		out[i] = rib.Limit{
			Max:     [bgp.NumFamilies]int{m.MaxPrefixes.IPv4, m.MaxPrefixes.IPv6},
			Action:  m.MaxPrefixes.Action,
			Restart: m.MaxPrefixes.Restart.Duration,
		}
	}
	return out
}

// addNeighbor creates member's neighbour addr (its RIB source and its
// peer, not started) and enters it in s.nbrs. It must be called without
// Server.mu held (it takes the RIB's lock, then
// Server.mu): the RIB's writers take Server.mu (Engine, to build a
// template) while they hold the RIB's lock, so locking the RIB under
// Server.mu can deadlock. It reads s.cfg unlocked: only New and Reload
// (its one writer) call it.
func (s *Server) addNeighbor(member int, addr netip.Addr) *neighbor {
	m := &s.cfg.Members[member]
	name := m.Name + " " + addr.String()
	n := &neighbor{s: s, member: member, memberName: m.Name, name: name}
	n.cfg = s.sessionConfig(member, addr)
	n.src = s.rib.AddSource(member, name, addr)
	n.peer = session.NewPeer(n.cfg, n, s.log.With("member", m.Name))
	s.mu.Lock()
	s.nbrs[addr] = n
	s.mu.Unlock()
	return n
}

// sessionConfig derives a neighbour's session settings from the member.
func (s *Server) sessionConfig(member int, addr netip.Addr) session.Config {
	cfg := s.cfg
	m := &cfg.Members[member]
	c := session.Config{
		Name:            m.Name + " " + addr.String(),
		PeerAddr:        addr,
		PeerPort:        m.Port,
		LocalASN:        cfg.Server.ASN,
		PeerASN:         m.ASN,
		RouterID:        cfg.Server.RouterID,
		HoldTime:        cfg.MemberHoldTime(member),
		ConnectRetry:    cfg.Server.ConnectRetry.Duration,
		RefusedConns:    &s.refusedLim,
		Passive:         m.Passive,
		MD5Key:          m.MD5Secret,
		GTSM:            m.GTSM,
		GTSMHops:        m.GTSMHops,
		RoleStrict:      m.RoleStrict,
		AddPathRx:       m.AddPath == "receive" || m.AddPath == "both",
		GracefulRestart: m.GracefulRestart == nil || *m.GracefulRestart,
		WriteBuffers:    s.wbufs,
	}
	if addr.Is4() {
		c.LocalAddr = m.LocalAddressV4
	} else {
		c.LocalAddr = m.LocalAddressV6
	}
	fams := m.Families
	if len(fams) == 0 {
		fams = conf.DefaultFamilies()
	}
	for _, f := range fams {
		switch f {
		case "ipv4":
			c.Families[bgp.IPv4Unicast] = true
		case "ipv6":
			c.Families[bgp.IPv6Unicast] = true
		}
	}
	// A member with neighbours on both transports gets each family on its
	// own transport, as IXP members expect; with one neighbour, that
	// session carries every family (MP-BGP).
	hasV4, hasV6 := false, false
	for _, a := range m.Neighbors {
		hasV4 = hasV4 || a.Is4()
		hasV6 = hasV6 || !a.Is4()
	}
	if hasV4 && hasV6 {
		if addr.Is4() {
			c.Families[bgp.IPv6Unicast] = false
		} else {
			c.Families[bgp.IPv4Unicast] = false
		}
	}
	return c
}

// Run is Listen then Serve: it listens and runs every neighbour until ctx
// ends, then closes all sessions (with Shutdown's message if Shutdown was
// called first). Callers that need to know when the server listens (its
// port, a bind error before anything else starts) call Listen and Serve.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(ctx); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Listen binds the BGP listeners ([server] listen, or Options.Listen) and
// installs the neighbours' TCP-MD5 keys on them, and returns: an address
// in use or a key the kernel refuses is its error, and Addrs is valid as
// soon as it returns. Connections are accepted from then on and wait for
// Serve, which must follow (it closes the listeners when it ends). ctx
// bounds the binding only.
func (s *Server) Listen(ctx context.Context) error {
	s.mu.RLock()
	listening := s.ln != nil
	s.mu.RUnlock()
	if listening {
		return errors.New("route server: Listen called twice")
	}
	listen := s.opts.Listen
	if len(listen) == 0 {
		listen = s.cfg.Server.Listen
	}
	ln, err := session.Listen(ctx, listen, s.lookup, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nbrs {
		if n.cfg.MD5Key != "" {
			if err := ln.SetMD5(n.cfg.PeerAddr, n.cfg.MD5Key); err != nil {
				ln.Close()
				return fmt.Errorf("member %s: %w", n.name, err)
			}
		}
	}
	s.ln = ln
	return nil
}

// Serve runs every neighbour on the listeners Listen opened until ctx
// ends, then closes the listeners and all sessions (with Shutdown's
// message if Shutdown was called first).
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	if ln == nil || s.runCtx != nil {
		s.mu.Unlock()
		return errors.New("route server: Serve without Listen, or called twice")
	}
	s.mu.Unlock()
	if s.opts.RPKI != nil {
		s.followRPKI(ctx, s.opts.RPKI)
	}
	s.mu.Lock()
	s.runCtx = ctx
	s.started = time.Now()
	for _, n := range s.nbrs {
		s.startNeighbor(ctx, n)
	}
	s.log.Info("route server running", "asn", s.cfg.Server.ASN, "router_id", s.cfg.Server.RouterID,
		"listen", ln.Addrs(), "members", len(s.cfg.Members), "neighbors", len(s.nbrs))
	s.mu.Unlock()
	<-ctx.Done()
	ln.Close()
	s.wg.Wait()
	s.stopped.Store(true)
	s.log.Info("route server stopped")
	return nil
}

func (s *Server) startNeighbor(ctx context.Context, n *neighbor) {
	nctx, cancel := context.WithCancel(ctx)
	n.cancel = cancel
	n.done = make(chan struct{})
	if s.cfg.Members[n.member].Shutdown {
		go n.peer.Shutdown("member administratively down in the configuration")
	} else if msg, ok := s.maint.closing(n.src.Addr, n.name); ok {
		go n.peer.Shutdown(msg) // a neighbour (re)started by a reload while maintenance has the sessions closed
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(n.done)
		n.peer.Run(nctx)
	}()
}

// Addrs returns the listening addresses once Listen has returned (nil
// before).
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addrs()
}

// ConnectionsRefused returns the BGP connections refused since the start,
// by reason: session.RefusedUnconfigured (not a configured neighbour),
// session.RefusedTTL (below the member's GTSM bound, checked on the SYN)
// and session.RefusedLimit (the neighbour already had the connections
// collision detection needs).
func (s *Server) ConnectionsRefused() map[string]uint64 {
	s.mu.RLock()
	ln := s.ln
	s.mu.RUnlock()
	out := map[string]uint64{session.RefusedUnconfigured: 0, session.RefusedTTL: 0}
	if ln != nil {
		for k, v := range ln.Refused() {
			out[k] = v
		}
	}
	out[session.RefusedLimit] = s.refusedLim.Load()
	return out
}

func (s *Server) lookup(a netip.Addr) *session.Peer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n, ok := s.nbrs[a]; ok {
		return n.peer
	}
	return nil
}

// Shutdown closes every session with Cease "Administrative Shutdown" and
// the RFC 9003 message msg, waiting for the NOTIFICATIONs to go out.
func (s *Server) Shutdown(msg string) {
	s.mu.RLock()
	nbrs := make([]*neighbor, 0, len(s.nbrs))
	for _, n := range s.nbrs {
		nbrs = append(nbrs, n)
	}
	s.mu.RUnlock()
	var wg sync.WaitGroup
	for _, n := range nbrs {
		wg.Add(1)
		go func() { defer wg.Done(); n.peer.Shutdown(msg) }()
	}
	wg.Wait()
}

// Neighbor is a configured neighbour as the control API shows it.
type Neighbor struct {
	Member int
	Name   string
	Peer   *session.Peer
	Source *rib.Source
}

// Neighbors lists the configured neighbours in member order.
func (s *Server) Neighbors() []Neighbor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Neighbor, 0, len(s.nbrs))
	for _, n := range s.nbrs {
		out = append(out, Neighbor{Member: n.member, Name: n.name, Peer: n.peer, Source: n.src})
	}
	slices.SortFunc(out, func(a, b Neighbor) int {
		if a.Member != b.Member {
			return a.Member - b.Member
		}
		return a.Source.Addr.Compare(b.Source.Addr)
	})
	return out
}

// ---- session.Handler ----

func (n *neighbor) Established(p *session.Peer, neg *session.Negotiated) session.Outbox {
	n.neg = neg
	n.dec = &wire.Decoder{AddPath: neg.AddPathRx, FourOctetAS: neg.FourOctetAS, Table: n.s.attrs}
	n.sendFam = neg.Families
	for _, m := range n.s.monitors {
		m.SessionUp(n.memberName, n.src.Addr.String(), neg)
	}
	n.s.rib.SessionUp(n.src, neg, n.sendFam, p.Kick)
	return n
}

// Fill implements session.Outbox.
func (n *neighbor) Fill(buf []byte, limit int) []byte { return n.s.rib.Fill(n.src, buf, limit) }

const profileMods = policy.ProfileMods

// exportProfile returns the export profile of a route with attributes a
// from member, accepted with mods, under policy generation gen: cached in
// the attribute set, computed by eng on a miss.
func exportProfile(eng *policy.Engine, gen uint32, member int, a *wire.AttrSet, mods policy.Mods) *policy.Profile {
	return a.Profile(wire.ProfileKey{Gen: gen, Member: int32(member), Mods: uint32(mods)}, func() any {
		return eng.Profile(member, &a.Attrs, mods)
	}).(*policy.Profile)
}

func (n *neighbor) Update(p *session.Peer, body []byte) error {
	u, err := n.dec.Decode(body)
	if err != nil {
		return err
	}
	s := n.s
	s.policyMu.RLock()
	defer s.policyMu.RUnlock()
	s.mu.RLock()
	eng, gen, member, cfg := s.engine, s.gen, n.member, s.cfg
	s.mu.RUnlock()
	if u.TreatAsWithdraw != nil {
		s.log.Warn("malformed attributes: prefixes treated as withdrawn (RFC 7606)", "neighbor", n.name, "err", u.TreatAsWithdraw)
	}
	if len(u.Discarded) > 0 && !n.warned {
		n.warned = true
		s.log.Info("attributes discarded (RFC 7606 or eBGP rules); further occurrences not logged", "neighbor", n.name, "discarded", u.Discarded)
	}
	ch := n.changes[:0]
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		for _, w := range u.Withdrawn[f] {
			ch = append(ch, rib.Change{Family: f, Prefix: w.Prefix, PathID: w.PathID})
		}
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		a := u.Attrs[f]
		if a == nil {
			continue
		}
		ann := u.Announced[f]
		if !n.neg.Families[f] {
			a.Release()
			continue
		}
		a.RetainN(int32(len(ann)) - 1)
		if len(ann) == 0 {
			a.Release()
			continue
		}
		for _, nl := range ann {
			v := eng.Import(member, nl.Prefix, &a.Attrs)
			var prof *policy.Profile
			if v.Accepted() {
				mods := v.Mods & profileMods
				prof = exportProfile(eng, gen, member, a, mods)
			}
			ch = append(ch, rib.Change{Family: f, Prefix: nl.Prefix, PathID: nl.PathID, Attrs: a, Verdict: v, Profile: prof})
		}
	}
	n.changes = ch[:0]
	if len(ch) > 0 {
		res := s.rib.Apply(n.src, ch)
		if res.Exceeded {
			lim := cfg.Members[member].MaxPrefixes
			s.log.Warn("maximum prefixes exceeded: closing the session", "neighbor", n.name,
				"family", res.ExceededFamily.String(), "limit", res.ExceededLimit, "restart", lim.Restart.Duration)
			p.MaxPrefixExceeded(res.ExceededFamily, uint32(res.ExceededLimit), lim.Restart.Duration)
		}
		if res.Warned {
			s.log.Warn("maximum prefixes exceeded (action warn)", "neighbor", n.name)
		}
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if u.EndOfRIB[f] {
			s.rib.EndOfRIB(n.src, f)
		}
	}
	return nil
}

func (n *neighbor) RouteRefresh(p *session.Peer, f bgp.Family, subtype uint8) {
	if subtype == 0 {
		n.s.rib.Refresh(n.src, f)
	}
}

func (n *neighbor) Down(p *session.Peer, ev session.DownEvent) {
	gr := ev.GracefulRestart && ev.Negotiated != nil
	var restart time.Duration
	if gr {
		restart = ev.Negotiated.GRRestartTime
	}
	n.s.rib.SessionDown(n.src, gr, restart, "session down: "+ev.Reason)
	for _, m := range n.s.monitors {
		m.SessionDown(n.memberName, n.src.Addr.String(), ev)
	}
}

// ErrStopped is returned by operations on a stopped server.
var ErrStopped = errors.New("route server stopped")
