package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/web"
)

// The prefix search page (/prefixes, the face of GET /v1/prefixes) and
// the explanation page (/members/{member}/routes/{prefix...}, the face of
// GET /v1/explain).

// prefixesPage is the data of GET /prefixes.
type prefixesPage struct {
	Title, Version string
	// Query and Match are the form's values.
	Query, Match string
	// Message is the error of a search that found nothing or was
	// malformed ("" otherwise).
	Message string
	// Found: Result holds a search's answer.
	Found      bool
	Result     PrefixSearch
	Candidates []candidateRow
	Targets    []targetRow
}

// candidateRow is a candidate with the link to its explanation.
type candidateRow struct {
	Route
	Explain string
}

// targetRow is a target with the link to the explanation of the route
// it receives (or of why it does not receive one).
type targetRow struct {
	PrefixTarget
	Links []link
}

// link is a link's address and text.
type link struct{ URL, Label string }

// explainPage is the data of GET /members/{member}/routes/{prefix...}.
type explainPage struct {
	Title, Version string
	Member, Prefix string
	PathID         string
	To             string
	// Targets are the members the form offers as "to"; ImportOnly
	// offers none (the viewer may see the import checks alone).
	Targets    []string
	ImportOnly bool
	RSASN      uint32
	Trace      policy.Trace
	// Search links to the prefix search of the route's prefix.
	Search string
}

// explainURL is the address of the explanation page of member's route
// for prefix with pathID toward to ("" for none).
func explainURL(member, prefix string, pathID uint32, to string) string {
	q := url.Values{"path_id": {strconv.FormatUint(uint64(pathID), 10)}}
	if to != "" {
		q.Set("to", to)
	}
	return "/members/" + url.PathEscape(member) + "/routes/" + prefix + "?" + q.Encode()
}

func (a *API) prefixesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := prefixesPage{Title: "Prefix search", Version: a.opts.Version, Query: q.Get("q"), Match: q.Get("match")}
	if p.Query == "" && p.Match == "" {
		web.Render(w, http.StatusOK, "prefixes", p)
		return
	}
	v := viewerOf(r)
	res, err := a.prefixSearch(v, p.Query, p.Match)
	if err != nil {
		p.Message = err.Error()
		p.Title = "Prefix search: " + http.StatusText(statusOf(err))
		web.Render(w, statusOf(err), "prefixes", p)
		return
	}
	p.Found, p.Result, p.Match = true, res, res.Match
	p.Title = "Prefix " + res.Prefix
	for _, c := range res.Candidates {
		to := ""
		if !v.all() && c.Member != v.name {
			to = v.name // another member's route: explained toward the viewer only
		}
		p.Candidates = append(p.Candidates, candidateRow{Route: c, Explain: explainURL(c.Member, res.Prefix, c.PathID, to)})
	}
	for _, t := range res.Targets {
		row := targetRow{PrefixTarget: t}
		if t.Candidate >= 0 {
			c := res.Candidates[t.Candidate]
			row.Links = append(row.Links, link{explainURL(c.Member, res.Prefix, c.PathID, t.Member), "why this route"})
		}
		// Why not the best route shown (the viewer's own, for a
		// member), when the target does not receive it.
		for i, c := range res.Candidates {
			if i != t.Candidate && c.Member != t.Member && (v.all() || c.Member == v.name) {
				row.Links = append(row.Links, link{explainURL(c.Member, res.Prefix, c.PathID, t.Member), "why not " + c.Member + "'s route"})
				break
			}
		}
		p.Targets = append(p.Targets, row)
	}
	web.Render(w, http.StatusOK, "prefixes", p)
}

func (a *API) explainPage(w http.ResponseWriter, r *http.Request) {
	member, raw := r.PathValue("member"), r.PathValue("prefix")
	q := r.URL.Query()
	fail := func(err error) {
		status := statusOf(err)
		title := "Bad request"
		switch status {
		case http.StatusNotFound:
			title = "Not found"
		case http.StatusForbidden:
			title = "Not yours to see"
		}
		a.errorPage(w, status, title, err)
	}
	if len(raw) > maxQuery {
		fail(fmt.Errorf("prefix is %d characters long; a prefix has at most %d", len(raw), maxQuery))
		return
	}
	p, _, err := parsePrefix(raw)
	if err != nil {
		fail(fmt.Errorf("prefix: %w", err))
		return
	}
	pathID, err := optPathID(q.Get("path_id"))
	if err != nil {
		fail(err)
		return
	}
	to := q.Get("to")
	v := viewerOf(r)
	tr, err := a.explainFor(v, member, p, pathID, to)
	if err != nil {
		if errors.Is(err, routeserver.ErrNotFound) && !errors.Is(err, routeserver.ErrUnknownMember) {
			err = fmt.Errorf("%w: see the prefix search for %s", err, p)
		}
		fail(err)
		return
	}
	cfg := a.srv.Config()
	pg := explainPage{
		Version: a.opts.Version, Member: member, Prefix: p.String(), To: to, RSASN: cfg.Server.ASN, Trace: tr,
		Search: "/prefixes?" + url.Values{"q": {p.String()}, "match": {"exact"}}.Encode(),
	}
	if pathID != nil {
		pg.PathID = strconv.FormatUint(uint64(*pathID), 10)
	}
	pg.ImportOnly = v.all() || member == v.name
	for _, m := range cfg.Members {
		if v.all() || member == v.name || m.Name == v.name {
			pg.Targets = append(pg.Targets, m.Name)
		}
	}
	pg.Title = fmt.Sprintf("Why: %s's route %s", member, p)
	if to != "" {
		pg.Title += " to " + to
	}
	web.Render(w, http.StatusOK, "explain", pg)
}
