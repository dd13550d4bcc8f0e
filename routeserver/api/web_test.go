package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/web"
)

// startWeb runs the usual three members, with nhs-a announcing one
// accepted and one filtered route (next hop not its own), and the [http]
// listener; it returns the listener's base URL once the route server
// holds both routes.
func startWeb(t *testing.T) string {
	t.Helper()
	specs := rstest.Three()
	specs[0].Extra = `description = "<script>alert(1)</script> & NHS A"`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	base := serveHTTP(t, fed, conf.HTTP{}, nil)
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool {
		return fed.Srv.RIB().Totals().Routes == 2
	}, "the route server to hold both of nhs-a's routes")
	if _, err := fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	return base
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, body := get(t, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestPages checks the pages over plain HTTP: status, headers, escaping,
// pagination parameters and the 404 page.
func TestPages(t *testing.T) {
	base := startWeb(t)
	resp, body := get(t, base)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != web.CSP ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("overview: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"<title>Overview · fedrs</title>", "<header>", "<nav", "<main id=\"main\"", `href="/members/nhs-a"`, "council-c",
		"&lt;script&gt;alert(1)&lt;/script&gt; &amp; NHS A"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("overview has an unescaped <script> from the configuration")
	}
	resp, body = get(t, base+"members/nhs-a?view=filtered")
	if resp.StatusCode != 200 || !strings.Contains(body, "10.2.0.0/16") || !strings.Contains(body, "next_hop") || strings.Contains(body, "10.1.0.0/16") {
		t.Errorf("filtered view: %d\n%s", resp.StatusCode, body)
	}
	resp, body = get(t, base+"members/nhs-b?view=exported")
	if resp.StatusCode != 200 || !strings.Contains(body, "10.1.0.0/16") || strings.Contains(body, "10.2.0.0/16") {
		t.Errorf("exported view: %d\n%s", resp.StatusCode, body)
	}
	resp, body = get(t, base+"members/no-such-member")
	if resp.StatusCode != 404 || !strings.Contains(body, "no-such-member") || resp.Header.Get("Content-Security-Policy") != web.CSP {
		t.Errorf("unknown member: %d\n%s", resp.StatusCode, body)
	}
	for _, q := range []string{"?page=0", "?page=x", "?view=weird"} {
		if resp, body := get(t, base+"members/nhs-a"+q); resp.StatusCode != 400 {
			t.Errorf("%s: %d\n%s", q, resp.StatusCode, body)
		}
	}
	resp, _ = get(t, base+"static/style.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, err := http.Post(base, "text/plain", nil); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /: %v %v", resp, err)
	}
}

// TestPagesInBrowser drives headless Chromium through the overview and a
// member's filtered routes, checks what it shows against the API's JSON,
// checks a 390 px wide viewport has no horizontal scroll, and writes
// screenshots.
func TestPagesInBrowser(t *testing.T) {
	b := newBrowser(t, 60*time.Second)
	base := startWeb(t)

	// What the route server holds, from the API.
	var ns []api.Neighbor
	getJSON(t, base+"v1/neighbors", &ns)
	var filtered api.RouteList
	getJSON(t, base+"v1/members/nhs-a/routes?view=filtered", &filtered)
	if filtered.Total != 1 || len(filtered.Routes[0].FilteredReasons) == 0 {
		t.Fatalf("filtered routes of nhs-a: %+v", filtered)
	}
	fr := filtered.Routes[0]

	b.open(base)
	if title := b.title(); title != "Overview · fedrs" {
		t.Errorf("overview title %q", title)
	}
	b.landmarks("overview")
	members := b.text("main")
	for _, n := range ns {
		for _, want := range []string{n.Member, n.State, fmt.Sprint(n.Received), fmt.Sprint(n.Filtered)} {
			if !strings.Contains(members, want) {
				t.Errorf("overview lacks %q (of %s)", want, n.Member)
			}
		}
	}
	b.shot("overview")

	b.do(chromedp.Click(chromedp.CSS(`a[href="/members/nhs-a"]`)), chromedp.WaitVisible(chromedp.CSS(`nav.tabs`)))
	b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href$="view=filtered"]`)), chromedp.WaitVisible(chromedp.CSS(`tr.filtered`)))
	if loc := b.location(); !strings.HasSuffix(loc, "/members/nhs-a?view=filtered") {
		t.Errorf("location %s", loc)
	}
	var st api.Status
	getJSON(t, base+"v1/status", &st)
	row := b.text("tr.filtered")
	for _, want := range append([]string{fr.Prefix, fr.FilteredReasons[0].Name, fr.FilteredReasons[0].Text,
		fmt.Sprintf("%d:1101:%d", st.ASN, fr.FilteredReasons[0].Code)}, fr.LargeCommunities...) {
		if !strings.Contains(row, want) {
			t.Errorf("filtered row %q lacks %q", row, want)
		}
	}
	b.shot("member-filtered")

	// A phone: 390 px wide, no horizontal scroll on either page.
	b.phone()
	for _, p := range []struct{ name, path string }{{"overview", ""}, {"member-filtered", "members/nhs-a?view=filtered"}} {
		b.open(base + p.path)
		b.noHorizontalScroll(p.name)
		b.shot(p.name + "-390px")
	}
}
