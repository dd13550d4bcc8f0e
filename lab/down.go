package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

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
