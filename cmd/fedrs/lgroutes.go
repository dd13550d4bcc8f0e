package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/urfave/cli/v2"
)

func lgRoutes(c *cli.Context) error {
	if c.NArg() != 1 {
		return &exitError{2, errors.New("usage: fedrs lg routes MEMBER [--filtered|--accepted|--exported]")}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	view := "received"
	n := 0
	for _, v := range []string{"received", "accepted", "filtered", "exported"} {
		if c.Bool(v) {
			view = v
			n++
		}
	}
	if n > 1 {
		return &exitError{2, errors.New("choose one of --received, --accepted, --filtered, --exported")}
	}
	q := url.Values{"view": {view}, "offset": {strconv.Itoa(c.Int("offset"))}, "limit": {strconv.Itoa(c.Int("limit"))}}
	if f := c.String("family"); f != "" {
		q.Set("family", f)
	}
	var rl api.RouteList
	if err := cl.Get(c.Context, "/v1/members/"+url.PathEscape(c.Args().First())+"/routes", q, &rl); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, rl)
	}
	if err := routeTable(c.App.Writer, rl.Routes, view == "exported"); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d of %d routes shown\n", len(rl.Routes), rl.Total)
	if view == "exported" {
		if rl.Pending > 0 {
			fmt.Fprintf(c.App.Writer, "%d prefixes have a change queued for the member (those listed are marked *): what it holds there is about to change\n", rl.Pending)
		}
		if rl.Note != "" {
			fmt.Fprintln(c.App.Writer, "note:", rl.Note)
		}
	}
	return nil
}

func routeTable(w io.Writer, rs []api.Route, showFrom bool) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if showFrom {
		// The attributes as sent: prepends applied, action communities
		// stripped, informational communities and OTC added.
		fmt.Fprintln(tw, "PREFIX\tFROM\tAS_PATH\tNEXT HOP\tMED\tCOMMUNITIES\tOTC")
	} else {
		fmt.Fprintln(tw, "PREFIX\tAS_PATH\tNEXT HOP\tVERDICT\tRPKI\tREASONS")
	}
	for _, r := range rs {
		if showFrom {
			comms := append(append([]string{}, r.Communities...), r.LargeCommunities...)
			prefix, med, otc := r.Prefix, "-", "-"
			if r.Pending {
				prefix += " *"
			}
			if r.MED != nil {
				med = strconv.FormatUint(uint64(*r.MED), 10)
			}
			if r.OTC != nil {
				otc = strconv.FormatUint(uint64(*r.OTC), 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", prefix, r.Member, r.ASPathText, r.NextHop, med, strings.Join(comms, " "), otc)
			continue
		}
		verdict := "accepted"
		if !r.Accepted {
			verdict = "FILTERED"
		} else if r.Best {
			verdict = "accepted, best"
		}
		if r.Stale {
			verdict += " (stale)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Prefix, r.ASPathText, r.NextHop, verdict, r.RPKI, reasonList(r))
	}
	return tw.Flush()
}

func reasonList(r api.Route) string {
	var parts []string
	for _, x := range r.FilteredReasons {
		parts = append(parts, fmt.Sprintf("%s (1101:%d)", x.Name, x.Code))
	}
	for _, x := range r.TaggedReasons {
		parts = append(parts, fmt.Sprintf("tag %s (1101:%d)", x.Name, x.Code))
	}
	return strings.Join(parts, ", ")
}

func lgLookup(c *cli.Context) error {
	if c.NArg() != 1 {
		return &exitError{2, errors.New("usage: fedrs lg lookup PREFIX|ADDRESS [--mode exact|longest|covering|more-specifics]")}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	q := url.Values{"prefix": {c.Args().First()}}
	if m := c.String("mode"); m != "" {
		q.Set("mode", m)
	}
	var rl api.RouteList
	if err := cl.Get(c.Context, "/v1/lookup", q, &rl); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, rl)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tMEMBER\tAS_PATH\tNEXT HOP\tVERDICT\tREASONS")
	for _, r := range rl.Routes {
		verdict := "accepted"
		if !r.Accepted {
			verdict = "FILTERED"
		} else if r.Best {
			verdict = "best"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Prefix, r.Member, r.ASPathText, r.NextHop, verdict, reasonList(r))
	}
	tw.Flush()
	if len(rl.Routes) == 0 {
		fmt.Fprintln(c.App.Writer, "no route")
	}
	return nil
}

func lgRoute(c *cli.Context) error {
	if c.NArg() != 2 {
		return &exitError{2, errors.New("usage: fedrs lg route MEMBER PREFIX")}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	var r api.Route
	if err := cl.Get(c.Context, "/v1/route", url.Values{"member": {c.Args().Get(0)}, "prefix": {c.Args().Get(1)}}, &r); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, r)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s from %s (%s)\n", r.Prefix, r.Member, r.Neighbor)
	fmt.Fprintf(w, "  AS_PATH     %s\n  ORIGIN      %s\n  NEXT_HOP    %s %s\n", r.ASPathText, r.Origin, r.NextHop, r.NextHopLL)
	if r.MED != nil {
		fmt.Fprintf(w, "  MED         %d\n", *r.MED)
	}
	fmt.Fprintf(w, "  COMMUNITIES %s\n  LARGE       %s\n", strings.Join(r.Communities, " "), strings.Join(r.LargeCommunities, " "))
	if r.OTC != nil {
		fmt.Fprintf(w, "  OTC         %d\n", *r.OTC)
	}
	fmt.Fprintf(w, "  RPKI %s, ASPA %s, registry %s\n", r.RPKI, r.ASPA, r.Registry)
	if r.Accepted {
		fmt.Fprintf(w, "  accepted%s; exported to %s\n", map[bool]string{true: ", best", false: ""}[r.Best], orNone(r.ExportedTo))
		if len(r.PendingTo) > 0 {
			fmt.Fprintf(w, "  a change of this prefix is queued for %s\n", strings.Join(r.PendingTo, ", "))
		}
	} else {
		fmt.Fprintf(w, "  FILTERED: %s\n", reasonList(r))
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nobody"
	}
	return strings.Join(s, ", ")
}

func lgExplain(c *cli.Context) error {
	if c.NArg() != 2 {
		return &exitError{2, errors.New("usage: fedrs lg explain MEMBER PREFIX [--to MEMBER]")}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	q := url.Values{"member": {c.Args().Get(0)}, "prefix": {c.Args().Get(1)}}
	if to := c.String("to"); to != "" {
		q.Set("to", to)
	}
	if c.Bool("json") {
		var raw json.RawMessage
		if err := cl.Get(c.Context, "/v1/explain", q, &raw); err != nil {
			return err
		}
		_, err := c.App.Writer.Write(append(raw, '\n'))
		return err
	}
	q.Set("format", "text")
	var s string
	if err := cl.Get(c.Context, "/v1/explain", q, &s); err != nil {
		return err
	}
	fmt.Fprint(c.App.Writer, s)
	return nil
}
