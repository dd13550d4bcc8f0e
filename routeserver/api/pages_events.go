package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/web"
)

// eventsPage is the data of GET /events: the form (its fields as given),
// one page of the event list (history.EventPage, as GET
// /v1/history/events returns it) and the links to the pages around it.
type eventsPage struct {
	Title, Version string
	// Note replaces the list when no history is recorded.
	Note string
	// The form: the member (a member viewer's is fixed), prefix, kinds,
	// reason and period as given.
	Members                              []option
	MemberFixed                          string
	Prefix, Reason, Since, Until         string
	Kinds                                []option
	Reasons                              []option
	Events                               []history.Event
	NewestURL, PrevURL, NextURL, JSONURL string
}

// option is one choice of a form control.
type option struct {
	Value, Label string
	Selected     bool
}

var kindLabels = map[string]string{
	history.EventFiltered: "Filtered routes",
	history.EventSession:  "Sessions",
	history.EventReload:   "Reloads",
	history.EventRPKI:     "RPKI changes",
	history.EventGap:      "History gaps",
	history.EventControl:  "Control requests",
}

func (a *API) eventsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := viewerOf(r)
	p := eventsPage{Title: "Events", Version: a.opts.Version,
		Prefix: q.Get("prefix"), Reason: q.Get("reason"), Since: q.Get("since"), Until: q.Get("until")}
	kinds := map[string]bool{}
	for _, k := range q["kind"] {
		for _, k := range strings.Split(k, ",") {
			kinds[strings.TrimSpace(k)] = true
		}
	}
	for _, k := range history.EventKinds {
		if k == history.EventControl && !v.all() {
			continue // the operators' requests: not in a member's view
		}
		p.Kinds = append(p.Kinds, option{Value: k, Label: kindLabels[k], Selected: kinds[k]})
	}
	for _, x := range policy.AllReasons() {
		info := x.Info()
		p.Reasons = append(p.Reasons, option{Value: info.Name, Label: info.Name + " (1101:" + strconv.FormatUint(uint64(info.Code), 10) + ")", Selected: info.Name == p.Reason})
	}
	if v.all() {
		p.Members = append(p.Members, option{Value: "", Label: "All members", Selected: q.Get("member") == ""})
		for _, m := range a.srv.Config().Members {
			p.Members = append(p.Members, option{Value: m.Name, Label: m.Name, Selected: m.Name == q.Get("member")})
		}
	} else {
		p.MemberFixed = v.name
	}
	eq, err := a.eventQuery(r)
	if err != nil {
		a.errorPage(w, eventsStatus(err), http.StatusText(eventsStatus(err)), err)
		return
	}
	page, err := a.events(r, eq)
	switch {
	case errors.Is(err, ErrNoHistory):
		p.Note = "No history is recorded by this route server, so there are no events to show: set [server] history in the configuration (" + err.Error() + ")."
		web.Render(w, http.StatusOK, "events", p)
		return
	case err != nil:
		a.errorPage(w, eventsStatus(err), "Error", err)
		return
	}
	p.Events = page.Events
	link := func(set map[string]string) string {
		u := url.Values{}
		for k, vs := range q {
			if k != "after" && k != "before" && !slices.Contains(vs, "") {
				u[k] = vs
			}
		}
		for k, val := range set {
			u.Set(k, val)
		}
		if len(u) == 0 {
			return "/events"
		}
		return "/events?" + u.Encode()
	}
	if page.Next != "" {
		p.NextURL = link(map[string]string{"after": page.Next})
	}
	if page.Prev != "" {
		p.PrevURL = link(map[string]string{"before": page.Prev})
	}
	if q.Get("after") != "" || q.Get("before") != "" {
		p.NewestURL = link(nil)
	}
	p.JSONURL = "/v1/history/events"
	if r.URL.RawQuery != "" {
		p.JSONURL += "?" + r.URL.RawQuery
	}
	web.Render(w, http.StatusOK, "events", p)
}

// memberSessions is the member page's "Sessions, last 7 days": the
// sessions and a note when they cannot be shown.
func (a *API) memberSessions(r *http.Request, member string) ([]SessionInterval, string) {
	if _, err := a.viewerMember(viewerOf(r), member); err != nil {
		return nil, err.Error()
	}
	now := time.Now()
	sh, err := a.sessionHistory(r, member, now.Add(-sessionsPeriod), now, 100)
	switch {
	case errors.Is(err, ErrNoHistory):
		return nil, "Session history is not shown: no history is recorded ([server] history is not set)."
	case err != nil:
		return nil, "Session history is not available: " + err.Error()
	}
	slices.Reverse(sh.Sessions) // newest first
	note := ""
	if sh.Truncated {
		note = "Only the first 100 sessions of the period are shown."
	}
	return sh.Sessions, note
}

// overviewFiltered is the overview's "Filtered routes by reason, last 24
// hours", narrowed to the viewer, and a note when it cannot be shown.
func (a *API) overviewFiltered(r *http.Request) (*FilteredCounts, string) {
	member, err := a.viewerMember(viewerOf(r), "")
	if err != nil {
		return nil, err.Error()
	}
	now := time.Now()
	fc, err := a.filteredCounts(r, member, now.Add(-filteredPeriod), now)
	switch {
	case errors.Is(err, ErrNoHistory):
		return nil, "Filtered-route counts are not shown: no history is recorded ([server] history is not set)."
	case err != nil:
		return nil, "Filtered-route counts are not available: " + err.Error()
	}
	return &fc, ""
}
