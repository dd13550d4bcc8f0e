package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// TestTimelineInBrowser opens the prefix history page of the timeline
// scenario in headless Chromium: the SVG's export bars (count, member)
// and labels against the JSON, the point-in-time form's answer against
// /v1/history/at, landmarks, a 390 px viewport without horizontal scroll,
// and screenshots.
func TestTimelineInBrowser(t *testing.T) {
	b := newBrowser(t, 90*time.Second)
	f := startTimeline(t)
	q := f.historyQuery()
	var h api.PrefixHistory
	getJSON(t, f.base+"v1/history/prefix?"+q.Encode(), &h)
	page := f.base + "prefixes/" + url.PathEscape("10.1.0.0/16") + "/history?" + url.Values{"from": q["from"], "to": q["to"]}.Encode()

	b.open(page)
	b.landmarks("timeline")
	if title := b.title(); title != "History of 10.1.0.0/16 · fedrs" {
		t.Errorf("title %q", title)
	}
	// One bar per export interval, each with its member.
	var want []string
	for _, mi := range h.Exported {
		for range mi.Intervals {
			want = append(want, mi.Member)
		}
	}
	got := eval[[]string](b, `[...document.querySelectorAll("svg.timeline rect.export")].map(r => r.dataset.member)`)
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 5 || !slices.Equal(got, want) {
		t.Errorf("export bars %v, want %v", got, want)
	}
	if n := eval[int](b, `document.querySelectorAll("svg.timeline rect.version").length`); n != len(h.Versions) {
		t.Errorf("%d version bars, want %d", n, len(h.Versions))
	}
	// Every bar has a tooltip and is drawn (not zero-sized).
	if n := eval[int](b, `[...document.querySelectorAll("svg.timeline rect")].filter(r => r.getBBox().width > 0 && r.querySelector("title")).length`); n != len(want)+len(h.Versions) {
		t.Errorf("%d bars drawn with a tooltip, want %d", n, len(want)+len(h.Versions))
	}
	// The labels, visible: one per version (member, origin, AS_PATH),
	// one per target member.
	labels := eval[[]string](b, `[...document.querySelectorAll("svg.timeline .row-label")].filter(e => e.getBBox().width > 0).map(e => e.textContent)`)
	for _, v := range h.Versions {
		prefix := fmt.Sprintf("%s · AS%d · %s · %s", v.Member, v.OriginAS, v.ASPath, v.Verdict)
		if !slices.ContainsFunc(labels, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
			t.Errorf("no label %q among %q", prefix, labels)
		}
	}
	for _, mi := range h.Exported {
		if !slices.Contains(labels, mi.Member) {
			t.Errorf("no row label %q among %q", mi.Member, labels)
		}
	}
	if s := b.text("#exports"); !strings.Contains(s, "council-c") || !strings.Contains(s, "still exported") {
		t.Errorf("the exports table: %q", s)
	}
	// Every control is reachable by keyboard.
	if n := eval[int](b, `[...document.querySelectorAll("main a, main input:not([type=hidden]), main select, main button")].filter(e => e.tabIndex < 0 || e.disabled).length`); n != 0 {
		t.Errorf("%d controls not reachable by keyboard", n)
	}
	b.shot("timeline")

	// The point-in-time form: could council-c reach the prefix now? The
	// form takes whole seconds: ask for the first whole second after
	// council-c's current export interval began, once it has passed.
	var since time.Time
	for _, mi := range h.Exported {
		for _, iv := range mi.Intervals {
			if mi.Member == "council-c" && iv.To == nil {
				since = iv.From
			}
		}
	}
	if since.IsZero() {
		t.Fatalf("council-c has no current export interval: %+v", h.Exported)
	}
	atT := since.UTC().Truncate(time.Second).Add(time.Second)
	rstest.Eventually(t, 3*time.Second, func() bool { return time.Now().After(atT) }, "the second after council-c's export began to pass")
	at := atT.Format("2006-01-02T15:04:05")
	b.do(chromedp.SetValue(chromedp.CSS(`input[name="at"]`), at),
		chromedp.SetValue(chromedp.CSS(`select[name="member"]`), "council-c"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Point in time"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#reach`)))
	var ans api.HistoryAt
	getJSON(t, f.base+"v1/history/at?"+url.Values{"prefix": {"10.1.0.0/16"}, "t": {at}, "member": {"council-c"}}.Encode(), &ans)
	if ans.Reach == nil || !ans.Reach.Reachable {
		t.Fatalf("at %s: %+v", at, ans.Reach)
	}
	if s := b.text("#reach"); s != ans.Reach.Answer {
		t.Errorf("the page answers %q; /v1/history/at %q", s, ans.Reach.Answer)
	}
	if s := b.text("#at-routes"); !strings.Contains(s, "next_hop") || !strings.Contains(s, "4200000001 65002") {
		t.Errorf("routes at %s: %q", at, s)
	}
	if loc := b.location(); !strings.Contains(loc, "member=council-c") {
		t.Errorf("location %s", loc)
	}
	b.shot("timeline-at")

	// A phone: the chart scales to the width, no horizontal scroll.
	b.phone()
	b.open(page)
	b.noHorizontalScroll("timeline")
	if !eval[bool](b, `document.querySelector("svg.timeline").getBoundingClientRect().width <= document.documentElement.clientWidth`) {
		t.Error("the chart is wider than the phone's viewport")
	}
	b.shot("timeline-390px")
}
