package lab

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// GoBGP (gobgpd, tested with 3.10).
//
// gobgpd runs in the foreground with its gRPC API on a unix socket in the
// node directory ("--api-hosts unix://PATH", the gobgp CLI then takes
// "--target unix://PATH"), pprof off. Its config file cannot originate
// routes, so started() adds the announcements through the API ("gobgp
// global rib add ... aspath ... community ... large-community ...");
// gobgpd prepends its own ASN on eBGP export, like a router would. It
// does not check the first AS of received routes. gobgpd 3.10 does not
// implement the BGP role capability (RFC 9234): it neither sends it nor
// understands it, so role settings are refused for gobgp members.
//
// Route server: "route-server-client = true" on each neighbor, which in
// gobgpd gives every client its own local RIB (path-hiding safe), no AS
// prepend and the NEXT_HOP kept.
type gobgpDaemon struct{}

func (gobgpDaemon) binaries() []string { return []string{"gobgpd", "gobgp"} }

func (gobgpDaemon) sock(n *node) string { return "unix://" + n.path("gobgp.sock") }

func (d gobgpDaemon) cli(n *node) []string { return []string{"gobgp", "--target", d.sock(n)} }

func (d gobgpDaemon) processes(n *node) ([]procSpec, error) {
	return []procSpec{{Name: "gobgpd", Argv: []string{"gobgpd", "-f", n.path("gobgpd.toml"), "-t", "toml", "-p", "-l", "info",
		"--api-hosts", d.sock(n), "--pprof-disable"}}}, nil
}

func (gobgpDaemon) configure(n *node) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs lab %s: %s (%s)\n", n.topo.Name, n.Name, roleWord(n))
	fmt.Fprintf(&b, "[global.config]\n  as = %d\n  router-id = %q\n  port = 179\n", n.ASN, n.RouterID.String())
	for _, p := range n.Peers {
		fmt.Fprintf(&b, "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = %q\n    peer-as = %d\n    description = %q\n",
			p.Remote.String(), p.RemoteASN, p.ID)
		if p.MD5 != "" {
			fmt.Fprintf(&b, "    auth-password = %q\n", p.MD5)
		}
		fmt.Fprintf(&b, "  [neighbors.transport.config]\n    local-address = %q\n", p.Local.String())
		b.WriteString("  [neighbors.timers.config]\n    connect-retry = 5\n")
		if p.GTSM {
			b.WriteString("  [neighbors.ttl-security.config]\n    enabled = true\n    ttl-min = 255\n")
		}
		if n.IsRS {
			b.WriteString("  [neighbors.route-server.config]\n    route-server-client = true\n")
		}
		fmt.Fprintf(&b, "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"%s-unicast\"\n", p.Family)
	}
	return n.writeFile("gobgpd.toml", []byte(b.String()), 0o644)
}

func (d gobgpDaemon) gobgp(ctx context.Context, n *node, args ...string) ([]byte, error) {
	return runTool(ctx, append(d.cli(n), args...)...)
}

// started waits for the API, then adds the member's announcements.
func (d gobgpDaemon) started(ctx context.Context, n *node) error {
	err := Poll(ctx, "gobgpd API", 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		_, err := d.gobgp(ctx, n, "global")
		return err == nil, "not answering", err
	})
	if err != nil {
		return err
	}
	for _, args := range gobgpAnnouncements(n) {
		if _, err := d.gobgp(ctx, n, args...); err != nil {
			return fmt.Errorf("announce %s: %w", args[5], err)
		}
	}
	return nil
}

// gobgpAnnouncements returns the gobgp CLI arguments (after --target) that
// add a member's announcements: "global rib add -a FAMILY PREFIX ...".
func gobgpAnnouncements(n *node) [][]string {
	if n.Member == nil {
		return nil
	}
	var out [][]string
	for _, p := range n.Member.Announce {
		args := []string{"global", "rib", "add", "-a", p.Family(), p.Prefix.String(), "origin", "igp"}
		if path := p.WireASPath(n.ASN)[1:]; len(path) > 0 {
			args = append(args, "aspath", joinASNs(path, ","))
		}
		if p.MED != nil {
			args = append(args, "med", fmt.Sprint(*p.MED))
		}
		if len(p.Communities) > 0 {
			var cs []string
			for _, c := range p.Communities {
				cs = append(cs, c.String())
			}
			args = append(args, "community", strings.Join(cs, ","))
		}
		if len(p.LargeCommunities) > 0 {
			var cs []string
			for _, c := range p.LargeCommunities {
				cs = append(cs, c.String())
			}
			args = append(args, "large-community", strings.Join(cs, ","))
		}
		out = append(out, args)
	}
	return out
}

// gobgp session states (api.PeerState_SessionState).
var gobgpStates = map[int]string{0: "Unknown", 1: "Idle", 2: "Connect", 3: "Active", 4: "OpenSent", 5: "OpenConfirm", 6: "Established"}

func (d gobgpDaemon) sessions(ctx context.Context, n *node) ([]Session, error) {
	out, err := d.gobgp(ctx, n, "neighbor", "-j")
	if err != nil {
		return nil, err
	}
	return parseGoBGPNeighbors(out)
}

func parseGoBGPNeighbors(out []byte) ([]Session, error) {
	var peers []struct {
		Conf struct {
			NeighborAddress string `json:"neighbor_address"`
			PeerASN         uint32 `json:"peer_asn"`
		} `json:"conf"`
		State struct {
			SessionState int `json:"session_state"`
		} `json:"state"`
	}
	if err := json.Unmarshal(out, &peers); err != nil {
		return nil, fmt.Errorf("decode gobgp neighbor -j: %w", err)
	}
	var res []Session
	for _, p := range peers {
		a, err := netip.ParseAddr(p.Conf.NeighborAddress)
		if err != nil {
			continue
		}
		st := gobgpStates[p.State.SessionState]
		res = append(res, Session{Peer: a, PeerASN: p.Conf.PeerASN, State: st, Established: p.State.SessionState == 6})
	}
	return res, nil
}

// routes reads each session's Adj-RIB-In: what the neighbour sent.
func (d gobgpDaemon) routes(ctx context.Context, n *node) ([]Route, error) {
	sess, err := d.sessions(ctx, n)
	if err != nil {
		return nil, err
	}
	var res []Route
	for _, p := range n.Peers {
		up := false
		for _, s := range sess {
			up = up || (s.Peer == p.Remote && s.Established)
		}
		if !up {
			continue // gobgp refuses adj-in for a session that is not established
		}
		out, err := d.gobgp(ctx, n, "neighbor", p.Remote.String(), "adj-in", "-a", p.Family, "-j")
		if err != nil {
			return nil, err
		}
		r, err := parseGoBGPRib(out, p.Remote)
		if err != nil {
			return nil, err
		}
		res = append(res, r...)
	}
	return res, nil
}

func parseGoBGPRib(out []byte, from netip.Addr) ([]Route, error) {
	var rib map[string][]struct {
		Attrs []json.RawMessage `json:"attrs"`
	}
	if err := json.Unmarshal(out, &rib); err != nil {
		return nil, fmt.Errorf("decode gobgp rib JSON: %w", err)
	}
	var res []Route
	for pfx, paths := range rib {
		prefix, err := netip.ParsePrefix(pfx)
		if err != nil {
			continue
		}
		for _, path := range paths {
			r := Route{Prefix: prefix, From: from}
			for _, raw := range path.Attrs {
				if err := gobgpAttr(raw, &r); err != nil {
					return nil, fmt.Errorf("%s: %w", pfx, err)
				}
			}
			res = append(res, r)
		}
	}
	return res, nil
}

func gobgpAttr(raw json.RawMessage, r *Route) error {
	var a struct {
		Type        int                       `json:"type"`
		ASPaths     []struct{ ASNs []uint32 } `json:"as_paths"`
		Nexthop     string                    `json:"nexthop"`
		Communities []uint32                  `json:"communities"`
		Metric      uint32                    `json:"metric"`
		Value       json.RawMessage           `json:"value"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	switch a.Type {
	case 2: // AS_PATH
		for _, s := range a.ASPaths {
			r.ASPath = append(r.ASPath, s.ASNs...)
		}
	case 3, 14: // NEXT_HOP, MP_REACH_NLRI
		if nh, err := netip.ParseAddr(a.Nexthop); err == nil {
			r.NextHop = nh
		}
	case 4: // MULTI_EXIT_DISC
		med := a.Metric
		r.MED = &med
	case 8: // COMMUNITIES
		for _, c := range a.Communities {
			r.Communities = append(r.Communities, CommunityFromUint32(c))
		}
	case 32: // LARGE_COMMUNITY
		var lc []struct{ ASN, LocalData1, LocalData2 uint32 }
		if err := json.Unmarshal(a.Value, &lc); err != nil {
			return fmt.Errorf("large communities: %w", err)
		}
		for _, c := range lc {
			r.LargeCommunities = append(r.LargeCommunities, LargeCommunity{c.ASN, c.LocalData1, c.LocalData2})
		}
	case 35: // OTC: unknown to gobgp 3.10, so raw bytes (base64 in JSON)
		var s string
		if json.Unmarshal(a.Value, &s) == nil {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 4 {
				r.OTC = binary.BigEndian.Uint32(b)
			}
		} else {
			var v uint32
			if json.Unmarshal(a.Value, &v) == nil {
				r.OTC = v
			}
		}
	}
	return nil
}
