package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// OpenBGPD (portable, tested with 7.7).
//
// "bgpd -d -f CONF" runs in the foreground and logs to stderr; the config
// sets its control socket ("socket PATH"), and "fib-update no" keeps it
// away from the kernel routing table. bgpd chroots to its user's home,
// /run/openbgpd, which must exist (Up creates it). bgpctl -j gives JSON.
//
// Member: eBGP checks that the first AS is the neighbour's unless
// "enforce neighbor-as no", which a transparent route server needs. The
// role is "announce policy rs-client [enforce]". Announcements are
// "network P set { ... }" with community, large-community and
// prepend-self; OpenBGPD cannot originate an arbitrary AS path. All
// updates are filtered by default: "allow from ADDR" / "allow to ADDR"
// for each route-server session ("any" on the route server).
//
// Route server: "transparent-as yes" (no AS prepend; NEXT_HOP is kept on
// a shared LAN), "rde evaluate all" (if the best path is filtered for a
// peer, the next best is sent: path-hiding safe), "announce policy rs".
type openbgpdDaemon struct{}

func (openbgpdDaemon) binaries() []string { return []string{"bgpd", "bgpctl"} }

func (openbgpdDaemon) cli(n *node) []string { return []string{"bgpctl", "-s", n.path("bgpd.sock")} }

func (openbgpdDaemon) processes(n *node) ([]procSpec, error) {
	return []procSpec{{Name: "bgpd", Argv: []string{"bgpd", "-d", "-f", n.path("bgpd.conf")}}}, nil
}

func (openbgpdDaemon) started(context.Context, *node) error { return nil }

func (openbgpdDaemon) configure(n *node) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs lab %s: %s (%s)\n", n.topo.Name, n.Name, roleWord(n))
	fmt.Fprintf(&b, "AS %d\nrouter-id %s\nfib-update no\nsocket \"%s\"\n", n.ASN, n.RouterID, n.path("bgpd.sock"))
	if n.IsRS {
		b.WriteString("transparent-as yes\nrde evaluate all\n")
	}
	b.WriteString("\n")
	if !n.IsRS {
		for _, p := range n.Member.Announce {
			fmt.Fprintf(&b, "network %s", p.Prefix)
			var sets []string
			for _, c := range p.Communities {
				sets = append(sets, "community "+c.String())
			}
			for _, c := range p.LargeCommunities {
				sets = append(sets, "large-community "+c.String())
			}
			if p.MED != nil {
				sets = append(sets, fmt.Sprintf("med %d", *p.MED))
			}
			if p.Prepend > 0 {
				sets = append(sets, fmt.Sprintf("prepend-self %d", p.Prepend))
			}
			if len(sets) > 0 {
				fmt.Fprintf(&b, " set {\n\t%s\n}", strings.Join(sets, "\n\t"))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, p := range n.Peers {
		fmt.Fprintf(&b, "neighbor %s {\n\tremote-as %d\n\tdescr \"%s\"\n\tlocal-address %s\n", p.Remote, p.RemoteASN, p.ID, p.Local)
		if p.MD5 != "" {
			fmt.Fprintf(&b, "\ttcp md5sig password %s\n", p.MD5)
		}
		if p.GTSM {
			b.WriteString("\tttl-security yes\n")
		}
		if n.IsRS {
			b.WriteString("\tannounce policy rs\n")
		} else {
			b.WriteString("\tenforce neighbor-as no\n")
			if r := n.Member.Role; r != RoleNone {
				enforce := ""
				if n.Member.RoleStrict {
					enforce = " enforce"
				}
				fmt.Fprintf(&b, "\tannounce policy %s%s\n", r, enforce)
			}
		}
		b.WriteString("}\n")
	}
	if n.IsRS {
		b.WriteString("\nallow from any\nallow to any\n")
	} else {
		b.WriteString("\n")
		for _, p := range n.Peers {
			fmt.Fprintf(&b, "allow from %s\nallow to %s\n", p.Remote, p.Remote)
		}
	}
	return n.writeFile("bgpd.conf", []byte(b.String()), 0o644)
}

func (d openbgpdDaemon) sessions(ctx context.Context, n *node) ([]Session, error) {
	out, err := runTool(ctx, "bgpctl", "-j", "-s", n.path("bgpd.sock"), "show", "neighbor")
	if err != nil {
		return nil, err
	}
	return parseBgpctlNeighbors(out)
}

func parseBgpctlNeighbors(out []byte) ([]Session, error) {
	var v struct {
		Neighbors []struct {
			RemoteAS   string `json:"remote_as"`
			RemoteAddr string `json:"remote_addr"`
			State      string `json:"state"`
			LastError  string `json:"last_error"`
		} `json:"neighbors"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("decode bgpctl show neighbor: %w", err)
	}
	var res []Session
	for _, nb := range v.Neighbors {
		a, err := netip.ParseAddr(nb.RemoteAddr)
		if err != nil {
			continue
		}
		var asn uint32
		fmt.Sscan(nb.RemoteAS, &asn)
		res = append(res, Session{Peer: a, PeerASN: asn, State: nb.State, Established: nb.State == "Established", Info: nb.LastError})
	}
	return res, nil
}

func (d openbgpdDaemon) routes(ctx context.Context, n *node) ([]Route, error) {
	out, err := runTool(ctx, "bgpctl", "-j", "-s", n.path("bgpd.sock"), "show", "rib", "detail")
	if err != nil {
		return nil, err
	}
	return parseBgpctlRIB(out)
}

func parseBgpctlRIB(out []byte) ([]Route, error) {
	var v struct {
		RIB []struct {
			Prefix      string `json:"prefix"`
			ASPath      string `json:"aspath"`
			ExitNexthop string `json:"exit_nexthop"`
			Source      string `json:"source"`
			// Metric is the MED; bgpctl prints it whether the attribute
			// is present or not (0 then).
			Metric   *uint32 `json:"metric"`
			Neighbor struct {
				RemoteAddr string `json:"remote_addr"`
			} `json:"neighbor"`
			Communities      []string `json:"communities"`
			LargeCommunities []string `json:"large_communities"`
			Attributes       []struct {
				Type string `json:"type"`
				AS   uint32 `json:"as"`
			} `json:"attributes"`
		} `json:"rib"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("decode bgpctl show rib: %w", err)
	}
	var res []Route
	for _, e := range v.RIB {
		from, err := netip.ParseAddr(e.Neighbor.RemoteAddr)
		if err != nil {
			continue // LOCAL: our own announcement
		}
		pfx, err := netip.ParsePrefix(e.Prefix)
		if err != nil {
			continue
		}
		r := Route{Prefix: pfx, From: from, ASPath: parseASNs(e.ASPath), MED: e.Metric}
		r.NextHop, _ = netip.ParseAddr(e.ExitNexthop)
		for _, c := range e.Communities {
			if x, err := ParseCommunity(c); err == nil {
				r.Communities = append(r.Communities, x)
			}
		}
		for _, c := range e.LargeCommunities {
			if x, err := ParseLargeCommunity(c); err == nil {
				r.LargeCommunities = append(r.LargeCommunities, x)
			}
		}
		for _, a := range e.Attributes {
			if a.Type == "OTC" {
				r.OTC = a.AS
			}
		}
		res = append(res, r)
	}
	return res, nil
}
