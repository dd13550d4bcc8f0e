package lab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// The three views of TestViewsAgree (agreement_test.go) and how they are
// compared.
//
//	(a) what a member's daemon holds from the route server, read with its
//	    own console (Lab.Routes: birdc "show route all", vtysh "show bgp
//	    ... json", bgpctl -j "show rib detail", gobgp "neighbor X adj-in -j");
//	(b) what the route server says it sent the member: "fedrs lg routes
//	    --exported MEMBER --json" (GET /v1/members/MEMBER/routes?view=exported);
//	(c) what the audit history says the member could receive at T: "fedrs
//	    history at T --exported-to MEMBER --json"; and, per route, the
//	    members "fedrs lg route ANNOUNCER PREFIX --json" lists in
//	    exported_to and those of the exposure in force at T in "fedrs
//	    history prefix PREFIX --json".
//
// (a) and (b) must list the same prefixes with, per prefix, the same
// announcer (the member whose LAN address is the NEXT_HOP), AS_PATH, next
// hop, MED, communities, large communities and OTC: (b) is meant to be
// exactly what went on the wire. (c) must list the same prefixes as (a),
// each from the announcing member, with the AS_PATH the route server
// received (its "lg routes --received" view: the history records routes
// as received) and the same next hop. exported_to and the history's
// exposure at T must name exactly the members whose daemon holds the
// route.
//
// Normalised, because the representations differ and not the routes:
//   - communities and large communities are compared as sets (daemons
//     print them sorted or in arrival order, with well-known names);
//   - only the global IPv6 next hop is compared: the views show the
//     link-local one differently or not at all;
//   - OpenBGPD's bgpctl prints MED 0 for a route without MED, so a 0 from
//     an OpenBGPD member matches an absent MED;
//   - AS_SETs would be flattened by the daemon readers; no route here has
//     one.

// viewRoute is one route of one view, in the form the views are compared
// in.
type viewRoute struct {
	Prefix  netip.Prefix
	From    string // the announcing member
	NextHop netip.Addr
	ASPath  []uint32
	MED     *uint32
	Comms   []Community
	Large   []LargeCommunity
	OTC     uint32
}

func (r viewRoute) String() string {
	med := "-"
	if r.MED != nil {
		med = fmt.Sprint(*r.MED)
	}
	var cs, ls []string
	for _, c := range r.Comms {
		cs = append(cs, c.String())
	}
	for _, c := range r.Large {
		ls = append(ls, c.String())
	}
	return fmt.Sprintf("from %s, AS_PATH [%s], next hop %s, MED %s, communities [%s], large [%s], OTC %d",
		r.From, joinASNs(r.ASPath, " "), r.NextHop, med, strings.Join(cs, " "), strings.Join(ls, " "), r.OTC)
}

// viewer reads the views of one lab whose route server is fedrs.
type viewer struct {
	l      *Lab
	bin    string // the fedrs binary
	socket string // its control socket
	db     string // its history database
}

func newViewer(l *Lab) *viewer {
	rs := filepath.Join(l.Dir, rsNode)
	return &viewer{l: l, bin: l.opts.FedrsBinary, socket: filepath.Join(rs, fedrsSocket), db: filepath.Join(rs, "history.db")}
}

// fedrs runs the fedrs binary and returns its stdout.
func (v *viewer) fedrs(ctx context.Context, args ...string) ([]byte, error) {
	return runTool(ctx, append([]string{v.bin}, args...)...)
}

// memberAt names the member whose LAN address is a ("?ADDR" for none).
func (v *viewer) memberAt(a netip.Addr) string {
	for _, m := range v.l.Topology.Members {
		if m.IPv4 == a || m.IPv6 == a {
			return m.Name
		}
	}
	return "?" + a.String()
}

func sortedSet[T any](in []T, key func(T) string) []T {
	out := slices.Clone(in)
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return slices.CompactFunc(out, func(a, b T) bool { return key(a) == key(b) })
}

func normComms(cs []Community) []Community {
	return sortedSet(cs, func(c Community) string { return fmt.Sprintf("%010d", c.Uint32()) })
}

func normLarge(cs []LargeCommunity) []LargeCommunity {
	return sortedSet(cs, func(c LargeCommunity) string {
		return fmt.Sprintf("%010d:%010d:%010d", c.Global, c.Local1, c.Local2)
	})
}

// daemonView is view (a): the routes member's daemon holds from the
// route server.
func (v *viewer) daemonView(ctx context.Context, member string) ([]viewRoute, error) {
	routes, err := v.l.Routes(ctx, member)
	if err != nil {
		return nil, err
	}
	out := make([]viewRoute, 0, len(routes))
	for _, r := range routes {
		out = append(out, viewRoute{Prefix: r.Prefix, From: v.memberAt(r.NextHop), NextHop: r.NextHop, ASPath: r.ASPath,
			MED: r.MED, Comms: normComms(r.Communities), Large: normLarge(r.LargeCommunities), OTC: r.OTC})
	}
	return out, nil
}

func fedrsViewRoute(r FedrsRoute) viewRoute {
	x := r.Route()
	return viewRoute{Prefix: x.Prefix, From: r.Member, NextHop: x.NextHop, ASPath: x.ASPath, MED: x.MED,
		Comms: normComms(x.Communities), Large: normLarge(x.LargeCommunities), OTC: x.OTC}
}

// exportedView is view (b): "fedrs lg routes --exported MEMBER --json".
func (v *viewer) exportedView(ctx context.Context, member string) ([]viewRoute, error) {
	rs, err := v.l.FedrsRoutes(ctx, member, "exported")
	if err != nil {
		return nil, err
	}
	out := make([]viewRoute, 0, len(rs))
	for _, r := range rs {
		out = append(out, fedrsViewRoute(r))
	}
	return out, nil
}

// histVersion is a route version as "fedrs history ... --json" prints it.
type histVersion struct {
	Prefix   netip.Prefix `json:"prefix"`
	Member   string       `json:"member"`
	Neighbor string       `json:"neighbor"`
	From     time.Time    `json:"from"`
	To       *time.Time   `json:"to"`
	Accepted bool         `json:"accepted"`
	ASPath   string       `json:"as_path"`
	NextHop  string       `json:"next_hop"`
	Exports  []struct {
		From    time.Time  `json:"from"`
		To      *time.Time `json:"to"`
		Members []string   `json:"members"`
	} `json:"exported"`
}

// heldAt reports whether the version was held at t.
func (h histVersion) heldAt(t time.Time) bool {
	return !h.From.After(t) && (h.To == nil || h.To.After(t))
}

// exposedAt returns the members of the exposure in force at t.
func (h histVersion) exposedAt(t time.Time) []string {
	var out []string
	for _, e := range h.Exports {
		if !e.From.After(t) && (e.To == nil || e.To.After(t)) {
			out = append(out, e.Members...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// historyAt is view (c): "fedrs history at T --exported-to MEMBER --json".
func (v *viewer) historyAt(ctx context.Context, t time.Time, member string) (up bool, vs []histVersion, err error) {
	out, err := v.fedrs(ctx, "history", "at", t.Format(time.RFC3339Nano), "--exported-to", member, "--json", "--db", v.db)
	if err != nil {
		return false, nil, err
	}
	var res struct {
		SessionUp *bool         `json:"session_up"`
		Routes    []histVersion `json:"routes"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return false, nil, fmt.Errorf("decode fedrs history at --exported-to %s --json: %w", member, err)
	}
	return res.SessionUp == nil || *res.SessionUp, res.Routes, nil
}

// historyPrefix runs "fedrs history prefix P --json".
func (v *viewer) historyPrefix(ctx context.Context, p netip.Prefix) ([]histVersion, error) {
	out, err := v.fedrs(ctx, "history", "prefix", p.String(), "--json", "--db", v.db)
	if err != nil {
		return nil, err
	}
	var res struct {
		Versions []histVersion `json:"versions"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("decode fedrs history prefix %s --json: %w", p, err)
	}
	return res.Versions, nil
}

// lgRoute runs "fedrs lg route MEMBER PREFIX --json".
func (v *viewer) lgRoute(ctx context.Context, member string, p netip.Prefix) (FedrsRoute, error) {
	out, err := v.fedrs(ctx, "lg", "route", "--socket", v.socket, "--json", member, p.String())
	if err != nil {
		return FedrsRoute{}, err
	}
	var r FedrsRoute
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("decode fedrs lg route %s %s --json: %w", member, p, err)
	}
	return r, nil
}

// historyCaughtUp waits until the history writer has nothing queued from
// before t (the control API's status: an empty queue, or its oldest event
// younger than t), so that "history at t" is final.
func (v *viewer) historyCaughtUp(ctx context.Context, t time.Time, within time.Duration) error {
	cl := api.NewClient(v.socket)
	var last string
	err := rstest.Until(within, func() bool {
		var st struct {
			History *struct {
				Queue  int           `json:"queue"`
				Behind time.Duration `json:"behind_ns"`
			} `json:"history"`
		}
		now := time.Now()
		if err := cl.Get(ctx, "/v1/status", nil, &st); err != nil {
			last = err.Error()
			return false
		}
		if st.History == nil {
			last = "the route server reports no history"
			return false
		}
		if st.History.Queue == 0 || now.Add(-st.History.Behind).After(t) {
			return true
		}
		last = fmt.Sprintf("%d events queued, the oldest %s old", st.History.Queue, st.History.Behind)
		return false
	})
	if err != nil {
		return fmt.Errorf("the history did not catch up with %s within %s: %s", t.Format(time.StampMicro), within, last)
	}
	return nil
}

// finding is one difference between views.
type finding struct {
	member string // the member whose views differ
	kind   string // which views
	prefix netip.Prefix
	text   string
}

// findings collects differences, in the order found.
type findings []finding

func (f *findings) add(member, kind string, p netip.Prefix, format string, args ...any) {
	*f = append(*f, finding{member, kind, p, fmt.Sprintf(format, args...)})
}

// err reports, per member and pair of views, the first difference (by
// prefix) with the prefixes of the others; nil when there is none. With
// FEDRS_LAB_VIEWS_ALL=1 it reports every difference.
func (f findings) err() error {
	if len(f) == 0 {
		return nil
	}
	all := os.Getenv("FEDRS_LAB_VIEWS_ALL") == "1"
	type key struct{ member, kind string }
	groups := map[key][]finding{}
	var keys []key
	for _, x := range f {
		k := key{x.member, x.kind}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], x)
	}
	slices.SortStableFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.member, b.member), cmp.Compare(a.kind, b.kind)) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d differences", len(f))
	for _, k := range keys {
		g := groups[k]
		slices.SortStableFunc(g, func(a, b finding) int { return comparePrefixes(a.prefix, b.prefix) })
		fmt.Fprintf(&b, "\n  %s, %s: %s %s", k.member, k.kind, g[0].prefix, g[0].text)
		if all {
			for _, x := range g[1:] {
				fmt.Fprintf(&b, "\n  %s, %s: %s %s", k.member, k.kind, x.prefix, x.text)
			}
			continue
		}
		if len(g) > 1 {
			var more []string
			for _, x := range g[1:] {
				more = append(more, x.prefix.String())
			}
			if len(more) > 8 {
				more = append(more[:8], "...")
			}
			fmt.Fprintf(&b, "\n      and %d more: %s", len(g)-1, strings.Join(more, " "))
		}
	}
	return errors.New(b.String())
}

func comparePrefixes(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// byPrefix indexes routes by prefix; a second route for a prefix is a
// finding (a member gets one route per prefix from the route server).
func byPrefix(rs []viewRoute, member, kind string, f *findings) map[netip.Prefix]viewRoute {
	out := make(map[netip.Prefix]viewRoute, len(rs))
	for _, r := range rs {
		if old, dup := out[r.Prefix]; dup {
			f.add(member, kind, r.Prefix, "twice: %s; and %s", old, r)
			continue
		}
		out[r.Prefix] = r
	}
	return out
}

func sortedPrefixes[V any](m map[netip.Prefix]V) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefixes)
	return out
}

func medEqual(daemon, lg *uint32, kind string) bool {
	switch {
	case daemon == nil && lg == nil:
		return true
	case kind == KindOpenBGPD && daemon != nil && *daemon == 0 && lg == nil:
		return true // bgpctl prints 0 for a route without MED
	case daemon == nil || lg == nil:
		return false
	}
	return *daemon == *lg
}

// attrDiff lists the attributes in which a (the daemon's route) and b
// (the route server's account of it) differ.
func attrDiff(a, b viewRoute, kind string) []string {
	var d []string
	if a.From != b.From {
		d = append(d, fmt.Sprintf("announcer %s ≠ %s", a.From, b.From))
	}
	if !slices.Equal(a.ASPath, b.ASPath) {
		d = append(d, fmt.Sprintf("AS_PATH [%s] ≠ [%s]", joinASNs(a.ASPath, " "), joinASNs(b.ASPath, " ")))
	}
	if a.NextHop != b.NextHop {
		d = append(d, fmt.Sprintf("next hop %s ≠ %s", a.NextHop, b.NextHop))
	}
	if !medEqual(a.MED, b.MED, kind) {
		d = append(d, fmt.Sprintf("MED %s ≠ %s", fmtMED(a.MED), fmtMED(b.MED)))
	}
	if !slices.Equal(a.Comms, b.Comms) {
		d = append(d, fmt.Sprintf("communities [%s] ≠ [%s]", commsText(a.Comms), commsText(b.Comms)))
	}
	if !slices.Equal(a.Large, b.Large) {
		d = append(d, fmt.Sprintf("large communities [%s] ≠ [%s]", largeText(a.Large), largeText(b.Large)))
	}
	if a.OTC != b.OTC {
		d = append(d, fmt.Sprintf("OTC %s ≠ %s", otcText(a.OTC), otcText(b.OTC)))
	}
	return d
}

func fmtMED(m *uint32) string {
	if m == nil {
		return "absent"
	}
	return fmt.Sprint(*m)
}

func otcText(v uint32) string {
	if v == 0 {
		return "absent"
	}
	return fmt.Sprint(v)
}

func commsText(cs []Community) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, " ")
}

func largeText(cs []LargeCommunity) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, " ")
}

const (
	kindAB       = "(a) its daemon vs (b) lg routes --exported"
	kindAC       = "(a) its daemon vs (c) history at T --exported-to"
	kindLGRoute  = "(a) the daemons vs lg route's exported_to"
	kindHistPfx  = "(a) the daemons vs history prefix's exposure at T"
	kindReceived = "(c) history vs lg routes --received"
)

// compareAB compares views (a) and (b) of one member on the prefixes
// check accepts.
func compareAB(member, daemonKind string, a, b []viewRoute, check func(netip.Prefix) bool, f *findings) {
	am := byPrefix(a, member, "(a) its daemon", f)
	bm := byPrefix(b, member, "(b) lg routes --exported", f)
	for _, p := range sortedPrefixes(am) {
		if !check(p) {
			continue
		}
		ra := am[p]
		rb, ok := bm[p]
		if !ok {
			f.add(member, kindAB, p, "is held by %s's daemon (%s) and missing from lg routes --exported", member, ra)
			continue
		}
		if d := attrDiff(ra, rb, daemonKind); len(d) > 0 {
			f.add(member, kindAB, p, "differs: %s (daemon: %s; lg: %s)", strings.Join(d, "; "), ra, rb)
		}
	}
	for _, p := range sortedPrefixes(bm) {
		if _, ok := am[p]; !ok && check(p) {
			f.add(member, kindAB, p, "is in lg routes --exported (%s) and not held by %s's daemon", bm[p], member)
		}
	}
}

// receivedKey names a route the route server received.
type receivedKey struct {
	member string
	prefix netip.Prefix
}

// compareAC compares view (a) with view (c), history at T, for one
// member: the same prefixes, each from the announcer, with the AS_PATH
// the route server received (received) and the daemon's next hop.
func compareAC(member string, up bool, a []viewRoute, c []histVersion, received map[receivedKey]FedrsRoute,
	check func(netip.Prefix) bool, f *findings) {
	am := byPrefix(a, member, "(a) its daemon", f)
	cm := map[netip.Prefix]histVersion{}
	for _, h := range c {
		if !check(h.Prefix) {
			continue
		}
		if old, dup := cm[h.Prefix]; dup {
			f.add(member, kindAC, h.Prefix, "the history lists it twice: from %s and from %s", old.Member, h.Member)
			continue
		}
		cm[h.Prefix] = h
	}
	if !up && len(am) > 0 {
		f.add(member, kindAC, sortedPrefixes(am)[0], "is held by %s's daemon, but the history says %s had no session up at T", member, member)
	}
	for _, p := range sortedPrefixes(am) {
		if !check(p) {
			continue
		}
		ra := am[p]
		h, ok := cm[p]
		if !ok {
			f.add(member, kindAC, p, "is held by %s's daemon (%s) and not in the history's routes exported to it at T", member, ra)
			continue
		}
		var d []string
		if h.Member != ra.From {
			d = append(d, fmt.Sprintf("announcer: history %s, daemon's next hop is %s's", h.Member, ra.From))
		}
		if nh, err := netip.ParseAddr(h.NextHop); err != nil || nh != ra.NextHop {
			d = append(d, fmt.Sprintf("next hop: history %s, daemon %s", h.NextHop, ra.NextHop))
		}
		if rcv, ok := received[receivedKey{h.Member, p}]; !ok {
			d = append(d, fmt.Sprintf("lg routes --received %s has no such route", h.Member))
		} else if hp := parseASNs(h.ASPath); !slices.Equal(hp, rcv.ASPath) {
			d = append(d, fmt.Sprintf("AS_PATH: history [%s], received by the route server [%s]", h.ASPath, joinASNs(rcv.ASPath, " ")))
		}
		if len(d) > 0 {
			f.add(member, kindAC, p, "differs: %s", strings.Join(d, "; "))
		}
	}
	for _, p := range sortedPrefixes(cm) {
		if _, ok := am[p]; !ok {
			h := cm[p]
			f.add(member, kindAC, p, "is in the history's routes exported to %s at T (from %s, AS_PATH [%s], next hop %s) and not held by its daemon",
				member, h.Member, h.ASPath, h.NextHop)
		}
	}
}

// holders maps each (announcer, prefix) to the members whose daemon
// holds that route, from view (a) of every member.
func holders(a map[string][]viewRoute) map[receivedKey][]string {
	out := map[receivedKey][]string{}
	for m, rs := range a {
		for _, r := range rs {
			k := receivedKey{r.From, r.Prefix}
			out[k] = append(out[k], m)
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}
