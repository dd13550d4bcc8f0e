package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/routeserver/api"
)

// TestMemberViewInBrowser: in headless Chromium, a member's page leads to
// the sign-in form; signing in with nhs-a's token shows "Signed in as
// nhs-a" and its own page, whose filtered route and reason match the API;
// nhs-b's page is a 403 page naming nhs-b; the overview lists nhs-a
// only; 390 px wide without horizontal scroll; logging out leads back to
// the form. Screenshots: member-view, member-view-403, member-view-390px.
func TestMemberViewInBrowser(t *testing.T) {
	b := newBrowser(t, 90*time.Second)
	e := startTokens(t)
	var filtered api.RouteList
	if code, msg := e.as(t, tokenA, "v1/members/nhs-a/routes?view=filtered", &filtered); code != 200 || len(filtered.Routes) != 1 {
		t.Fatalf("nhs-a's filtered routes: %d %s %+v", code, msg, filtered)
	}
	fr := filtered.Routes[0]

	b.open(e.base + "members/nhs-a?view=filtered")
	if loc := b.location(); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("a member page without a session went to %s, want the sign-in form", loc)
	}
	if title := b.title(); title != "Sign in · fedrs" {
		t.Errorf("sign-in title %q", title)
	}
	b.landmarks("sign-in")
	b.shot("member-view-login")

	b.do(chromedp.SendKeys(chromedp.CSS(`#token`), tokenA),
		chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.filtered`)))
	if loc := b.location(); !strings.HasSuffix(loc, "/members/nhs-a?view=filtered") {
		t.Errorf("after sign-in at %s, want nhs-a's filtered routes", loc)
	}
	if s := b.text("header .signed-in"); !strings.Contains(s, "Signed in as nhs-a") || !strings.Contains(s, "Log out") {
		t.Errorf("header says %q", s)
	}
	b.landmarks("member view")
	checkKeyboard(t, b, "member view") // the header's Log out link included
	row := b.text("tr.filtered")
	for _, want := range []string{fr.Prefix, fr.FilteredReasons[0].Name, fr.FilteredReasons[0].Text} {
		if !strings.Contains(row, want) {
			t.Errorf("filtered row %q lacks %q", row, want)
		}
	}
	b.shot("member-view")

	// The overview: nhs-a's own session only.
	b.open(e.base)
	main := b.text("main")
	if !strings.Contains(main, "nhs-a") || strings.Contains(main, "nhs-b") || strings.Contains(main, "council-c") {
		t.Errorf("overview signed in as nhs-a shows:\n%s", main)
	}

	// Another member's page: 403, naming it.
	b.open(e.base + "members/nhs-b")
	if title := b.title(); title != "Not yours to see · fedrs" {
		t.Errorf("nhs-b's page as nhs-a: title %q", title)
	}
	if s := b.text("main"); !strings.Contains(s, "nhs-b") || !strings.Contains(s, "signed in as member nhs-a") {
		t.Errorf("nhs-b's page as nhs-a says %q", s)
	}
	b.shot("member-view-403")

	// A phone.
	b.phone()
	for _, p := range []struct{ name, path string }{{"member-view", "members/nhs-a?view=filtered"}, {"member-view-login", "login"}} {
		b.open(e.base + p.path)
		b.noHorizontalScroll(p.name)
		b.shot(p.name + "-390px")
	}
	b.desktop()

	// Log out: back to the form, and the pages need signing in again.
	b.open(e.base + "members/nhs-a")
	b.do(chromedp.Click(chromedp.CSS(`header .signed-in a[href="/logout"]`)), chromedp.WaitVisible(chromedp.CSS(`form.login`)))
	if loc := b.location(); !strings.HasSuffix(loc, "/login") {
		t.Errorf("after logout at %s", loc)
	}
	b.open(e.base + "members/nhs-a")
	if loc := b.location(); !strings.Contains(loc, "/login?next=") {
		t.Errorf("after logout a member page went to %s", loc)
	}
}
