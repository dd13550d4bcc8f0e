package api_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
)

// search is a federation for the prefix search: the usual three members,
// 10.1.0.0/16 from nhs-a (AS_PATH nhs-a 65001, with the action
// community "do not announce to council-c") and from nhs-b (a longer
// AS_PATH), so that nhs-b and council-c receive different routes (path
// hiding); 10.2.0.0/16 from nhs-a, filtered (next hop not its own);
// 2001:db8:100::/48 from council-c.
type search struct {
	fed  *rstest.Fed
	a    *api.API
	base string // the [http] listener, as the operator
}

var (
	searchV4       = pfx("10.1.0.0/16")
	searchFiltered = pfx("10.2.0.0/16")
	searchV6       = pfx("2001:db8:100::/48")
)

func startSearch(t *testing.T) *search {
	t.Helper()
	fed := rstest.Start(t, rstest.Three(), "", routeserver.Options{})
	s := &search{fed: fed}
	s.base = serveHTTP(t, fed, conf.HTTP{}, func(a *api.API) { s.a = a })
	ctx := rstest.Ctx(t)
	a, b, c := fed.Members["nhs-a"], fed.Members["nhs-b"], fed.Members["council-c"]
	for _, x := range []struct {
		r  *member.Router
		rt member.Route
	}{
		{a, member.Route{Prefix: searchV4, ASPath: []uint32{65001}, Large: []string{fmt.Sprintf("%d:0:%d", rstest.RSASN, rstest.Three()[2].ASN)}}},
		{b, member.Route{Prefix: searchV4, ASPath: []uint32{65002, 65003}}},
		{a, member.Route{Prefix: searchFiltered, NextHop: netip.MustParseAddr("127.0.0.99")}},
		{c, member.Route{Prefix: searchV6, ASPath: []uint32{65030}}},
	} {
		if err := x.r.Announce(ctx, x.rt); err != nil {
			t.Fatal(err)
		}
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return fed.Srv.RIB().Totals().Routes == 4 },
		"the route server to hold the four routes")
	for name, p := range map[string]netip.Prefix{"nhs-a": searchV4, "nhs-b": searchV4, "council-c": searchV4} {
		if _, err := fed.Members[name].WaitFor(ctx, p.String(), rstest.Has(p)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// asMember is the [http] listener as member name sees it.
func (s *search) asMember(t *testing.T, name string) string {
	t.Helper()
	mi, err := s.fed.Srv.MemberIndex(name)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.AsMember(s.a.HTTPHandler(conf.HTTP{}), mi, name))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func target(ps api.PrefixSearch, name string) (api.PrefixTarget, bool) {
	for _, t := range ps.Targets {
		if t.Member == name {
			return t, true
		}
	}
	return api.PrefixTarget{}, false
}

// agreeWithRouters checks a prefix search against what every member's
// router holds for the prefix: a target marked as receiving member X's
// route holds a route whose AS_PATH starts with X's AS and whose next hop
// is X's, with the attributes the search says were sent; a target
// marked as receiving none holds nothing.
//
// In a member's view (ps.Viewer), another member's row is about the
// viewer's routes only: "none" there means it holds no route of the
// viewer's.
func (s *search) agreeWithRouters(t *testing.T, ps api.PrefixSearch) error {
	p := netip.MustParsePrefix(ps.Prefix)
	specs := map[string]rstest.Member{}
	for _, m := range rstest.Three() {
		specs[m.Name] = m
	}
	ctx := rstest.Ctx(t)
	for _, tg := range ps.Targets {
		rs, err := s.fed.Members[tg.Member].Received(ctx)
		if err != nil {
			return err
		}
		got, holds := member.Find(rs, p)
		switch tg.Status {
		case api.TargetReceives:
			if !holds {
				return fmt.Errorf("%s: the search says it receives %s's route; its router holds nothing for %s", tg.Member, tg.From, p)
			}
			from := specs[tg.From]
			if len(got.ASPath) == 0 || got.ASPath[0] != from.ASN || got.NextHop.Unmap().String() != from.Addr {
				return fmt.Errorf("%s: the search says it receives %s's route; its router holds %s", tg.Member, tg.From, got)
			}
			if tg.Sent == nil || !slices.Equal(tg.Sent.ASPath, got.ASPath) || !slices.Equal(slices.Sorted(slices.Values(tg.Sent.LargeCommunities)), slices.Sorted(slices.Values(got.Large))) {
				return fmt.Errorf("%s: sent %+v, its router holds %s", tg.Member, tg.Sent, got)
			}
			c := ps.Candidates[tg.Candidate]
			if c.Member != tg.From || c.PathID != tg.PathID || !slices.Contains(c.ExportedTo, tg.Member) {
				return fmt.Errorf("%s: candidate %d is %s's (exported to %v), not %s's", tg.Member, tg.Candidate, c.Member, c.ExportedTo, tg.From)
			}
		case api.TargetNone:
			if ps.Viewer != "" && tg.Member != ps.Viewer {
				if holds && len(got.ASPath) > 0 && got.ASPath[0] == specs[ps.Viewer].ASN {
					return fmt.Errorf("%s: %s's view says it does not receive %s's route; its router holds %s", tg.Member, ps.Viewer, ps.Viewer, got)
				}
				continue
			}
			if holds {
				return fmt.Errorf("%s: the search says it receives nothing (%s); its router holds %s", tg.Member, tg.Reason, got)
			}
		default:
			return fmt.Errorf("%s: %s", tg.Member, tg.Status)
		}
	}
	return nil
}

// TestPrefixSearch checks GET /v1/prefixes against the members' routers
// (exact and longest match, IPv4 and IPv6, path hiding, a filtered
// route) and its explanation links against GET /v1/explain.
func TestPrefixSearch(t *testing.T) {
	s := startSearch(t)
	var ps api.PrefixSearch
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		ps = api.PrefixSearch{}
		getJSON(t, s.base+"v1/prefixes?q=10.1.0.0/16", &ps)
		return s.agreeWithRouters(t, ps)
	}, "the prefix search to agree with the members' routers on 10.1.0.0/16")
	if ps.Prefix != "10.1.0.0/16" || ps.Match != "exact" || len(ps.Candidates) != 2 || len(ps.Targets) != 3 || ps.RSASN != rstest.RSASN {
		t.Fatalf("search: %+v", ps)
	}
	if c := ps.Candidates[0]; c.Member != "nhs-a" || !c.Best || c.ASPathText != "4200000001 65001" || c.NextHop != "127.0.0.11" || c.Origin != "igp" {
		t.Errorf("first candidate %+v, want nhs-a's best route", c)
	}
	// Path hiding: council-c may not receive nhs-a's route, so it gets
	// nhs-b's; nhs-a never gets its own back.
	want := map[string]string{"nhs-a": "nhs-b", "nhs-b": "nhs-a", "council-c": "nhs-b"}
	for name, from := range want {
		if tg, _ := target(ps, name); tg.Status != api.TargetReceives || tg.From != from {
			t.Errorf("%s: %+v, want it to receive %s's route", name, tg, from)
		}
	}
	// The explanation of nhs-a's route toward council-c, as the page
	// links it, says what /v1/explain says: not allowed.
	var tr policy.Trace
	getJSON(t, s.base+"v1/explain?"+url.Values{"member": {"nhs-a"}, "prefix": {"10.1.0.0/16"}, "to": {"council-c"}}.Encode(), &tr)
	if tr.Export == nil || tr.Export.Allowed || !tr.Result.Accepted {
		t.Fatalf("explain nhs-a → council-c: %+v", tr)
	}
	_, page := get(t, s.base+"prefixes?q=10.1.0.0/16")
	link := "/members/nhs-a/routes/10.1.0.0/16?path_id=0&amp;to=council-c"
	if !strings.Contains(page, link) {
		t.Errorf("the search page lacks the link %s", link)
	}
	resp, page := get(t, s.base+strings.ReplaceAll(link[1:], "&amp;", "&"))
	if resp.StatusCode != 200 || !strings.Contains(page, "not allowed by the export policy") || !strings.Contains(page, "Verdict: <strong>accepted</strong>") {
		t.Errorf("explanation page: %d\n%s", resp.StatusCode, page)
	}
	for _, st := range tr.Export.Steps {
		if !strings.Contains(page, st.Check) {
			t.Errorf("explanation page lacks export step %s", st.Check)
		}
	}

	// Longest match of an address; the filtered route; IPv6.
	var lm api.PrefixSearch
	getJSON(t, s.base+"v1/prefixes?q=10.1.2.3", &lm)
	if lm.Match != "longest" || lm.Prefix != "10.1.0.0/16" || len(lm.Candidates) != 2 {
		t.Errorf("longest match of 10.1.2.3: %+v", lm)
	}
	var fl api.PrefixSearch
	getJSON(t, s.base+"v1/prefixes?q=10.2.0.0/16&match=longest", &fl)
	if len(fl.Candidates) != 1 || fl.Candidates[0].Accepted || len(fl.Candidates[0].FilteredReasons) == 0 {
		t.Fatalf("filtered: %+v", fl)
	}
	for _, tg := range fl.Targets {
		wantReason := api.ReasonFiltered
		if tg.Member == "nhs-a" {
			wantReason = api.ReasonNotExportable // its own route
		}
		if tg.Status != api.TargetNone || tg.Reason != wantReason {
			t.Errorf("filtered, %s: %+v, want none (%s)", tg.Member, tg, wantReason)
		}
	}
	if err := s.agreeWithRouters(t, fl); err != nil {
		t.Error(err)
	}
	// The member page's filtered row links to the explanation, whose
	// verdict is /v1/explain's.
	_, mp := get(t, s.base+"members/nhs-a?view=filtered")
	flink := "/members/nhs-a/routes/10.2.0.0/16?path_id=0"
	if !strings.Contains(mp, `href="`+flink+`"`) {
		t.Errorf("the member page's filtered row lacks the link %s", flink)
	}
	var ftr policy.Trace
	getJSON(t, s.base+"v1/explain?member=nhs-a&prefix=10.2.0.0/16", &ftr)
	resp, page = get(t, s.base+flink[1:])
	if ftr.Result.Accepted || len(ftr.Result.Filtered) == 0 || resp.StatusCode != 200 ||
		!strings.Contains(page, `Verdict: <strong class="reason">filtered</strong>; <span class="reason">`+ftr.Result.Filtered[0].Name+`</span> <span class="code">4200000000:`+ftr.Result.Filtered[0].Code+`</span>`) {
		t.Errorf("filtered route's explanation (/v1/explain: %+v): %d\n%s", ftr.Result, resp.StatusCode, page)
	}
	var v6 api.PrefixSearch
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		v6 = api.PrefixSearch{}
		getJSON(t, s.base+"v1/prefixes?q=2001:db8:100::1&match=longest", &v6)
		if v6.Prefix != "2001:db8:100::/48" || v6.Family != "ipv6" {
			return fmt.Errorf("longest match of 2001:db8:100::1: %+v", v6)
		}
		for _, name := range []string{"nhs-a", "nhs-b"} {
			if tg, _ := target(v6, name); tg.Status != api.TargetReceives {
				return fmt.Errorf("%s: %+v", name, tg)
			}
		}
		return s.agreeWithRouters(t, v6)
	}, "the IPv6 search to agree with the routers")
	if tg, _ := target(v6, "council-c"); tg.Reason != api.ReasonNotExportable {
		t.Errorf("council-c, its own IPv6 route: %+v", tg)
	}
	var v6tr policy.Trace
	getJSON(t, s.base+"v1/explain?member=council-c&prefix=2001:db8:100::/48&to=nhs-a", &v6tr)
	resp, page = get(t, s.base+"members/council-c/routes/2001:db8:100::/48?path_id=0&to=nhs-a")
	if resp.StatusCode != 200 || v6tr.Export == nil || v6tr.Export.Delivery != policy.DeliverySent ||
		!strings.Contains(page, "Delivery: <strong>sent</strong>") || !strings.Contains(page, "2001:db8:100::/48") {
		t.Errorf("IPv6 explanation page (/v1/explain: %+v): %d\n%s", v6tr.Export, resp.StatusCode, page)
	}
}

// TestPrefixSearchSessionDown: a member whose session is down receives
// nothing, and the search says why; so does one that never came up.
func TestPrefixSearchSessionDown(t *testing.T) {
	specs := append(rstest.Three(), rstest.Member{Name: "council-d", ASN: 4200000004, Addr: "127.0.0.14", Raw: true})
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	base := serveHTTP(t, fed, conf.HTTP{}, nil)
	if err := fed.Members["nhs-b"].Announce(rstest.Ctx(t), member.Route{Prefix: searchV4}); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		var ps api.PrefixSearch
		getJSON(t, base+"v1/prefixes?q=10.1.0.0/16", &ps)
		if tg, _ := target(ps, "council-d"); tg.Status != api.TargetNone || tg.Reason != api.ReasonSessionDown || !strings.Contains(tg.Detail, "council-d") {
			return fmt.Errorf("council-d: %+v", tg)
		}
		if tg, _ := target(ps, "council-c"); tg.Status != api.TargetReceives {
			return fmt.Errorf("council-c: %+v", tg)
		}
		return nil
	}, "council-d's row to say it has no session")

	s := startSearch(t)
	ctx := rstest.Ctx(t)
	if err := s.fed.Members["council-c"].Shutdown(ctx, "search test"); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		var ps api.PrefixSearch
		getJSON(t, s.base+"v1/prefixes?q=10.1.0.0/16", &ps)
		if tg, _ := target(ps, "council-c"); tg.Status != api.TargetNone || tg.Reason != api.ReasonSessionDown || !strings.Contains(tg.Detail, "council-c") {
			return fmt.Errorf("council-c: %+v", tg)
		}
		return nil
	}, "council-c's row to say its session is down")
}

// TestPrefixSearchBadInput: malformed queries are 400 naming the field,
// unknown prefixes 404 naming the prefix, for the JSON and the pages.
func TestPrefixSearchBadInput(t *testing.T) {
	s := startSearch(t)
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"v1/prefixes", 400, "q is required"},
		{"v1/prefixes?q=banana", 400, "q:"},
		{"v1/prefixes?q=10.1.0.1/16", 400, "did you mean 10.1.0.0/16"},
		{"v1/prefixes?q=10.1.0.0/16&match=weird", 400, "match"},
		{"v1/prefixes?q=" + strings.Repeat("1", 100), 400, "q is 100 characters"},
		{"v1/prefixes?q=10.9.0.0/16", 404, "10.9.0.0/16"},
		{"v1/prefixes?q=192.0.2.1", 404, "192.0.2.1"},
		{"v1/prefixes?q=2001:db8:900::/48", 404, "2001:db8:900::/48"},
		{"prefixes?q=banana", 400, "q:"},
		{"prefixes?q=10.9.0.0/16", 404, "10.9.0.0/16"},
		{"prefixes?q=10.1.0.0/16&match=weird", 400, "match"},
		{"members/nhs-a/routes/banana", 400, "prefix"},
		{"members/nhs-a/routes/10.9.0.0/16", 404, "10.9.0.0/16"},
		{"members/nobody/routes/10.1.0.0/16", 404, "nobody"},
		{"members/nhs-a/routes/10.1.0.0/16?path_id=x", 400, "path_id"},
		{"members/nhs-a/routes/10.1.0.0/16?to=nobody", 404, "nobody"},
	} {
		resp, body := get(t, s.base+c.path)
		if resp.StatusCode != c.status || !strings.Contains(body, c.says) {
			t.Errorf("GET /%s: %d, want %d saying %q:\n%.400s", c.path, resp.StatusCode, c.status, c.says, body)
		}
		if !strings.HasPrefix(c.path, "v1/") && !strings.Contains(body, "<main") {
			t.Errorf("GET /%s: not a page", c.path)
		}
	}
	// The empty search page is the form.
	if resp, body := get(t, s.base+"prefixes"); resp.StatusCode != 200 || !strings.Contains(body, `<input id="q" name="q"`) {
		t.Errorf("search form: %d\n%s", resp.StatusCode, body)
	}
}

// TestPrefixSearchMemberView: a member sees its own candidates with
// reasons and exposure, and the route it receives exactly as its router
// holds it, nothing else about other members; explanations only of its
// own routes or of the route it receives.
func TestPrefixSearchMemberView(t *testing.T) {
	s := startSearch(t)
	ctx := rstest.Ctx(t)
	// council-c sent nothing for 10.1.0.0/16: it sees the route it
	// receives (nhs-b's), as sent, and only its own row.
	cc := s.asMember(t, "council-c")
	var ps api.PrefixSearch
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		ps = api.PrefixSearch{}
		getJSON(t, cc+"v1/prefixes?q=10.1.0.0/16", &ps)
		if len(ps.Targets) != 1 || ps.Targets[0].Status != api.TargetReceives {
			return fmt.Errorf("council-c's view: %+v", ps)
		}
		return s.agreeWithRouters(t, ps)
	}, "council-c's view to agree with its router")
	if ps.Viewer != "council-c" || len(ps.Candidates) != 1 || ps.Candidates[0].Member != "nhs-b" ||
		!slices.Equal(ps.Candidates[0].ExportedTo, []string{"council-c"}) || len(ps.Candidates[0].TaggedReasons) != 0 {
		t.Errorf("council-c's view: %+v", ps)
	}
	rs, err := s.fed.Members["council-c"].Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := member.Find(rs, searchV4)
	if c := ps.Candidates[0]; !slices.Equal(c.ASPath, got.ASPath) || !slices.Equal(slices.Sorted(slices.Values(c.LargeCommunities)), slices.Sorted(slices.Values(got.Large))) {
		t.Errorf("council-c sees %v %v; its router holds %s", c.ASPath, c.LargeCommunities, got)
	}
	// Explaining the route it receives shows it as received.
	var ctr policy.Trace
	getJSON(t, cc+"v1/explain?member=nhs-b&prefix=10.1.0.0/16&to=council-c", &ctr)
	if ctr.Export == nil || ctr.Export.Delivery != policy.DeliverySent || ctr.Route.ASPath != "4200000002 65002 65003" ||
		!slices.Equal(slices.Sorted(slices.Values(ctr.Route.Large)), slices.Sorted(slices.Values(got.Large))) {
		t.Errorf("council-c explains the route it receives: %+v; its router holds %s", ctr.Route, got)
	}
	// nhs-a's filtered route is not council-c's to see; nor are
	// explanations of nhs-a's routes.
	for _, c := range []struct {
		path   string
		status int
	}{
		{"v1/prefixes?q=10.2.0.0/16", 404},
		{"prefixes?q=10.2.0.0/16", 404},
		{"v1/explain?member=nhs-a&prefix=10.1.0.0/16&to=nhs-b", 403},
		{"v1/explain?member=nhs-a&prefix=10.1.0.0/16&to=council-c", 403},
		{"members/nhs-a/routes/10.2.0.0/16", 403},
		{"v1/explain?member=nhs-b&prefix=10.1.0.0/16&to=council-c", 200},
		{"members/nhs-b/routes/10.1.0.0/16?to=council-c", 200},
	} {
		resp, body := get(t, cc+c.path)
		if resp.StatusCode != c.status {
			t.Errorf("council-c GET /%s: %d, want %d\n%.300s", c.path, resp.StatusCode, c.status, body)
		}
		if c.status != 200 && (strings.Contains(body, "next_hop") || strings.Contains(body, "127.0.0.99")) {
			t.Errorf("council-c GET /%s shows nhs-a's filtered route: %.300s", c.path, body)
		}
	}

	// nhs-a: its own route with reasons and exposure, the route it
	// receives (nhs-b's), and the rows of the members its route goes to
	// or not.
	na := s.asMember(t, "nhs-a")
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		ps = api.PrefixSearch{}
		getJSON(t, na+"v1/prefixes?q=10.1.0.0/16", &ps)
		return s.agreeWithRouters(t, ps)
	}, "nhs-a's view to agree with the routers")
	var members []string
	for _, c := range ps.Candidates {
		members = append(members, c.Member)
	}
	if !slices.Equal(members, []string{"nhs-a", "nhs-b"}) || !slices.Equal(ps.Candidates[0].ExportedTo, []string{"nhs-b"}) ||
		!slices.Equal(ps.Candidates[1].ExportedTo, []string{"nhs-a"}) {
		t.Errorf("nhs-a's candidates: %+v", ps.Candidates)
	}
	if tg, _ := target(ps, "council-c"); tg.Status != api.TargetNone || tg.Reason != api.ReasonNotExportable || tg.From != "" {
		t.Errorf("council-c as nhs-a sees it: %+v (nhs-a's route is not for council-c; what council-c gets is not nhs-a's to know)", tg)
	}
	var fl api.PrefixSearch
	getJSON(t, na+"v1/prefixes?q=10.2.0.0/16", &fl)
	if len(fl.Candidates) != 1 || len(fl.Candidates[0].FilteredReasons) == 0 {
		t.Errorf("nhs-a's filtered route: %+v", fl)
	}
	var tr policy.Trace
	getJSON(t, na+"v1/explain?member=nhs-a&prefix=10.1.0.0/16&to=nhs-b", &tr)
	if tr.Export == nil || tr.Export.Delivery != policy.DeliverySent {
		t.Errorf("nhs-a explains its route to nhs-b: %+v", tr.Export)
	}
	if resp, body := get(t, na+"v1/explain?member=nhs-b&prefix=10.1.0.0/16&to=council-c"); resp.StatusCode != 403 || !strings.Contains(body, "nhs-b") || !strings.Contains(body, "to=nhs-a") {
		t.Errorf("nhs-a explains nhs-b's route to council-c: %d %s", resp.StatusCode, body)
	}
	// The page: council-c's row links to why it does not get nhs-a's
	// route, not to the route it does get (nhs-b's).
	resp, body := get(t, na+"prefixes?q=10.1.0.0/16")
	if resp.StatusCode != 200 || !strings.Contains(body, "/members/nhs-a/routes/10.1.0.0/16?path_id=0&amp;to=council-c") ||
		strings.Contains(body, "/members/nhs-b/routes/10.1.0.0/16?path_id=0&amp;to=council-c") {
		t.Errorf("nhs-a's search page: %d\n%s", resp.StatusCode, body)
	}
}

// TestPrefixSearchOnSocket: the unix socket (the operator) answers
// the same search as the [http] listener.
func TestPrefixSearchOnSocket(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	if err := e.fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: searchV4, ASPath: []uint32{65001}}); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		var ps api.PrefixSearch
		if err := e.cl.Get(ctx, "/v1/prefixes", url.Values{"q": {"10.1.0.0/16"}}, &ps); err != nil {
			return err
		}
		for _, name := range []string{"nhs-b", "council-c"} {
			if tg, _ := target(ps, name); tg.Status != api.TargetReceives || tg.From != "nhs-a" {
				return fmt.Errorf("%s: %+v", name, tg)
			}
		}
		return nil
	}, "the search on the unix socket")
	var e404 api.Error
	err := e.cl.Get(ctx, "/v1/prefixes", url.Values{"q": {"10.9.0.0/16"}}, &e404)
	if err == nil || !strings.Contains(err.Error(), "10.9.0.0/16") {
		t.Errorf("unknown prefix on the socket: %v", err)
	}
}
