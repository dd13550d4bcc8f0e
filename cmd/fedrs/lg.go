package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/urfave/cli/v2"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func lgFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{socketFlag, configFlagNoDefault, jsonFlag}, extra...)
}

func lgCommand() *cli.Command {
	return &cli.Command{
		Name:  "lg",
		Usage: "looking glass: ask the running route server",
		Description: "Read-only queries against the running route server's control API. Every command\n" +
			"prints a table; --json prints the API's JSON.",
		Subcommands: []*cli.Command{
			{Name: "summary", Usage: "status and every session", Flags: lgFlags(), Action: lgSummary},
			{Name: "neighbors", Aliases: []string{"neighbours"}, Usage: "sessions with counters", Flags: lgFlags(), Action: lgNeighbors},
			{
				Name: "routes", Usage: "a member's routes", ArgsUsage: "MEMBER",
				Flags: lgFlags(
					&cli.BoolFlag{Name: "received", Usage: "every route received (default)"},
					&cli.BoolFlag{Name: "accepted", Usage: "only accepted routes"},
					&cli.BoolFlag{Name: "filtered", Usage: "only filtered routes, with the reasons"},
					&cli.BoolFlag{Name: "exported", Usage: "what the member holds from the route server, with the attributes exactly as sent"},
					&cli.StringFlag{Name: "family", Usage: "ipv4 or ipv6"},
					&cli.IntFlag{Name: "offset", Usage: "skip the first N routes"},
					&cli.IntFlag{Name: "limit", Value: 1000, Usage: "at most N routes"},
				),
				Action: lgRoutes,
			},
			{
				Name: "lookup", Usage: "every route of a prefix, or the longest match of an address", ArgsUsage: "PREFIX|ADDRESS",
				Flags:  lgFlags(&cli.StringFlag{Name: "mode", Usage: "exact, longest, covering or more-specifics"}),
				Action: lgLookup,
			},
			{
				Name: "route", Usage: "one route in detail, with the members it is exported to", ArgsUsage: "MEMBER PREFIX",
				Flags: lgFlags(), Action: lgRoute,
			},
			{
				Name: "explain", Usage: "why a route was accepted or filtered, and what a member gets", ArgsUsage: "MEMBER PREFIX",
				Flags:  lgFlags(&cli.StringFlag{Name: "to", Usage: "also explain the export toward `MEMBER`"}),
				Action: lgExplain,
			},
		},
	}
}

func lgSummary(c *cli.Context) error {
	cl, err := client(c)
	if err != nil {
		return err
	}
	var st api.Status
	if err := cl.Get(c.Context, "/v1/status", nil, &st); err != nil {
		return err
	}
	var ns []api.Neighbor
	if err := cl.Get(c.Context, "/v1/neighbors", nil, &ns); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"status": st, "neighbors": ns})
	}
	w := c.App.Writer
	fmt.Fprintf(w, "fedrs %s  AS%d  router-id %s  up %s\n", strings.TrimPrefix(st.Version, "fedrs "), st.ASN, st.RouterID, duration(st.UptimeSeconds))
	fmt.Fprintf(w, "config %s (%.12s)\n", st.ConfigFile, st.ConfigHash)
	fmt.Fprintf(w, "sessions %d/%d up, %d members; RIB %d IPv4 + %d IPv6 prefixes, %d routes (%d accepted, %d filtered), %d attribute sets; %d exports pending\n",
		st.SessionsUp, st.Neighbors, st.Members, st.PrefixesV4, st.PrefixesV6, st.Routes, st.Accepted, st.Filtered, st.AttrSets, st.PendingOut)
	if st.RPKI != nil {
		fmt.Fprintf(w, "RPKI serial %d, %d VRPs, %d ASPAs, %d sources\n", st.RPKI.Serial, st.RPKI.VRPs, st.RPKI.ASPAs, st.RPKI.Sources)
	}
	if st.History != nil {
		var h history.Stats
		if b, err := json.Marshal(st.History); err == nil && json.Unmarshal(b, &h) == nil {
			line := fmt.Sprintf("history %s: %d events committed, queue %d/%d, %d dropped in %d gaps, %.1f MB",
				h.Path, h.Committed, h.Queue, h.QueueLimit, h.Dropped, h.Gaps, float64(h.DBSize)/1e6)
			if h.Behind >= time.Second {
				line += fmt.Sprintf("; %s behind", h.Behind.Round(100*time.Millisecond))
				if h.Holding {
					line += " (writing behind while the route server is busy)"
				}
			}
			if h.LastError != "" {
				line += "; last write error: " + h.LastError
			}
			fmt.Fprintln(w, line)
		}
	}
	for _, b := range st.BMP {
		line := fmt.Sprintf("BMP %s (%s): %s for %s, %d queue drops, %d messages sent", b.Name, b.Address, b.State,
			duration(int64(time.Since(b.Since).Seconds())), b.QueueDrops, b.Messages)
		if !b.Up() && b.LastError != "" {
			line += "; last error: " + b.LastError
		}
		fmt.Fprintln(w, line)
	}
	switch st.MaintenancePhase {
	case "draining":
		fmt.Fprintln(w, "MAINTENANCE: every route is sent with GRACEFUL_SHUTDOWN; sessions close at the end of the wait (fedrs maintenance status)")
	case "closed":
		fmt.Fprintln(w, "MAINTENANCE: sessions closed by maintenance (fedrs maintenance status; stop brings them back)")
	default:
		if st.Maintenance {
			fmt.Fprintln(w, "MAINTENANCE: every route is sent with GRACEFUL_SHUTDOWN")
		}
	}
	fmt.Fprintln(w)
	return neighborTable(w, ns)
}

func lgNeighbors(c *cli.Context) error {
	cl, err := client(c)
	if err != nil {
		return err
	}
	var ns []api.Neighbor
	if err := cl.Get(c.Context, "/v1/neighbors", nil, &ns); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, ns)
	}
	return neighborTable(c.App.Writer, ns)
}

func neighborTable(w io.Writer, ns []api.Neighbor) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tNEIGHBOR\tASN\tSTATE\tFOR\tRECEIVED\tACCEPTED\tFILTERED\tEXPORTED\tINFO")
	var down []api.Neighbor
	for _, n := range ns {
		since, info := n.Since, ""
		switch {
		case n.Negotiated != nil:
			info = "role " + n.Negotiated.Role
		default:
			down = append(down, n)
			if n.DownSince != nil {
				since = *n.DownSince
			}
			info = downInfo(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", n.Member, n.Neighbor, n.ASN, n.State,
			duration(int64(time.Since(since).Seconds())), n.Received, n.Accepted, n.Filtered, n.Exported, info)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(down) > 0 {
		fmt.Fprintf(w, "\nSessions not established:\n")
		for _, n := range down {
			downDetail(w, n)
		}
	}
	return nil
}

// downInfo is the INFO column of a session that is not established.
func downInfo(n api.Neighbor) string {
	switch {
	case n.AdminDown:
		return "administratively down"
	case n.IdleUntil != nil:
		return "idle until " + n.IdleUntil.Local().Format("15:04:05")
	case n.LastUp == nil && n.LastError == "" && n.Passive:
		return "never connected (passive: waiting for the member)"
	case n.LastUp == nil && n.LastError == "":
		return "never connected"
	case n.LastError != "":
		return n.LastError
	}
	return "down"
}

// downDetail prints why a session is not established: since when, the
// last error and the last NOTIFICATIONs sent and received, decoded.
func downDetail(w io.Writer, n api.Neighbor) {
	at := func(t time.Time) string {
		return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), duration(int64(time.Since(t).Seconds())))
	}
	line := fmt.Sprintf("  %s %s (AS%d): %s, %s", n.Member, n.Neighbor, n.ASN, n.State, downInfo(n))
	if n.DownSince != nil {
		if n.LastUp == nil {
			line += "; never established (since " + at(*n.DownSince) + ")"
		} else {
			line += "; down since " + at(*n.DownSince) + ", last up " + n.LastUp.Local().Format("2006-01-02 15:04:05")
		}
	}
	if n.Flaps == 1 {
		line += "; 1 flap"
	} else {
		line += fmt.Sprintf("; %d flaps", n.Flaps)
	}
	fmt.Fprintln(w, line)
	if n.LastError != "" {
		when := ""
		if n.LastErrorAt != nil {
			when = " at " + n.LastErrorAt.Local().Format("15:04:05")
		}
		fmt.Fprintf(w, "    last error%s: %s\n", when, n.LastError)
	}
	for _, x := range []struct {
		dir string
		n   *api.Notification
	}{{"sent", n.NotificationSent}, {"received", n.NotificationReceived}} {
		if x.n != nil {
			fmt.Fprintf(w, "    NOTIFICATION %-8s %s: %s\n", x.dir, at(x.n.At), notificationText(x.n))
		}
	}
}

// notificationText renders a decoded NOTIFICATION: names, numbers, the
// RFC 9003 shutdown communication and any other data.
func notificationText(n *api.Notification) string {
	s := n.CodeName
	if n.SubcodeName != "" {
		s += "/" + n.SubcodeName
	}
	s += fmt.Sprintf(" (%d/%d)", n.Code, n.Subcode)
	if n.ShutdownMessage != "" {
		s += fmt.Sprintf(", message %q", n.ShutdownMessage)
	}
	if n.Data != "" {
		s += ", data " + n.Data
	}
	return s
}

func duration(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return d.String()
}

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

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "apply the configuration file again, as a diff, without dropping unchanged sessions",
		Description: "Asks the running route server to re-read its configuration file (like SIGHUP) and\n" +
			"prints what changed. A configuration with errors is refused and the running one stays.\n\n" +
			"A running route server's configuration file is fixed at its start (as under a service\n" +
			"manager): reload sends the file it was given (-c, or $FEDRS_CONFIG) and the route server\n" +
			"refuses, changing nothing, when that is not the file it runs. To see what another file\n" +
			"would do, use fedrs check -c FILE --diff. With --socket alone, the route server reloads\n" +
			"its own file, and the answer names it.",
		ArgsUsage: " ",
		Flags:     []cli.Flag{socketFlag, configFlagNoDefault, jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("reload: unexpected argument %q; the file is given with -c FILE", c.Args().First())}
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			var req api.ReloadRequest
			// The file meant: named (-c, $FEDRS_CONFIG), or the default
			// one when the socket was found in it.
			if file, named := configPath(c); named || c.String("socket") == "" {
				if _, err := os.Stat(file); err == nil || named {
					if req.Config, err = filepath.Abs(file); err != nil {
						return err
					}
				}
			}
			var res api.ReloadResult
			if err := cl.Post(c.Context, "/v1/reload", nil, req, &res); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "%s reloaded: %s\n", res.Config, res.Summary)
			return nil
		},
	}
}

func maintenanceCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{socketFlag, configFlagNoDefault}, extra...)
	}
	return &cli.Command{
		Name:  "maintenance",
		Usage: "take the route server out of service gracefully, and back",
		Description: "start tags every route with GRACEFUL_SHUTDOWN (RFC 8326), waits, then closes every session;\n" +
			"status says where it stands; stop undoes it.",
		Subcommands: []*cli.Command{{
			Name:  "start",
			Usage: "tag every route with GRACEFUL_SHUTDOWN, wait, then close every session",
			Description: "Members lower the preference of everything learned through the route server\n" +
				"(RFC 8326) and move traffic to other paths; after --wait every session that is not\n" +
				"already shut down is closed with Cease/Administrative Shutdown and the message (RFC 9003)\n" +
				"and stays down until `fedrs maintenance stop`. A second start while maintenance runs is\n" +
				"refused (stop it first to change the message or the wait).\n\n" +
				"Example: fedrs maintenance start -m \"rs1 software upgrade, back 02:30\" --wait 10m",
			Flags: flags(
				&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Value: "route server maintenance", Usage: "RFC 9003 shutdown message (≤ 255 octets)"},
				&cli.DurationFlag{Name: "wait", Value: 5 * time.Minute, Usage: "time between the GRACEFUL_SHUTDOWN tag and closing the sessions"},
				jsonFlag,
			),
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return &exitError{2, fmt.Errorf("maintenance start takes no arguments (got %q); the message goes in -m", c.Args().First())}
				}
				if c.Duration("wait") < 0 {
					return &exitError{2, fmt.Errorf("--wait %v: want 0s or more", c.Duration("wait"))}
				}
				return maintenancePost(c, "/v1/maintenance/start", map[string]string{"message": c.String("message"), "wait": c.Duration("wait").String()})
			},
		}, {
			Name:  "status",
			Usage: "phase (off, draining, closed), since when, time left, sessions affected",
			Description: "draining: every route is sent with GRACEFUL_SHUTDOWN and the sessions close when the\n" +
				"wait ends; closed: maintenance closed the sessions and keeps them down until stop.\n\n" +
				"Example: fedrs maintenance status",
			Flags: flags(jsonFlag),
			Action: func(c *cli.Context) error {
				cl, err := client(c)
				if err != nil {
					return err
				}
				var m api.Maintenance
				if err := cl.Get(c.Context, "/v1/maintenance", nil, &m); err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, m)
				}
				return maintenanceText(c.App.Writer, m)
			},
		}, {
			Name:  "stop",
			Usage: "end maintenance: remove the GRACEFUL_SHUTDOWN tag, or bring the closed sessions back",
			Description: "During the wait, the routes are sent again without the GRACEFUL_SHUTDOWN the route server\n" +
				"added (a member's own 65535:0 stays). After the wait, the sessions maintenance closed are\n" +
				"enabled again and reconnect (sessions shut down with `fedrs member shutdown` stay down).\n\n" +
				"Example: fedrs maintenance stop",
			Flags: flags(jsonFlag),
			Action: func(c *cli.Context) error {
				return maintenancePost(c, "/v1/maintenance/stop", nil)
			},
		}},
	}
}

func maintenancePost(c *cli.Context, path string, body any) error {
	cl, err := client(c)
	if err != nil {
		return err
	}
	var m api.Maintenance
	if err := cl.Post(c.Context, path, nil, body, &m); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m)
	}
	fmt.Fprintln(c.App.Writer, m.Result)
	return nil
}

// maintenanceText prints `fedrs maintenance status`.
func maintenanceText(w io.Writer, m api.Maintenance) error {
	ago := func(t *time.Time) string {
		return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), duration(int64(time.Since(*t).Seconds())))
	}
	switch m.Phase {
	case "off":
		if m.Since == nil {
			fmt.Fprintln(w, "maintenance: off")
			return nil
		}
		fmt.Fprintf(w, "maintenance: off since %s; the last one started %s with %q\n", ago(m.Since), ago(m.Started), m.Message)
		return nil
	case "draining":
		fmt.Fprintf(w, "maintenance: draining since %s: every route is sent with GRACEFUL_SHUTDOWN\n", ago(m.Since))
		fmt.Fprintf(w, "sessions close at %s (in %s) with %q\n", m.ClosesAt.Local().Format("2006-01-02 15:04:05"),
			duration(int64(m.SecondsLeft)), m.Message)
		fmt.Fprintf(w, "%d sessions receive GRACEFUL_SHUTDOWN", len(m.Sessions))
	case "closed":
		fmt.Fprintf(w, "maintenance: sessions closed since %s with %q (started %s)\n", ago(m.Since), m.Message, ago(m.Started))
		fmt.Fprintf(w, "%d sessions closed by maintenance (fedrs maintenance stop brings them back)", len(m.Sessions))
	default:
		fmt.Fprintf(w, "maintenance: %s", m.Phase)
	}
	if len(m.Sessions) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(m.Sessions, ", "))
	}
	fmt.Fprintln(w)
	return nil
}

// memberClear is `fedrs member clear`: one line per session.
func memberClear(c *cli.Context, cl *api.Client, path string) error {
	if c.Bool("in") && c.Bool("out") {
		return &exitError{2, errors.New("choose one of --in or --out")}
	}
	dir := "in"
	if c.Bool("out") {
		dir = "out"
	}
	var res api.ClearResult
	if err := cl.Post(c.Context, path, url.Values{"direction": {dir}}, nil, &res); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s: %s\n", res.Member, res.Result)
	for _, s := range res.Sessions {
		line := fmt.Sprintf("  %s (%s): ", s.Neighbor, s.State)
		if len(s.Families) > 0 {
			what := "ROUTE-REFRESH sent for "
			if dir == "out" {
				what = "resent "
			}
			line += what + strings.Join(s.Families, ", ")
		} else {
			line += "nothing done"
		}
		if len(s.Notes) > 0 {
			line += "; " + strings.Join(s.Notes, "; ")
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func memberCommand() *cli.Command {
	action := func(verb string) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{2, fmt.Errorf("usage: fedrs member %s MEMBER", verb)}
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			path := "/v1/members/" + url.PathEscape(c.Args().First()) + "/" + verb
			var body any
			q := url.Values{}
			switch verb {
			case "shutdown":
				body = map[string]string{"message": c.String("message")}
			case "clear":
				return memberClear(c, cl, path)
			}
			var res map[string]string
			if err := cl.Post(c.Context, path, q, body, &res); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, c.Args().First()+": "+res["result"])
			return nil
		}
	}
	return &cli.Command{
		Name:  "member",
		Usage: "administer a member's sessions",
		Subcommands: []*cli.Command{
			{Name: "shutdown", Usage: "close the member's sessions with an RFC 9003 message and keep them down", ArgsUsage: "MEMBER",
				Flags:  []cli.Flag{socketFlag, configFlagNoDefault, &cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "shutdown message (≤ 255 octets)"}},
				Action: action("shutdown")},
			{Name: "enable", Usage: "lift a shutdown or a maximum-prefix hold", ArgsUsage: "MEMBER",
				Flags: []cli.Flag{socketFlag, configFlagNoDefault}, Action: action("enable")},
			{Name: "clear", Usage: "soft clear: --in asks the member to resend (ROUTE-REFRESH), --out resends to it", ArgsUsage: "MEMBER",
				Description: "Works on the member's established sessions, for the address families each one\n" +
					"negotiated; no session is reset. --in (the default) sends ROUTE-REFRESH where the member's\n" +
					"router announced route refresh; --out resends the member everything it should hold.\n" +
					"Prints, per session, what was done and what was not (and why). Exit status 1 when\n" +
					"nothing could be done on any session.\n\n" +
					"Example: fedrs member clear nhs-coastal --in",
				Flags: []cli.Flag{socketFlag, configFlagNoDefault, jsonFlag, &cli.BoolFlag{Name: "in", Usage: "ask the member to resend its routes (ROUTE-REFRESH)"},
					&cli.BoolFlag{Name: "out", Usage: "resend the member everything it should hold"}},
				Action: action("clear")},
		},
	}
}
