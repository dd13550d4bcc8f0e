package api_test

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// wireKey is what a member holds for a prefix, in one comparable form:
// the attributes the issue names (AS_PATH, next hop, MED, standard and
// large communities, OTC).
func wireKey(prefix string, path []uint32, nh string, med *uint32, comms, large []string, otc *uint32) string {
	c := slices.Sorted(slices.Values(comms))
	l := slices.Sorted(slices.Values(large))
	m, o := "-", "-"
	if med != nil {
		m = fmt.Sprint(*med)
	}
	if otc != nil {
		o = fmt.Sprint(*otc)
	}
	return fmt.Sprintf("%s path=%v nh=%s med=%s comms=%v large=%v otc=%s", prefix, path, nh, m, c, l, o)
}

// held is what the member's own router holds from the route server.
func held(ctx context.Context, r *member.Router) ([]string, error) {
	rs, err := r.Received(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range rs {
		out = append(out, wireKey(x.Prefix.String(), x.ASPath, x.NextHop.String(), x.MED, x.Communities, x.Large, x.OTC))
	}
	slices.Sort(out)
	return out, nil
}

// shown is what the looking glass says the member holds (lg routes
// --exported).
func shown(ctx context.Context, cl *api.Client, name string) ([]string, api.RouteList, error) {
	var rl api.RouteList
	if err := cl.Get(ctx, "/v1/members/"+name+"/routes", url.Values{"view": {"exported"}}, &rl); err != nil {
		return nil, rl, err
	}
	var out []string
	for _, x := range rl.Routes {
		nh := x.NextHop
		if a, err := netip.ParseAddr(nh); err == nil {
			// IPv6 over an IPv4 session carries the IPv4-mapped next hop;
			// the member's router (member.Route) shows it unmapped.
			nh = a.Unmap().String()
		}
		out = append(out, wireKey(x.Prefix, x.ASPath, nh, x.MED, x.Communities, x.LargeCommunities, x.OTC))
	}
	slices.Sort(out)
	return out, rl, nil
}

// agree is nil once the looking glass and the member's router agree on
// everything the member holds, with nothing in flight.
func agree(ctx context.Context, e *env, name string) error {
	want, err := held(ctx, e.fed.Members[name])
	if err != nil {
		return err
	}
	got, rl, err := shown(ctx, e.cl, name)
	if err != nil {
		return err
	}
	if rl.Pending > 0 {
		return fmt.Errorf("%s: %d changes still queued", name, rl.Pending)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s: the looking glass shows\n  %s\nthe member's router holds\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return nil
}

// TestExportedIsWhatMembersHold: "exported" in the looking glass (lg
// routes --exported, lg route's exported_to, explain --to) means sent on
// an established session and not withdrawn since, with the attributes as
// they went on the wire; checked against the members' own routers, with a
// member that never came up, one whose session goes down and comes back,
// and one that negotiated IPv4 only.
func TestExportedIsWhatMembersHold(t *testing.T) {
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12", Extra: `families = ["ipv4"]`},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13"},
		{Name: "council-d", ASN: 4200000004, Addr: "127.0.0.14", Raw: true}, // configured, never up
	}
	e := startWith(t, rstest.Config(specs, ""), specs)
	ctx := rstest.Ctx(t)
	a := e.fed.Members["nhs-a"]
	med := uint32(50)
	ann := []member.Route{
		// Prepended once toward council-c; a foreign community passes.
		{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}, Communities: []string{"65000:1"}, Large: []string{"4200000000:101:4200000003"}},
		// Not to nhs-b; MED untouched.
		{Prefix: pfx("10.2.0.0/16"), MED: &med, Large: []string{"4200000000:0:4200000002", "65000:7:7"}},
		{Prefix: pfx("10.3.0.0/16")},
		{Prefix: pfx("2001:db8:1::/48")},
	}
	for _, r := range ann {
		if err := a.Announce(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.fed.Members["council-c"].Announce(ctx, member.Route{Prefix: pfx("10.40.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	// Agreement is only worth checking once the route server holds
	// every route announced (before, both sides are empty).
	rstest.Eventually(t, 10*time.Second, func() bool { return e.fed.Srv.RIB().Totals().Routes == len(ann)+1 },
		"the route server to hold every route announced")
	for _, m := range []string{"nhs-a", "nhs-b", "council-c"} {
		rstest.EventuallyErr(t, 10*time.Second, func() error { return agree(ctx, e, m) }, m+"'s looking glass to match its router")
	}
	// The comparison is not trivial: council-c got the prepend, nobody
	// got the action communities, and the OTC was added.
	got, _, _ := shown(ctx, e.cl, "council-c")
	want := wireKey("10.1.0.0/16", []uint32{4200000001, 4200000001, 65001}, "127.0.0.11", nil, []string{"65000:1"}, nil, nil)
	if !slices.ContainsFunc(got, func(k string) bool { return strings.HasPrefix(k, want[:strings.Index(want, " large=")]) }) {
		t.Errorf("council-c's view lacks the prepended 10.1.0.0/16 (%s):\n%s", want, strings.Join(got, "\n"))
	}
	for _, k := range got {
		if strings.Contains(k, "4200000000:101:") || strings.Contains(k, "4200000000:0:") || strings.Contains(k, "otc=-") {
			t.Errorf("council-c's view shows an action community or no OTC: %s", k)
		}
	}
	if nb, _, _ := shown(ctx, e.cl, "nhs-b"); slices.ContainsFunc(nb, func(k string) bool {
		return strings.HasPrefix(k, "10.2.0.0/16") || strings.HasPrefix(k, "2001:db8:1::/48")
	}) {
		t.Errorf("nhs-b is shown a route it may not or cannot receive:\n%s", strings.Join(nb, "\n"))
	}

	exportedTo := func(memberName, prefix string) ([]string, []string) {
		t.Helper()
		var r api.Route
		if err := e.cl.Get(ctx, "/v1/route", url.Values{"member": {memberName}, "prefix": {prefix}}, &r); err != nil {
			t.Fatal(err)
		}
		return r.ExportedTo, r.PendingTo
	}
	if got, _ := exportedTo("nhs-a", "10.1.0.0/16"); !slices.Equal(got, []string{"nhs-b", "council-c"}) {
		t.Errorf("10.1.0.0/16 exported to %v, want nhs-b and council-c (council-d never came up)", got)
	}
	if got, _ := exportedTo("nhs-a", "2001:db8:1::/48"); !slices.Equal(got, []string{"council-c"}) {
		t.Errorf("2001:db8:1::/48 exported to %v, want council-c only (nhs-b negotiated IPv4 only)", got)
	}
	explain := func(prefix, to string) string {
		t.Helper()
		var text string
		if err := e.cl.Get(ctx, "/v1/explain", url.Values{"member": {"nhs-a"}, "prefix": {prefix}, "to": {to}, "format": {"text"}}, &text); err != nil {
			t.Fatal(err)
		}
		return text
	}
	if x := explain("10.1.0.0/16", "council-d"); !strings.Contains(x, "delivery: not sent") || !strings.Contains(x, "no established session") {
		t.Errorf("explain toward council-d, which never came up:\n%s", x)
	}
	if x := explain("10.2.0.0/16", "nhs-b"); !strings.Contains(x, "delivery: not sent") || !strings.Contains(x, "export policy does not allow") {
		t.Errorf("explain toward nhs-b of a route denied to it:\n%s", x)
	}
	if x := explain("10.1.0.0/16", "council-c"); !strings.Contains(x, "delivery: sent") ||
		!strings.Contains(x, "as council-c received it:\n    AS_PATH 4200000001 4200000001 65001, NEXT_HOP 127.0.0.11, OTC 4200000000") ||
		strings.Contains(x[strings.Index(x, "delivery:"):], "4200000000:101:") {
		t.Errorf("explain toward council-c does not show the route as council-c received it:\n%s", x)
	}

	// council-c's session goes down: nothing is exported to it any more.
	// Its router shuts the session down and enables it again rather than
	// stopping and starting: gobgp's StartBgp writes package globals that
	// the other, running speakers read (a data race under -race).
	if err := e.fed.Members["council-c"].Shutdown(ctx, "council-c maintenance"); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if got, _ := exportedTo("nhs-a", "10.1.0.0/16"); !slices.Equal(got, []string{"nhs-b"}) {
			return fmt.Errorf("10.1.0.0/16 exported to %v, want nhs-b only", got)
		}
		return nil
	}, "council-c's session to go down and its exports to end")
	if got, rl, err := shown(ctx, e.cl, "council-c"); err != nil || len(got) != 0 || rl.Total != 0 || !strings.Contains(rl.Note, "no established session") {
		t.Errorf("council-c is down but its exported view is %v (total %d, note %q, err %v)", got, rl.Total, rl.Note, err)
	}
	if x := explain("10.1.0.0/16", "council-c"); !strings.Contains(x, "delivery: not sent") || !strings.Contains(x, "no established session") {
		t.Errorf("explain toward council-c while it is down:\n%s", x)
	}
	// It comes back: the routes are sent again, and only then exported.
	if err := e.fed.Members["council-c"].Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.fed.Members["council-c"].WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.fed.Members["council-c"].Announce(ctx, member.Route{Prefix: pfx("10.40.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"nhs-a", "nhs-b", "council-c"} {
		rstest.EventuallyErr(t, 10*time.Second, func() error { return agree(ctx, e, m) }, m+"'s looking glass to match its router after council-c came back")
	}
	if got, _ := exportedTo("nhs-a", "10.1.0.0/16"); !slices.Equal(got, []string{"nhs-b", "council-c"}) {
		t.Errorf("after council-c came back, 10.1.0.0/16 exported to %v", got)
	}
	// A withdrawal ends the export everywhere.
	if err := a.Withdraw(ctx, pfx("10.3.0.0/16")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"nhs-b", "council-c"} {
		rstest.EventuallyErr(t, 10*time.Second, func() error {
			if err := agree(ctx, e, m); err != nil {
				return err
			}
			if got, _, _ := shown(ctx, e.cl, m); slices.ContainsFunc(got, func(k string) bool { return strings.HasPrefix(k, "10.3.0.0/16 ") }) {
				return fmt.Errorf("%s still shown 10.3.0.0/16", m)
			}
			return nil
		}, m+" to see 10.3.0.0/16 withdrawn in its looking glass and router")
	}
}
