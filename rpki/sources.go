package rpki

import (
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"
)

// selectCache returns the cache whose data is used among caches (in order
// of preference), or nil: the most preferred cache in sync; when none is,
// the cache used so far while its data has not expired, else the most
// preferred cache with unexpired data.
func selectCache(caches []*RTRClient) *RTRClient {
	var stale *RTRClient
	for _, c := range caches {
		switch u, _ := c.usable(); u {
		case usableSynced:
			return c
		case usableStale:
			c.mu.Lock()
			sel := c.selected
			c.mu.Unlock()
			if stale == nil || sel {
				stale = c
			}
		}
	}
	return stale
}

// inputs are the data of every source, as merged into a snapshot.
type inputs struct {
	vrps         []VRP // JSON files and the selected cache
	aspas        []ASPA
	filters      []PrefixFilter
	aspaFilters  []uint32
	assertions   []VRP
	aspaAsserted []ASPA
	registry     *Registry
}

func (in *inputs) addFeed(f *Feed) {
	in.vrps = append(in.vrps, f.VRPs...)
	in.aspas = append(in.aspas, f.ASPAs...)
}

func (in *inputs) addSLURM(s *SLURM) {
	in.filters = append(in.filters, s.PrefixFilters...)
	in.aspaFilters = append(in.aspaFilters, s.ASPAFilters...)
	for _, a := range s.PrefixAssertions {
		in.assertions = append(in.assertions, a.VRP)
	}
	in.aspaAsserted = append(in.aspaAsserted, s.ASPAAssertions...)
}

// merge computes (JSON ∪ RTR − SLURM filters) ∪ SLURM assertions ∪
// registry.
func (in *inputs) merge() (*VRPs, *ASPAs) {
	all := in.vrps[:0:0]
	if len(in.filters) == 0 {
		all = in.vrps
	} else {
		all = make([]VRP, 0, len(in.vrps))
		for _, v := range in.vrps {
			if !filtered(in.filters, v) {
				all = append(all, v)
			}
		}
	}
	all = append(all, in.assertions...)
	all = append(all, in.registry.VRPs()...)
	aspas := in.aspas
	if len(in.aspaFilters) > 0 {
		kept := aspas[:0:0]
		for _, a := range aspas {
			if !slices.Contains(in.aspaFilters, a.Customer) {
				kept = append(kept, a)
			}
		}
		aspas = kept
	}
	aspas = append(aspas, in.aspaAsserted...)
	return newVRPsChecked(all), NewASPAs(aspas)
}

// publish merges the sources and, when the result differs from the current
// snapshot, publishes it and notifies the subscribers. m.pubMu must be
// held.
func (m *Manager) publish() {
	start := m.opts.Now()
	m.mu.Lock()
	var in inputs
	for _, f := range m.files {
		if f.feed != nil {
			in.addFeed(f.feed)
		}
	}
	sel := selectCache(m.caches)
	for _, c := range m.caches {
		c.setSelected(c == sel)
	}
	if sel != nil {
		v, a := sel.snapshotData()
		in.vrps = append(in.vrps, v...)
		in.aspas = append(in.aspas, a...)
	}
	for _, f := range m.slurms {
		if f.slurm != nil {
			in.addSLURM(f.slurm)
		}
	}
	in.registry = m.registry
	subs := make([]func(Change), 0, len(m.subs))
	ids := make([]int, 0, len(m.subs))
	for id := range m.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		subs = append(subs, m.subs[id])
	}
	m.mu.Unlock()

	vrps, aspas := in.merge()
	old := m.cur.Load()
	added, removed := DiffVRPs(old.VRPs, vrps)
	aspaChanged := !old.ASPAs.Equal(aspas)
	if len(added) == 0 && len(removed) == 0 && !aspaChanged {
		return
	}
	s := &Snapshot{Serial: old.Serial + 1, Time: m.opts.Now(), VRPs: vrps, ASPAs: aspas}
	m.cur.Store(s)
	changed := append(slices.Clone(added), removed...)
	ch := Change{Old: old, New: s, Added: added, Removed: removed, ASPAChanged: aspaChanged, changed: newVRPsChecked(changed)}
	m.log.Info("RPKI data changed", "serial", s.Serial, "vrps", vrps.Len(), "aspas", aspas.Len(),
		"added", len(added), "removed", len(removed), "aspa_changed", aspaChanged, "took", m.opts.Now().Sub(start))
	for _, fn := range subs {
		fn(ch)
	}
}

// fileSource is a JSON or SLURM file, polled by modification time and
// size. Its fields are guarded by Manager.mu.
type fileSource struct {
	path  string
	kind  string // "file" or "slurm"
	seen  bool
	mtime time.Time
	size  int64
	ino   uint64
	hash  [32]byte // of the content last parsed (successfully or not)

	feed  *Feed
	slurm *SLURM

	loaded  time.Time
	lastErr string
	errTime time.Time
}

// pollFiles stats every file and reloads the changed ones; it reports
// whether any source's data changed.
func (m *Manager) pollFiles() bool {
	m.mu.Lock()
	srcs := append(slices.Clone(m.files), m.slurms...)
	m.mu.Unlock()
	changed := false
	for _, f := range srcs {
		if m.pollFile(f) {
			changed = true
		}
	}
	return changed
}

func (m *Manager) pollFile(f *fileSource) bool {
	st, err := os.Stat(f.path)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if f.lastErr != err.Error() {
			m.log.Warn("RPKI file unavailable; keeping its previous data", "kind", f.kind, "path", f.path, "err", err)
		}
		f.lastErr, f.errTime = err.Error(), m.opts.Now()
		f.seen = false
		return false
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	// File times are coarse (a clock tick), so a file rewritten with the
	// same size within one tick looks unchanged: a recently modified file
	// is read again and compared by content until it settles.
	recent := m.opts.Now().Sub(st.ModTime()) < 2*time.Second+2*m.opts.FilePoll
	if f.seen && st.ModTime().Equal(f.mtime) && st.Size() == f.size && ino == f.ino && !recent {
		return false
	}
	f.seen, f.mtime, f.size, f.ino = true, st.ModTime(), st.Size(), ino
	data, err := os.ReadFile(f.path)
	if err == nil {
		h := sha256.Sum256(data)
		if h == f.hash {
			return false
		}
		f.hash = h
		if f.kind == "slurm" {
			var s *SLURM
			if s, err = ParseSLURM(data); err == nil {
				f.slurm = s
			}
		} else {
			var fd *Feed
			if fd, err = ParseFeed(data); err == nil {
				f.feed = fd
			}
		}
	}
	if err != nil {
		f.lastErr, f.errTime = fmt.Sprintf("%s: %v", f.path, err), m.opts.Now()
		m.log.Error("RPKI file rejected; keeping its previous data", "kind", f.kind, "path", f.path, "err", err)
		return false
	}
	f.lastErr = ""
	f.loaded = m.opts.Now()
	m.log.Info("RPKI file loaded", "kind", f.kind, "path", f.path)
	return true
}
