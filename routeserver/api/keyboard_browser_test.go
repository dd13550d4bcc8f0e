package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// keyboardPages are the pages the keyboard test walks, relative to the
// listener's base URL.
var keyboardPages = []string{
	"",
	"members/nhs-a",
	"members/nhs-a?view=filtered",
	"events",
	"login",
	"prefixes?q=10.1.0.0/16",
	"members/nhs-a/routes/10.2.0.0/16?path_id=0&to=nhs-b",
}

// TestPagesByKeyboard tabs through every page: every link, button and
// form control is reached by Tab alone, in document order, and shows a
// visible focus indicator; the first stop is the skip link to the main
// content.
func TestPagesByKeyboard(t *testing.T) {
	b := newBrowser(t, 90*time.Second)
	base := startWeb(t)
	for _, p := range keyboardPages {
		b.open(base + p)
		b.landmarks(p)
		checkKeyboard(t, b, "/"+p)
	}
}

// checkKeyboard tabs through the open page and checks that every
// focusable element is reached in document order with a visible focus
// indicator.
func checkKeyboard(t *testing.T, b *browser, page string) {
	t.Helper()
	// Number the focusable, visible elements in document order.
	n := eval[int](b, `(() => {
		const els = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])'))
			.filter(e => !e.disabled && e.getClientRects().length > 0);
		els.forEach((e, i) => e.dataset.kb = String(i));
		document.activeElement && document.activeElement.blur();
		return els.length;
	})()`)
	if n == 0 {
		t.Errorf("%s: nothing focusable", page)
		return
	}
	seen := map[string]bool{}
	var order []string
	// A date-time field takes a Tab per part (day, month, year, hour,
	// …): allow a few per control.
	for i := 0; i < 8*n+2 && len(seen) < n; i++ {
		b.do(chromedp.KeyEvent(kb.Tab))
		got := eval[string](b, `(() => {
			const e = document.activeElement;
			if (!e || e === document.body || e.dataset.kb === undefined) return "";
			const s = getComputedStyle(e);
			const visible = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
			return e.dataset.kb + (visible ? "" : "!") ;
		})()`)
		if got == "" {
			continue
		}
		idx := got
		if got[len(got)-1] == '!' {
			idx = got[:len(got)-1]
			t.Errorf("%s: element %s has no visible focus indicator", page, describe(b, idx))
		}
		if !seen[idx] {
			seen[idx] = true
			order = append(order, idx)
		}
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("%s: %s is not reachable by Tab", page, describe(b, fmt.Sprint(i)))
		}
	}
	for i, idx := range order {
		if idx != fmt.Sprint(i) {
			t.Errorf("%s: Tab order %v is not the document order", page, order)
			break
		}
	}
	if first := eval[string](b, `(document.querySelector('[data-kb="0"]')||{}).className || ""`); first != "skip" {
		t.Errorf("%s: the first Tab stop is %q, want the skip link", page, first)
	}
}

// describe names the element numbered idx by checkKeyboard.
func describe(b *browser, idx string) string {
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector('[data-kb="%s"]'); return e ? e.outerHTML.slice(0, 120) : "?"; })()`, idx))
}
