package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

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
