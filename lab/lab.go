package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// Prerequisites reports what Up would miss to run topo: root, iproute2,
// and each daemon's binaries (with the Debian package that has them);
// nil when nothing is missing.
func Prerequisites(topo *Topology, opts Options) error {
	var why []string
	if os.Geteuid() != 0 {
		why = append(why, "root (network namespaces need it: run as root or with sudo)")
	}
	need := []string{"ip"}
	kinds := []string{topo.RouteServer.Kind}
	for _, m := range topo.Members {
		kinds = append(kinds, m.Daemon)
	}
	for _, k := range kinds {
		if k == KindFedrs {
			if opts.FedrsBinary == "" {
				why = append(why, "the fedrs binary (route_server.kind is fedrs: pass its path, e.g. go build -o fedrs ./cmd/fedrs)")
			} else if _, err := findBinary(opts.FedrsBinary); err != nil {
				why = append(why, "the fedrs binary: "+err.Error())
			}
			continue
		}
		d, err := daemonFor(k)
		if err != nil {
			return err
		}
		need = append(need, d.binaries()...)
	}
	var pkgs []string
	seen := map[string]bool{}
	for _, b := range need {
		if seen[b] {
			continue
		}
		seen[b] = true
		if _, err := findBinary(b); err != nil {
			p := debianPackages[b]
			if p == "" {
				p = b
			}
			why = append(why, fmt.Sprintf("%s (Debian package %s)", b, p))
			if !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	if len(why) == 0 {
		return nil
	}
	msg := "missing " + strings.Join(why, ", ")
	if len(pkgs) > 0 {
		msg += "; install with: apt-get install " + strings.Join(pkgs, " ")
	}
	return errors.New(msg)
}

// Up builds the topology's lab: it first removes whatever a previous lab
// of the same name left behind, then creates the namespaces, the peering
// LAN and the daemons, and (unless opts.WaitTimeout < 0) waits until
// every session is Established. When anything fails, or ctx is cancelled,
// it removes everything it created before returning the error (unless
// opts.KeepOnFailure).
func Up(ctx context.Context, topo *Topology, opts Options) (*Lab, error) {
	if err := topo.Normalize(); err != nil {
		return nil, err
	}
	if opts.RunRoot == "" {
		opts.RunRoot = DefaultRunRoot
	}
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FedrsBinary != "" {
		if abs, err := filepath.Abs(opts.FedrsBinary); err == nil && strings.Contains(opts.FedrsBinary, "/") {
			opts.FedrsBinary = abs
		}
	}
	if err := Prerequisites(topo, opts); err != nil {
		return nil, fmt.Errorf("lab %s: %w", topo.Name, err)
	}
	root, err := filepath.Abs(opts.RunRoot)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, topo.Name)
	l := &Lab{Topology: topo, Dir: dir, opts: opts, log: opts.Logger.With("lab", topo.Name)}
	l.nodes = buildNodes(topo, dir, &l.opts)
	for _, n := range l.nodes {
		if p := n.path("bgpd.sock.0000"); len(p) > maxSocketPath {
			return nil, fmt.Errorf("lab %s: run directory %s is too deep for unix socket paths (%s is %d bytes, max %d); use a shorter RunRoot", topo.Name, dir, p, len(p), maxSocketPath)
		}
	}

	if err := cleanup(topo.Name, dir, l.log); err != nil {
		return nil, fmt.Errorf("lab %s: removing leftovers of a previous run: %w", topo.Name, err)
	}
	if err := l.up(ctx); err != nil {
		err = fmt.Errorf("lab %s: %w", topo.Name, err)
		if opts.KeepOnFailure {
			l.mu.Lock()
			l.st.Error = err.Error()
			_ = writeState(l.Dir, &l.st)
			l.mu.Unlock()
			return l, fmt.Errorf("%w (left in place for debugging: logs in %s; remove with down)", err, l.Dir)
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := l.Down(dctx); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("teardown after failure: %w", derr))
		}
		return nil, fmt.Errorf("%w (logs kept in %s)", err, l.Dir)
	}
	return l, nil
}

func (l *Lab) up(ctx context.Context) error {
	topo := l.Topology
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	now := time.Now().UTC()
	l.st = State{Version: 1, Name: topo.Name, Dir: l.Dir, Phase: PhaseStarting, Created: now,
		Topology: topo, FedrsBinary: l.opts.FedrsBinary}
	if err := l.save(); err != nil {
		return err
	}
	for _, n := range l.nodes {
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", n.Dir, err)
		}
	}

	// Namespaces and the peering LAN.
	if err := ensureNetnsDir(); err != nil {
		return err
	}
	lanNS := nsName(topo.Name, lanNode)
	nsList := []string{lanNS}
	for _, n := range l.nodes {
		nsList = append(nsList, n.Namespace)
	}
	for _, ns := range nsList {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		l.st.Namespaces = append(l.st.Namespaces, ns) // recorded before it exists: a crash still finds it
		l.mu.Unlock()
		if err := l.save(); err != nil {
			return err
		}
		sysctls := map[string]string{
			"net/ipv6/conf/all/accept_dad":     "0",
			"net/ipv6/conf/default/accept_dad": "0",
		}
		if ns == lanNS {
			// The bridge only switches frames; it needs no addresses.
			sysctls = map[string]string{
				"net/ipv6/conf/all/disable_ipv6":     "1",
				"net/ipv6/conf/default/disable_ipv6": "1",
			}
		}
		if err := createNamespace(ns, sysctls); err != nil {
			return err
		}
	}
	var specs []lanSpec
	links := []LinkState{{Namespace: lanNS, Name: bridgeName, Node: lanNode}}
	for i, n := range l.nodes {
		s := lanSpec{Node: n.Name, Namespace: n.Namespace, Port: lanPortName(i)}
		s.Addrs = append(s.Addrs, netip.PrefixFrom(n.IPv4, topo.LANv4.Bits()), netip.PrefixFrom(n.IPv6, topo.LANv6.Bits()))
		specs = append(specs, s)
		links = append(links, LinkState{Namespace: lanNS, Name: s.Port, Node: n.Name},
			LinkState{Namespace: n.Namespace, Name: ifName, Node: n.Name})
	}
	l.mu.Lock()
	l.st.Links = links
	l.mu.Unlock()
	if err := buildLAN(lanNS, specs); err != nil {
		return err
	}
	if err := l.save(); err != nil {
		return err
	}
	l.log.Info("namespaces and peering LAN ready", "namespaces", len(nsList), "lan_v4", topo.LANv4, "lan_v6", topo.LANv6)

	// Configuration files.
	for _, n := range l.nodes {
		d, err := daemonFor(n.Kind)
		if err != nil {
			return err
		}
		if n.IsRS {
			if err := writeFiles(n.Dir, topo.RouteServer.Files); err != nil {
				return fmt.Errorf("%s (%s): %w", n.Name, n.Kind, err)
			}
		}
		if err := d.configure(n); err != nil {
			return fmt.Errorf("%s (%s): write config: %w", n.Name, n.Kind, err)
		}
	}
	for _, n := range l.nodes {
		if n.Kind == KindOpenBGPD {
			// bgpd chroots to its user's home, compiled in as /run/openbgpd.
			if err := os.MkdirAll("/run/openbgpd", 0o755); err != nil {
				return fmt.Errorf("create /run/openbgpd (OpenBGPD's chroot): %w", err)
			}
			break
		}
	}

	// The route server first, listening before members connect, so that no
	// member's first connection is refused into a long retry back-off.
	for i, n := range l.nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.start(ctx, n); err != nil {
			return err
		}
		if i == 0 {
			if err := l.waitListening(ctx, n); err != nil {
				return err
			}
		}
	}
	l.mu.Lock()
	l.st.Phase = PhaseUp
	l.mu.Unlock()
	if err := l.save(); err != nil {
		return err
	}
	l.log.Info("daemons started", "nodes", len(l.nodes), "dir", l.Dir)
	if l.opts.WaitTimeout > 0 {
		wctx, cancel := context.WithTimeout(ctx, l.opts.WaitTimeout)
		defer cancel()
		if err := l.WaitEstablished(wctx); err != nil {
			return err
		}
		l.log.Info("all sessions established")
	}
	return nil
}

func (l *Lab) save() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeState(l.Dir, &l.st)
}

// start launches a node's processes and runs its post-start step.
func (l *Lab) start(ctx context.Context, n *node) error {
	d, err := daemonFor(n.Kind)
	if err != nil {
		return err
	}
	specs, err := d.processes(n)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	for _, spec := range specs {
		logPath := n.path(spec.Name + ".log")
		cmd, info, err := startInNamespace(n.Namespace, spec.Argv, spec.Env, n.Dir, logPath)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		go func() { _ = cmd.Wait() }() // reap; liveness is read from /proc
		info.Node = n.Name
		l.mu.Lock()
		l.st.Processes = append(l.st.Processes, info)
		l.mu.Unlock()
		if err := l.save(); err != nil {
			return err
		}
		l.log.Info("started", "node", n.Name, "process", spec.Name, "pid", info.PID, "log", logPath)
		if spec.ReadyFile != "" {
			err := Poll(ctx, n.Name+" "+spec.Name+" ready", 15*time.Second, 50*time.Millisecond,
				func(context.Context) (bool, string, error) {
					if err := l.checkAlive(); err != nil {
						return false, "", err
					}
					_, err := os.Stat(spec.ReadyFile)
					return err == nil, "no " + spec.ReadyFile + " yet", nil
				})
			if err != nil {
				return err
			}
		}
	}
	if err := d.started(ctx, n); err != nil {
		return fmt.Errorf("%s (%s): %w%s", n.Name, n.Kind, err, l.logTail(n))
	}
	return nil
}

// writeFiles writes route_server.files into dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write route_server.files %s: %w", name, err)
		}
	}
	return nil
}

// waitListening waits until the node's daemon listens on TCP 179.
func (l *Lab) waitListening(ctx context.Context, n *node) error {
	return Poll(ctx, n.Name+" ("+n.Kind+") listening on port 179", 20*time.Second, 100*time.Millisecond,
		func(context.Context) (bool, string, error) {
			if err := l.checkAlive(); err != nil {
				return false, "", err
			}
			for _, p := range l.procs(n.Name) {
				if listeningOn(p.PID, 179) {
					return true, "", nil
				}
			}
			return false, "not listening yet", nil
		})
}

func (l *Lab) procs(nodeName string) []procInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []procInfo
	for _, p := range l.st.Processes {
		if p.Node == nodeName {
			out = append(out, p)
		}
	}
	return out
}

// checkAlive returns a fatal error naming the first daemon that exited,
// with the end of its log.
func (l *Lab) checkAlive() error {
	l.mu.Lock()
	procs := slices.Clone(l.st.Processes)
	l.mu.Unlock()
	for _, p := range procs {
		if !p.alive() {
			what := filepath.Base(p.Argv[0])
			if n := l.node(p.Node); n != nil && n.Kind != what {
				what = n.Kind + " " + what
			}
			return fmt.Errorf("%w: %s (%s, pid %d) exited%s", errFatal, p.Node, what, p.PID, fileTail(p.Log))
		}
	}
	return nil
}

// logTail returns the end of every log of the node.
func (l *Lab) logTail(n *node) string {
	var s string
	for _, p := range l.procs(n.Name) {
		s += fileTail(p.Log)
	}
	return s
}

func fileTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	return "; end of " + path + ":\n" + lastLines(string(b), 8)
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

// Down stops every process of the lab and removes its namespaces (and
// with them every interface the lab created). It also removes what a
// crashed run left, found by namespace prefix. The run directory with its
// configs and logs stays for post-mortems; its state says "down".
func (l *Lab) Down(ctx context.Context) error {
	l.mu.Lock()
	extra := slices.Clone(l.st.Namespaces)
	procs := slices.Clone(l.st.Processes)
	l.mu.Unlock()
	err := teardown(l.Name(), extra, procs, l.log)
	l.mu.Lock()
	l.st.Phase = PhaseDown
	if err != nil {
		l.st.Error = err.Error()
	}
	l.mu.Unlock()
	if _, statErr := os.Stat(l.Dir); statErr == nil {
		if serr := l.save(); serr != nil && err == nil {
			err = serr
		}
	}
	for _, n := range l.nodes {
		removeSockets(n.Dir)
	}
	if err != nil {
		return fmt.Errorf("lab %s: down: %w", l.Name(), err)
	}
	return ctx.Err()
}

// cleanup removes a previous run's leftovers before Up: processes and
// namespaces (found by the state file and by prefix), then the old run
// directory.
func cleanup(name, dir string, log *slog.Logger) error {
	var nsNames []string
	var procs []procInfo
	if st, err := readState(dir); err == nil {
		nsNames, procs = st.Namespaces, st.Processes
	}
	left, err := listNamespaces(labNSPrefix(name))
	if err != nil {
		return err
	}
	if len(left) > 0 || len(procs) > 0 {
		log.Warn("removing leftovers of a previous run", "namespaces", len(left))
	}
	if err := teardown(name, nsNames, procs, log); err != nil {
		return err
	}
	// Only ever delete a lab run directory (or an empty one): RunRoot
	// comes from the user, and RunRoot/NAME could be anything.
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
			return fmt.Errorf("%s exists and is not a lab run directory (no %s): refusing to replace it; choose another run root or lab name", dir, stateFile)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove old run directory: %w", err)
	}
	return nil
}

// teardown kills the recorded processes (when they are still the same
// processes) and every process inside the lab's namespaces, then deletes
// the namespaces.
func teardown(name string, nsNames []string, procs []procInfo, log *slog.Logger) error {
	found, err := listNamespaces(labNSPrefix(name))
	if err != nil {
		return err
	}
	for _, ns := range nsNames {
		if !slices.Contains(found, ns) && strings.HasPrefix(ns, labNSPrefix(name)) {
			found = append(found, ns) // recorded but maybe half-created
		}
	}
	sort.Strings(found)
	pidSet := map[int]bool{}
	for _, p := range procs {
		if p.alive() {
			pidSet[p.PID] = true
		}
	}
	inNS, err := pidsInNamespaces(found)
	if err != nil {
		return err
	}
	for pid := range inNS {
		pidSet[pid] = true
	}
	pids := make([]int, 0, len(pidSet))
	for pid := range pidSet {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	if len(pids) > 0 {
		log.Info("stopping processes", "pids", pids)
	}
	var errs []error
	if left := killAll(pids, 5*time.Second); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes still running after SIGKILL: %v", left))
	}
	for _, ns := range found {
		if err := deleteNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if rest, err := listNamespaces(labNSPrefix(name)); err != nil {
		errs = append(errs, err)
	} else if len(rest) > 0 {
		errs = append(errs, fmt.Errorf("namespaces still present: %s", strings.Join(rest, ", ")))
	}
	if len(found) > 0 {
		log.Info("namespaces removed", "namespaces", found)
	}
	return errors.Join(errs...)
}

// removeSockets deletes stale control sockets from a node directory.
func removeSockets(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Type()&os.ModeSocket != 0 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Load opens the lab called name under DefaultRunRoot.
func Load(name string) (*Lab, error) { return LoadFrom(DefaultRunRoot, name) }

// LoadFrom opens the lab called name under root, from its state file.
func LoadFrom(root, name string) (*Lab, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, name)
	st, err := readState(dir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", name, err)
	}
	l := &Lab{Topology: st.Topology, Dir: dir, st: *st, log: slog.New(slog.DiscardHandler),
		opts: Options{RunRoot: root, FedrsBinary: st.FedrsBinary}}
	l.nodes = buildNodes(st.Topology, dir, &l.opts)
	return l, nil
}

// Leftovers returns the names of labs that have namespaces on this host
// ("fl-NAME-..."), whether or not a run directory records them.
func Leftovers() ([]string, error) {
	ns, err := listNamespaces(nsPrefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range ns {
		name, _, ok := strings.Cut(strings.TrimPrefix(n, nsPrefix), "-")
		if ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// DownName takes down the lab called name under root: from its state file
// when there is one, otherwise by removing every process and namespace
// that carries its name (what a crash or a lost run directory leaves).
func DownName(ctx context.Context, root, name string) error {
	l, err := LoadFrom(root, name)
	if err == nil {
		return l.Down(ctx)
	}
	if !errors.Is(err, ErrNoLab) {
		return err
	}
	left, lerr := listNamespaces(labNSPrefix(name))
	if lerr != nil {
		return lerr
	}
	if len(left) == 0 {
		return err
	}
	if terr := teardown(name, nil, nil, slog.New(slog.DiscardHandler)); terr != nil {
		return fmt.Errorf("lab %s: down: %w", name, terr)
	}
	return ctx.Err()
}

// List returns the names of the labs that have a run directory under
// root, whatever their phase.
func List(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, e.Name(), stateFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
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
