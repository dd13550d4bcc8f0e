package main

import (
	"encoding/json"
	"fmt"
	"io"
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
