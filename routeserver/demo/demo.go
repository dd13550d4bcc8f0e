// Package demo runs the example federation on loopback: the route server
// with the embedded example configuration and one in-process member router
// (a routeserver/speaker session) per member on 127.0.0.x. The members announce their
// registered prefixes plus a handful of mistakes and requests a route
// server exists for — a hijack, a leak, an OTC leak, a blackhole, a
// graceful shutdown, an action community — and the demo shows what every
// member received and what the route server filtered, and why.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/speaker"
)

// Options control a demo run.
type Options struct {
	// Once stops after convergence; otherwise Run keeps the federation up
	// until ctx ends.
	Once bool
	Out  io.Writer
	Log  *slog.Logger
	// Timeout bounds the wait for sessions and convergence (default 60s).
	Timeout time.Duration
	// Control, when set and not Once, is the unix socket path on which the
	// running demo serves the control API, for fedrs lg.
	Control string
	// HTTP, when set with Control, is the address of the read-only HTTP
	// listener ("127.0.0.1:0": a free loopback port).
	HTTP string
	// Version is the version the control API reports.
	Version string
	// History, when set and not Once, is the SQLite file the running
	// demo records its history in (what the web pages' events and
	// timelines read); the caller removes it.
	History string
}

// Summary is what a run established.
type Summary struct {
	Members     int
	Established int
	Announced   int
	Accepted    int
	Filtered    int
	// Received counts routes per member; FilteredBy names the reasons of
	// each filtered route ("nhs-coastal 10.40.7.0/24" -> reasons).
	Received   map[string]int
	FilteredBy map[string][]string
	// Tables holds what each member holds.
	Tables map[string]map[netip.Prefix]speaker.Route
}

// announcement is one route a demo member sends.
type announcement struct {
	member string
	route  speaker.Route
	note   string // the scenario it shows, "" for ordinary routes
}

// Run runs the demo.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	cfg, v6nh, err := loopbackConfig()
	if err != nil {
		return nil, err
	}
	sopts := routeserver.Options{Log: opts.Log, Listen: []string{"127.0.0.1:0"}}
	var apiOpts = api.Options{Version: opts.Version, Log: opts.Log}
	if opts.History != "" && !opts.Once {
		cfg.Server.History = opts.History
		hopts := history.OptionsFromConfig(cfg)
		hopts.Version, hopts.Log = opts.Version, opts.Log.With("component", "history")
		rec, err := history.Open(opts.History, hopts)
		if err != nil {
			return nil, fmt.Errorf("demo history: %w", err)
		}
		// Closed after the route server has stopped (deferred first, so
		// run last), so that the session downs of the shutdown are recorded.
		defer rec.Close()
		sopts.History = rec
		apiOpts.History = history.Status{Recorder: rec}
	}
	srv, err := routeserver.New(cfg, sopts)
	if err != nil {
		return nil, fmt.Errorf("starting the route server: %w", err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := srv.Listen(rctx); err != nil {
		return nil, fmt.Errorf("route server: %w", err)
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(rctx) }()
	deadline := time.Now().Add(opts.Timeout)
	wctx, wcancel := context.WithDeadline(ctx, deadline)
	defer wcancel()
	port := int(srv.Addrs()[0].Port())
	fmt.Fprintf(opts.Out, "fedrs demo: route server AS%d on 127.0.0.1:%d, %d members (in-process member routers on 127.0.0.x)\n\n",
		cfg.Server.ASN, port, len(cfg.Members))

	routers := map[string]*speaker.Speaker{}
	defer func() {
		for _, r := range routers {
			r.Stop()
		}
	}()
	for i := range cfg.Members {
		m := &cfg.Members[i]
		r, err := speaker.Start(speaker.Config{
			Name: m.Name, ASN: m.ASN, LocalAddr: m.Neighbors[0], RSAddr: netip.MustParseAddr("127.0.0.1"),
			RSPort: port, RSASN: cfg.Server.ASN, MD5: m.MD5Secret, Log: opts.Log.With("component", "member router"),
		})
		if err != nil {
			return nil, err
		}
		routers[m.Name] = r
	}
	sum := &Summary{Members: len(cfg.Members), Received: map[string]int{}, FilteredBy: map[string][]string{},
		Tables: map[string]map[netip.Prefix]speaker.Route{}}
	for _, r := range routers {
		if err := r.WaitEstablished(wctx); err != nil {
			return nil, fmt.Errorf("member %s: %w", r.Name(), err)
		}
		sum.Established++
	}
	fmt.Fprintf(opts.Out, "%d sessions established.\n\n", sum.Established)

	anns := announcements(cfg, v6nh)
	for _, a := range anns {
		if err := routers[a.member].Announce(a.route); err != nil {
			return nil, fmt.Errorf("%s announcing %s: %w", a.member, a.route.Prefix, err)
		}
	}
	sum.Announced = len(anns)
	if err := converge(wctx, srv, cfg, routers, len(anns)); err != nil {
		return nil, err
	}
	report(opts.Out, srv, cfg, routers, anns, sum)
	if opts.Once {
		srv.Shutdown("fedrs demo finished")
		stop()
		<-srvDone
		return sum, nil
	}
	apiDone := make(chan error, 1)
	if opts.Control != "" {
		ln, err := api.Listen(opts.Control)
		if err != nil {
			srv.Shutdown("fedrs demo stopped")
			return nil, err
		}
		hc := conf.HTTP{Listen: opts.HTTP}
		var hln net.Listener
		if hc.Listen != "" {
			if hln, err = api.ListenHTTP(rctx, hc); err != nil {
				ln.Close()
				srv.Shutdown("fedrs demo stopped")
				return nil, err
			}
		}
		go func() {
			apiDone <- api.New(srv, apiOpts).ServeListeners(rctx, ln, hln, hc)
		}()
		fmt.Fprintf(opts.Out, "\nAsk the running demo with the looking glass, e.g.:\n"+
			"  fedrs lg summary --socket %[1]s\n"+
			"  fedrs lg routes nhs-coastal --filtered --socket %[1]s\n"+
			"  fedrs lg explain nhs-coastal 10.40.7.0/24 --socket %[1]s\n", opts.Control)
		if hln != nil {
			fmt.Fprintf(opts.Out, "or over HTTP (read-only, no authentication, loopback only):\n"+
				"  curl %[1]sv1/status\n"+
				"or in a browser (overview, members, their routes and filter reasons):\n"+
				"  %[1]s\n", api.HTTPURL(hc, hln.Addr()))
		}
		if opts.History != "" {
			fmt.Fprintf(opts.Out, "This run's history (removed when the demo stops):\n"+
				"  fedrs history filtered --db %s\n", opts.History)
		}
	} else {
		close(apiDone)
	}
	fmt.Fprintf(opts.Out, "\nThe federation keeps running; press Ctrl-C to stop.\n")
	<-ctx.Done()
	srv.Shutdown("fedrs demo stopped")
	stop()
	<-srvDone
	<-apiDone
	return sum, nil
}

// loopbackConfig is the example federation moved onto loopback: one
// neighbour per member on 127.0.0.x, the member's real LAN addresses kept
// as authorised next hops. It also returns each member's IPv6 next hop.
func loopbackConfig() (*conf.Config, map[string]netip.Addr, error) {
	cfg, err := conf.LoadExample()
	if err != nil {
		return nil, nil, fmt.Errorf("loading the embedded example: %w", err)
	}
	cfg.Server.Listen = []string{"127.0.0.1:179"} // replaced by the demo's port
	cfg.Server.Control = ""
	cfg.Server.History = ""
	v6nh := map[string]netip.Addr{}
	for i := range cfg.Members {
		m := &cfg.Members[i]
		for _, a := range m.Neighbors {
			m.NextHops = append(m.NextHops, a)
			if a.Is6() && !v6nh[m.Name].IsValid() {
				v6nh[m.Name] = a
			}
		}
		m.Neighbors = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, byte(11 + i)})}
		m.Passive = true
		m.GTSM = false // in-process routers send with the default TTL
	}
	if err := conf.Validate(cfg); err != nil {
		return nil, nil, err
	}
	return cfg, v6nh, nil
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// announcements lists what every member sends: a few routes inside each
// registered prefix, then the scenarios.
func announcements(cfg *conf.Config, v6nh map[string]netip.Addr) []announcement {
	var out []announcement
	for i := range cfg.Members {
		m := &cfg.Members[i]
		for _, pr := range m.Prefixes {
			p := pr.Prefix
			rt := speaker.Route{Prefix: p}
			if p.Addr().Is6() {
				rt.NextHop = v6nh[m.Name]
			}
			out = append(out, announcement{member: m.Name, route: rt})
			// Two more specifics within the allowed range.
			_, hi := pr.Bounds()
			if hi > p.Bits() {
				bits := min(hi, p.Bits()+8)
				for k := 1; k <= 2; k++ {
					q := nth(p, bits, k)
					r2 := rt
					r2.Prefix = q
					out = append(out, announcement{member: m.Name, route: r2})
				}
			}
		}
	}
	asn := func(name string) uint32 { return cfg.Member(name).ASN }
	rs := cfg.Server.ASN
	gshut := "65535:0"
	otc := asn("nhs-northfield")
	out = append(out,
		announcement{"nhs-coastal", speaker.Route{Prefix: pfx("10.40.7.0/24")},
			"hijack: nhs-coastal announces council-east's registered space"},
		announcement{"council-harbour", speaker.Route{Prefix: pfx("10.16.1.0/24"), ASPath: []uint32{asn("nhs-northfield")}},
			"leak: council-harbour re-announces a route it learned from nhs-northfield"},
		announcement{"nhs-riverside", speaker.Route{Prefix: pfx("10.24.99.0/24"), OTC: &otc},
			"OTC leak: the route carries Only-to-Customer from an upstream (RFC 9234)"},
		announcement{"council-hillside", speaker.Route{Prefix: pfx("10.24.8.0/24"), ASPath: []uint32{asn("nhs-riverside")}},
			"transit: council-hillside carries nhs-riverside's clinics (transit_for): accepted"},
		announcement{"council-east", speaker.Route{Prefix: pfx("10.40.20.0/24"),
			Large: []string{fmt.Sprintf("%d:0:%d", rs, asn("nhs-coastal"))}},
			"action community RS:0:nhs-coastal: every member but nhs-coastal receives it"},
		announcement{"council-east", speaker.Route{Prefix: pfx("10.40.21.0/24"),
			Large: []string{fmt.Sprintf("%d:10:2", rs)}},
			"action community RS:10:2 (not to group council): only NHS members receive it"},
		announcement{"nhs-northfield", speaker.Route{Prefix: pfx("10.16.9.9/32"), Communities: []string{"65535:666"}},
			"blackhole 65535:666 for one host: only members that opted in (council-east) receive it"},
		announcement{"council-harbour", speaker.Route{Prefix: pfx("172.20.50.0/24"), Communities: []string{gshut}},
			"graceful shutdown 65535:0: accepted at the lowest preference (RFC 8326)"},
		announcement{"nhs-riverside", speaker.Route{Prefix: pfx("10.24.0.0/16"),
			Large: []string{fmt.Sprintf("%d:101:%d", rs, asn("council-east"))}},
			""},
	)
	// The last one replaces riverside's own /16 announcement with a
	// prepend toward council-east; mark it.
	out[len(out)-1].note = "action community RS:101:council-east: prepended once toward council-east"
	return out
}

// nth returns the k-th subnet of length bits inside p.
func nth(p netip.Prefix, bits, k int) netip.Prefix {
	a := p.Addr().AsSlice()
	// Add k << (addrbits - bits) to the address.
	shift := len(a)*8 - bits
	carry := k
	for i := len(a) - 1 - shift/8; i >= 0 && carry > 0; i-- {
		v := int(a[i]) + (carry << (shift % 8))
		a[i] = byte(v)
		carry = v >> 8 >> (shift % 8)
		shift -= shift % 8
	}
	ad, _ := netip.AddrFromSlice(a)
	return netip.PrefixFrom(ad, bits).Masked()
}

// converge waits until the route server holds every announcement and each
// member holds exactly what the route server exports to it.
func converge(ctx context.Context, srv *routeserver.Server, cfg *conf.Config, routers map[string]*speaker.Speaker, announced int) error {
	distinct := func() int {
		_, n := srv.RIB().Routes(rib.Filter{Member: -1}, 0, 0)
		return n
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		ok := distinct() > 0
		if ok {
			for i := range cfg.Members {
				_, want := srv.RIB().Exportable(i, 0, 0)
				got := routers[cfg.Members[i].Name].Received()
				if len(got) != want {
					ok = false
					last = fmt.Sprintf("%s holds %d routes, the route server exports %d to it", cfg.Members[i].Name, len(got), want)
					break
				}
			}
		}
		if ok && srv.RIB().Totals().PendingOut == 0 {
			// Stable across two polls: nothing more in flight.
			time.Sleep(200 * time.Millisecond)
			if srv.RIB().Totals().PendingOut == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no convergence (%s): %w", last, ctx.Err())
		case <-t.C:
		}
	}
}

func report(w io.Writer, srv *routeserver.Server, cfg *conf.Config, routers map[string]*speaker.Speaker, anns []announcement, sum *Summary) {
	byASN := map[uint32]string{}
	for _, m := range cfg.Members {
		byASN[m.ASN] = m.Name
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, m := range cfg.Members {
		rs := routers[m.Name].Received()
		sum.Received[m.Name] = len(rs)
		tbl := map[netip.Prefix]speaker.Route{}
		fmt.Fprintf(tw, "%s (AS%d, %s) receives %d routes:\n", m.Name, m.ASN, strings.Join(m.Groups, ","), len(rs))
		fmt.Fprintf(tw, "\tPREFIX\tFROM\tAS_PATH\tNEXT HOP\tCOMMUNITIES\n")
		for _, r := range rs {
			from := "?"
			if len(r.ASPath) > 0 {
				from = byASN[r.ASPath[0]]
			}
			tbl[r.Prefix] = r
			comms := append(append([]string{}, r.Communities...), r.Large...)
			fmt.Fprintf(tw, "\t%s\t%s\t%s\t%s\t%s\n", r.Prefix, from, pathString(r.ASPath), r.NextHop, strings.Join(comms, " "))
		}
		sum.Tables[m.Name] = tbl
		fmt.Fprintln(tw)
	}
	tw.Flush()

	routes, _ := srv.RIB().Routes(rib.Filter{Member: -1}, 0, 0)
	fmt.Fprintf(tw, "Filtered at the route server (kept, visible, never exported):\n")
	fmt.Fprintf(tw, "\tMEMBER\tPREFIX\tAS_PATH\tREASONS\n")
	for _, r := range routes {
		if r.Verdict.Accepted() {
			sum.Accepted++
			continue
		}
		sum.Filtered++
		var reasons []string
		for _, rr := range r.Verdict.Filtered.Reasons() {
			reasons = append(reasons, fmt.Sprintf("%s (%d:1101:%d)", rr, cfg.Server.ASN, rr.Info().Code))
		}
		name := cfg.Members[r.Source.Member].Name
		sum.FilteredBy[name+" "+r.Prefix.String()] = namesOf(r.Verdict.Filtered)
		fmt.Fprintf(tw, "\t%s\t%s\t%s\t%s\n", name, r.Prefix, r.Attrs.PathString(), strings.Join(reasons, ", "))
	}
	fmt.Fprintln(tw)
	tw.Flush()

	fmt.Fprintf(w, "What the scenarios show:\n")
	for _, a := range anns {
		if a.note == "" {
			continue
		}
		fmt.Fprintf(w, "  - %s %s: %s\n", a.member, a.route.Prefix, a.note)
		fmt.Fprintf(w, "      %s\n", outcome(a, cfg, sum, srv))
	}
	fmt.Fprintf(w, "\nSummary: %d members, %d sessions, %d routes announced, %d accepted, %d filtered.\n",
		sum.Members, sum.Established, sum.Announced, sum.Accepted, sum.Filtered)
}

// outcome says in one line what happened to an announcement.
func outcome(a announcement, cfg *conf.Config, sum *Summary, srv *routeserver.Server) string {
	if rs, ok := sum.FilteredBy[a.member+" "+a.route.Prefix.String()]; ok {
		return "filtered: " + strings.Join(rs, ", ")
	}
	var got []string
	announcer := cfg.Member(a.member).ASN
	want := append([]uint32{announcer}, a.route.ASPath...)
	for _, m := range cfg.Members {
		r, ok := sum.Tables[m.Name][a.route.Prefix]
		if !ok || len(r.ASPath) == 0 || r.ASPath[0] != announcer {
			continue
		}
		if !slices.Equal(r.ASPath, want) {
			got = append(got, fmt.Sprintf("%s (AS_PATH %s)", m.Name, pathString(r.ASPath)))
		} else {
			got = append(got, m.Name)
		}
	}
	sort.Strings(got)
	if len(got) == 0 {
		return "accepted; no member receives it"
	}
	return "accepted; received by " + strings.Join(got, ", ")
}

func namesOf(s policy.ReasonSet) []string {
	var out []string
	for _, r := range s.Reasons() {
		out = append(out, r.String())
	}
	return out
}

func pathString(p []uint32) string {
	parts := make([]string, len(p))
	for i, a := range p {
		parts[i] = fmt.Sprint(a)
	}
	return strings.Join(parts, " ")
}
