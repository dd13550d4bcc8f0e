// Package web renders the browser pages that the [http] listener serves:
// server-side html/template pages over data the control API computes,
// with their templates and stylesheet embedded. It knows nothing of the
// route server: routeserver/api builds each page's data from the same Go
// code as its JSON endpoints and hands it to Render.
//
// Everything from BGP (names, descriptions, communities, NOTIFICATION
// texts) goes through html/template's contextual auto-escaping; nothing
// here builds template.HTML.
package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy of every page: the page's own
// stylesheet and nothing else (no inline script or style, no CDN).
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// PageSize is the number of routes per page of a member's routes.
const PageSize = 100

var funcs = template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Truncate(time.Second).String() + " ago"
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join":       strings.Join,
	"pathEscape": url.PathEscape,
	"inc":        func(i int) int { return i + 1 },
}

// pages are the page templates, each parsed with the layout.
var pages = map[string]*template.Template{}

func init() {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
}

// Render writes page name with data (which must have a Title field or
// method) and the page's security headers.
func Render(w http.ResponseWriter, status int, name string, data any) {
	t, ok := pages[name]
	if !ok {
		http.Error(w, fmt.Sprintf("no page %q", name), http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	out := b.String()
	if who, ok := signedInAs(w); ok {
		// The page header's "Signed in as": before the layout's
		// </header>, the first in the page (everything before it is
		// the layout's own text or escaped).
		var s strings.Builder
		if err := signedInTmpl.Execute(&s, who); err == nil {
			if i := strings.Index(out, "</header>"); i >= 0 {
				out = out[:i] + s.String() + out[i:]
			}
		}
	}
	SecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, out)
}

// signedInTmpl is the page header's note of who is signed in.
var signedInTmpl = template.Must(template.New("signed-in").Parse(
	`<p class="signed-in">Signed in as <strong>{{.}}</strong> <a href="/logout">Log out</a></p>` + "\n"))

// signedIn is a ResponseWriter whose pages show who is signed in.
type signedIn struct {
	http.ResponseWriter
	who string
}

// Unwrap is for http.ResponseController.
func (s *signedIn) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// SignedIn returns w marked so that the pages Render writes to it say,
// in their header, that who is signed in, with a link to log out.
func SignedIn(w http.ResponseWriter, who string) http.ResponseWriter {
	return &signedIn{ResponseWriter: w, who: who}
}

// signedInAs is who SignedIn marked w (or a writer it wraps) for.
func signedInAs(w http.ResponseWriter) (string, bool) {
	for w != nil {
		switch x := w.(type) {
		case *signedIn:
			return x.who, true
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return "", false
		}
	}
	return "", false
}

// SecurityHeaders sets the CSP and related headers of every page and asset.
func SecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Static serves the embedded assets under /static/.
func Static() http.Handler {
	fsrv := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SecurityHeaders(w)
		fsrv.ServeHTTP(w, r)
	})
}

// Pager is the page navigation of a paginated list (pages count from 1).
type Pager struct {
	Page, Pages, Total int
	// Prev and Next are the neighbouring pages, 0 when there is none.
	Prev, Next int
}

// NewPager is the pager for page (from 1) of total items.
func NewPager(page, total int) Pager {
	pages := (total + PageSize - 1) / PageSize
	if pages < 1 {
		pages = 1
	}
	p := Pager{Page: page, Pages: pages, Total: total}
	if page > 1 {
		p.Prev = page - 1
	}
	if page < pages {
		p.Next = page + 1
	}
	return p
}
