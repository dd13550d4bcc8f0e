package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
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

// span is when something happened, as the test saw it: after before and
// before after (the route server's record of it must fall inside).
type span struct{ before, after time.Time }

func (s span) has(t time.Time) bool { return !t.Before(s.before) && !t.After(s.after) }
func (s span) String() string {
	return s.before.UTC().Format("15:04:05.000000") + "…" + s.after.UTC().Format("15:04:05.000000")
}

// timelineFed is a route server recording history, with the [http]
// listener, after the timeline scenario (see startTimeline).
type timelineFed struct {
	fed  *rstest.Fed
	rec  *history.Recorder
	api  *api.API
	base string
	// start is before anything was announced; the spans are when each
	// step happened.
	start                                  time.Time
	announce, withdraw, reannounce, filter span
	flapDown, flapUp                       span
}

// startTimeline runs the usual three members with history on, then the
// scenario: nhs-a announces 10.1.0.0/16 (AS_PATH 4200000001 65001), withdraws
// it, announces it again (4200000001 65002); nhs-b announces it with a
// next hop not its own (filtered); council-c's session goes down and
// comes back. Each step's span brackets it by what the members' routers
// saw.
func startTimeline(t *testing.T) *timelineFed {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	cfg, err := conf.Parse([]byte(rstest.Config(rstest.Three(), fmt.Sprintf("history = %q", db))), filepath.Join(dir, "fedrs.toml"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := history.Open(db, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: rstest.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() }) // after the route server stops
	f := &timelineFed{fed: rstest.StartConfig(t, cfg, rstest.Three(), routeserver.Options{History: rec}), rec: rec}
	f.base = serveHTTP(t, f.fed, conf.HTTP{}, func(a *api.API) { f.api = a })
	ctx := rstest.Ctx(t)
	a, b, c := f.fed.Members["nhs-a"], f.fed.Members["nhs-b"], f.fed.Members["council-c"]
	p := pfx("10.1.0.0/16")
	// Every session up at the route server too.
	rstest.Eventually(t, 10*time.Second, func() bool {
		for _, n := range f.fed.Srv.Neighbors() {
			if !f.fed.Srv.RIB().Stats(n.Source).Up {
				return false
			}
		}
		return true
	}, "sessions up at the route server")
	f.start = time.Now()
	step := func(s *span, do func() error, what string, wait ...func() error) {
		t.Helper()
		s.before = time.Now()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, w := range wait {
			if err := w(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		s.after = time.Now()
	}
	has := func(r *member.Router, path string) func() error {
		return func() error {
			_, err := r.WaitFor(ctx, p.String()+" with AS_PATH "+path, func(rs []member.Route) bool {
				rt, ok := member.Find(rs, p)
				return ok && fmt.Sprint(rt.ASPath) == path
			})
			return err
		}
	}
	hasNot := func(r *member.Router) func() error {
		return func() error { _, err := r.WaitFor(ctx, "no "+p.String(), rstest.HasNot(p)); return err }
	}
	step(&f.announce, func() error {
		return a.Announce(ctx, member.Route{Prefix: p, ASPath: []uint32{65001}})
	}, "announce", has(b, "[4200000001 65001]"), has(c, "[4200000001 65001]"))
	step(&f.withdraw, func() error { return a.Withdraw(ctx, p) }, "withdraw", hasNot(b), hasNot(c))
	step(&f.reannounce, func() error {
		return a.Announce(ctx, member.Route{Prefix: p, ASPath: []uint32{65002}})
	}, "re-announce", has(b, "[4200000001 65002]"), has(c, "[4200000001 65002]"))
	routes := func(n int) func() error {
		return func() error {
			return rstest.Until(10*time.Second, func() bool { return f.fed.Srv.RIB().Totals().Routes == n })
		}
	}
	step(&f.filter, func() error {
		return b.Announce(ctx, member.Route{Prefix: p, NextHop: netip.MustParseAddr("127.0.0.99")})
	}, "filtered announcement", routes(2))
	srcUp := func(name string, up bool) func() error {
		return func() error {
			return rstest.Until(15*time.Second, func() bool {
				for _, n := range f.fed.Srv.Neighbors() {
					if strings.HasPrefix(n.Name, name) {
						return f.fed.Srv.RIB().Stats(n.Source).Up == up
					}
				}
				return false
			})
		}
	}
	// The history records a session's up and down just after the RIB
	// sees it: wait for the record too before the step's span ends.
	hr, err := history.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hr.Close() })
	recorded := func(sessions int, down bool) func() error {
		return func() error {
			return rstest.Until(10*time.Second, func() bool {
				if rec.Sync(ctx) != nil {
					return false
				}
				ss, err := hr.Sessions(ctx, "council-c", time.Time{}, time.Time{})
				var up []history.Session
				for _, s := range ss {
					if s.Up != nil {
						up = append(up, s)
					}
				}
				return err == nil && len(up) == sessions && (up[sessions-1].Down != nil) == down
			})
		}
	}
	step(&f.flapDown, func() error { return c.Shutdown(ctx, "timeline test") }, "council-c down", srcUp("council-c", false), hasNot(c), recorded(1, true))
	step(&f.flapUp, func() error { return c.Enable(ctx) }, "council-c up", srcUp("council-c", true), has(c, "[4200000001 65002]"), recorded(2, false))
	if err := rec.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// historyURL is base's /v1/history/prefix for the scenario's prefix since
// the scenario's start.
func (f *timelineFed) historyQuery() url.Values {
	return url.Values{"prefix": {"10.1.0.0/16"}, "from": {f.start.Add(-time.Second).UTC().Format(time.RFC3339Nano)},
		"to": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)}}
}

// exportCount is the number of export intervals per member in h.
func exportCount(h api.PrefixHistory) map[string]int {
	out := map[string]int{}
	for _, mi := range h.Exported {
		out[mi.Member] += len(mi.Intervals)
	}
	return out
}

var rectRE = regexp.MustCompile(`<rect class="([^"]*)"[^>]*data-member="([^"]*)" data-from="([^"]*)" data-to="([^"]*)"`)

// svgBars are the page's bars of class cls: "member from to" each.
func svgBars(body, cls string) []string {
	var out []string
	for _, m := range rectRE.FindAllStringSubmatch(body, -1) {
		if strings.Fields(m[1])[0] == cls {
			out = append(out, m[2]+" "+m[3]+" "+m[4])
		}
	}
	sort.Strings(out)
	return out
}

// jsonBars are h's export intervals as svgBars writes them.
func jsonBars(h api.PrefixHistory) []string {
	var out []string
	for _, mi := range h.Exported {
		for _, iv := range mi.Intervals {
			to := ""
			if iv.To != nil {
				to = iv.To.UTC().Format("2006-01-02T15:04:05.000000Z")
			}
			out = append(out, mi.Member+" "+iv.From.UTC().Format("2006-01-02T15:04:05.000000Z")+" "+to)
		}
	}
	sort.Strings(out)
	return out
}

// TestTimeline: the prefix history's JSON states what happened on the
// wire (each interval's ends inside the spans the members' routers saw),
// the point-in-time answers, the page's SVG has one bar per export
// interval, and bad input.
func TestTimeline(t *testing.T) {
	f := startTimeline(t)
	var h api.PrefixHistory
	getJSON(t, f.base+"v1/history/prefix?"+f.historyQuery().Encode(), &h)

	// The versions: nhs-a's two (accepted), nhs-b's filtered one.
	if len(h.Versions) != 3 {
		t.Fatalf("%d versions, want 3: %+v", len(h.Versions), h.Versions)
	}
	v1, v2, v3 := h.Versions[0], h.Versions[1], h.Versions[2]
	if v3.Member == "nhs-a" { // ordered by time: v3 is nhs-b's
		t.Fatalf("versions out of order: %+v", h.Versions)
	}
	check := func(what string, ok bool, got any) {
		t.Helper()
		if !ok {
			t.Errorf("%s: got %v", what, got)
		}
	}
	check("v1 nhs-a 65001 accepted", v1.Member == "nhs-a" && v1.ASPath == "4200000001 65001" && v1.OriginAS == 65001 &&
		v1.Verdict == "accepted" && v1.NextHop == "127.0.0.11" && v1.RPKI != "", v1)
	check("v1 from in the announce span "+f.announce.String(), f.announce.has(v1.From), v1.From)
	check("v1 to in the withdraw span "+f.withdraw.String(), v1.To != nil && f.withdraw.has(*v1.To), v1.To)
	check("v2 nhs-a 65002 still held", v2.Member == "nhs-a" && v2.ASPath == "4200000001 65002" && v2.OriginAS == 65002 && v2.To == nil, v2)
	check("v2 from in the re-announce span "+f.reannounce.String(), f.reannounce.has(v2.From), v2.From)
	check("v3 nhs-b filtered for next_hop", v3.Member == "nhs-b" && v3.Verdict == "filtered" && !v3.Accepted &&
		len(v3.Reasons) == 1 && v3.Reasons[0].Name == "next_hop" && v3.Reasons[0].Code == 8 && len(v3.Exported) == 0, v3)
	check("v3 from in the filter span "+f.filter.String(), f.filter.has(v3.From), v3.From)

	// The exports: nhs-b got v1 then v2; council-c v1, v2 until its
	// session went down, v2 again after; nhs-a nothing.
	if got := exportCount(h); fmt.Sprint(got) != fmt.Sprint(map[string]int{"council-c": 3, "nhs-b": 2}) {
		t.Fatalf("export intervals per member %v: %+v", got, h.Exported)
	}
	ivs := map[string][]api.ExportInterval{}
	for _, mi := range h.Exported {
		ivs[mi.Member] = mi.Intervals
	}
	for _, m := range []string{"nhs-b", "council-c"} {
		x := ivs[m]
		check(m+" got v1 in the announce span, until the withdraw span", x[0].Version == v1.ID && x[0].Announcer == "nhs-a" &&
			f.announce.has(x[0].From) && x[0].To != nil && f.withdraw.has(*x[0].To), x[0])
		check(m+" got v2 in the re-announce span", x[1].Version == v2.ID && f.reannounce.has(x[1].From), x[1])
	}
	x := ivs["council-c"]
	check("council-c's v2 ended when its session went down "+f.flapDown.String(), x[1].To != nil && f.flapDown.has(*x[1].To), x[1].To)
	check("council-c got v2 again after the flap "+f.flapUp.String(), x[2].Version == v2.ID && f.flapUp.has(x[2].From) && x[2].To == nil, x[2])
	check("nhs-b still has v2", ivs["nhs-b"][1].To == nil, ivs["nhs-b"][1].To)

	// The page: one bar per export interval, with its member and times;
	// one per version.
	resp, body := get(t, f.base+"prefixes/"+url.PathEscape("10.1.0.0/16")+"/history?"+url.Values{"from": f.historyQuery()["from"], "to": f.historyQuery()["to"]}.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}
	if got, want := svgBars(body, "export"), jsonBars(h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SVG export bars\n%v\nwant (JSON)\n%v", got, want)
	}
	if n := len(svgBars(body, "version")); n != 3 {
		t.Errorf("%d version bars, want 3", n)
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="tl-title tl-desc"`, `viewBox="0 0 640 `, "nhs-a · AS65001 · 4200000001 65001",
		"filtered (next_hop)", `class="version filtered rpki-`, `<table id="exports">`, "<title>exported to council-c: nhs-a&#39;s route from "} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// ?prefix= instead of the path; a preset.
	if resp, body := get(t, f.base+"prefixes/x/history?prefix=10.1.0.0/16&range=1h"); resp.StatusCode != 200 || len(svgBars(body, "export")) != 5 {
		t.Errorf("?prefix=&range=1h: %d, %d bars", resp.StatusCode, len(svgBars(body, "export")))
	}

	// At one instant: between the withdraw and the re-announce nothing
	// was held; after the flap, v2 and v3, v2 exported to nhs-b and
	// council-c.
	mid := f.withdraw.after.Add(f.reannounce.before.Sub(f.withdraw.after) / 2)
	var at api.HistoryAt
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.0.0/16"}, "t": {mid.UTC().Format(time.RFC3339Nano)}, "member": {"nhs-b"}}.Encode(), &at)
	if len(at.Routes) != 0 || at.Reach == nil || at.Reach.Reachable || !at.Reach.SessionUp || !strings.HasPrefix(at.Reach.Answer, "No") {
		t.Errorf("at %s (between withdraw and re-announce): %+v %+v", mid, at, at.Reach)
	}
	now := time.Now()
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.0.0/16"}, "t": {now.UTC().Format(time.RFC3339Nano)}, "member": {"council-c"}}.Encode(), &at)
	if len(at.Routes) != 2 || at.Reach == nil || !at.Reach.Reachable || at.Reach.Route == nil || at.Reach.Route.ID != v2.ID ||
		!strings.HasPrefix(at.Reach.Answer, "Yes") {
		t.Errorf("at now, council-c: %+v %+v", at, at.Reach)
	} else if fmt.Sprint(at.Routes[0].Exported) == "[]" || len(at.Routes[1].Reasons) != 1 {
		t.Errorf("at now: routes %+v", at.Routes)
	}
	// nhs-a cannot reach it: its own route is not sent back, nhs-b's is
	// filtered.
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.0.0/16"}, "t": {"now"}, "member": {"nhs-a"}}.Encode(), &at)
	if at.Reach == nil || at.Reach.Reachable || len(at.Reach.Details) != 2 || !strings.Contains(strings.Join(at.Reach.Details, "|"), "filtered (next_hop)") {
		t.Errorf("at now, nhs-a: %+v", at.Reach)
	}
	// An address inside the prefix: reached through the covering route.
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.2.3"}, "member": {"nhs-b"}}.Encode(), &at)
	if at.Prefix != "10.1.2.3/32" || len(at.Routes) != 0 || at.Reach == nil || !at.Reach.Reachable || at.Reach.Via != "10.1.0.0/16" ||
		at.Reach.Route == nil || at.Reach.Route.ID != v2.ID || !strings.Contains(at.Reach.Answer, "covering prefix 10.1.0.0/16") {
		t.Errorf("at now, 10.1.2.3 for nhs-b: %+v %+v", at, at.Reach)
	}
	// During council-c's flap: its session was down.
	down := f.flapDown.after.Add(f.flapUp.before.Sub(f.flapDown.after) / 2)
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.0.0/16"}, "t": {down.UTC().Format(time.RFC3339Nano)}, "member": {"council-c"}}.Encode(), &at)
	if at.Reach == nil || at.Reach.SessionUp || at.Reach.Reachable || !strings.Contains(at.Reach.Answer, "no established session") {
		t.Errorf("at %s, council-c down: %+v", down, at.Reach)
	}
	// The page's point-in-time form answers the same.
	resp, body = get(t, f.base+"prefixes/10.1.0.0%2F16/history?"+url.Values{"at": {now.UTC().Format("2006-01-02T15:04:05.999999")}, "member": {"council-c"}}.Encode())
	if resp.StatusCode != 200 || !strings.Contains(body, `id="reach"`) || !strings.Contains(body, "Yes: nhs-a&#39;s route for 10.1.0.0/16") {
		t.Errorf("page at now, council-c: %d\n%s", resp.StatusCode, body)
	}

	// "The RIB at T" alone: the routes, no reach answer.
	resp, body = get(t, f.base+"prefixes/10.1.0.0%2F16/history?"+url.Values{"at": {now.UTC().Format(time.RFC3339Nano)}, "member": {""}}.Encode())
	if resp.StatusCode != 200 || !strings.Contains(body, `id="at-routes"`) || strings.Contains(body, `id="reach"`) || !strings.Contains(body, "4200000001 65002") {
		t.Errorf("page at now: %d\n%s", resp.StatusCode, body)
	}

	// Bad input.
	for _, c := range []struct {
		path   string
		q      url.Values
		status int
		want   string
	}{
		{"v1/history/prefix", url.Values{"prefix": {"banana"}}, 400, "prefix"},
		{"v1/history/prefix", url.Values{}, 400, "prefix: required"},
		{"v1/history/prefix", url.Values{"prefix": {"10.1.0.1/16"}}, 400, "host bits"},
		{"v1/history/prefix", url.Values{"prefix": {"10.1.0.0/16"}, "from": {"yesterday-ish"}}, 400, "from:"},
		{"v1/history/prefix", url.Values{"prefix": {"10.1.0.0/16"}, "to": {"2026-13-01"}}, 400, "to:"},
		{"v1/history/prefix", url.Values{"prefix": {"10.1.0.0/16"}, "from": {"-1h"}, "to": {"-2h"}}, 400, "not before"},
		{"v1/history/prefix", url.Values{"prefix": {"10.1.0.0/16"}, "from": {"-400d"}}, 400, "366 days"},
		{"v1/history/prefix", url.Values{"prefix": {"10.99.0.0/16"}}, 404, "10.99.0.0/16"},
		{"v1/history/at", url.Values{"prefix": {"10.1.0.0/16"}, "t": {"soon"}}, 400, "t:"},
		{"v1/history/at", url.Values{"prefix": {"10.1.0.0/33"}}, 400, "prefix"},
		{"v1/history/at", url.Values{"prefix": {"10.99.0.0/16"}}, 404, "10.99.0.0/16"},
		{"v1/history/at", url.Values{"prefix": {"10.1.2.0/24"}, "t": {"-1h"}}, 404, "10.1.2.0/24"},
		{"v1/history/at", url.Values{"prefix": {"10.1.0.0/16"}, "member": {"nobody"}}, 404, `nobody`},
		{"prefixes/banana/history", nil, 400, "banana"},
		{"prefixes/10.99.0.0%2F16/history", nil, 404, "10.99.0.0/16"},
		{"prefixes/10.1.0.0%2F16/history", url.Values{"from": {"x"}}, 400, "from:"},
		{"prefixes/10.1.0.0%2F16/history", url.Values{"range": {"3y"}}, 400, "range"},
		{"prefixes/10.1.0.0%2F16/history", url.Values{"at": {"whenever"}}, 400, "at:"},
		{"prefixes/10.1.0.0%2F16/history", url.Values{"member": {"nobody"}}, 404, "nobody"},
	} {
		u := f.base + c.path
		if len(c.q) > 0 {
			u += "?" + c.q.Encode()
		}
		resp, body := get(t, u)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.400s", u, resp.StatusCode, c.status, c.want, body)
		}
	}
}

// TestTimelineMemberView: a member sees its own versions (with reasons
// and exposure) and the others' only as exported to it, the export bars
// of itself only, and may not ask about another member.
func TestTimelineMemberView(t *testing.T) {
	f := startTimeline(t)
	as := func(mi int, name string) string {
		srv := httptest.NewServer(api.AsMember(f.api.HTTPHandler(conf.HTTP{}), mi, name))
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	}
	q := f.historyQuery().Encode()
	var all api.PrefixHistory
	getJSON(t, f.base+"v1/history/prefix?"+q, &all)

	// nhs-b: its filtered route with the reason; nhs-a's as sent to it.
	bURL := as(1, "nhs-b")
	var h api.PrefixHistory
	getJSON(t, bURL+"v1/history/prefix?"+q, &h)
	if h.Viewer != "nhs-b" || len(h.Versions) != 3 || len(h.Exported) != 1 || h.Exported[0].Member != "nhs-b" || len(h.Exported[0].Intervals) != 2 {
		t.Fatalf("nhs-b's view: %+v", h)
	}
	for _, v := range h.Versions {
		switch v.Member {
		case "nhs-b":
			if v.AsSent || len(v.Reasons) != 1 || v.Reasons[0].Name != "next_hop" {
				t.Errorf("nhs-b's own version: %+v", v)
			}
		case "nhs-a":
			if !v.AsSent || v.Reasons != nil || v.Cause != "" || v.Communities != nil || len(v.Exported) != 1 || v.Exported[0].Member != "nhs-b" {
				t.Errorf("nhs-a's version as nhs-b sees it: %+v", v)
			}
		default:
			t.Errorf("nhs-b sees %+v", v)
		}
	}
	// council-c: nhs-b's filtered route is none of its business; nhs-a's
	// version spans only its own exposure (until its session went down,
	// then again).
	cURL := as(2, "council-c")
	getJSON(t, cURL+"v1/history/prefix?"+q, &h)
	if len(h.Versions) != 2 || len(h.Exported) != 1 || h.Exported[0].Member != "council-c" || len(h.Exported[0].Intervals) != 3 {
		t.Fatalf("council-c's view: %+v", h)
	}
	for _, v := range h.Versions {
		if v.Member != "nhs-a" || !v.AsSent {
			t.Errorf("council-c sees %+v", v)
		}
	}
	if v := h.Versions[0]; v.To == nil || !f.withdraw.has(*v.To) {
		t.Errorf("nhs-a's first version as council-c saw it: %+v", v)
	}
	// nhs-a: both its versions with their exposure to the others, but
	// the chart's export bars are its own: none.
	aURL := as(0, "nhs-a")
	getJSON(t, aURL+"v1/history/prefix?"+q, &h)
	if len(h.Versions) != 2 || len(h.Exported) != 0 || len(h.Versions[1].Exported) != 2 {
		t.Errorf("nhs-a's view: %+v", h)
	}
	// The page: nhs-b's bars are its own.
	resp, body := get(t, bURL+"prefixes/10.1.0.0%2F16/history?"+url.Values{"from": f.historyQuery()["from"], "to": f.historyQuery()["to"]}.Encode())
	bars := svgBars(body, "export")
	if resp.StatusCode != 200 || len(bars) != 2 || !strings.HasPrefix(bars[0], "nhs-b ") || !strings.HasPrefix(bars[1], "nhs-b ") {
		t.Errorf("nhs-b's page: %d, bars %v", resp.StatusCode, bars)
	}
	if strings.Contains(body, "council-c") {
		t.Errorf("nhs-b's page names council-c")
	}
	// At now: nhs-b may ask about itself, not about council-c.
	var at api.HistoryAt
	getJSON(t, bURL+"v1/history/at?prefix=10.1.0.0/16&member=nhs-b", &at)
	if at.Reach == nil || !at.Reach.Reachable || at.Reach.Route == nil || !at.Reach.Route.AsSent || len(at.Routes) != 2 {
		t.Errorf("nhs-b at now: %+v %+v", at, at.Reach)
	}
	getJSON(t, cURL+"v1/history/at?prefix=10.1.0.0/16", &at)
	if len(at.Routes) != 1 || at.Routes[0].Member != "nhs-a" {
		t.Errorf("council-c at now: %+v", at.Routes)
	}
	if resp, body := get(t, bURL+"v1/history/at?prefix=10.1.0.0/16&member=council-c"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "council-c") {
		t.Errorf("nhs-b asking about council-c: %d %s", resp.StatusCode, body)
	}
}

// TestTimelineNoHistory: without [server] history the endpoints and the
// page say so (404).
func TestTimelineNoHistory(t *testing.T) {
	base := startWeb(t)
	for _, path := range []string{"v1/history/prefix?prefix=10.1.0.0/16", "v1/history/at?prefix=10.1.0.0/16&member=nhs-b", "prefixes/10.1.0.0%2F16/history"} {
		resp, body := get(t, base+path)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no history is recorded") {
			t.Errorf("GET %s without history: %d\n%.300s", path, resp.StatusCode, body)
		}
	}
}
