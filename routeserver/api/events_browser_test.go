package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// rowIDs are the ids of the event rows the open page shows, in order.
func rowIDs(b *browser) []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll('table.events tbody tr[id^="ev-"]')).map(r => r.id.slice(3))`)
}

func eventIDs(p history.EventPage) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

// TestEventsInBrowser drives headless Chromium through the events page:
// filters by member and kind through the form, follows the pagination
// links both ways, and checks every list against GET /v1/history/events;
// then the member page's sessions and the overview's counts, a 390 px
// viewport without horizontal scroll, and screenshots.
func TestEventsInBrowser(t *testing.T) {
	b := newBrowser(t, 90*time.Second)
	e := startEvents(t)

	b.open(e.base + "events")
	b.landmarks("events")
	if title := b.title(); title != "Events · fedrs" {
		t.Errorf("title %q", title)
	}
	var all history.EventPage
	getJSON(t, e.base+"v1/history/events", &all)
	if got := rowIDs(b); !slices.Equal(got, eventIDs(all)) {
		t.Errorf("events page rows %v, the API %v", got, eventIDs(all))
	}
	if txt := b.text("table.events tr.ev-filtered"); !strings.Contains(txt, ":1101:") {
		t.Errorf("a filter decision row without its reason's community: %q", txt)
	}
	b.shot("events")

	// The form: nhs-b's session events.
	b.do(chromedp.SetValue(chromedp.CSS(`#ev-member`), "nhs-b"),
		chromedp.Click(chromedp.CSS(`input[name="kind"][value="session"]`)),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	rstest.Eventually(t, 10*time.Second, func() bool {
		l := b.location()
		return strings.Contains(l, "member=nhs-b") && strings.Contains(l, "kind=session")
	}, "the form to load nhs-b's session events")
	b.do(chromedp.WaitVisible(chromedp.CSS(`table.events`)))
	var sess history.EventPage
	getJSON(t, e.base+"v1/history/events?member=nhs-b&kind=session", &sess)
	if got := rowIDs(b); len(got) != 3 || !slices.Equal(got, eventIDs(sess)) {
		t.Errorf("nhs-b's session events: page %v, API %v", got, eventIDs(sess))
	}
	if txt := b.text("table.events tr.ev-down"); !strings.Contains(txt, `Cease/Administrative Shutdown: "maintenance window"`) || !strings.Contains(txt, "nhs-b") {
		t.Errorf("nhs-b's down: %q", txt)
	}
	if !eval[bool](b, `document.querySelector('input[name="kind"][value="session"]').checked && document.querySelector('#ev-member').value === "nhs-b"`) {
		t.Error("the form does not show the filters it applied")
	}
	b.shot("events-filtered")

	// Pagination: two a page, next and back.
	var p1, p2 history.EventPage
	getJSON(t, e.base+"v1/history/events?limit=2", &p1)
	getJSON(t, e.base+"v1/history/events?limit=2&after="+url.QueryEscape(p1.Next), &p2)
	b.open(e.base + "events?limit=2")
	if got := rowIDs(b); !slices.Equal(got, eventIDs(p1)) {
		t.Errorf("page 1: %v, API %v", got, eventIDs(p1))
	}
	b.do(chromedp.Click(chromedp.CSS(`nav.pager a[rel="next"]`)))
	rstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(b.location(), "after=") }, "the next page to load")
	b.do(chromedp.WaitVisible(chromedp.CSS(`nav.pager a[rel="prev"]`)))
	if got := rowIDs(b); !slices.Equal(got, eventIDs(p2)) {
		t.Errorf("page 2: %v, API %v", got, eventIDs(p2))
	}
	b.do(chromedp.Click(chromedp.CSS(`nav.pager a[rel="prev"]`)))
	rstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(b.location(), "before=") }, "the previous page to load")
	b.do(chromedp.WaitVisible(chromedp.CSS(`table.events`)))
	if got := rowIDs(b); !slices.Equal(got, eventIDs(p1)) {
		t.Errorf("back to page 1: %v, API %v", got, eventIDs(p1))
	}

	// The member page's sessions and the overview's counts.
	b.open(e.base + "members/nhs-b")
	if txt := b.text("table.sessions"); !strings.Contains(txt, "maintenance window") || !strings.Contains(txt, "still up") {
		t.Errorf("nhs-b's sessions: %q", txt)
	}
	b.open(e.base)
	var fc struct {
		Reasons []history.ReasonCount `json:"reasons"`
	}
	getJSON(t, e.base+"v1/history/filtered", &fc)
	txt := b.text("table.reasons")
	for _, r := range fc.Reasons {
		if !strings.Contains(txt, r.Reason) || !strings.Contains(txt, r.Community) {
			t.Errorf("overview's counts %q lack %s %s", txt, r.Reason, r.Community)
		}
	}

	// A phone.
	b.phone()
	for _, p := range []struct{ name, path string }{{"events", "events"}, {"member-sessions", "members/nhs-b"}} {
		b.open(e.base + p.path)
		b.noHorizontalScroll(p.name)
		b.shot(p.name + "-390px")
	}
}
