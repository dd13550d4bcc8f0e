package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/rstest"
)

// TestViewsAgree is the property test of issue 14: what fedrs tells
// operators is what happened. A federation of BIRD, FRR, OpenBGPD and
// gobgpd members (testdata/agreement.toml) runs with fedrs as the route
// server and its audit history on; sessions go down and come back,
// routes are announced, withdrawn, filtered and accepted again by a
// reload, a registration moves from one member to another, and one
// member churns 100 updates a second. At each instant the test reads,
// for every member, (a) what its daemon holds from the route server, (b)
// "fedrs lg routes --exported", (c) "fedrs history at T --exported-to",
// "lg route"'s exported_to and "history prefix"'s exposure at T, and
// requires them to agree (views_test.go says exactly how). A reading is
// retried until the views agree or the instant's deadline passes; then
// the test fails with the first difference per member and pair of views:
// member, prefix and attributes.
//
// Each instant is a subtest; its name says which (go test -run
// 'TestViewsAgree/after_convergence'). Before the views, a subtest
// "...outcome" checks that the step did what it should (the member's
// routes are gone while its sessions are down, the moved prefix reaches
// the members from its new owner, ...), so that agreement is not read on
// a federation where nothing happened.
func TestViewsAgree(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "vtysh", "bgpd", "bgpctl", "gobgpd", "gobgp")
	topo, err := ReadTopology("testdata/agreement.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	l := upFedrs(t, ctx, topo, 60*time.Second)
	v := newViewer(l)
	members := make([]string, len(topo.Members))
	for i, m := range topo.Members {
		members[i] = m.Name
	}
	ag := &agreement{v: v, members: members, settle: 2 * time.Second, sample: 8}
	const within = 30 * time.Second

	instant := func(name string, outcome []held) {
		t.Helper()
		if len(outcome) > 0 {
			t.Run(name+" outcome", func(t *testing.T) {
				rstest.EventuallyErr(t, within, func() error { return v.checkHeld(ctx, outcome) }, "the step's outcome")
			})
		}
		t.Run(name, func(t *testing.T) {
			readings := 0
			began := time.Now()
			var what string
			var earlier []string
			rstest.EventuallyErr(t, within, func() error {
				readings++
				var err error
				what, err = ag.check(ctx)
				if err != nil {
					earlier = append(earlier, err.Error())
				}
				return err
			}, "the three views to agree "+name)
			t.Logf("%s: the views agree (%d readings, %s): %s", name, readings, time.Since(began).Round(time.Millisecond), what)
			for i, e := range earlier {
				t.Logf("reading %d of %d differed: %s", i+1, readings, e)
			}
		})
	}

	// 1. Converged.
	instant("after convergence", []held{
		{"trust-b", "10.101.0.0/16", "trust-a", true},
		{"council-x", "10.101.0.0/16", "", false}, // 64500:0:65201
		{"council-y", "10.103.0.0/16", "trust-c", true},
		{"trust-a", "172.16.201.0/24", "council-x", true},
		{"trust-b", "172.16.202.0/24", "council-y", true},
		{"trust-c", "172.16.202.0/24", "", false}, // 0:65103
		{"trust-a", "2001:db8:102::/48", "trust-b", true},
		{"trust-b", "10.101.66.6/32", "trust-a", true},
		{"trust-c", "10.101.66.6/32", "", false},
		{"trust-c", "2001:db8:202::/48", "council-y", true},
		{"trust-a", "172.16.212.0/24", "council-y", true},
		{"trust-a", "10.113.7.0/24", "", false},
		{"trust-c", "10.150.0.0/24", "trust-a", true},
		{"trust-a", "172.16.221.0/24", "council-x", true}, // the best copy
		{"trust-b", "172.16.221.0/24", "council-y", true}, // path hiding: council-x's is not for trust-b
		{"council-y", "10.101.66.6/32", "trust-a", true},
	})

	// 2. trust-c (OpenBGPD) takes its sessions down.
	bgpctl := func(args ...string) {
		t.Helper()
		argv, err := l.CLI("trust-c")
		if err != nil {
			t.Fatal(err)
		}
		if out, err := runTool(ctx, append(argv, args...)...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	// 2. trust-c (OpenBGPD) takes its sessions down; the route server
	// shuts council-y's (BIRD) down.
	for _, rs := range []string{topo.RouteServer.IPv4.String(), topo.RouteServer.IPv6.String()} {
		bgpctl("neighbor", rs, "down")
	}
	fedrs := func(args ...string) {
		t.Helper()
		out, err := runTool(ctx, append([]string{l.opts.FedrsBinary}, append(args, "--socket", v.socket)...)...)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	fedrs("member", "shutdown", "council-y", "--message", "TestViewsAgree")
	instant("while trust-c's and council-y's sessions are down", []held{
		{"trust-a", "10.103.0.0/16", "", false},
		{"council-y", "2001:db8:103::/48", "", false},
		{"trust-c", "10.101.0.0/16", "", false},
		{"trust-b", "172.16.202.0/24", "", false},
		{"council-y", "10.101.0.0/16", "", false},
		{"trust-b", "172.16.221.0/24", "", false}, // council-y's copy is gone, council-x's is not for trust-b
	})

	// 3. The sessions come back; trust-c announces a route, trust-b (FRR)
	// withdraws one, council-x (gobgpd) withdraws its copy of the shared
	// prefix, so that council-y's becomes the best for everyone.
	for _, rs := range []string{topo.RouteServer.IPv4.String(), topo.RouteServer.IPv6.String()} {
		bgpctl("neighbor", rs, "up")
	}
	fedrs("member", "enable", "council-y")
	bgpctl("network", "add", "10.103.9.0/24")
	gobgp, err := l.CLI("council-x")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(ctx, append(gobgp, "global", "rib", "del", "-a", "ipv4", "172.16.221.0/24")...); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	vtysh, err := l.CLI("trust-b")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(ctx, append(vtysh, "-c", "configure terminal", "-c", "router bgp 65102",
		"-c", "address-family ipv6 unicast", "-c", "no network 2001:db8:102::/48")...); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	instant("after the sessions came back, announcements and withdrawals", []held{
		{"trust-a", "10.103.0.0/16", "trust-c", true},
		{"council-y", "2001:db8:103::/48", "trust-c", true},
		{"trust-a", "10.103.9.0/24", "trust-c", true},
		{"trust-c", "10.101.0.0/16", "trust-a", true},
		{"trust-c", "2001:db8:101::/48", "trust-a", true},
		{"council-y", "10.101.0.0/16", "trust-a", true},
		{"council-y", "2001:db8:101::/48", "trust-a", true},
		{"trust-b", "172.16.202.0/24", "council-y", true},
		{"trust-a", "2001:db8:102::/48", "", false},
		{"council-y", "2001:db8:102::/48", "", false},
		{"trust-a", "172.16.221.0/24", "council-y", true},
		{"trust-b", "172.16.221.0/24", "council-y", true},
	})

	// 4. A reload that changes policy: trust-c may announce inside
	// 10.113.0.0/16 (10.113.7.0/24, filtered so far, is accepted);
	// 172.16.212.0/24 leaves council-y's prefixes (accepted so far, now
	// filtered); council-y no longer receives BLACKHOLE routes.
	topo.Member("trust-c").Registered = append(topo.Member("trust-c").Registered, "10.113.0.0/16 le 24")
	setRegister(t, topo, "council-y", "172.16.212.0/24", false)
	topo.Member("council-y").BlackholeReceive = false
	reload(t, ctx, l)
	instant("just after a reload that changes policy", []held{
		{"trust-a", "10.113.7.0/24", "trust-c", true},
		{"council-x", "10.113.7.0/24", "trust-c", true},
		{"trust-a", "172.16.212.0/24", "", false},
		{"trust-c", "172.16.212.0/24", "", false},
		{"council-y", "10.101.66.6/32", "", false},
		{"trust-b", "10.101.66.6/32", "trust-a", true},
	})

	// 5. A reload that moves 10.150.0.0/24 from trust-a to trust-b:
	// trust-a's announcement becomes a registry conflict, trust-b's is
	// accepted and reaches the others (issue 14, item 3).
	setRegister(t, topo, "trust-a", "10.150.0.0/24", false)
	setRegister(t, topo, "trust-b", "10.150.0.0/24", true)
	reload(t, ctx, l)
	instant("just after an ownership move", []held{
		{"trust-c", "10.150.0.0/24", "trust-b", true},
		{"council-y", "10.150.0.0/24", "trust-b", true},
		{"trust-a", "10.150.0.0/24", "trust-b", true},
		{"council-x", "10.150.0.0/24", "trust-a", false},
	})

	// 6. council-x (gobgpd) announces half of the /24s of 10.200.0.0/14,
	// then churns: 100 announcements and withdrawals a second.
	churnSpace := subnets24(netip.MustParsePrefix("10.200.0.0/14"))
	ch, err := newChurner(l, "council-x", churnSpace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.close) // after the halt below: cleanups run last first
	for i, p := range churnSpace {
		if i%2 == 0 {
			if err := ch.set(ctx, p, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	ag.churn = ch
	instant("after council-x announced 512 more routes", []held{
		{"trust-a", "10.200.0.0/24", "council-x", true},
		{"trust-b", "10.203.254.0/24", "council-x", true},
		{"trust-c", "10.203.255.0/24", "", false},
	})

	ch.start(100, 14)
	t.Cleanup(func() { _ = ch.halt() })
	rstest.EventuallyErr(t, within, func() error {
		if n, err := ch.count(); err != nil || n < 512+200 {
			return fmt.Errorf("%d updates (%v)", n, err)
		}
		return nil
	}, "council-x churning")
	instant("during churn of 100 updates a second", nil)
	n, err := ch.count()
	if err := ch.halt(); err != nil {
		t.Errorf("churn: %v", err)
	}
	t.Logf("churn: %d updates from council-x, %d /24s announced at the end", n-512, len(ch.announcedNow()))

	// 7. The churn is over: every churned prefix is compared.
	last := ch.announcedNow()
	instant("after the churn", []held{
		{"trust-a", last[0].String(), "council-x", true},
		{"council-y", last[len(last)-1].String(), "council-x", true},
	})
	t.Logf("TestViewsAgree ran for %s", time.Since(start).Round(time.Second))
}

// setRegister changes whether a member's announcement of prefix is in
// its registered prefixes (the [[member]] prefixes of fedrs.toml).
func setRegister(t *testing.T, topo *Topology, member, prefix string, on bool) {
	t.Helper()
	m := topo.Member(member)
	p := netip.MustParsePrefix(prefix)
	for i := range m.Announce {
		if m.Announce[i].Prefix == p {
			m.Announce[i].Register = &on
			return
		}
	}
	t.Fatalf("%s announces no %s", member, prefix)
}

// reload writes the route server's fedrs.toml from the (changed)
// topology and has the running fedrs reload it.
func reload(t *testing.T, ctx context.Context, l *Lab) {
	t.Helper()
	dir := filepath.Join(l.Dir, rsNode)
	b, err := FedrsConfig(l.Topology, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fedrs.toml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(ctx, l.opts.FedrsBinary, "reload", "--socket", filepath.Join(dir, fedrsSocket))
	if err != nil {
		t.Fatalf("fedrs reload: %v: %s", err, out)
	}
	t.Logf("fedrs reload: %s", strings.TrimSpace(string(out)))
}

// held is an expected outcome: member's daemon holds prefix from
// announcer (holds), or does not hold it from announcer ("": from
// anyone).
type held struct {
	member, prefix, from string
	holds                bool
}

// checkHeld checks outcomes against view (a).
func (v *viewer) checkHeld(ctx context.Context, want []held) error {
	views := map[string][]viewRoute{}
	var bad []string
	for _, w := range want {
		rs, ok := views[w.member]
		if !ok {
			var err error
			if rs, err = v.daemonView(ctx, w.member); err != nil {
				return err
			}
			views[w.member] = rs
		}
		p := netip.MustParsePrefix(w.prefix)
		var got []string
		found := false
		for _, r := range rs {
			if r.Prefix == p {
				got = append(got, r.From)
				found = found || w.from == "" || r.From == w.from
			}
		}
		switch {
		case w.holds && !found:
			bad = append(bad, fmt.Sprintf("%s does not hold %s from %s (holds it from %v; the route server: %s)",
				w.member, p, w.from, got, v.verdict(ctx, w.from, p)))
		case !w.holds && found:
			bad = append(bad, fmt.Sprintf("%s holds %s from %v, want not from %s", w.member, p, got, cmpOr(w.from, "anyone")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// verdict says what the route server holds from member for p, from its
// "lg routes --received" view.
func (v *viewer) verdict(ctx context.Context, member string, p netip.Prefix) string {
	rs, err := v.l.FedrsRoutes(ctx, member, "received")
	if err != nil {
		return err.Error()
	}
	for _, r := range rs {
		if r.Prefix == p.String() {
			if r.Accepted {
				return fmt.Sprintf("%s's route is accepted, exported to %v", member, r.ExportedTo)
			}
			return fmt.Sprintf("%s's route is filtered: %s", member, strings.Join(r.ReasonNames(), " "))
		}
	}
	return fmt.Sprintf("no route from %s", member)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// agreement reads the three views of every member and compares them.
type agreement struct {
	v       *viewer
	members []string
	// churn, when set, changes its prefixes while the views are read:
	// only those that did not change from settle before the reading
	// began until it ended are compared.
	churn  *churner
	settle time.Duration
	// sample is how many stable churned prefixes get the per-prefix
	// checks (lg route, history prefix); every other prefix gets them.
	sample int
}

// check takes one reading of every view and returns the differences, or
// what it compared.
func (ag *agreement) check(ctx context.Context) (string, error) {
	v := ag.v
	t0 := time.Now()
	var stable0 map[netip.Prefix]bool
	var updates0 int
	if ag.churn != nil {
		before := t0
		if ag.churn.running() {
			before = t0.Add(-ag.settle)
		}
		stable0 = ag.churn.stableBefore(before)
		updates0, _ = ag.churn.count()
	}
	perPrefix := func(p netip.Prefix) bool { return ag.churn == nil || !ag.churn.owns(p) }
	if ag.churn != nil {
		var s []netip.Prefix
		for p, on := range stable0 {
			if on {
				s = append(s, p)
			}
		}
		slices.SortFunc(s, comparePrefixes)
		sample := map[netip.Prefix]bool{}
		for i := 0; i < ag.sample && len(s) > 0; i++ { // spread over the space
			sample[s[i*len(s)/ag.sample]] = true
		}
		perPrefix = func(p netip.Prefix) bool { return !ag.churn.owns(p) || sample[p] }
	}

	// The live views: (a) every daemon, (b) the route server's exports,
	// what it received, and lg route for each route checked per prefix.
	a := map[string][]viewRoute{}
	b := map[string][]viewRoute{}
	received := map[receivedKey]FedrsRoute{}
	for _, m := range ag.members {
		var err error
		if a[m], err = v.daemonView(ctx, m); err != nil {
			return "", err
		}
	}
	for _, m := range ag.members {
		var err error
		if b[m], err = v.exportedView(ctx, m); err != nil {
			return "", err
		}
		rs, err := v.l.FedrsRoutes(ctx, m, "received")
		if err != nil {
			return "", err
		}
		for _, r := range rs {
			x := r.Route()
			received[receivedKey{m, x.Prefix}] = r
		}
	}
	lgRoutes := map[receivedKey]FedrsRoute{}
	var keys []receivedKey
	for k := range received {
		if perPrefix(k.prefix) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y receivedKey) int {
		if c := comparePrefixes(x.prefix, y.prefix); c != 0 {
			return c
		}
		return strings.Compare(x.member, y.member)
	})
	for _, k := range keys {
		r, err := v.lgRoute(ctx, k.member, k.prefix)
		if err != nil && ag.churn != nil && ag.churn.running() && ag.churn.owns(k.prefix) {
			continue // withdrawn since: it changed during the reading and is not compared
		}
		if err != nil {
			return "", err
		}
		lgRoutes[k] = r
	}
	t1 := time.Now()
	at := t0.Add(t1.Sub(t0) / 2)

	// The history at T, once it has written everything up to the end of
	// the reading.
	if err := v.historyCaughtUp(ctx, t1, 10*time.Second); err != nil {
		return "", err
	}
	c := map[string][]histVersion{}
	up := map[string]bool{}
	for _, m := range ag.members {
		var err error
		if up[m], c[m], err = v.historyAt(ctx, at, m); err != nil {
			return "", err
		}
	}
	hist := map[netip.Prefix][]histVersion{}
	for _, k := range keys {
		if _, ok := hist[k.prefix]; ok {
			continue
		}
		vs, err := v.historyPrefix(ctx, k.prefix)
		if err != nil {
			return "", err
		}
		hist[k.prefix] = vs
	}

	// While the churn runs, a churned prefix is compared only if it did
	// not change from settle before t0 until now.
	check := func(netip.Prefix) bool { return true }
	if ag.churn != nil && ag.churn.running() {
		stable := ag.churn.stableBefore(t0.Add(-ag.settle))
		check = func(p netip.Prefix) bool {
			if !ag.churn.owns(p) {
				return true
			}
			_, ok := stable[p]
			return ok
		}
	}

	var f findings
	compared, churned := 0, 0
	for _, m := range ag.members {
		for _, r := range a[m] {
			if check(r.Prefix) {
				compared++
				if ag.churn != nil && ag.churn.owns(r.Prefix) {
					churned++
				}
			}
		}
		compareAB(m, v.l.Topology.Member(m).Daemon, a[m], b[m], check, &f)
		compareAC(m, up[m], a[m], c[m], received, check, &f)
	}
	hold := holders(a)
	for _, k := range keys {
		if !check(k.prefix) {
			continue
		}
		want := hold[k]
		lg := slices.Clone(lgRoutes[k].ExportedTo)
		slices.Sort(lg)
		setDiff(k, want, lg, "lg route "+k.member+" "+k.prefix.String()+"'s exported_to", kindLGRoute, &f)
		var exposed []string
		found := false
		for _, h := range hist[k.prefix] {
			if h.Member == k.member && h.heldAt(at) {
				found = true
				exposed = append(exposed, h.exposedAt(at)...)
			}
		}
		if !found {
			f.add(k.member, kindHistPfx, k.prefix, "history prefix %s has no version of %s's route held at T (%s), which lg routes --received %s lists",
				k.prefix, k.member, at.Format(time.StampMicro), k.member)
			continue
		}
		slices.Sort(exposed)
		setDiff(k, want, exposed, "history prefix "+k.prefix.String()+"'s exposure at T of "+k.member+"'s route", kindHistPfx, &f)
	}
	window := fmt.Sprintf("reading from %s to %s (T = %s)", t0.Format(time.StampMilli), t1.Format(time.StampMilli), at.Format(time.StampMicro))
	if err := f.err(); err != nil {
		return "", fmt.Errorf("%s: %w", window, err)
	}
	what := fmt.Sprintf("%s; %d routes held by the members, %d per-route checks", window, compared, len(keys))
	if ag.churn != nil && ag.churn.running() {
		n, err := ag.churn.count()
		if err != nil {
			return "", err
		}
		if n == updates0 && ag.churn.running() {
			return "", fmt.Errorf("%s: the churn made no update during the reading", window)
		}
		what += fmt.Sprintf("; %d churn updates during the reading, %d held routes of stable churned prefixes compared", n-updates0, churned)
	} else if ag.churn != nil {
		what += fmt.Sprintf(", %d of them of churned prefixes", churned)
	}
	return what, nil
}

// setDiff adds a finding for each member in exactly one of holders (the
// members whose daemon holds the route) and listed (what a view says).
func setDiff(k receivedKey, holders, listed []string, what, kind string, f *findings) {
	for _, m := range listed {
		if !slices.Contains(holders, m) {
			f.add(m, kind, k.prefix, "%s names %s, whose daemon does not hold %s's route (held by %v)", what, m, k.member, holders)
		}
	}
	for _, m := range holders {
		if !slices.Contains(listed, m) {
			f.add(m, kind, k.prefix, "%s does not name %s, whose daemon holds %s's route (it names %v)", what, m, k.member, listed)
		}
	}
}
