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

// TestRenderSignedIn: a page rendered to a writer marked SignedIn says
// who, escaped, in its header, with a link to log out; unmarked, it does
// not.
func TestRenderSignedIn(t *testing.T) {
	data := struct{ Title, Version, Message string }{"Title </header>", "v1", "body </header>"}
	w := httptest.NewRecorder()
	Render(SignedIn(w, "nhs-<a>"), 200, "error", data)
	body := w.Body.String()
	want := `<p class="signed-in">Signed in as <strong>nhs-&lt;a&gt;</strong> <a href="/logout">Log out</a></p>`
	i, h := strings.Index(body, want), strings.Index(body, "<header>")
	if i < 0 || i < h || strings.Index(body, "</header>") < i || strings.Count(body, "Signed in as") != 1 {
		t.Errorf("signed-in note missing or outside the header:\n%s", body)
	}
	w = httptest.NewRecorder()
	Render(w, 200, "error", data)
	if strings.Contains(w.Body.String(), "Signed in") {
		t.Errorf("unmarked page says who is signed in:\n%s", w.Body.String())
	}
}
