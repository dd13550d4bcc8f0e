package api_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

// eventsFed is a route server recording history, with the [http]
// listener, after: nhs-a announced an accepted and a filtered route
// (next hop not its own), council-c a filtered one (prefix not allowed),
// and nhs-b's session was shut down by the operator (Cease with a
// message) and came back.
type eventsFed struct {
	fed  *rstest.Fed
	base string
	// sent is the NOTIFICATION the route server sent nhs-b.
	sent api.Notification
	// asMember serves the listener as member mi (named name) sees it.
	asMember func(mi int, name string) string
}

func startEvents(t *testing.T) *eventsFed {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	rec, err := history.Open(path, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: rstest.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() }) // after the route server stops
	fed := rstest.Start(t, rstest.Three(), fmt.Sprintf("history = %q", path), routeserver.Options{History: rec})
	e := &eventsFed{fed: fed, base: serveHTTP(t, fed, conf.HTTP{}, nil)}
	e.asMember = func(mi int, name string) string {
		a := api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log})
		srv := httptest.NewServer(api.AsMember(a.HTTPHandler(conf.HTTP{}), mi, name))
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	}
	ctx := rstest.Ctx(t)
	a, c := fed.Members["nhs-a"], fed.Members["council-c"]
	for _, err := range []error{
		a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}}),
		a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}),
		c.Announce(ctx, member.Route{Prefix: pfx("192.168.50.0/24")}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return fed.Srv.RIB().Totals().Routes == 3 }, "the route server to hold the three routes")
	if _, err := fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	if err := fed.Srv.ShutdownMember("nhs-b", "maintenance window"); err != nil {
		t.Fatal(err)
	}
	var ns []api.Neighbor
	rstest.Eventually(t, 10*time.Second, func() bool {
		getJSON(t, e.base+"v1/neighbors", &ns)
		return ns[1].State != "Established" && ns[1].NotificationSent != nil
	}, "nhs-b's session to close")
	e.sent = *ns[1].NotificationSent
	if err := fed.Srv.EnableMember("nhs-b"); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 20*time.Second, func() bool {
		getJSON(t, e.base+"v1/neighbors", &ns)
		return ns[1].State == "Established"
	}, "nhs-b's session to come back")
	if err := rec.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The history has recorded nhs-b's return.
	rstest.Eventually(t, 10*time.Second, func() bool {
		var p history.EventPage
		getJSON(t, e.base+"v1/history/events?kind=session&member=nhs-b&limit=1", &p)
		return len(p.Events) == 1 && p.Events[0].State == "up" && p.Events[0].Time.After(e.sent.At)
	}, "nhs-b's return in the history")
	return e
}

// TestHistoryEventsAPI compares GET /v1/history/events, /sessions and
// /filtered with what the route server holds and did: the filter
// decisions are the routes the RIB filtered, with their reasons and the
// reasons' large communities; nhs-b's down carries the NOTIFICATION the
// route server sent; pages chained by next give the whole list; a member
// view is narrowed to its own events; bad input is refused naming the
// parameter.
func TestHistoryEventsAPI(t *testing.T) {
	e := startEvents(t)
	var st api.Status
	getJSON(t, e.base+"v1/status", &st)

	var all history.EventPage
	getJSON(t, e.base+"v1/history/events?limit=1000", &all)
	// Filter decisions: the RIB's filtered routes.
	var want, got []string
	for _, m := range []string{"nhs-a", "nhs-b", "council-c"} {
		var rl api.RouteList
		getJSON(t, e.base+"v1/members/"+m+"/routes?view=filtered", &rl)
		for _, r := range rl.Routes {
			for _, x := range r.FilteredReasons {
				want = append(want, fmt.Sprintf("%s %s %s %d:1101:%d", r.Prefix, m, x.Name, st.ASN, x.Code))
			}
		}
	}
	kinds := map[string]int{}
	for _, ev := range all.Events {
		kinds[ev.Kind]++
		for _, x := range ev.Reasons {
			got = append(got, fmt.Sprintf("%s %s %s %s", ev.Prefix, ev.Member, x.Name, x.Community))
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("filter decisions in the events:\n  %s\nthe RIB's filtered routes:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Three ups at the start, nhs-b's down and up; the load at start.
	if kinds["session"] != 5 || kinds["reload"] != 1 || kinds["filtered"] != 2 {
		t.Errorf("events by kind: %v", kinds)
	}
	var down *history.Event
	for i, ev := range all.Events {
		if ev.Kind == "session" && ev.State == "down" {
			down = &all.Events[i]
		}
	}
	if down == nil || down.Member != "nhs-b" || down.Sent == nil || down.Sent.Code != e.sent.Code || down.Sent.Subcode != e.sent.Subcode ||
		down.Sent.Message != e.sent.ShutdownMessage || e.sent.ShutdownMessage != "maintenance window" ||
		!strings.Contains(down.Notification, `Cease/Administrative Shutdown: "maintenance window"`) {
		t.Errorf("nhs-b's down: %+v; the route server sent %+v", down, e.sent)
	}

	// Pages of 2, chained by next, are the whole list; prev leads back.
	var walked []string
	var prevs []string
	u := e.base + "v1/history/events?limit=2"
	for n := 0; ; n++ {
		var p history.EventPage
		getJSON(t, u, &p)
		for _, ev := range p.Events {
			walked = append(walked, ev.ID)
		}
		prevs = append(prevs, p.Prev)
		if !p.Truncated {
			break
		}
		if n > 20 {
			t.Fatal("more than 20 pages")
		}
		u = e.base + "v1/history/events?limit=2&after=" + url.QueryEscape(p.Next)
	}
	var ids []string
	for _, ev := range all.Events {
		ids = append(ids, ev.ID)
	}
	if !slices.Equal(walked, ids) || len(prevs) < 2 || prevs[0] != "" || prevs[1] == "" {
		t.Errorf("pages of 2: %v (prevs %v), the whole list %v", walked, prevs, ids)
	}
	var back history.EventPage
	getJSON(t, e.base+"v1/history/events?limit=2&before="+url.QueryEscape(prevs[1]), &back)
	if len(back.Events) != 2 || back.Events[0].ID != ids[0] || back.Events[1].ID != ids[1] || back.Prev != "" {
		t.Errorf("back to the first page: %+v", back)
	}

	// Filters.
	var p history.EventPage
	getJSON(t, e.base+"v1/history/events?prefix=10.0.0.0/8", &p)
	if len(p.Events) != 1 || p.Events[0].Prefix != "10.2.0.0/16" {
		t.Errorf("prefix 10.0.0.0/8: %+v", p.Events)
	}
	p = history.EventPage{}
	getJSON(t, e.base+"v1/history/events?kind=session,reload&member=nhs-b", &p)
	for _, ev := range p.Events {
		if ev.Kind == "filtered" || ev.Member != "" && ev.Member != "nhs-b" {
			t.Errorf("sessions and reloads of nhs-b: %s", ev.Text)
		}
	}
	if len(p.Events) != 3+1 {
		t.Errorf("sessions and reloads of nhs-b: %d events", len(p.Events))
	}

	// Sessions of the member page; counts by reason of the overview.
	var sh api.SessionHistory
	getJSON(t, e.base+"v1/history/sessions?member=nhs-b", &sh)
	if len(sh.Sessions) != 2 || sh.Sessions[0].Down == nil || sh.Sessions[1].Down != nil ||
		sh.Sessions[0].Notification != "sent "+history.NotifyText(sh.Sessions[0].Sent) {
		t.Errorf("sessions of nhs-b: %+v", sh)
	}
	var fc api.FilteredCounts
	getJSON(t, e.base+"v1/history/filtered", &fc)
	var counts []string
	for _, r := range fc.Reasons {
		counts = append(counts, fmt.Sprintf("%s %s %d %d", r.Reason, r.Community, r.Routes, r.Decisions))
	}
	slices.Sort(counts)
	if w := fmt.Sprintf("next_hop %d:1101:8 1 1,prefix_not_allowed %d:1101:9 1 1", st.ASN, st.ASN); strings.Join(counts, ",") != w {
		t.Errorf("filtered by reason: %v, want %s", counts, w)
	}

	// nhs-a's view: its own filter decision and sessions, the load, not
	// council-c's filter decision nor nhs-b's sessions.
	ma := e.asMember(0, "nhs-a")
	p = history.EventPage{}
	getJSON(t, ma+"v1/history/events", &p)
	for _, ev := range p.Events {
		if ev.Member != "" && ev.Member != "nhs-a" {
			t.Errorf("nhs-a's view shows %s", ev.Text)
		}
		if ev.Kind == "reload" && (ev.File != "" || ev.Changes != "") {
			t.Errorf("nhs-a's view shows the reload's file or changes: %+v", ev)
		}
	}
	if len(p.Events) != 1+1+1 {
		t.Errorf("nhs-a's view: %d events, want its filter decision, its session up and the load", len(p.Events))
	}
	fc = api.FilteredCounts{}
	getJSON(t, ma+"v1/history/filtered", &fc)
	if len(fc.Reasons) != 1 || fc.Reasons[0].Reason != "next_hop" || fc.Member != "nhs-a" {
		t.Errorf("nhs-a's filtered by reason: %+v", fc)
	}
	for _, path := range []string{"v1/history/events?member=nhs-b", "v1/history/sessions?member=council-c", "v1/history/filtered?member=nhs-b"} {
		if resp, body := get(t, ma+path); resp.StatusCode != 403 || !strings.Contains(body, "own") {
			t.Errorf("nhs-a's view of %s: %d %s", path, resp.StatusCode, body)
		}
	}
	sh = api.SessionHistory{}
	getJSON(t, ma+"v1/history/sessions", &sh)
	if len(sh.Sessions) != 1 || sh.Sessions[0].Member != "nhs-a" {
		t.Errorf("nhs-a's sessions: %+v", sh.Sessions)
	}

	// Bad input: 400 naming the parameter; an unknown member 404.
	for _, c := range []struct{ q, field string }{
		{"since=yesterday", "since"}, {"until=2026-13-01", "until"}, {"limit=1001", "limit"}, {"limit=0", "limit"},
		{"kind=weird", "kind"}, {"prefix=banana", "prefix"}, {"prefix=10.1.0.1/16", "prefix"}, {"after=zzz", "after"}, {"before=1.x.1", "before"},
		{"reason=weird", "reason"}, {"since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "until"},
	} {
		resp, body := get(t, e.base+"v1/history/events?"+c.q)
		if resp.StatusCode != 400 || !strings.Contains(body, c.field) {
			t.Errorf("events?%s: %d %s", c.q, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"v1/history/sessions?since=x", "v1/history/filtered?until=x", "v1/history/sessions?limit=1001"} {
		if resp, body := get(t, e.base+path); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"v1/history/events?member=nobody", "v1/history/sessions?member=nobody", "v1/history/filtered?member=nobody"} {
		if resp, body := get(t, e.base+path); resp.StatusCode != 404 || !strings.Contains(body, "nobody") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

// TestHistoryPages checks the events page, the member page's sessions and
// the overview's counts over HTTP against the JSON, and what the pages and
// endpoints say without a history.
func TestHistoryPages(t *testing.T) {
	e := startEvents(t)
	var all history.EventPage
	getJSON(t, e.base+"v1/history/events", &all)
	resp, body := get(t, e.base+"events")
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>Events · fedrs</title>") {
		t.Fatalf("events page: %d\n%s", resp.StatusCode, body)
	}
	for _, ev := range all.Events {
		if !strings.Contains(body, `id="ev-`+ev.ID+`"`) {
			t.Errorf("events page lacks event %s (%s)", ev.ID, ev.Text)
		}
	}
	for _, want := range []string{"10.2.0.0/16", "next_hop", ":1101:8", "192.168.50.0/24", "prefix_not_allowed", "maintenance window"} {
		if !strings.Contains(body, want) {
			t.Errorf("events page lacks %q", want)
		}
	}
	// Filtered by member and kind; a page of 2 links to the next.
	_, body = get(t, e.base+"events?member=nhs-b&kind=session&limit=2")
	if n := strings.Count(body, `class="ev-session`); n != 2 || strings.Contains(body, "ev-filtered") || !strings.Contains(body, `rel="next"`) ||
		!strings.Contains(body, "after=") || !strings.Contains(body, `<option value="nhs-b" selected>`) {
		t.Errorf("events of nhs-b, sessions, 2 a page: %d rows\n%s", n, body)
	}
	for _, c := range []struct {
		q    string
		code int
		want string
	}{{"since=yesterday", 400, "since"}, {"member=nobody", 404, "nobody"}, {"limit=5000", 400, "limit"}} {
		if resp, body := get(t, e.base+"events?"+c.q); resp.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("events?%s: %d\n%s", c.q, resp.StatusCode, body)
		}
	}
	// nhs-a's view: 403 for another member's events.
	if resp, body := get(t, e.asMember(0, "nhs-a")+"events?member=nhs-b"); resp.StatusCode != 403 {
		t.Errorf("nhs-a's view of nhs-b's events: %d\n%s", resp.StatusCode, body)
	}
	// The member page's sessions.
	_, body = get(t, e.base+"members/nhs-b")
	if !strings.Contains(body, "Sessions, last 7 days") || !strings.Contains(body, `Cease/Administrative Shutdown: &#34;maintenance window&#34;`) ||
		!strings.Contains(body, "still up") {
		t.Errorf("member page of nhs-b:\n%s", body)
	}
	// The overview's counts.
	_, body = get(t, e.base)
	if !strings.Contains(body, "Filtered routes by reason, last 24 hours") || !strings.Contains(body, fmt.Sprintf("%d:1101:9", rstest.RSASN)) {
		t.Errorf("overview:\n%s", body)
	}

	// Without a history.
	base := startWeb(t)
	if resp, body := get(t, base+"v1/history/events"); resp.StatusCode != 404 || !strings.Contains(body, `"no_history"`) {
		t.Errorf("events without history: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct{ path, want string }{
		{"events", "No history is recorded"}, {"", "Filtered-route counts are not shown"}, {"members/nhs-a", "Session history is not shown"},
	} {
		if resp, body := get(t, base+c.path); resp.StatusCode != 200 || !strings.Contains(body, c.want) {
			t.Errorf("/%s without history: %d\n%s", c.path, resp.StatusCode, body)
		}
	}
}
