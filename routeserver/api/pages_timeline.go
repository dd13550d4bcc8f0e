package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/web"
)

// The page /prefixes/{prefix}/history: the prefix's history over a range
// as an inline SVG chart (one row per announcement version, one row per
// target member with a bar per export interval) with the same intervals
// in a table, a range form and a point-in-time form. Its data is
// prefixHistory's and historyAt's, as GET /v1/history/prefix and
// /v1/history/at answer.

// Chart geometry, in the SVG's viewBox units (it scales to the width).
const (
	chartWidth  = 640.0
	chartPad    = 8.0
	chartAxis   = 30.0 // the time axis' band at the top
	chartHeadH  = 24.0 // a section heading's band
	chartRowH   = 38.0 // one row: its label, then its bar
	chartBarY   = 20.0 // the bar's offset in its row
	chartBarH   = 12.0
	chartMinBar = 1.5 // the narrowest bar drawn
)

// timelinePage is the data of GET /prefixes/{prefix}/history.
type timelinePage struct {
	Title, Version string
	Prefix         string
	// FromInput and ToInput are the range in the datetime-local inputs'
	// form (UTC).
	FromInput, ToInput string
	History            PrefixHistory
	Chart              timelineChart
	Presets            []timelinePreset
	// Members are the point-in-time form's choices; AtInput and
	// AtMember its values; At its answer (nil when not asked), AtError
	// the error of a bad point-in-time question.
	Members  []string
	AtInput  string
	AtMember string
	At       *HistoryAt
	AtError  string
	// VersionRows and ExportRows are the tables below the chart: the
	// same intervals, to the millisecond.
	VersionRows []timelineRow
	ExportRows  []timelineRow
	// Viewer is the member the page is narrowed to, if any.
	Viewer string
}

// timelineRow is a table row: a version or an export interval with its
// times formatted.
type timelineRow struct {
	V        PrefixVersion
	I        ExportInterval
	Member   string
	From, To string
}

// timelinePreset is one of the range form's quick ranges.
type timelinePreset struct {
	Label, Query string
	Current      bool
}

// timelineChart is the SVG chart, laid out.
type timelineChart struct {
	Width, Height float64
	Ticks         []chartTick
	Heads         []chartHead
	Rows          []chartRow
	// Bars counts the export bars (the rect.export elements).
	Bars int
}

type chartTick struct {
	X     float64
	Label string
	// Anchor is the label's text-anchor (start, middle, end).
	Anchor string
}

type chartHead struct {
	Y     float64
	Label string
}

// chartRow is a labelled row with its bars.
type chartRow struct {
	LabelY float64
	Label  string
	Bars   []chartBar
}

// chartBar is one <rect>: its geometry, class, data attributes and
// tooltip.
type chartBar struct {
	X, Y, W, H       float64
	Class            string
	Member, From, To string
	Title            string
}

// chartTime formats a time for the data attributes and tooltips.
func chartTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// showTime is a time for people, to the millisecond.
func showTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

// showTo is an interval's end for people.
func showTo(t *time.Time) string {
	if t == nil {
		return "now (still)"
	}
	return showTime(*t)
}

// layoutTimeline lays out h's chart.
func layoutTimeline(h PrefixHistory) timelineChart {
	from, to := h.From, h.To
	span := to.Sub(from).Seconds()
	plot := chartWidth - 2*chartPad
	x := func(t time.Time) float64 {
		f := t.Sub(from).Seconds() / span
		return chartPad + plot*min(max(f, 0), 1)
	}
	bar := func(f time.Time, t *time.Time) (float64, float64) {
		end := to
		if t != nil && t.Before(to) {
			end = *t
		}
		x0, x1 := x(f), x(end)
		if x1-x0 < chartMinBar {
			x1 = min(x0+chartMinBar, chartPad+plot)
			x0 = x1 - chartMinBar
		}
		return round2(x0), round2(x1 - x0)
	}
	c := timelineChart{Width: chartWidth, Ticks: timelineTicks(from, to, x)}
	y := chartAxis
	c.Heads = append(c.Heads, chartHead{Y: y + 18, Label: "Announcements"})
	y += chartHeadH
	for _, v := range h.Versions {
		label := fmt.Sprintf("%s · AS%d · %s", v.Member, v.OriginAS, v.ASPath)
		if v.ASPath == "" {
			label = fmt.Sprintf("%s · (empty AS_PATH)", v.Member)
		}
		state := v.Verdict
		if v.AsSent {
			state = "as sent to " + h.Viewer
		} else if len(v.Reasons) > 0 {
			var names []string
			for _, r := range v.Reasons {
				names = append(names, r.Name)
			}
			state += " (" + strings.Join(names, ", ") + ")"
		}
		label += " · " + state + " · RPKI " + v.RPKI
		bx, bw := bar(v.From, v.To)
		class := "version " + v.Verdict + " rpki-" + v.RPKI
		if v.AsSent {
			class = "version as-sent rpki-" + v.RPKI
		}
		c.Rows = append(c.Rows, chartRow{LabelY: y + 15, Label: label, Bars: []chartBar{{
			X: bx, Y: y + chartBarY, W: bw, H: chartBarH, Class: class,
			Member: v.Member, From: chartTime(v.From), To: timeAttr(v.To),
			Title: fmt.Sprintf("%s announced %s: origin AS%d, AS_PATH %s, next hop %s; %s; RPKI %s; from %s to %s",
				v.Member, v.Prefix, v.OriginAS, v.ASPath, v.NextHop, state, v.RPKI, showTime(v.From), showTo(v.To)),
		}}})
		y += chartRowH
	}
	if len(h.Versions) == 0 {
		c.Rows = append(c.Rows, chartRow{LabelY: y + 15, Label: "no announcement in this range"})
		y += chartRowH
	}
	c.Heads = append(c.Heads, chartHead{Y: y + 18, Label: "Exported to"})
	y += chartHeadH
	for _, mi := range h.Exported {
		row := chartRow{LabelY: y + 15, Label: mi.Member}
		for _, iv := range mi.Intervals {
			bx, bw := bar(iv.From, iv.To)
			how := ""
			if iv.InitialTransfer {
				how = " (sent during the session's initial transfer)"
			}
			row.Bars = append(row.Bars, chartBar{
				X: bx, Y: y + chartBarY, W: bw, H: chartBarH, Class: "export",
				Member: mi.Member, From: chartTime(iv.From), To: timeAttr(iv.To),
				Title: fmt.Sprintf("exported to %s: %s's route from %s to %s%s", mi.Member, iv.Announcer,
					showTime(iv.From), showTo(iv.To), how),
			})
			c.Bars++
		}
		c.Rows = append(c.Rows, row)
		y += chartRowH
	}
	if len(h.Exported) == 0 {
		c.Rows = append(c.Rows, chartRow{LabelY: y + 15, Label: "exported to nobody in this range"})
		y += chartRowH
	}
	c.Height = y + chartPad
	return c
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// timeAttr is an interval end for data-to: "" while still open.
func timeAttr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return chartTime(*t)
}

// tickSteps are the time axis' candidate steps.
var tickSteps = []time.Duration{
	time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour, 61 * 24 * time.Hour,
}

// timelineTicks are the axis' ticks between from and to (UTC): at most
// five, on round times.
func timelineTicks(from, to time.Time, x func(time.Time) float64) []chartTick {
	span := to.Sub(from)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 5 {
			step = s
			break
		}
	}
	layout := "15:04"
	switch {
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case span > 24*time.Hour:
		layout = "Jan 2 15:04"
	case step < time.Minute:
		layout = "15:04:05"
	}
	var out []chartTick
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		out = append(out, chartTick{X: round2(x(t)), Label: t.Format(layout), Anchor: "middle"})
	}
	if n := len(out); n > 0 {
		if out[0].X < chartPad+30 {
			out[0].Anchor = "start"
		}
		if out[n-1].X > chartWidth-chartPad-30 {
			out[n-1].Anchor = "end"
		}
	}
	return out
}

// localInput is t in a datetime-local input's form, UTC.
func localInput(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

var timelinePresets = []struct {
	label string
	d     time.Duration
}{{"1h", time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// timelinePage serves GET /prefixes/{prefix}/history (the prefix
// path-escaped: 10.1.0.0%2F16; or ?prefix=).
func (a *API) timelinePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	vw := viewerOf(r)
	ps := r.PathValue("prefix")
	if s := q.Get("prefix"); s != "" {
		ps = s
	}
	p, err := timelinePrefix(ps)
	if err != nil {
		a.errorPage(w, http.StatusBadRequest, "Bad request", err)
		return
	}
	now := time.Now()
	fromS, toS := q.Get("from"), q.Get("to")
	if rs := q.Get("range"); rs != "" {
		found := false
		for _, pr := range timelinePresets {
			if pr.label == rs {
				fromS, toS, found = "-"+rs, "now", true
			}
		}
		if !found {
			a.errorPage(w, http.StatusBadRequest, "Bad request", fmt.Errorf("range %q: want 1h, 24h, 7d or 30d", rs))
			return
		}
	}
	from, to, err := timelineRange(fromS, toS, now)
	if err != nil {
		a.errorPage(w, http.StatusBadRequest, "Bad request", err)
		return
	}
	h, err := a.prefixHistory(r.Context(), vw, p, from, to)
	if err != nil {
		title := "Error"
		switch historyStatus(err) {
		case http.StatusNotFound:
			title = "Not found"
		case http.StatusBadRequest:
			title = "Bad request"
		}
		a.errorPage(w, historyStatus(err), title, err)
		return
	}
	pg := timelinePage{
		Title: "History of " + p.String(), Version: a.opts.Version, Prefix: p.String(),
		FromInput: localInput(from), ToInput: localInput(to), History: h, Chart: layoutTimeline(h), Viewer: vw.name,
	}
	for _, v := range h.Versions {
		pg.VersionRows = append(pg.VersionRows, timelineRow{V: v, Member: v.Member, From: showTime(v.From), To: showTo(v.To)})
	}
	for _, mi := range h.Exported {
		for _, iv := range mi.Intervals {
			pg.ExportRows = append(pg.ExportRows, timelineRow{I: iv, Member: mi.Member, From: showTime(iv.From), To: showTo(iv.To)})
		}
	}
	for _, pr := range timelinePresets {
		pg.Presets = append(pg.Presets, timelinePreset{Label: pr.label, Query: "range=" + pr.label, Current: q.Get("range") == pr.label})
	}
	pg.Members = a.timelineMembers(r, vw, h)
	pg.AtInput, pg.AtMember = q.Get("at"), q.Get("member")
	if pg.AtInput != "" || pg.AtMember != "" {
		at, err := timelineTime("at", pg.AtInput, now, now)
		if err == nil {
			var ans HistoryAt
			if ans, err = a.historyAt(r.Context(), vw, p, at, pg.AtMember); err == nil {
				pg.At = &ans
				pg.AtInput = localInput(at)
			}
		}
		if err != nil {
			// The range's chart stands; the question's error is shown
			// in its place, and the status says what was wrong.
			pg.AtError = err.Error()
			status := historyStatus(err)
			if status == http.StatusInternalServerError {
				status = http.StatusBadRequest
			}
			a.renderTimeline(w, status, pg)
			return
		}
	}
	if pg.AtInput == "" {
		pg.AtInput = localInput(now)
	}
	a.renderTimeline(w, http.StatusOK, pg)
}

// timelineMembers are the point-in-time form's member choices: the
// members the history knows (a member viewer: itself).
func (a *API) timelineMembers(r *http.Request, vw viewer, h PrefixHistory) []string {
	if !vw.all() {
		return []string{vw.name}
	}
	var names []string
	if hr, err := a.historyReader(); err == nil {
		names, _ = hr.Members(r.Context())
	}
	for _, mi := range h.Exported {
		if !slices.Contains(names, mi.Member) {
			names = append(names, mi.Member)
		}
	}
	slices.Sort(names)
	return names
}

// renderTimeline renders the page with status.
func (a *API) renderTimeline(w http.ResponseWriter, status int, pg timelinePage) {
	web.Render(w, status, "timeline", pg)
}
