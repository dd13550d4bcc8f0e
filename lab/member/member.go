// Package member runs in-process member routers on gobgp's BGP server: real
// BGP speakers on 127.0.0.x that peer with the route server, announce and
// withdraw routes, and report what they received. The tests use them
// (fedrs demo runs routeserver/speaker instead); no root and no other
// software is needed.
package member

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/speaker"
	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// Config describes one member router.
type Config struct {
	Name     string
	ASN      uint32
	RouterID netip.Addr // default: LocalAddr when IPv4
	// LocalAddr is the router's own address (127.0.0.x or ::1 style);
	// the session to the route server is opened from it.
	LocalAddr netip.Addr
	RSAddr    netip.Addr
	RSPort    int
	RSASN     uint32
	// ListenPort, when non-zero, also accepts connections on
	// LocalAddr:ListenPort (the route server may then connect actively).
	ListenPort int
	// Passive: do not connect to the route server, only accept.
	Passive      bool
	HoldTime     time.Duration // default 90s
	ConnectRetry time.Duration // default 1s
	MD5          string
	// IPv4/IPv6 families to enable; both when neither is set.
	IPv4, IPv6      bool
	GracefulRestart bool
	// RestartTime announced with graceful restart (default 120s).
	RestartTime time.Duration
	Log         *slog.Logger
}

// Router is one in-process member router.
type Router struct {
	cfg   Config
	s     *server.BgpServer
	notes *notifyRecord
}

// Route is a route announced or received.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	// ASPath is the AS_PATH as received; for Announce it is the path behind
	// the router's own AS, which the router prepends (eBGP).
	ASPath      []uint32
	MED         *uint32
	Communities []string // "65000:1", well-known values as numbers too
	Large       []string // "4200000000:0:65001"
	OTC         *uint32
	// Extra attributes to send verbatim (tests of odd input).
	Extra []bgp.PathAttributeInterface
}

// Start starts the router and its session toward the route server.
func Start(ctx context.Context, cfg Config) (*Router, error) {
	if !cfg.IPv4 && !cfg.IPv6 {
		cfg.IPv4, cfg.IPv6 = true, true
	}
	if cfg.HoldTime == 0 {
		cfg.HoldTime = 90 * time.Second
	}
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = time.Second
	}
	if cfg.RestartTime == 0 {
		cfg.RestartTime = 120 * time.Second
	}
	rid := cfg.RouterID
	if !rid.IsValid() {
		if cfg.LocalAddr.Is4() {
			rid = cfg.LocalAddr
		} else {
			return nil, fmt.Errorf("member %s: RouterID is required with an IPv6 local address", cfg.Name)
		}
	}
	logger := cfg.Log
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	notes := &notifyRecord{}
	logger = slog.New(notifyLog{inner: logger.Handler(), rec: notes})
	s := server.NewBgpServer(server.LoggerOption(&slogAdapter{logger.With("member", cfg.Name)}))
	go s.Serve()
	r := &Router{cfg: cfg, s: s, notes: notes}
	listenPort := int32(-1)
	var listenAddrs []string
	if cfg.ListenPort != 0 {
		listenPort = int32(cfg.ListenPort)
		listenAddrs = []string{cfg.LocalAddr.String()}
	}
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: cfg.ASN, RouterId: rid.String(), ListenPort: listenPort, ListenAddresses: listenAddrs,
	}}); err != nil {
		s.Stop()
		return nil, fmt.Errorf("member %s: starting BGP: %w", cfg.Name, err)
	}
	var afs []*api.AfiSafi
	addAF := func(afi api.Family_Afi) {
		af := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}}
		if cfg.GracefulRestart {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		afs = append(afs, af)
	}
	if cfg.IPv4 {
		addAF(api.Family_AFI_IP)
	}
	if cfg.IPv6 {
		addAF(api.Family_AFI_IP6)
	}
	peer := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: cfg.RSAddr.String(), PeerAsn: cfg.RSASN, AuthPassword: cfg.MD5},
		Transport: &api.Transport{
			LocalAddress: cfg.LocalAddr.String(), RemotePort: uint32(cfg.RSPort), PassiveMode: cfg.Passive,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: uint64(cfg.HoldTime / time.Second), KeepaliveInterval: uint64(cfg.HoldTime / 3 / time.Second),
			ConnectRetry: uint64(max(cfg.ConnectRetry/time.Second, 1)), IdleHoldTimeAfterReset: 1,
		}},
		AfiSafis: afs,
	}
	if cfg.GracefulRestart {
		peer.GracefulRestart = &api.GracefulRestart{Enabled: true, RestartTime: uint32(cfg.RestartTime / time.Second)}
	}
	if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: peer}); err != nil {
		s.Stop()
		return nil, fmt.Errorf("member %s: adding the route server as neighbour: %w", cfg.Name, err)
	}
	return r, nil
}

// Name returns the router's name.
func (r *Router) Name() string { return r.cfg.Name }

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }

// Stop stops the router (its session goes down without a NOTIFICATION
// being guaranteed).
func (r *Router) Stop() {
	r.s.StopBgp(context.Background(), &api.StopBgpRequest{})
	r.s.Stop()
}

// Shutdown closes the session with Cease/Administrative Shutdown and the
// RFC 9003 message msg.
func (r *Router) Shutdown(ctx context.Context, msg string) error {
	return r.s.ShutdownPeer(ctx, &api.ShutdownPeerRequest{Address: r.cfg.RSAddr.String(), Communication: msg})
}

// Enable re-enables the session after Shutdown or Disable.
func (r *Router) Enable(ctx context.Context) error {
	return r.s.EnablePeer(ctx, &api.EnablePeerRequest{Address: r.cfg.RSAddr.String()})
}

// SoftResetIn asks the route server to resend its routes (ROUTE-REFRESH).
func (r *Router) SoftResetIn(ctx context.Context) error {
	return r.s.ResetPeer(ctx, &api.ResetPeerRequest{Address: r.cfg.RSAddr.String(), Soft: true,
		Direction: api.ResetPeerRequest_IN})
}

// State returns the session state toward the route server ("ESTABLISHED", ...).
func (r *Router) State(ctx context.Context) (string, error) {
	var st string
	err := r.s.ListPeer(ctx, &api.ListPeerRequest{Address: r.cfg.RSAddr.String()}, func(p *api.Peer) {
		if p.State != nil {
			st = strings.TrimPrefix(p.State.SessionState.String(), "")
		}
	})
	return st, err
}

// Uptime returns when the session toward the route server came up (zero
// when it is not established).
func (r *Router) Uptime(ctx context.Context) (time.Time, error) {
	var up time.Time
	err := r.s.ListPeer(ctx, &api.ListPeerRequest{Address: r.cfg.RSAddr.String()}, func(p *api.Peer) {
		if p.Timers != nil && p.Timers.State != nil && p.Timers.State.Uptime != nil &&
			p.State != nil && p.State.SessionState == api.PeerState_ESTABLISHED {
			up = p.Timers.State.Uptime.AsTime()
		}
	})
	return up, err
}

// WaitEstablished waits until the session is established or ctx ends.
func (r *Router) WaitEstablished(ctx context.Context) error {
	return poll(ctx, func() (bool, error) {
		st, err := r.State(ctx)
		return st == "ESTABLISHED", err
	}, func() string { st, _ := r.State(context.Background()); return "session state " + st })
}

// Announce originates a route (the router prepends its own AS).
func (r *Router) Announce(ctx context.Context, rt Route) error {
	p, err := r.apiPath(rt, false)
	if err != nil {
		return err
	}
	_, err = r.s.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p})
	return err
}

// Withdraw withdraws a route announced before.
func (r *Router) Withdraw(ctx context.Context, prefix netip.Prefix) error {
	p, err := r.apiPath(Route{Prefix: prefix}, true)
	if err != nil {
		return err
	}
	return r.s.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Path: p})
}

func (r *Router) apiPath(rt Route, withdraw bool) (*api.Path, error) {
	nh := rt.NextHop
	if !nh.IsValid() {
		nh = r.cfg.LocalAddr
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var nlri bgp.AddrPrefixInterface
	if rt.Prefix.Addr().Is4() {
		nlri = bgp.NewIPAddrPrefix(uint8(rt.Prefix.Bits()), rt.Prefix.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeNextHop(nh.String()))
	} else {
		nlri = bgp.NewIPv6AddrPrefix(uint8(rt.Prefix.Bits()), rt.Prefix.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI(nh.String(), []bgp.AddrPrefixInterface{nlri}))
	}
	if len(rt.ASPath) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, rt.ASPath)}))
	} else {
		attrs = append(attrs, bgp.NewPathAttributeAsPath(nil))
	}
	if rt.MED != nil {
		attrs = append(attrs, bgp.NewPathAttributeMultiExitDisc(*rt.MED))
	}
	if len(rt.Communities) > 0 {
		var cs []uint32
		for _, c := range rt.Communities {
			v, err := ParseCommunity(c)
			if err != nil {
				return nil, err
			}
			cs = append(cs, v)
		}
		attrs = append(attrs, bgp.NewPathAttributeCommunities(cs))
	}
	if len(rt.Large) > 0 {
		var ls []*bgp.LargeCommunity
		for _, c := range rt.Large {
			v, err := bgp.ParseLargeCommunity(c)
			if err != nil {
				return nil, fmt.Errorf("large community %q: %w", c, err)
			}
			ls = append(ls, v)
		}
		attrs = append(attrs, bgp.NewPathAttributeLargeCommunities(ls))
	}
	if rt.OTC != nil {
		v := []byte{byte(*rt.OTC >> 24), byte(*rt.OTC >> 16), byte(*rt.OTC >> 8), byte(*rt.OTC)}
		attrs = append(attrs, bgp.NewPathAttributeUnknown(bgp.BGP_ATTR_FLAG_OPTIONAL|bgp.BGP_ATTR_FLAG_TRANSITIVE, 35, v))
	}
	attrs = append(attrs, rt.Extra...)
	return apiutil.NewPath(nlri, withdraw, attrs, time.Now())
}

// ParseCommunity parses "A:B" into a 32-bit community.
func ParseCommunity(s string) (uint32, error) { return speaker.ParseCommunity(s) }

// Received returns the routes the router received from the route server,
// sorted by prefix.
func (r *Router) Received(ctx context.Context) ([]Route, error) {
	var out []Route
	var errs []error
	for _, fam := range []*api.Family{
		{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
		{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST},
	} {
		if (fam.Afi == api.Family_AFI_IP && !r.cfg.IPv4) || (fam.Afi == api.Family_AFI_IP6 && !r.cfg.IPv6) {
			continue
		}
		err := r.s.ListPath(ctx, &api.ListPathRequest{
			TableType: api.TableType_ADJ_IN, Name: r.cfg.RSAddr.String(), Family: fam,
		}, func(d *api.Destination) {
			for _, p := range d.Paths {
				rt, err := fromAPIPath(d.Prefix, p)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, rt)
			}
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		return a.Prefix.Addr().Compare(b.Prefix.Addr())*64 + (a.Prefix.Bits() - b.Prefix.Bits())
	})
	return out, errors.Join(errs...)
}

func fromAPIPath(prefix string, p *api.Path) (Route, error) {
	var rt Route
	pfx, err := netip.ParsePrefix(prefix)
	if err != nil {
		return rt, err
	}
	rt.Prefix = pfx
	attrs, err := apiutil.GetNativePathAttributes(p)
	if err != nil {
		return rt, err
	}
	for _, a := range attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			rt.NextHop, _ = netip.AddrFromSlice(a.Value)
			rt.NextHop = rt.NextHop.Unmap()
		case *bgp.PathAttributeMpReachNLRI:
			rt.NextHop, _ = netip.AddrFromSlice(a.Nexthop)
			rt.NextHop = rt.NextHop.Unmap()
		case *bgp.PathAttributeAsPath:
			for _, seg := range a.Value {
				rt.ASPath = append(rt.ASPath, seg.GetAS()...)
			}
		case *bgp.PathAttributeMultiExitDisc:
			v := a.Value
			rt.MED = &v
		case *bgp.PathAttributeCommunities:
			for _, c := range a.Value {
				rt.Communities = append(rt.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
			}
		case *bgp.PathAttributeLargeCommunities:
			for _, c := range a.Values {
				rt.Large = append(rt.Large, c.String())
			}
		case *bgp.PathAttributeUnknown:
			if a.GetType() == 35 && len(a.Value) == 4 {
				v := uint32(a.Value[0])<<24 | uint32(a.Value[1])<<16 | uint32(a.Value[2])<<8 | uint32(a.Value[3])
				rt.OTC = &v
			}
		}
	}
	return rt, nil
}

// WaitFor polls Received until cond holds or ctx ends; it returns the last
// routes seen. On timeout the error describes them.
func (r *Router) WaitFor(ctx context.Context, what string, cond func([]Route) bool) ([]Route, error) {
	var last []Route
	err := poll(ctx, func() (bool, error) {
		rs, err := r.Received(ctx)
		if err != nil {
			return false, nil
		}
		last = rs
		return cond(rs), nil
	}, func() string {
		return fmt.Sprintf("%s: waiting for %s; it holds %d routes: %s", r.cfg.Name, what, len(last), Summary(last, 10))
	})
	return last, err
}

// Find returns the route for prefix among rs.
func Find(rs []Route, prefix netip.Prefix) (Route, bool) {
	for _, r := range rs {
		if r.Prefix == prefix {
			return r, true
		}
	}
	return Route{}, false
}

// Summary formats up to n routes for messages.
func Summary(rs []Route, n int) string {
	var parts []string
	for i, r := range rs {
		if i == n {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(rs)-n))
			break
		}
		parts = append(parts, r.String())
	}
	return strings.Join(parts, "; ")
}

func (r Route) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s via %s path %v", r.Prefix, r.NextHop, r.ASPath)
	if r.MED != nil {
		fmt.Fprintf(&b, " med %d", *r.MED)
	}
	if len(r.Communities) > 0 {
		fmt.Fprintf(&b, " comm %v", r.Communities)
	}
	if len(r.Large) > 0 {
		fmt.Fprintf(&b, " large %v", r.Large)
	}
	if r.OTC != nil {
		fmt.Fprintf(&b, " otc %d", *r.OTC)
	}
	return b.String()
}

// poll calls f every 20 ms until it reports true, an error, or ctx ends.
func poll(ctx context.Context, f func() (bool, error), describe func() string) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", describe(), ctx.Err())
		case <-t.C:
		}
	}
}

// slogAdapter feeds gobgp's logger interface into slog.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) args(f gobgplog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for _, k := range slices.Sorted(maps.Keys(f)) { // the same order every time
		out = append(out, k, f[k])
	}
	return out
}
func (a *slogAdapter) Panic(msg string, f gobgplog.Fields) { a.l.Error(msg, a.args(f)...) }
func (a *slogAdapter) Fatal(msg string, f gobgplog.Fields) { a.l.Error(msg, a.args(f)...) }
func (a *slogAdapter) Error(msg string, f gobgplog.Fields) { a.l.Error(msg, a.args(f)...) }
func (a *slogAdapter) Warn(msg string, f gobgplog.Fields)  { a.l.Warn(msg, a.args(f)...) }
func (a *slogAdapter) Info(msg string, f gobgplog.Fields)  { a.l.Info(msg, a.args(f)...) }
func (a *slogAdapter) Debug(msg string, f gobgplog.Fields) { a.l.Debug(msg, a.args(f)...) }
func (a *slogAdapter) SetLevel(gobgplog.LogLevel)          {}
func (a *slogAdapter) GetLevel() gobgplog.LogLevel         { return gobgplog.InfoLevel }
