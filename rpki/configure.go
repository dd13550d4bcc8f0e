package rpki

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/fedrs/fedrs/conf"
)

// NewManagerFromConfig builds a Manager with the sources of cfg.RPKI: the
// caches (by preference), files, SLURM files and, unless registry = false,
// the registry from cfg's members. Nothing is read before Run.
func NewManagerFromConfig(cfg *conf.Config, opts Options) *Manager {
	m := NewManager(opts)
	m.setSources(cfg)
	return m
}

// Configured reports whether cfg asks for RPKI data: an RTR cache, a JSON
// or SLURM file, the RTR server, or the ownership registry (on unless
// registry = false) with at least one registered prefix. Without any, the
// route server does not validate: ROV and ASPA states are not-checked.
func Configured(cfg *conf.Config) bool {
	r := cfg.RPKI
	if len(r.Caches) > 0 || len(r.Files) > 0 || len(r.SLURM) > 0 || r.Server != "" {
		return true
	}
	if r.Registry != nil && !*r.Registry {
		return false
	}
	for _, m := range cfg.Members {
		if len(m.Prefixes) > 0 {
			return true
		}
	}
	return false
}

// registryOf returns cfg's registry, nil when registry = false.
func registryOf(cfg *conf.Config) *Registry {
	if cfg.RPKI.Registry == nil || *cfg.RPKI.Registry {
		return RegistryFromConfig(cfg)
	}
	return nil
}

// Configure makes cfg's [rpki] sources and registry the Manager's (a
// reload): files and SLURM files kept by path keep their data and are read
// again only when they changed, new ones are read now, removed ones stop
// counting; RTR caches kept by address keep their session (a changed
// preference applies at once), new ones connect (once Run runs) and count
// when in sync, removed ones are closed; the registry is rebuilt from the
// members' prefixes (none when registry = false). It publishes the merge
// before it returns and returns the snapshot in force then. It may be
// called at any time, before or while Run runs.
func (m *Manager) Configure(cfg *conf.Config) *Snapshot {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	changed := m.setSources(cfg)
	if m.pollFiles() || changed {
		m.publish()
	}
	return m.Snapshot()
}

// setSources reconciles the sources with cfg and reports whether the set
// of sources or the registry changed.
func (m *Manager) setSources(cfg *conf.Config) bool {
	reg := registryOf(cfg)
	m.mu.Lock()
	defer m.mu.Unlock()
	var c1, c2 bool
	m.files, c1 = keepFiles(m.files, cfg.RPKI.Files, "file")
	m.slurms, c2 = keepFiles(m.slurms, cfg.RPKI.SLURM, "slurm")
	changed := c1 || c2
	if !slices.Equal(m.registry.Claims(), reg.Claims()) || (m.registry == nil) != (reg == nil) || m.regTime.IsZero() {
		changed = true
		m.regTime = m.opts.Now()
	}
	m.registry = reg

	want := slices.Clone(cfg.RPKI.Caches)
	slices.SortStableFunc(want, func(a, b conf.RTRCache) int { return cmp.Compare(a.Preference, b.Preference) })
	var caches []*RTRClient
	seen := map[string]bool{}
	for _, w := range want {
		if seen[w.Address] {
			continue
		}
		seen[w.Address] = true
		var c *RTRClient
		for _, old := range m.caches {
			if old.addr == w.Address {
				c = old
			}
		}
		if c == nil {
			c = newRTRClient(w.Address, w.Preference, m.opts, m.log, m.poke)
			m.startCache(c)
			changed = true
		} else if c.pref != w.Preference {
			c.mu.Lock()
			c.pref = w.Preference
			c.mu.Unlock()
			changed = true
		}
		caches = append(caches, c)
	}
	for _, old := range m.caches {
		if !seen[old.addr] {
			if cancel := m.cancels[old]; cancel != nil {
				cancel()
				delete(m.cancels, old)
			}
			changed = true
		}
	}
	m.caches = caches
	return changed
}

// keepFiles returns the sources for paths, keeping the existing source
// (and its data) of a path already read.
func keepFiles(old []*fileSource, paths []string, kind string) ([]*fileSource, bool) {
	var out []*fileSource
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		i := slices.IndexFunc(old, func(f *fileSource) bool { return f.path == p })
		if i >= 0 {
			out = append(out, old[i])
		} else {
			out = append(out, &fileSource{path: p, kind: kind})
		}
	}
	changed := len(out) != len(old)
	for i := range out {
		changed = changed || out[i] != old[i]
	}
	return out, changed
}

// startCache runs c under Run's context; before Run (or after it ended)
// it does nothing, and Run starts the caches. m.mu must be held.
func (m *Manager) startCache(c *RTRClient) {
	if m.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(m.runCtx)
	m.cancels[c] = cancel
	m.cacheWG.Add(1)
	go func() {
		defer m.cacheWG.Done()
		c.Run(ctx)
	}()
}

// AddFile adds a VRP/ASPA JSON file source. Call before Run.
func (m *Manager) AddFile(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files = append(m.files, &fileSource{path: path, kind: "file"})
}

// AddSLURM adds an RFC 8416 SLURM file source. Call before Run.
func (m *Manager) AddSLURM(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slurms = append(m.slurms, &fileSource{path: path, kind: "slurm"})
}

// AddCache adds an RTR cache ("host:port"); a lower preference is
// preferred, equal preferences keep the order of the calls. Call before Run.
func (m *Manager) AddCache(addr string, preference int) *RTRClient {
	c := newRTRClient(addr, preference, m.opts, m.log, m.poke)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.caches = append(m.caches, c)
	slices.SortStableFunc(m.caches, func(a, b *RTRClient) int { return cmp.Compare(a.pref, b.pref) })
	m.startCache(c)
	return c
}

// SetRegistry replaces the federation registry (nil removes it), for
// example after a configuration reload. It may be called at any time.
func (m *Manager) SetRegistry(r *Registry) {
	m.mu.Lock()
	m.registry, m.regTime = r, m.opts.Now()
	m.mu.Unlock()
	m.poke()
}

// Registry returns the current registry (nil if none).
func (m *Manager) Registry() *Registry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registry
}

// Preview returns the snapshot Configure(cfg) would publish, from the data
// the Manager holds now, and changes nothing: files and SLURM files it
// reads already count with their current data, others are read now (and
// not kept); RTR caches it is connected to count as they are, a cache it
// is not connected to contributes nothing yet; the registry is cfg's.
// The notes say what the prediction could not include. The snapshot's
// serial is the current one.
func (m *Manager) Preview(cfg *conf.Config) (*Snapshot, []string) {
	var in inputs
	var notes []string
	in.registry = registryOf(cfg)
	m.mu.Lock()
	find := func(list []*fileSource, path string) *fileSource {
		if i := slices.IndexFunc(list, func(f *fileSource) bool { return f.path == path }); i >= 0 {
			return list[i]
		}
		return nil
	}
	var readFiles, readSLURMs []string
	for _, p := range cfg.RPKI.Files {
		if f := find(m.files, p); f != nil && f.feed != nil {
			in.addFeed(f.feed)
		} else {
			readFiles = append(readFiles, p)
		}
	}
	for _, p := range cfg.RPKI.SLURM {
		if f := find(m.slurms, p); f != nil && f.slurm != nil {
			in.addSLURM(f.slurm)
		} else {
			readSLURMs = append(readSLURMs, p)
		}
	}
	want := slices.Clone(cfg.RPKI.Caches)
	slices.SortStableFunc(want, func(a, b conf.RTRCache) int { return cmp.Compare(a.Preference, b.Preference) })
	var kept []*RTRClient
	for _, w := range want {
		if i := slices.IndexFunc(m.caches, func(c *RTRClient) bool { return c.addr == w.Address }); i >= 0 {
			if !slices.Contains(kept, m.caches[i]) {
				kept = append(kept, m.caches[i])
			}
		} else {
			notes = append(notes, fmt.Sprintf("RTR cache %s is not connected yet: its data is not in this prediction (after the reload it counts once in sync)", w.Address))
		}
	}
	if sel := selectCache(kept); sel != nil {
		v, a := sel.snapshotData()
		in.vrps = append(in.vrps, v...)
		in.aspas = append(in.aspas, a...)
	}
	m.mu.Unlock()
	for _, p := range readFiles {
		data, err := os.ReadFile(p)
		var fd *Feed
		if err == nil {
			fd, err = ParseFeed(data)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("RPKI file %s: %v: it would contribute nothing", p, err))
			continue
		}
		in.addFeed(fd)
	}
	for _, p := range readSLURMs {
		data, err := os.ReadFile(p)
		var sl *SLURM
		if err == nil {
			sl, err = ParseSLURM(data)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("SLURM file %s: %v: it would contribute nothing", p, err))
			continue
		}
		in.addSLURM(sl)
	}
	vrps, aspas := in.merge()
	return &Snapshot{Serial: m.Snapshot().Serial, Time: m.opts.Now(), VRPs: vrps, ASPAs: aspas}, notes
}
