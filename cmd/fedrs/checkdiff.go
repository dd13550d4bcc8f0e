package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/urfave/cli/v2"
)

// checkDiff asks the running route server what a reload to cfg would do
// to the routes it holds (a dry run) and prints it.
func checkDiff(c *cli.Context, cfg *conf.Config) error {
	sock := c.String("socket")
	if sock == "" {
		sock = cfg.ControlPath()
	}
	if sock == "" {
		return &exitError{2, fmt.Errorf("%s has no [server] control socket; name the running server's with --socket", cfg.File)}
	}
	if c.Int("limit") < 1 {
		return &exitError{2, errors.New("--limit: want 1 or more")}
	}
	file, err := filepath.Abs(cfg.File)
	if err != nil {
		return err
	}
	var res api.CheckResult
	if err := api.NewClient(sock).Post(c.Context, "/v1/check", nil, api.CheckRequest{Config: file, Limit: c.Int("limit")}, &res); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	printCheck(c.App.Writer, &res)
	return nil
}

func printCheck(w io.Writer, res *api.CheckResult) {
	fmt.Fprintf(w, "%s (%.12s) against the running configuration %s (%.12s):\n", res.Config, res.ConfigHash, res.RunningConfig, res.RunningHash)
	for _, l := range strings.Split(res.Changes, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
	for _, n := range res.RPKINotes {
		fmt.Fprintf(w, "  RPKI: %s\n", n)
	}
	t := res.Totals
	fmt.Fprintf(w, "\n%d routes held now, checked with the new import policy: %d would be filtered, %d would be accepted, %d stay filtered for other reasons, %d would be withdrawn.\n",
		res.Checked, t.WouldFilter, t.WouldAccept, t.ReasonsChanged, t.WouldWithdraw)
	section := func(title string, total int, rs []api.CheckRoute, reasons func(api.CheckRoute) string) {
		if total == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s: %d\n", title, total)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  MEMBER\tNEIGHBOR\tPREFIX\tAS_PATH\tNEXT HOP\tREASONS")
		for _, r := range rs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Member, r.Neighbor, r.Prefix, r.ASPathText, r.NextHop, reasons(r))
		}
		tw.Flush()
		if total > len(rs) {
			fmt.Fprintf(w, "  … and %d more (--limit, or --json)\n", total-len(rs))
		}
	}
	section("Would be FILTERED (accepted now)", t.WouldFilter, res.WouldFilter, func(r api.CheckRoute) string { return reasonNames(r.FilteredAfter) })
	section("Would be ACCEPTED (filtered now)", t.WouldAccept, res.WouldAccept, func(r api.CheckRoute) string { return "now: " + reasonNames(r.FilteredReasons) })
	section("Stay FILTERED, other reasons", t.ReasonsChanged, res.ReasonsChanged, func(r api.CheckRoute) string {
		return reasonNames(r.FilteredReasons) + " → " + reasonNames(r.FilteredAfter)
	})
	section("Would be WITHDRAWN (neighbour removed)", t.WouldWithdraw, res.WouldWithdraw, func(api.CheckRoute) string { return "" })
	if t == (api.CheckTotals{}) {
		fmt.Fprintln(w, "No route would change verdict.")
	}
}

func reasonNames(rs []api.Reason) string {
	parts := make([]string, len(rs))
	for i, x := range rs {
		parts[i] = fmt.Sprintf("%s (1101:%d)", x.Name, x.Code)
	}
	return strings.Join(parts, ", ")
}
