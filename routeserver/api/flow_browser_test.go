package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/api"
)

// TestOperatorFlowInBrowser follows the path an operator takes to answer
// "why don't I see that route?", by clicking only: overview → the member
// → its filtered routes → the filtered route's explanation → the
// prefix's history timeline. Each page's facts are checked against the
// JSON behind it, and every page against the keyboard check.
func TestOperatorFlowInBrowser(t *testing.T) {
	b := newBrowser(t, 120*time.Second)
	f := startTimeline(t) // nhs-b's 10.1.0.0/16 is filtered (next_hop)
	base := f.base

	b.open(base)
	b.landmarks("overview")
	checkKeyboard(t, b, "overview")
	b.do(chromedp.Click(chromedp.CSS(`main a[href="/members/nhs-b"]`)), chromedp.WaitVisible(chromedp.CSS(`nav.tabs`)))
	b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href$="view=filtered"]`)), chromedp.WaitVisible(chromedp.CSS(`tr.filtered`)))
	if row := b.text("tr.filtered"); !strings.Contains(row, "10.1.0.0/16") || !strings.Contains(row, "next_hop") {
		t.Fatalf("nhs-b's filtered row: %q", row)
	}
	checkKeyboard(t, b, "member filtered")

	// The filtered route's explanation, as /v1/explain gives it.
	b.do(chromedp.Click(chromedp.CSS(`tr.filtered a[href^="/members/nhs-b/routes/10.1.0.0/16"]`)), chromedp.WaitVisible(chromedp.CSS(`#verdict`)))
	var tr policy.Trace
	getJSON(t, base+"v1/explain?"+url.Values{"member": {"nhs-b"}, "prefix": {"10.1.0.0/16"}}.Encode(), &tr)
	if tr.Result.Accepted || len(tr.Result.Filtered) == 0 {
		t.Fatalf("/v1/explain: %+v", tr.Result)
	}
	verdict := b.text("#verdict")
	for _, fr := range tr.Result.Filtered {
		if !strings.Contains(verdict, fr.Name) || !strings.Contains(verdict, fr.Text) {
			t.Errorf("the page's verdict %q lacks %s (%s)", verdict, fr.Name, fr.Text)
		}
	}
	if !strings.Contains(verdict, "filtered") {
		t.Errorf("verdict %q", verdict)
	}
	b.landmarks("explanation")
	checkKeyboard(t, b, "explanation")
	b.shot("flow-explain")

	// The prefix's history: one version bar per announcement version, one
	// export bar per interval, as /v1/history/prefix has them.
	b.do(chromedp.Click(chromedp.CSS(`a.history`)), chromedp.WaitVisible(chromedp.CSS(`svg.timeline`)))
	if loc := b.location(); !strings.Contains(loc, "/prefixes/10.1.0.0%2F16/history") {
		t.Errorf("location %s", loc)
	}
	var h api.PrefixHistory
	getJSON(t, base+"v1/history/prefix?prefix=10.1.0.0/16", &h)
	var members []string
	for _, v := range h.Versions {
		members = append(members, v.Member)
	}
	got := eval[[]string](b, `[...document.querySelectorAll("svg.timeline rect.version")].map(r => r.dataset.member || "")`)
	if len(got) != len(h.Versions) || len(h.Versions) != 3 {
		t.Errorf("version bars %q, want one per version of %q (3)", got, members)
	}
	var want []string
	for _, mi := range h.Exported {
		for range mi.Intervals {
			want = append(want, mi.Member)
		}
	}
	gotx := eval[[]string](b, `[...document.querySelectorAll("svg.timeline rect.export")].map(r => r.dataset.member)`)
	slices.Sort(want)
	slices.Sort(gotx)
	if len(want) == 0 || !slices.Equal(gotx, want) {
		t.Errorf("export bars %v, want %v", gotx, want)
	}
	// The filtered version is drawn as filtered, with nhs-b's reason in
	// its tooltip.
	if n := eval[int](b, `[...document.querySelectorAll("svg.timeline rect.version.filtered")].filter(r => r.querySelector("title").textContent.includes("next_hop")).length`); n != 1 {
		t.Errorf("%d filtered version bars naming next_hop, want 1", n)
	}
	b.landmarks("timeline")
	checkKeyboard(t, b, "timeline")
	b.shot("flow-timeline")
}
