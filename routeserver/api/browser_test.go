package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fedrs/fedrs/lab/interop"
)

// browser is one headless Chromium tab for a test: the browser tests'
// one setup, screenshots and common checks. Without chromium the test
// skips (FEDRS_REQUIRE_INTEROP=1 makes that a failure).
type browser struct {
	t   *testing.T
	ctx context.Context
	// shots is the directory screenshots go to: $FEDRS_SCREENSHOTS, or
	// the test's temporary directory.
	shots string
}

// newBrowser starts headless Chromium for t, bounded by timeout, with a
// 1280×900 viewport.
func newBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	interop.Require(t, false, "chromium")
	chromium, _ := interop.LookPath("chromium")
	shots := os.Getenv("FEDRS_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	b := &browser{t: t, ctx: ctx, shots: shots}
	b.do(chromedp.EmulateViewport(1280, 900))
	return b
}

// do runs actions, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open navigates to url at the current viewport.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// phone switches to a 390 px wide viewport (a phone); desktop back.
func (b *browser) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
}
func (b *browser) desktop() { b.t.Helper(); b.do(chromedp.EmulateViewport(1280, 900)) }

// shot writes a full-page screenshot name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// title is the page's title.
func (b *browser) title() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// location is the page's URL.
func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// noHorizontalScroll fails the test if the page is wider than the
// viewport.
func (b *browser) noHorizontalScroll(page string) {
	b.t.Helper()
	if !eval[bool](b, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		b.t.Errorf("%s scrolls horizontally: %s", page,
			eval[string](b, `document.documentElement.scrollWidth + " > " + document.documentElement.clientWidth`))
	}
}

// landmarks fails the test unless the page has a title ending in
// "· fedrs", one banner header, a navigation and one main.
func (b *browser) landmarks(page string) {
	b.t.Helper()
	if t := b.title(); !strings.HasSuffix(t, " · fedrs") {
		b.t.Errorf("%s: title %q", page, t)
	}
	if n := eval[int](b, `document.querySelectorAll("body > header, body > main, nav").length`); n < 3 {
		b.t.Errorf("%s: %d of header, main, nav landmarks", page, n)
	}
}
