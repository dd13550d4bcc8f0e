package lab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// BIRD 2 (tested with 2.0.12).
//
// Member: one "bgp" protocol per session to the route server, a "static"
// protocol per family holding the announcements (as blackhole routes: the
// lab does not forward traffic), attributes set in the static route's
// filter block. BIRD does not check that the first AS is the neighbour's
// ("enforce first as" is off by default), which a transparent route
// server needs. "local role rs_client" announces the RFC 9234 role.
//
// Route server: "rs client" on every session (no AS prepend, next hop
// kept). By default every member has its own pair of tables joined to
// master4/master6 by pipes; BIRD 2 pipes carry every route, not only the
// best, so the best route is chosen per member among the routes exported
// to it, which is the path-hiding safe layout. single_table puts every
// session on master4/master6 instead (fast, but not path-hiding safe once
// export filters differ per member).
type birdDaemon struct{}

func (birdDaemon) binaries() []string { return []string{"bird", "birdc"} }

func (birdDaemon) cli(n *node) []string { return []string{"birdc", "-s", n.path("bird.ctl")} }

func (birdDaemon) processes(n *node) ([]procSpec, error) {
	return []procSpec{{Name: "bird", Argv: []string{"bird", "-f", "-c", n.path("bird.conf"), "-s", n.path("bird.ctl"), "-P", n.path("bird.pid")}}}, nil
}

func (birdDaemon) started(context.Context, *node) error { return nil }

func (birdDaemon) configure(n *node) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs lab %s: %s (%s)\n", n.topo.Name, n.Name, roleWord(n))
	fmt.Fprintf(&b, "router id %s;\n", n.RouterID)
	b.WriteString("log stderr all;\n")
	b.WriteString("protocol device {}\n\n")
	if n.IsRS {
		birdRS(&b, n)
	} else {
		birdMember(&b, n)
	}
	return n.writeFile("bird.conf", []byte(b.String()), 0o644)
}

func roleWord(n *node) string {
	if n.IsRS {
		return "route server"
	}
	return "member"
}

func birdSessionCommon(b *strings.Builder, n *node, p peer) {
	fmt.Fprintf(b, "\tlocal %s as %d;\n", p.Local, n.ASN)
	fmt.Fprintf(b, "\tneighbor %s as %d;\n", p.Remote, p.RemoteASN)
	b.WriteString("\tconnect delay time 1;\n\tconnect retry time 5;\n\terror wait time 2, 30;\n")
	if p.MD5 != "" {
		fmt.Fprintf(b, "\tpassword \"%s\";\n", p.MD5)
	}
	if p.GTSM {
		b.WriteString("\tttl security yes;\n")
	}
}

func birdMember(b *strings.Builder, n *node) {
	for _, f := range []string{FamilyIPv4, FamilyIPv6} {
		ann := n.announce(f)
		if len(ann) == 0 {
			continue
		}
		fmt.Fprintf(b, "protocol static own_%s {\n\t%s;\n", f[2:], f)
		for _, p := range ann {
			fmt.Fprintf(b, "\troute %s blackhole", p.Prefix)
			var attrs []string
			for _, c := range p.Communities {
				attrs = append(attrs, fmt.Sprintf("bgp_community.add((%d,%d));", c.ASN, c.Value))
			}
			for _, c := range p.LargeCommunities {
				attrs = append(attrs, fmt.Sprintf("bgp_large_community.add((%d,%d,%d));", c.Global, c.Local1, c.Local2))
			}
			if p.OTC != 0 {
				attrs = append(attrs, fmt.Sprintf("bgp_otc = %d;", p.OTC))
			}
			// BGP export prepends our ASN once; build the rest right to left.
			path := p.WireASPath(n.ASN)[1:]
			for i := len(path) - 1; i >= 0; i-- {
				attrs = append(attrs, fmt.Sprintf("bgp_path.prepend(%d);", path[i]))
			}
			if len(attrs) > 0 {
				fmt.Fprintf(b, " {\n\t\t%s\n\t}", strings.Join(attrs, "\n\t\t"))
			}
			b.WriteString(";\n")
		}
		b.WriteString("}\n\n")
	}
	for _, p := range n.Peers {
		fmt.Fprintf(b, "protocol bgp %s {\n", p.ID)
		fmt.Fprintf(b, "\tdescription \"route server %s\";\n", p.Family)
		birdSessionCommon(b, n, p)
		if r := n.Member.Role; r != RoleNone {
			fmt.Fprintf(b, "\tlocal role %s;\n", birdRole(r))
			if n.Member.RoleStrict {
				b.WriteString("\trequire roles;\n")
			}
		}
		fmt.Fprintf(b, "\t%s {\n\t\timport all;\n", p.Family)
		birdExport(b, p.Family, n.announce(p.Family))
		b.WriteString("\t};\n}\n\n")
	}
}

// birdExport writes a member session's export: its own static routes.
// BIRD sends MED to an eBGP neighbour only when the export filter set it
// (an attribute of the static route itself is dropped), so announcements
// with a MED get it there.
func birdExport(b *strings.Builder, family string, ann []Prefix) {
	var meds []string
	for _, p := range ann {
		if p.MED != nil {
			meds = append(meds, fmt.Sprintf("\t\t\tif net = %s then bgp_med = %d;\n", p.Prefix, *p.MED))
		}
	}
	if len(meds) == 0 {
		fmt.Fprintf(b, "\t\texport where proto = \"own_%s\";\n", family[2:])
		return
	}
	fmt.Fprintf(b, "\t\texport filter {\n\t\t\tif proto != \"own_%s\" then reject;\n%s\t\t\taccept;\n\t\t};\n", family[2:], strings.Join(meds, ""))
}

func birdRole(r string) string {
	switch r {
	case RoleRSClient:
		return "rs_client"
	case RoleRS:
		return "rs_server"
	}
	return r
}

func birdRS(b *strings.Builder, n *node) {
	single := n.topo.RouteServer.SingleTable
	for _, p := range n.Peers {
		v := p.Family[2:] // "v4" / "v6"
		table := "master" + v[1:]
		if !single {
			table = fmt.Sprintf("t%s_%s", v[1:], ident(p.Node))
			fmt.Fprintf(b, "%s table %s;\n", p.Family, table)
			fmt.Fprintf(b, "protocol pipe p%s_%s {\n\ttable master%s;\n\tpeer table %s;\n\timport all;\n\texport all;\n}\n",
				v[1:], ident(p.Node), v[1:], table)
		}
		fmt.Fprintf(b, "protocol bgp %s {\n", p.ID)
		fmt.Fprintf(b, "\tdescription \"member %s\";\n", p.Node)
		birdSessionCommon(b, n, p)
		b.WriteString("\trs client;\n\tlocal role rs_server;\n")
		fmt.Fprintf(b, "\t%s {\n\t\ttable %s;\n\t\timport all;\n\t\texport all;\n\t};\n}\n\n", p.Family, table)
	}
}

func (birdDaemon) sessions(ctx context.Context, n *node) ([]Session, error) {
	out, err := runTool(ctx, "birdc", "-s", n.path("bird.ctl"), "show", "protocols")
	if err != nil {
		return nil, err
	}
	return parseBirdProtocols(string(out), n), nil
}

// parseBirdProtocols reads "show protocols" for the node's BGP sessions.
func parseBirdProtocols(out string, n *node) []Session {
	var res []Session
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != "BGP" {
			continue
		}
		p, ok := n.peerByID(f[0])
		if !ok {
			continue
		}
		s := Session{Peer: p.Remote, PeerASN: p.RemoteASN, State: f[3]}
		if len(f) > 5 {
			s.State = f[5]
			s.Info = strings.Join(f[6:], " ")
		}
		s.Established = s.State == "Established"
		res = append(res, s)
	}
	return res
}

func (birdDaemon) routes(ctx context.Context, n *node) ([]Route, error) {
	out, err := runTool(ctx, "birdc", "-s", n.path("bird.ctl"), "show", "route", "all")
	if err != nil {
		return nil, err
	}
	var res []Route
	for _, r := range parseBirdRoutes(string(out)) {
		p, ok := n.peerByID(r.proto)
		if !ok {
			continue // our own static routes, or another table's pipe
		}
		r.Route.From = p.Remote
		res = append(res, r.Route)
	}
	return res, nil
}

type birdRoute struct {
	Route
	proto string
}

// birdRouteHead matches the first line of a route in "show route all":
// "PREFIX  TYPE [PROTO TIME] ..." (PREFIX is blank for a further route of
// the same prefix).
var birdRouteHead = regexp.MustCompile(`^(\S*)\s+(unicast|blackhole|unreachable|prohibit)\s+\[(\S+)`)

func parseBirdRoutes(out string) []birdRoute {
	var res []birdRoute
	var prefix netip.Prefix
	var cur *birdRoute
	flush := func() {
		if cur != nil && cur.Prefix.IsValid() {
			res = append(res, *cur)
		}
		cur = nil
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Table ") || strings.HasPrefix(line, "BIRD ") {
			flush()
			continue
		}
		if m := birdRouteHead.FindStringSubmatch(line); m != nil {
			flush()
			if m[1] != "" {
				prefix, _ = netip.ParsePrefix(m[1])
			}
			cur = &birdRoute{Route: Route{Prefix: prefix}, proto: m[3]}
			continue
		}
		if cur == nil {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch key {
		case "BGP.as_path":
			cur.ASPath = parseASNs(val)
		case "BGP.next_hop":
			if f := strings.Fields(val); len(f) > 0 {
				cur.NextHop, _ = netip.ParseAddr(f[0])
			}
		case "BGP.community":
			for _, t := range birdTuples(val) {
				if c, err := ParseCommunity(strings.Join(t, ":")); err == nil {
					cur.Communities = append(cur.Communities, c)
				}
			}
		case "BGP.large_community":
			for _, t := range birdTuples(val) {
				if c, err := ParseLargeCommunity(strings.Join(t, ":")); err == nil {
					cur.LargeCommunities = append(cur.LargeCommunities, c)
				}
			}
		case "BGP.med":
			if v, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32); err == nil {
				med := uint32(v)
				cur.MED = &med
			}
		case "BGP.otc":
			v, _ := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
			cur.OTC = uint32(v)
		}
	}
	flush()
	return res
}

// birdTuples splits "(1,2) (3, 4, 5)" into [["1","2"] ["3","4","5"]].
func birdTuples(s string) [][]string {
	var out [][]string
	for _, part := range strings.Split(s, "(") {
		part, _, ok := strings.Cut(part, ")")
		if !ok {
			continue
		}
		var t []string
		for _, x := range strings.Split(part, ",") {
			t = append(t, strings.TrimSpace(x))
		}
		out = append(out, t)
	}
	return out
}

// parseASNs reads the ASNs of a path printed as "65001 65002 {65003 65004}"
// or "[65001, 65002]" (anything but digits separates; set brackets are
// dropped: the lab compares sequences).
func parseASNs(s string) []uint32 {
	var out []uint32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		if v, err := strconv.ParseUint(f, 10, 32); err == nil {
			out = append(out, uint32(v))
		}
	}
	return out
}
