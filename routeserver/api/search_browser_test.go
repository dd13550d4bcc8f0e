package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/api"
)

// TestPrefixSearchInBrowser types an address into the search form,
// checks the candidates and what each member receives against GET
// /v1/prefixes, filters the tables as you type, follows council-c's "why
// not" link to the explanation and checks its verdicts against GET
// /v1/explain; then a 390 px viewport without horizontal scroll, and
// screenshots.
func TestPrefixSearchInBrowser(t *testing.T) {
	b := newBrowser(t, 90*time.Second)
	s := startSearch(t)
	var ps api.PrefixSearch
	getJSON(t, s.base+"v1/prefixes?q=10.1.2.3&match=longest", &ps)
	if len(ps.Candidates) != 2 || len(ps.Targets) != 3 {
		t.Fatalf("search: %+v", ps)
	}

	b.open(s.base)
	b.do(chromedp.Click(chromedp.CSS(`header nav a[href="/prefixes"]`)), chromedp.WaitVisible(chromedp.CSS(`#q`)))
	b.landmarks("prefix search form")
	b.do(chromedp.SendKeys(chromedp.CSS(`#q`), "10.1.2.3"),
		chromedp.SetValue(chromedp.CSS(`#match`), "longest"),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#candidate-table`)))
	if loc := b.location(); !strings.Contains(loc, "/prefixes?q=10.1.2.3&match=longest") {
		t.Errorf("location %s", loc)
	}
	b.landmarks("prefix search")
	if got := b.text("#matched"); !strings.Contains(got, "10.1.0.0/16") || !strings.Contains(got, "longest") {
		t.Errorf("matched: %q", got)
	}
	rows := eval[[]string](b, `Array.from(document.querySelectorAll("#candidate-table tbody tr")).map(r => r.innerText)`)
	if len(rows) != len(ps.Candidates) {
		t.Fatalf("%d candidate rows, the API has %d: %q", len(rows), len(ps.Candidates), rows)
	}
	for i, c := range ps.Candidates {
		for _, want := range append([]string{c.Member, c.NextHop, c.ASPathText, c.Origin, c.RPKI}, c.LargeCommunities...) {
			if !strings.Contains(rows[i], want) {
				t.Errorf("candidate row %d %q lacks %q", i, rows[i], want)
			}
		}
		if c.Best && !strings.Contains(rows[i], "best") {
			t.Errorf("candidate row %d %q: not marked best", i, rows[i])
		}
	}
	trows := eval[[]string](b, `Array.from(document.querySelectorAll("#target-table tbody tr")).map(r => r.innerText)`)
	if len(trows) != len(ps.Targets) {
		t.Fatalf("%d target rows, the API has %d: %q", len(trows), len(ps.Targets), trows)
	}
	for i, tg := range ps.Targets {
		want := []string{tg.Member}
		if tg.Status == api.TargetReceives {
			want = append(want, tg.From+"'s route")
			if tg.Sent != nil {
				want = append(want, tg.Sent.ASPathText)
			}
		} else {
			want = append(want, "none", tg.Reason)
		}
		for _, w := range want {
			if !strings.Contains(trows[i], w) {
				t.Errorf("target row %d %q lacks %q", i, trows[i], w)
			}
		}
	}
	// Filter as you type: only nhs-b's candidate row stays.
	b.do(chromedp.SendKeys(chromedp.CSS(`#filter`), "65003"))
	if vis := eval[int](b, `Array.from(document.querySelectorAll("#candidate-table tbody tr")).filter(r => !r.hidden).length`); vis != 1 {
		t.Errorf("filtering on 65003 leaves %d candidate rows, want 1", vis)
	}
	if vis := eval[int](b, `(() => { const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input"));
		return Array.from(document.querySelectorAll("#candidate-table tbody tr")).filter(r => !r.hidden).length })()`); vis != len(ps.Candidates) {
		t.Errorf("an empty filter shows %d candidate rows, want %d", vis, len(ps.Candidates))
	}
	b.shot("prefix-search")

	// council-c does not receive nhs-a's route: follow "why not".
	var tr policy.Trace
	getJSON(t, s.base+"v1/explain?"+url.Values{"member": {"nhs-a"}, "prefix": {"10.1.0.0/16"}, "path_id": {"0"}, "to": {"council-c"}}.Encode(), &tr)
	if tr.Export == nil {
		t.Fatal("explain has no export part")
	}
	b.do(chromedp.Click(chromedp.CSS(`#target-table a[href="/members/nhs-a/routes/10.1.0.0/16?path_id=0&to=council-c"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#export-verdict`)))
	b.landmarks("explanation")
	verdict, export := b.text("#verdict"), b.text("#export-verdict")
	wantVerdict := "Verdict: filtered"
	if tr.Result.Accepted {
		wantVerdict = "Verdict: accepted"
	}
	wantExport := fmt.Sprintf("council-c (AS%d): not allowed by the export policy", tr.Export.TargetASN)
	if tr.Export.Allowed {
		wantExport = fmt.Sprintf("council-c (AS%d): allowed by the export policy", tr.Export.TargetASN)
	}
	if !strings.HasPrefix(verdict, wantVerdict) || !strings.Contains(verdict, "RPKI "+tr.Result.ROV) {
		t.Errorf("verdict %q, want %q (RPKI %s)", verdict, wantVerdict, tr.Result.ROV)
	}
	if !strings.HasPrefix(export, wantExport) {
		t.Errorf("export verdict %q, want %q", export, wantExport)
	}
	steps := eval[[]string](b, `Array.from(document.querySelectorAll("#main table tbody tr.step .outcome")).map(e => e.innerText)`)
	var want []string
	for _, st := range tr.Import {
		want = append(want, string(st.Outcome))
	}
	for _, st := range tr.Export.Steps {
		want = append(want, string(st.Outcome))
	}
	if strings.Join(steps, " ") != strings.Join(want, " ") {
		t.Errorf("step outcomes on the page %v, /v1/explain %v", steps, want)
	}
	if d := b.text("#delivery"); !strings.Contains(d, tr.Export.Delivery) {
		t.Errorf("delivery %q, want %q", d, tr.Export.Delivery)
	}
	b.shot("explain")

	// The explanation toward nhs-b, through the page's own form.
	b.do(chromedp.SetValue(chromedp.CSS(`#to`), "nhs-b"), chromedp.Click(chromedp.CSS(`#explain-to button`)))
	rstest.Eventually(t, 10*time.Second, func() bool { return strings.HasSuffix(b.location(), "?path_id=0&to=nhs-b") },
		"the form to open the explanation toward nhs-b")
	b.do(chromedp.WaitVisible(chromedp.CSS(`#delivery`)))
	if d := b.text("#delivery"); !strings.Contains(d, "sent") || !strings.Contains(d, "nhs-b holds this route") {
		t.Errorf("delivery to nhs-b %q", d)
	}

	// A phone: 390 px wide, no horizontal scroll.
	b.phone()
	for _, p := range []struct{ name, path string }{
		{"prefix-search", "prefixes?q=10.1.2.3&match=longest"},
		{"explain", "members/nhs-a/routes/10.1.0.0/16?path_id=0&to=council-c"},
	} {
		b.open(s.base + p.path)
		b.noHorizontalScroll(p.name)
		b.shot(p.name + "-390px")
	}
}
