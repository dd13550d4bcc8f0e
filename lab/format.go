package lab

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteStatus prints a status as the CLI shows it: one line per node, then
// its sessions, then how to reach each daemon.
func WriteStatus(w io.Writer, s Status) error {
	fmt.Fprintf(w, "lab %s: %s (run directory %s)\n", s.Name, s.Phase, s.Dir)
	if s.Error != "" {
		fmt.Fprintf(w, "last error: %s\n", s.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tKIND\tROLE\tASN\tIPV4\tIPV6\tPROCESS\tSESSIONS")
	for _, n := range s.Nodes {
		proc := "stopped"
		if n.Running {
			proc = fmt.Sprintf("running %v", n.PIDs)
		}
		up, total := 0, len(n.Sessions)
		for _, x := range n.Sessions {
			if x.Established {
				up++
			}
		}
		sess := fmt.Sprintf("%d/%d established", up, total)
		switch {
		case n.Error != "":
			sess = "error: " + n.Error
		case !n.Running:
			sess = "-"
		case total == 0:
			sess = "(not readable)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", n.Name, n.Kind, n.Role, n.ASN, n.IPv4, n.IPv6, proc, sess)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range s.Nodes {
		for _, x := range n.Sessions {
			if !x.Established {
				fmt.Fprintf(w, "  %s → %s (%s): %s %s\n", n.Name, x.PeerName, x.Peer, x.State, x.Info)
			}
		}
	}
	fmt.Fprintln(w, "\ndaemon consoles (run on the host; control sockets are files):")
	for _, n := range s.Nodes {
		if len(n.CLI) > 0 {
			fmt.Fprintf(w, "  %-12s %s\n", n.Name, strings.Join(n.CLI, " "))
		}
	}
	fmt.Fprintln(w, "logs:")
	for _, n := range s.Nodes {
		for _, l := range n.Logs {
			fmt.Fprintf(w, "  %-12s %s\n", n.Name, l)
		}
	}
	return nil
}

// WriteRoutes prints routes one per line: prefix, next hop, AS_PATH,
// MED, communities, large communities, OTC, and the neighbour it came
// from.
//
// Routes read from fedrs (the route server's view) also have a VERDICT
// column: accepted, or filtered with the reasons.
func WriteRoutes(w io.Writer, routes []Route) error {
	verdicts := false
	for _, r := range routes {
		verdicts = verdicts || r.Verdict != ""
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "PREFIX\tNEXT HOP\tAS_PATH\tMED\tCOMMUNITIES\tLARGE COMMUNITIES\tOTC\tFROM"
	if verdicts {
		head += "\tVERDICT"
	}
	fmt.Fprintln(tw, head)
	for _, r := range routes {
		var cs, ls []string
		for _, c := range r.Communities {
			cs = append(cs, c.String())
		}
		for _, c := range r.LargeCommunities {
			ls = append(ls, c.String())
		}
		otc := "-"
		if r.OTC != 0 {
			otc = fmt.Sprint(r.OTC)
		}
		med := "-"
		if r.MED != nil {
			med = fmt.Sprint(*r.MED)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Prefix, r.NextHop, joinASNs(r.ASPath, " "), med,
			dash(strings.Join(cs, " ")), dash(strings.Join(ls, " ")), otc, r.From)
		if verdicts {
			line += "\t" + dash(r.Verdict)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
