package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

// FRR (tested with 8.4.4), member only.
//
// zebra and bgpd run in the member's namespace, every path moved into the
// node directory so that instances never share /etc/frr or /var/run/frr:
//
//	/usr/lib/frr/zebra -f zebra.conf -i zebra.pid -z zserv.api --vty_socket DIR -P 0 -u frr -g frr
//	/usr/lib/frr/bgpd  -f bgpd.conf  -i bgpd.pid  -z zserv.api --vty_socket DIR -P 0 -n -S -u root -g root
//
// bgpd alone (-Z, no zebra) establishes sessions, but it then knows no
// interfaces and withdraws every IPv6 route whose next hop carries a
// link-local address ("sent a v6 LL next-hop and there's no peer
// interface information"), which BIRD and FRR members send and a
// transparent route server passes on; so zebra runs too, and bgpd starts
// once zebra's socket exists. -n keeps bgpd's routes out of the kernel.
// zebra refuses to run as root unless root is in the frrvty group, so it
// runs as frr (the node directory is handed to frr, and the run directory
// must be traversable by it); bgpd runs as root (-S skips its user switch,
// so it reads the node directory whoever owns it). -P 0 turns off the TCP
// vty. vtysh talks to bgpd with "vtysh --vty_socket DIR
// -d bgpd". "no bgp network import-check" lets "network" statements
// originate prefixes that are in no RIB. FRR 8 also refuses to exchange
// eBGP routes without a policy unless "no bgp ebgp-requires-policy", and
// checks the first AS of eBGP routes unless "no neighbor X
// enforce-first-as": a transparent route server needs both off. The role
// is "neighbor X local-role rs-client [strict-mode]".
type frrDaemon struct{}

const (
	frrBgpd  = "/usr/lib/frr/bgpd"
	frrZebra = "/usr/lib/frr/zebra"
)

func (frrDaemon) binaries() []string { return []string{frrZebra, frrBgpd, "vtysh"} }

func (frrDaemon) cli(n *node) []string {
	return []string{"vtysh", "--vty_socket", n.Dir, "-d", "bgpd"}
}

func (frrDaemon) processes(n *node) ([]procSpec, error) {
	zsock := n.path("zserv.api")
	return []procSpec{
		{Name: "zebra", Argv: []string{frrZebra, "-f", n.path("zebra.conf"), "-i", n.path("zebra.pid"),
			"-z", zsock, "--vty_socket", n.Dir, "-P", "0", "-u", "frr", "-g", "frr"},
			ReadyFile: zsock},
		{Name: "bgpd", Argv: []string{frrBgpd, "-f", n.path("bgpd.conf"), "-i", n.path("bgpd.pid"),
			"-z", zsock, "--vty_socket", n.Dir, "-P", "0", "-n", "-S", "-u", "root", "-g", "root"}},
	}, nil
}

// started waits until bgpd answers vtysh, then fails if bgpd rejected a
// line of its config: FRR logs "No such command on config line N" and
// carries on without it (its -C dry run even exits 0).
func (d frrDaemon) started(ctx context.Context, n *node) error {
	err := Poll(ctx, "bgpd answering vtysh", 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		_, err := d.vtysh(ctx, n, "show bgp summary json")
		return err == nil, "not answering", err
	})
	if err != nil {
		return err
	}
	return frrConfigErrors(n.path("bgpd.log"), n.path("zebra.log"))
}

// frrConfigErrors returns the config lines FRR reported as rejected.
func frrConfigErrors(logs ...string) error {
	var bad []string
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "No such command on config line") || strings.Contains(line, "Unknown command") {
				bad = append(bad, strings.TrimSpace(line))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("FRR rejected config lines:\n%s", strings.Join(bad, "\n"))
	}
	return nil
}

func (frrDaemon) configure(n *node) error {
	if n.IsRS {
		return fmt.Errorf("frr is not supported as the route server")
	}
	if n.out == "" { // in place: zebra (as frr) writes into the directory
		if err := chownToUser(n.Dir, "frr"); err != nil {
			return err
		}
	}
	zebra := fmt.Sprintf("! fedrs lab %s: %s (member)\nhostname %s\nlog stdout informational\n", n.topo.Name, n.Name, n.Name)
	if err := n.writeFile("zebra.conf", []byte(zebra), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "! fedrs lab %s: %s (member)\nfrr defaults traditional\nhostname %s\nlog stdout informational\n!\n", n.topo.Name, n.Name, n.Name)
	type rm struct {
		name string
		sets []string
	}
	var maps []rm
	nets := map[string][]string{}
	for i, p := range n.Member.Announce {
		var sets []string
		if len(p.Communities) > 0 {
			var cs []string
			for _, c := range p.Communities {
				cs = append(cs, c.String())
			}
			sets = append(sets, "set community "+strings.Join(cs, " ")+" additive")
		}
		if len(p.LargeCommunities) > 0 {
			var cs []string
			for _, c := range p.LargeCommunities {
				cs = append(cs, c.String())
			}
			sets = append(sets, "set large-community "+strings.Join(cs, " ")+" additive")
		}
		if path := p.WireASPath(n.ASN)[1:]; len(path) > 0 {
			sets = append(sets, "set as-path prepend "+joinASNs(path, " "))
		}
		if p.MED != nil {
			sets = append(sets, fmt.Sprintf("set metric %d", *p.MED))
		}
		line := "network " + p.Prefix.String()
		if len(sets) > 0 {
			name := fmt.Sprintf("ANNOUNCE_%d", i+1)
			maps = append(maps, rm{name, sets})
			line += " route-map " + name
		}
		nets[p.Family()] = append(nets[p.Family()], line)
	}
	for _, m := range maps {
		fmt.Fprintf(&b, "route-map %s permit 10\n", m.name)
		for _, s := range m.sets {
			fmt.Fprintf(&b, " %s\n", s)
		}
		b.WriteString("exit\n!\n")
	}
	fmt.Fprintf(&b, "router bgp %d\n bgp router-id %s\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n", n.ASN, n.RouterID)
	for _, p := range n.Peers {
		fmt.Fprintf(&b, " neighbor %s remote-as %d\n", p.Remote, p.RemoteASN)
		fmt.Fprintf(&b, " neighbor %s description route server %s\n", p.Remote, p.Family)
		fmt.Fprintf(&b, " neighbor %s update-source %s\n", p.Remote, p.Local)
		fmt.Fprintf(&b, " neighbor %s timers connect 5\n", p.Remote)
		fmt.Fprintf(&b, " no neighbor %s enforce-first-as\n", p.Remote)
		if p.MD5 != "" {
			fmt.Fprintf(&b, " neighbor %s password %s\n", p.Remote, p.MD5)
		}
		if p.GTSM {
			fmt.Fprintf(&b, " neighbor %s ttl-security hops 1\n", p.Remote)
		}
		if r := n.Member.Role; r != RoleNone {
			strict := ""
			if n.Member.RoleStrict {
				strict = " strict-mode"
			}
			fmt.Fprintf(&b, " neighbor %s local-role %s%s\n", p.Remote, frrRole(r), strict)
		}
	}
	for _, f := range []string{FamilyIPv4, FamilyIPv6} {
		if !n.hasFamily(f) {
			continue
		}
		fmt.Fprintf(&b, " !\n address-family %s unicast\n", f)
		for _, line := range nets[f] {
			fmt.Fprintf(&b, "  %s\n", line)
		}
		for _, p := range n.Peers {
			if p.Family == f {
				fmt.Fprintf(&b, "  neighbor %s activate\n", p.Remote)
			}
		}
		b.WriteString(" exit-address-family\n")
	}
	b.WriteString("exit\n!\n")
	return n.writeFile("bgpd.conf", []byte(b.String()), 0o644)
}

func frrRole(r string) string {
	if r == RoleRS {
		return "rs-server"
	}
	return r
}

func joinASNs(path []uint32, sep string) string {
	s := make([]string, len(path))
	for i, a := range path {
		s[i] = fmt.Sprint(a)
	}
	return strings.Join(s, sep)
}

func (d frrDaemon) vtysh(ctx context.Context, n *node, cmds ...string) ([]byte, error) {
	argv := d.cli(n)
	for _, c := range cmds {
		argv = append(argv, "-c", c)
	}
	return runTool(ctx, argv...)
}

func (d frrDaemon) sessions(ctx context.Context, n *node) ([]Session, error) {
	out, err := d.vtysh(ctx, n, "show bgp neighbors json")
	if err != nil {
		return nil, err
	}
	return parseFRRNeighbors(out)
}

func parseFRRNeighbors(out []byte) ([]Session, error) {
	var nb map[string]struct {
		RemoteAs   uint32 `json:"remoteAs"`
		BgpState   string `json:"bgpState"`
		LocalRole  string `json:"localRole"`
		RemoteRole string `json:"remoteRole"`
		LastReset  string `json:"lastResetDueTo"`
	}
	if err := json.Unmarshal(out, &nb); err != nil {
		return nil, fmt.Errorf("decode show bgp neighbors json: %w", err)
	}
	var res []Session
	for addr, v := range nb {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			continue
		}
		s := Session{Peer: a, PeerASN: v.RemoteAs, State: v.BgpState, Established: v.BgpState == "Established"}
		var info []string
		if v.RemoteRole != "" {
			info = append(info, "role "+v.LocalRole+"/"+v.RemoteRole)
		}
		if v.LastReset != "" {
			info = append(info, "last reset: "+v.LastReset)
		}
		s.Info = strings.Join(info, "; ")
		res = append(res, s)
	}
	return res, nil
}

// FRR 8.4's table JSON has no communities, so routes() lists the table,
// then asks for the received prefixes one by one (batched into few vtysh
// calls) and decodes the stream of JSON objects.
func (d frrDaemon) routes(ctx context.Context, n *node) ([]Route, error) {
	var res []Route
	for _, f := range []string{FamilyIPv4, FamilyIPv6} {
		if !n.hasFamily(f) {
			continue
		}
		out, err := d.vtysh(ctx, n, "show bgp "+f+" unicast json")
		if err != nil {
			return nil, err
		}
		var table struct {
			Routes map[string][]struct {
				PeerID string `json:"peerId"`
			} `json:"routes"`
		}
		if err := json.Unmarshal(out, &table); err != nil {
			return nil, fmt.Errorf("decode show bgp %s unicast json: %w", f, err)
		}
		var cmds []string
		for pfx, paths := range table.Routes {
			for _, p := range paths {
				if a, err := netip.ParseAddr(p.PeerID); err == nil && !a.IsUnspecified() {
					cmds = append(cmds, "show bgp "+f+" unicast "+pfx+" json")
					break
				}
			}
		}
		for len(cmds) > 0 {
			batch := cmds[:min(len(cmds), 200)]
			cmds = cmds[len(batch):]
			out, err := d.vtysh(ctx, n, batch...)
			if err != nil {
				return nil, err
			}
			r, err := parseFRRPrefixes(out)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if _, ok := n.peerByAddr(x.From); ok {
					res = append(res, x)
				}
			}
		}
	}
	return res, nil
}

type frrPrefix struct {
	Prefix string `json:"prefix"`
	Paths  []struct {
		ASPath struct {
			Segments []struct {
				List []uint32 `json:"list"`
			} `json:"segments"`
		} `json:"aspath"`
		OTC uint32 `json:"otc"`
		// MED: FRR prints "metric" only when the attribute is present.
		MED       *uint32 `json:"metric"`
		Community struct {
			List []string `json:"list"`
		} `json:"community"`
		LargeCommunity struct {
			List []string `json:"list"`
		} `json:"largeCommunity"`
		Nexthops []struct {
			IP string `json:"ip"`
		} `json:"nexthops"`
		Peer struct {
			PeerID string `json:"peerId"`
		} `json:"peer"`
	} `json:"paths"`
}

func parseFRRPrefixes(out []byte) ([]Route, error) {
	var res []Route
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p frrPrefix
		err := dec.Decode(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode FRR prefix JSON: %w", err)
		}
		pfx, err := netip.ParsePrefix(p.Prefix)
		if err != nil {
			continue
		}
		for _, path := range p.Paths {
			from, err := netip.ParseAddr(path.Peer.PeerID)
			if err != nil || from.IsUnspecified() {
				continue // locally originated (peer 0.0.0.0)
			}
			r := Route{Prefix: pfx, From: from, OTC: path.OTC, MED: path.MED}
			for _, s := range path.ASPath.Segments {
				r.ASPath = append(r.ASPath, s.List...)
			}
			if len(path.Nexthops) > 0 {
				r.NextHop, _ = netip.ParseAddr(path.Nexthops[0].IP)
			}
			for _, c := range path.Community.List {
				if v, err := ParseCommunity(c); err == nil {
					r.Communities = append(r.Communities, v)
				}
			}
			for _, c := range path.LargeCommunity.List {
				if v, err := ParseLargeCommunity(c); err == nil {
					r.LargeCommunities = append(r.LargeCommunities, v)
				}
			}
			res = append(res, r)
		}
	}
	return res, nil
}
