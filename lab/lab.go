package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultRunRoot holds one run directory per lab: state, configs,
// control sockets and logs of lab NAME live in DefaultRunRoot/NAME.
const DefaultRunRoot = "/run/fedrs-lab"

// DefaultWaitTimeout bounds waits whose context has no deadline.
const DefaultWaitTimeout = 60 * time.Second

// maxSocketPath keeps control socket paths under the kernel's limit for
// unix socket names (108 bytes including the terminating NUL).
const maxSocketPath = 100

// Options tune Up.
type Options struct {
	// RunRoot is where the lab's run directory is created (RunRoot/NAME).
	// Default DefaultRunRoot.
	RunRoot string
	// FedrsBinary is the fedrs executable, needed when the route server
	// kind is fedrs.
	FedrsBinary string
	// WaitTimeout bounds how long Up waits for every session to be
	// Established. Default DefaultWaitTimeout; negative: Up does not wait.
	WaitTimeout time.Duration
	// KeepOnFailure leaves namespaces and processes in place when Up
	// fails, for debugging; "down" removes them later.
	KeepOnFailure bool
	// Logger receives progress; default: discard.
	Logger *slog.Logger
}

// Lab is a running (or stopped) lab.
type Lab struct {
	Topology *Topology
	// Dir is the lab's run directory.
	Dir string

	log   *slog.Logger
	opts  Options
	nodes []*node

	mu sync.Mutex
	st State
}

// Name is the lab's name.
func (l *Lab) Name() string { return l.Topology.Name }

// Phase is the lab's recorded phase (starting, up, down).
func (l *Lab) Phase() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Phase
}

func (l *Lab) node(name string) *node {
	for _, n := range l.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Nodes lists the lab's routers: "rs" first, then the members in file
// order.
func (l *Lab) Nodes() []string {
	out := make([]string, len(l.nodes))
	for i, n := range l.nodes {
		out[i] = n.Name
	}
	return out
}

func (l *Lab) nodeOrErr(name string) (*node, daemon, error) {
	n := l.node(name)
	if n == nil {
		return nil, nil, fmt.Errorf("lab %s has no node %q (nodes: %s)", l.Name(), name, strings.Join(l.Nodes(), ", "))
	}
	d, err := daemonFor(n.Kind)
	return n, d, err
}

// Command returns a command that runs args inside node's namespace (via
// "ip netns exec"), in the node's directory, with FEDRS_LAB_NODE_DIR set
// to it. The caller wires stdin/stdout and runs it.
func (l *Lab) Command(ctx context.Context, nodeName string, args ...string) (*exec.Cmd, error) {
	n, _, err := l.nodeOrErr(nodeName)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("exec: no command given")
	}
	ip, err := findBinary("ip")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", n.Namespace}, args...)...)
	cmd.Dir = n.Dir
	cmd.Env = append(os.Environ(), "FEDRS_LAB_NODE_DIR="+n.Dir)
	return cmd, nil
}

// Exec runs args inside node's namespace and returns its combined output.
func (l *Lab) Exec(ctx context.Context, nodeName string, args ...string) ([]byte, error) {
	cmd, err := l.Command(ctx, nodeName, args...)
	if err != nil {
		return nil, err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("exec in %s: %s: %w", nodeName, strings.Join(args, " "), err)
	}
	return out, nil
}

// CLI returns the command line prefix that talks to node's daemon, e.g.
// ["birdc", "-s", ".../bird.ctl"]; append a daemon command to it.
func (l *Lab) CLI(nodeName string) ([]string, error) {
	n, d, err := l.nodeOrErr(nodeName)
	if err != nil {
		return nil, err
	}
	c := d.cli(n)
	if c == nil {
		return nil, fmt.Errorf("%s (%s): %w", nodeName, n.Kind, ErrNotSupported)
	}
	return c, nil
}

// Sessions reads node's BGP sessions from its daemon.
func (l *Lab) Sessions(ctx context.Context, nodeName string) ([]Session, error) {
	n, d, err := l.nodeOrErr(nodeName)
	if err != nil {
		return nil, err
	}
	s, err := d.sessions(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): sessions: %w", nodeName, n.Kind, err)
	}
	for i := range s {
		s[i].Node = n.Name
		if p, ok := n.peerByAddr(s[i].Peer); ok {
			s[i].PeerName = p.Node
		}
	}
	return s, nil
}

// Routes reads the routes node received over BGP (not the ones it
// originates), sorted by prefix.
func (l *Lab) Routes(ctx context.Context, nodeName string) ([]Route, error) {
	n, d, err := l.nodeOrErr(nodeName)
	if err != nil {
		return nil, err
	}
	r, err := d.routes(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): routes: %w", nodeName, n.Kind, err)
	}
	sortRoutes(r)
	return r, nil
}

func sortRoutes(r []Route) {
	sort.SliceStable(r, func(i, j int) bool {
		if c := r[i].Prefix.Addr().Compare(r[j].Prefix.Addr()); c != 0 {
			return c < 0
		}
		if r[i].Prefix.Bits() != r[j].Prefix.Bits() {
			return r[i].Prefix.Bits() < r[j].Prefix.Bits()
		}
		return r[i].From.Less(r[j].From)
	})
}

// NodeStatus is one router's state in Status.
type NodeStatus struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	Role      string     `json:"role"` // "route-server" or "member"
	ASN       uint32     `json:"asn"`
	IPv4      netip.Addr `json:"ipv4"`
	IPv6      netip.Addr `json:"ipv6"`
	Namespace string     `json:"namespace"`
	PIDs      []int      `json:"pids"`
	Running   bool       `json:"running"`
	Logs      []string   `json:"logs"`
	CLI       []string   `json:"cli,omitempty"`
	Sessions  []Session  `json:"sessions,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Status is a lab's state as Status reads it.
type Status struct {
	Name  string       `json:"name"`
	Dir   string       `json:"dir"`
	Phase string       `json:"phase"`
	Error string       `json:"error,omitempty"`
	Nodes []NodeStatus `json:"nodes"`
}

// Status reports each node's process and, when running, its sessions.
func (l *Lab) Status(ctx context.Context) Status {
	l.mu.Lock()
	s := Status{Name: l.Name(), Dir: l.Dir, Phase: l.st.Phase, Error: l.st.Error}
	l.mu.Unlock()
	for _, n := range l.nodes {
		d, _ := daemonFor(n.Kind)
		ns := NodeStatus{Name: n.Name, Kind: n.Kind, Role: "member", ASN: n.ASN, IPv4: n.IPv4, IPv6: n.IPv6,
			Namespace: n.Namespace, CLI: d.cli(n)}
		if n.IsRS {
			ns.Role = "route-server"
		}
		for _, p := range l.procs(n.Name) {
			ns.PIDs = append(ns.PIDs, p.PID)
			ns.Logs = append(ns.Logs, p.Log)
			if p.alive() {
				ns.Running = true
			}
		}
		if ns.Running {
			sess, err := l.Sessions(ctx, n.Name)
			if err != nil && !errors.Is(err, ErrNotSupported) {
				ns.Error = err.Error()
			}
			ns.Sessions = sess
		}
		s.Nodes = append(s.Nodes, ns)
	}
	return s
}
