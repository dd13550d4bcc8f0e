package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewPager(t *testing.T) {
	for _, c := range []struct {
		page, total int
		want        Pager
	}{
		{1, 0, Pager{Page: 1, Pages: 1}},
		{1, PageSize, Pager{Page: 1, Pages: 1, Total: PageSize}},
		{1, PageSize + 1, Pager{Page: 1, Pages: 2, Total: PageSize + 1, Next: 2}},
		{2, PageSize + 1, Pager{Page: 2, Pages: 2, Total: PageSize + 1, Prev: 1}},
		{2, 3 * PageSize, Pager{Page: 2, Pages: 3, Total: 3 * PageSize, Prev: 1, Next: 3}},
		{9, 3 * PageSize, Pager{Page: 9, Pages: 3, Total: 3 * PageSize, Prev: 8}},
	} {
		if got := NewPager(c.page, c.total); got != c.want {
			t.Errorf("NewPager(%d, %d) = %+v, want %+v", c.page, c.total, got, c.want)
		}
	}
}

// TestRenderEscapes: text from the configuration or BGP is escaped, and
// every page carries the CSP.
func TestRenderEscapes(t *testing.T) {
	w := httptest.NewRecorder()
	Render(w, 404, "error", struct{ Title, Version, Message string }{"Unknown <member>", "v1", `no member "<img src=x onerror=alert(1)>"`})
	body := w.Body.String()
	if w.Code != 404 || w.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	if strings.Contains(body, "<img") || strings.Contains(body, "<member>") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("not escaped:\n%s", body)
	}
	for _, want := range []string{"<title>Unknown &lt;member&gt; · fedrs</title>", "<header>", "<nav", "<main id=\"main\""} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %q:\n%s", want, body)
		}
	}
}
