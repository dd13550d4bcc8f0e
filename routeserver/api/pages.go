package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/web"
)

// The browser pages of the [http] listener (not served on the unix
// socket). Each page's data comes from the same Go code as the JSON
// endpoint it mirrors.

// overviewPage is the data of GET /.
type overviewPage struct {
	Title, Version string
	Status         Status
	Neighbors      []Neighbor
	Reload         time.Time
	// Filtered counts the filter decisions of the last 24 hours by
	// reason (events.go); FilteredNote says why they are not shown.
	Filtered     *FilteredCounts
	FilteredNote string
}

// memberView is one of the member page's route views.
type memberView struct {
	Name, Label string
	Current     bool
}

// memberPage is the data of GET /members/{member}.
type memberPage struct {
	Title, Version string
	Member         string
	Description    string
	ASN            uint32
	// RSASN is the route server's AS, of the reasons' large
	// communities (RSASN:1101:code).
	RSASN           uint32
	View, ViewLabel string
	Views           []memberView
	Exported        bool
	List            RouteList
	Pager           web.Pager
	// Sessions are the member's sessions of the last 7 days, newest
	// first (events.go); SessionsNote says why they are not shown.
	Sessions     []SessionInterval
	SessionsNote string
}

// errorPage is the data of an error page.
type errorPage struct {
	Title, Version, Message string
}

var memberViews = []memberView{
	{Name: "received", Label: "Received"},
	{Name: "accepted", Label: "Accepted"},
	{Name: "filtered", Label: "Filtered"},
	{Name: "exported", Label: "Exported to this member"},
}

// registerPages adds the pages and their assets to mux. Each page needs
// a line in accessRules (access.go) too.
func (a *API) registerPages(mux *routes) {
	mux.HandleFunc("GET /{$}", a.overviewPage)
	mux.HandleFunc("GET /members/{member}", a.memberPage)
	mux.HandleFunc("GET /events", a.eventsPage)
	mux.HandleFunc("GET /prefixes/{prefix}/history", a.timelinePage)
	mux.HandleFunc("GET /prefixes", a.prefixesPage)
	mux.HandleFunc("GET /members/{member}/routes/{prefix...}", a.explainPage)
	mux.Handle("GET /static/", web.Static())
}

func (a *API) overviewPage(w http.ResponseWriter, r *http.Request) {
	p := overviewPage{
		Title: "Overview", Version: a.opts.Version,
		Status: a.statusFor(viewerOf(r)), Neighbors: a.neighborsFor(viewerOf(r)), Reload: a.srv.LastReload(),
	}
	p.Filtered, p.FilteredNote = a.overviewFiltered(r)
	web.Render(w, http.StatusOK, "overview", p)
}

func (a *API) errorPage(w http.ResponseWriter, status int, title string, err error) {
	web.Render(w, status, "error", errorPage{Title: title, Version: a.opts.Version, Message: err.Error()})
}

func (a *API) memberPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("member")
	mi, err := a.srv.MemberIndex(name)
	if err != nil {
		if errors.Is(err, routeserver.ErrUnknownMember) || errors.Is(err, routeserver.ErrNotFound) {
			a.errorPage(w, http.StatusNotFound, "Unknown member", fmt.Errorf("there is no member named %q", name))
			return
		}
		a.errorPage(w, errStatus(err), "Bad request", err)
		return
	}
	v := viewerOf(r)
	if !v.is(mi) {
		a.errorPage(w, http.StatusForbidden, "Not yours to see", notYours(v, name))
		return
	}
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = "received"
	}
	p := memberPage{Title: name, Version: a.opts.Version, Member: name, View: view}
	for _, v := range memberViews {
		v.Current = v.Name == view
		if v.Current {
			p.ViewLabel = v.Label
		}
		p.Views = append(p.Views, v)
	}
	if p.ViewLabel == "" {
		a.errorPage(w, http.StatusBadRequest, "Bad request", fmt.Errorf("view %q: want received, accepted, filtered or exported", view))
		return
	}
	p.Exported = view == "exported"
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<20 {
			a.errorPage(w, http.StatusBadRequest, "Bad request", fmt.Errorf("page %q: want a number ≥ 1", v))
			return
		}
		page = n
	}
	cfg := a.srv.Config()
	if mi >= 0 && mi < len(cfg.Members) {
		m := cfg.Members[mi]
		p.Description, p.ASN = m.Description, m.ASN
	}
	p.RSASN = cfg.Server.ASN
	list, status, err := a.memberRoutes(mi, view, rib.Filter{Member: mi}, (page-1)*web.PageSize, web.PageSize)
	if err != nil {
		a.errorPage(w, status, "Error", err)
		return
	}
	list.Routes = v.narrowRoutes(list.Routes)
	p.List = list
	p.Pager = web.NewPager(page, list.Total)
	p.Title = fmt.Sprintf("%s: %s", name, p.ViewLabel)
	p.Sessions, p.SessionsNote = a.memberSessions(r, name)
	web.Render(w, http.StatusOK, "member", p)
}
