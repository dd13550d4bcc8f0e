package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Session is one BGP session as a node's daemon reports it.
type Session struct {
	// Node is the lab node whose view this is ("rs" or a member name).
	Node string `json:"node"`
	// Peer is the neighbour's address; PeerName the lab node it belongs to.
	Peer     netip.Addr `json:"peer"`
	PeerName string     `json:"peer_name"`
	PeerASN  uint32     `json:"peer_asn"`
	// State is the daemon's own word for the state ("Established",
	// "Active", "up", ...); Established is the normalised verdict.
	State       string `json:"state"`
	Established bool   `json:"established"`
	// Info is extra detail from the daemon (last error, role), if any.
	Info string `json:"info,omitempty"`
}

// Route is one route a node received over BGP.
type Route struct {
	Prefix           netip.Prefix     `json:"prefix"`
	NextHop          netip.Addr       `json:"next_hop"`
	ASPath           []uint32         `json:"as_path"`
	Communities      []Community      `json:"communities,omitempty"`
	LargeCommunities []LargeCommunity `json:"large_communities,omitempty"`
	// OTC is the Only-To-Customer attribute (RFC 9234), 0 when absent.
	OTC uint32 `json:"otc,omitempty"`
	// MED is the MULTI_EXIT_DISC attribute, nil when absent (OpenBGPD's
	// bgpctl cannot tell absent from 0: it reports 0).
	MED *uint32 `json:"med,omitempty"`
	// From is the neighbour address the route was received from.
	From netip.Addr `json:"from"`
	// Verdict is the route server's decision on a route it received
	// ("accepted", "filtered: REASON ..."); only fedrs reports it.
	Verdict string `json:"verdict,omitempty"`
}

// ErrNotSupported is returned by readers a daemon kind does not have
// (ExaBGP has no console; a fedrs binary without the "lg" command cannot
// report the route server's view).
var ErrNotSupported = errors.New("not supported for this daemon kind")

// kindCaps says what a member daemon can do.
var kindCaps = map[string]struct {
	role     bool // announces the BGP role capability (RFC 9234)
	fakePath bool // can originate a route with an arbitrary AS_PATH
}{
	KindBIRD:     {role: true, fakePath: true},
	KindFRR:      {role: true, fakePath: true},
	KindOpenBGPD: {role: true, fakePath: false},
	KindGoBGP:    {role: false, fakePath: true},
	KindExaBGP:   {role: false, fakePath: true},
}

// node is one router of a lab: the route server or a member.
type node struct {
	Name      string // "rs" or the member's name
	Kind      string
	IsRS      bool
	ASN       uint32
	RouterID  netip.Addr
	IPv4      netip.Addr
	IPv6      netip.Addr
	Namespace string
	Dir       string   // the node's directory as its daemons see it (run directory, or /lab in a container)
	out       string   // where the lab writes the node's files when not Dir (containerlab export); see outDir
	wrote     []string // the files writeFile wrote
	Member    *Member  // nil for the route server
	Peers     []peer   // configured BGP sessions
	topo      *Topology
	opts      *Options
}

// peer is one configured BGP session of a node.
type peer struct {
	ID        string // identifier usable in every daemon's config: "rs_v4", "m_trust_a_v6"
	Node      string // the lab node at the other end
	Family    string
	Local     netip.Addr
	Remote    netip.Addr
	RemoteASN uint32
	MD5       string
	GTSM      bool    // RFC 5082 on this session
	Member    *Member // the member end of the session
}

// daemon is what the lab needs from each kind of router.
type daemon interface {
	// binaries lists the executables the kind needs.
	binaries() []string
	// configure writes the node's configuration files (with n.writeFile,
	// into n.outDir(); the paths inside them are under n.Dir).
	configure(n *node) error
	// processes lists the node's foreground processes, started in order.
	processes(n *node) ([]procSpec, error)
	// started runs after the process started (readiness, route injection).
	started(ctx context.Context, n *node) error
	// cli is the command prefix that talks to the running daemon.
	cli(n *node) []string
	sessions(ctx context.Context, n *node) ([]Session, error)
	routes(ctx context.Context, n *node) ([]Route, error)
}

// procSpec is one process of a node.
type procSpec struct {
	// Name names the process and its log file (NAME.log in the node
	// directory).
	Name string
	Argv []string
	Env  []string
	// ReadyFile, when set, is a path (under the node directory) that must
	// exist (polled, bounded) before the next process starts.
	ReadyFile string
}

func daemonFor(kind string) (daemon, error) {
	switch kind {
	case KindBIRD:
		return birdDaemon{}, nil
	case KindFRR:
		return frrDaemon{}, nil
	case KindOpenBGPD:
		return openbgpdDaemon{}, nil
	case KindGoBGP:
		return gobgpDaemon{}, nil
	case KindExaBGP:
		return exabgpDaemon{}, nil
	case KindFedrs:
		return fedrsDaemon{}, nil
	}
	return nil, fmt.Errorf("unknown daemon kind %q", kind)
}

// nodes derives the lab's nodes (route server first) from a normalised
// topology.
func buildNodes(t *Topology, dir string, opts *Options) []*node {
	rs := &node{
		Name: rsNode, Kind: t.RouteServer.Kind, IsRS: true, ASN: t.RouteServer.ASN,
		RouterID: t.RouteServer.RouterID, IPv4: t.RouteServer.IPv4, IPv6: t.RouteServer.IPv6,
		Namespace: nsName(t.Name, rsNode), Dir: filepath.Join(dir, rsNode), topo: t, opts: opts,
	}
	nodes := []*node{rs}
	for i := range t.Members {
		m := &t.Members[i]
		n := &node{
			Name: m.Name, Kind: m.Daemon, ASN: m.ASN, RouterID: m.RouterID,
			IPv4: m.IPv4, IPv6: m.IPv6, Namespace: nsName(t.Name, m.Name),
			Dir: filepath.Join(dir, m.Name), Member: m, topo: t, opts: opts,
		}
		for _, f := range []string{FamilyIPv4, FamilyIPv6} {
			if !m.HasFamily(f) {
				continue
			}
			mine, theirs := m.IPv4, t.RouteServer.IPv4
			if f == FamilyIPv6 {
				mine, theirs = m.IPv6, t.RouteServer.IPv6
			}
			suffix := "_v4"
			if f == FamilyIPv6 {
				suffix = "_v6"
			}
			n.Peers = append(n.Peers, peer{
				ID: "rs" + suffix, Node: rsNode, Family: f, Local: mine, Remote: theirs,
				RemoteASN: t.RouteServer.ASN, MD5: m.MD5Password, GTSM: m.GTSM, Member: m,
			})
			rsMD5 := m.MD5Password
			if m.RSMD5Password != "" {
				rsMD5 = m.RSMD5Password
			}
			rs.Peers = append(rs.Peers, peer{
				ID: "m_" + ident(m.Name) + suffix, Node: m.Name, Family: f, Local: theirs, Remote: mine,
				RemoteASN: m.ASN, MD5: rsMD5, GTSM: m.GTSM, Member: m,
			})
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// ident turns a member name into an identifier every daemon's config
// accepts ('-' becomes '_'; member names have no '_', so this is 1:1).
func ident(name string) string { return strings.ReplaceAll(name, "-", "_") }

// peerByAddr returns the configured session whose remote end is a.
func (n *node) peerByAddr(a netip.Addr) (peer, bool) {
	a = a.Unmap()
	for _, p := range n.Peers {
		if p.Remote == a {
			return p, true
		}
	}
	return peer{}, false
}

func (n *node) peerByID(id string) (peer, bool) {
	for _, p := range n.Peers {
		if p.ID == id {
			return p, true
		}
	}
	return peer{}, false
}

func (n *node) path(file string) string { return filepath.Join(n.Dir, file) }

// outDir is where the lab writes the node's files: n.Dir, unless they are
// generated for a node that runs elsewhere (a containerlab container, in
// which n.Dir is the mount point of this directory).
func (n *node) outDir() string {
	if n.out != "" {
		return n.out
	}
	return n.Dir
}

// writeFile writes one of the node's files into n.outDir().
func (n *node) writeFile(name string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(filepath.Join(n.outDir(), name), data, mode); err != nil {
		return err
	}
	n.wrote = append(n.wrote, name)
	return nil
}

func (n *node) hasFamily(f string) bool {
	for _, p := range n.Peers {
		if p.Family == f {
			return true
		}
	}
	return false
}

// announce returns the node's announcements of family f.
func (n *node) announce(f string) []Prefix {
	if n.Member == nil {
		return nil
	}
	var out []Prefix
	for _, p := range n.Member.Announce {
		if p.Family() == f {
			out = append(out, p)
		}
	}
	return out
}

// runTool runs a control tool on the host (control sockets are files, so
// no namespace is needed) with a bounded time, and returns its stdout.
func runTool(ctx context.Context, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	path, err := findBinary(argv[0])
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(lastLines(stdout.String(), 3))
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
