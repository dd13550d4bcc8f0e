package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ExaBGP (tested with 4.2.21), member only.
//
// exabgp runs in the foreground with settings from the environment:
// exabgp.daemon.user=root (it would otherwise drop to an account that
// cannot write the run directory), exabgp.api.cli=false (no named pipes
// in /run/exabgp), logs to stdout. It has no query interface, so the
// config runs a helper process that appends every JSON message exabgp
// sends it (neighbor state changes and parsed received updates) to
// received.jsonl; sessions() and routes() replay that file. The helper
// must keep its stdout (a pipe to exabgp) open, or exabgp considers it
// dead and, after five respawns, exits: so it is "sh -c 'cat >> FILE'"
// with cat redirected, not the shell.
//
// Announcements are "static" routes with next-hop self. When a route has
// an explicit as-path, exabgp sends it as given, without prepending its
// own ASN, so the lab always writes the full wire path. exabgp 4.2 has no
// BGP role capability and no first-AS check.
type exabgpDaemon struct{}

func (exabgpDaemon) binaries() []string { return []string{"exabgp"} }

func (exabgpDaemon) cli(*node) []string { return nil }

func (exabgpDaemon) processes(n *node) ([]procSpec, error) {
	env := []string{
		"exabgp.daemon.user=root",
		"exabgp.daemon.daemonize=false",
		"exabgp.api.cli=false",
		"exabgp.log.destination=stdout",
		"exabgp.log.level=INFO",
	}
	return []procSpec{{Name: "exabgp", Argv: []string{"exabgp", n.path("exabgp.conf")}, Env: env}}, nil
}

func (exabgpDaemon) started(context.Context, *node) error { return nil }

func (exabgpDaemon) configure(n *node) error {
	if n.IsRS {
		return errors.New("exabgp is not supported as the route server")
	}
	helper := "#!/bin/sh\n# Appends exabgp's JSON messages to received.jsonl; the shell keeps\n# exabgp's pipe open.\ncat >> '" + n.path("received.jsonl") + "'\n"
	if err := n.writeFile("receive.sh", []byte(helper), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs lab %s: %s (member)\n", n.topo.Name, n.Name)
	fmt.Fprintf(&b, "process receive {\n\trun %s;\n\tencoder json;\n}\n\n", n.path("receive.sh"))
	for _, p := range n.Peers {
		fmt.Fprintf(&b, "neighbor %s {\n", p.Remote)
		fmt.Fprintf(&b, "\tdescription \"%s\";\n\trouter-id %s;\n\tlocal-address %s;\n\tlocal-as %d;\n\tpeer-as %d;\n",
			p.ID, n.RouterID, p.Local, n.ASN, p.RemoteASN)
		if p.MD5 != "" {
			fmt.Fprintf(&b, "\tmd5-password \"%s\";\n", p.MD5)
		}
		fmt.Fprintf(&b, "\tfamily {\n\t\t%s unicast;\n\t}\n", p.Family)
		b.WriteString("\tapi {\n\t\tprocesses [ receive ];\n\t\treceive {\n\t\t\tparsed;\n\t\t\tupdate;\n\t\t}\n\t\tneighbor-changes;\n\t}\n")
		if ann := n.announce(p.Family); len(ann) > 0 {
			b.WriteString("\tstatic {\n")
			for _, a := range ann {
				fmt.Fprintf(&b, "\t\troute %s next-hop self as-path [ %s ]", a.Prefix, joinASNs(a.WireASPath(n.ASN), " "))
				if a.MED != nil {
					fmt.Fprintf(&b, " med %d", *a.MED)
				}
				if len(a.Communities) > 0 {
					var cs []string
					for _, c := range a.Communities {
						cs = append(cs, c.String())
					}
					fmt.Fprintf(&b, " community [ %s ]", strings.Join(cs, " "))
				}
				if len(a.LargeCommunities) > 0 {
					var cs []string
					for _, c := range a.LargeCommunities {
						cs = append(cs, c.String())
					}
					fmt.Fprintf(&b, " large-community [ %s ]", strings.Join(cs, " "))
				}
				if a.OTC != 0 { // unknown to exabgp 4.2: a generic optional transitive attribute
					fmt.Fprintf(&b, " attribute [ 0x23 0xc0 0x%08x ]", a.OTC)
				}
				b.WriteString(";\n")
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n\n")
	}
	return n.writeFile("exabgp.conf", []byte(b.String()), 0o644)
}

// exaMessage is the part of exabgp's JSON API messages the lab reads.
type exaMessage struct {
	Type     string `json:"type"`
	Neighbor struct {
		Address struct {
			Peer string `json:"peer"`
		} `json:"address"`
		ASN struct {
			Peer uint32 `json:"peer"`
		} `json:"asn"`
		State   string `json:"state"`
		Message struct {
			Update struct {
				Attribute map[string]json.RawMessage `json:"attribute"`
				// family -> next hop -> [{nlri}]
				Announce map[string]map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"announce"`
				// family -> [{nlri}]
				Withdraw map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"withdraw"`
			} `json:"update"`
		} `json:"message"`
	} `json:"neighbor"`
}

// exaReplay rebuilds session states and received routes from the file.
func exaReplay(path string) (map[netip.Addr]Session, map[netip.Addr]map[netip.Prefix]Route, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sessions := map[netip.Addr]Session{}
	ribs := map[netip.Addr]map[netip.Prefix]Route{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m exaMessage
		if err := json.Unmarshal(line, &m); err != nil {
			continue // a partial last line while exabgp writes
		}
		peer, err := netip.ParseAddr(m.Neighbor.Address.Peer)
		if err != nil {
			continue
		}
		switch m.Type {
		case "state":
			sessions[peer] = Session{Peer: peer, PeerASN: m.Neighbor.ASN.Peer, State: m.Neighbor.State, Established: m.Neighbor.State == "up"}
			if m.Neighbor.State == "down" {
				delete(ribs, peer)
			}
		case "update":
			u := m.Neighbor.Message.Update
			rib := ribs[peer]
			if rib == nil {
				rib = map[netip.Prefix]Route{}
				ribs[peer] = rib
			}
			for _, list := range u.Withdraw {
				for _, w := range list {
					if p, err := netip.ParsePrefix(w.NLRI); err == nil {
						delete(rib, p)
					}
				}
			}
			// A global and a link-local next hop come as two keys
			// listing the same NLRI: keep the global one.
			nexthops := map[netip.Prefix]netip.Addr{}
			for _, byNH := range u.Announce {
				for nh, list := range byNH {
					a, _ := netip.ParseAddr(nh)
					for _, x := range list {
						p, err := netip.ParsePrefix(x.NLRI)
						if err != nil {
							continue
						}
						if old, ok := nexthops[p]; !ok || (old.IsLinkLocalUnicast() && !a.IsLinkLocalUnicast()) {
							nexthops[p] = a
						}
					}
				}
			}
			base := exaAttributes(u.Attribute)
			base.From = peer
			for p, nh := range nexthops {
				r := base
				r.Prefix, r.NextHop = p, nh
				rib[p] = r
			}
		}
	}
	return sessions, ribs, sc.Err()
}

func exaAttributes(attrs map[string]json.RawMessage) Route {
	var r Route
	if v, ok := attrs["as-path"]; ok {
		r.ASPath = parseASNs(string(v))
	}
	if v, ok := attrs["med"]; ok {
		var med uint32
		if json.Unmarshal(v, &med) == nil {
			r.MED = &med
		}
	}
	if v, ok := attrs["community"]; ok {
		var cs [][]uint16
		if json.Unmarshal(v, &cs) == nil {
			for _, c := range cs {
				if len(c) == 2 {
					r.Communities = append(r.Communities, Community{c[0], c[1]})
				}
			}
		}
	}
	if v, ok := attrs["large-community"]; ok {
		var cs [][]uint32
		if json.Unmarshal(v, &cs) == nil {
			for _, c := range cs {
				if len(c) == 3 {
					r.LargeCommunities = append(r.LargeCommunities, LargeCommunity{c[0], c[1], c[2]})
				}
			}
		}
	}
	// exabgp 4.2 does not know OTC: "attribute-0x23-0xE0": "0x0000FBF4".
	for k, v := range attrs {
		if strings.HasPrefix(strings.ToLower(k), "attribute-0x23-") {
			var s string
			if json.Unmarshal(v, &s) == nil {
				if x, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 32); err == nil {
					r.OTC = uint32(x)
				}
			}
		}
	}
	return r
}

func (exabgpDaemon) sessions(_ context.Context, n *node) ([]Session, error) {
	st, _, err := exaReplay(n.path("received.jsonl"))
	if err != nil {
		return nil, err
	}
	var res []Session
	for _, p := range n.Peers {
		if s, ok := st[p.Remote]; ok {
			res = append(res, s)
		}
	}
	return res, nil
}

func (exabgpDaemon) routes(_ context.Context, n *node) ([]Route, error) {
	_, ribs, err := exaReplay(n.path("received.jsonl"))
	if err != nil {
		return nil, err
	}
	var res []Route
	for _, rib := range ribs {
		for _, r := range rib {
			res = append(res, r)
		}
	}
	return res, nil
}
