package rpki

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/conf"
)

// Snapshot is one published, immutable state of the merged RPKI data.
type Snapshot struct {
	// Serial increases by one with every published change.
	Serial uint32
	Time   time.Time
	VRPs   *VRPs
	ASPAs  *ASPAs
}

// Validate is s.VRPs.Validate; a nil snapshot validates everything as
// NotFound.
func (s *Snapshot) Validate(p netip.Prefix, origin uint32, originOK bool) State {
	if s == nil {
		return NotFound
	}
	return s.VRPs.Validate(p, origin, originOK)
}

// VerifyUpstream is s.ASPAs.VerifyUpstream. A nil snapshot holds no ASPA:
// a path then verifies as with an empty table: Invalid when it is empty,
// has an AS_SET, or does not start with neighbor (when neighbor is not 0);
// Valid when it has one distinct AS ([5] or [5 5]); Unknown otherwise.
func (s *Snapshot) VerifyUpstream(asns []uint32, hasSet bool, neighbor uint32) PathState {
	var t *ASPAs
	if s != nil {
		t = s.ASPAs
	}
	return t.VerifyUpstream(asns, hasSet, neighbor)
}

// Change is what a published snapshot changed.
type Change struct {
	Old, New *Snapshot
	// Added and Removed are the VRPs that appeared and disappeared, in
	// canonical order. Only routes covered by one of their prefixes can
	// have changed origin validation state.
	Added, Removed []VRP
	// ASPAChanged reports that the ASPA table differs: ASPA states of any
	// route may have changed.
	ASPAChanged bool
	changed     *VRPs
}

// Affects reports whether the origin validation state of a route for p may
// differ between Old and New: some added or removed VRP covers p. It does
// not allocate.
func (c *Change) Affects(p netip.Prefix) bool {
	if c.changed == nil {
		return false
	}
	return c.changed.Validate(p, 0, false) != NotFound
}

// Prefixes returns the distinct prefixes of the added and removed VRPs: a
// route needs re-validation if and only if one of them covers its prefix.
func (c *Change) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for v := range c.changed.All() {
		if len(out) == 0 || out[len(out)-1] != v.Prefix {
			out = append(out, v.Prefix)
		}
	}
	return out
}

// Options configure a Manager. The zero value works.
type Options struct {
	Logger *slog.Logger
	// FilePoll is how often JSON and SLURM files are checked for changes
	// (modification time and size). Default 2s.
	FilePoll time.Duration
	// RTRVersion is the highest RTR version the clients offer: 1 (the
	// default; 0 also means 1) or 2 (draft-ietf-sidrops-8210bis, which adds
	// ASPA PDUs). A cache that answers "Unsupported Protocol Version" gets
	// the next lower version, down to 0. Version 2 is experimental: prefix
	// data works against stayrtr 0.5.1 in version 2, but receiving its
	// ASPAs over RTR has not been verified; ASPAs from JSON files are.
	RTRVersion uint8
	// RTRDialTimeout bounds a connection attempt to a cache. Default 10s.
	RTRDialTimeout time.Duration
	// RTRRetry overrides the retry interval after a failed connection
	// (otherwise the cache's End of Data value, or 600s for version 0).
	RTRRetry time.Duration
	// Now returns the current time (tests). Default time.Now.
	Now func() time.Time
}

// Manager owns the RPKI sources (RTR caches, JSON files, SLURM files, the
// federation registry), merges them and publishes snapshots:
//
//	published = (JSON ∪ RTR − SLURM filters) ∪ SLURM assertions ∪ registry
//
// where RTR contributes the data of one cache: the most preferred cache that
// is in sync, else the cache used so far until its data expires.
// Readers call Snapshot (lock-free); subscribers get every Change.
type Manager struct {
	log  *slog.Logger
	opts Options

	cur  atomic.Pointer[Snapshot]
	kick chan struct{}

	// pubMu serialises reading the files and publishing: the Run loop,
	// Reload and Configure each read and publish under it.
	pubMu sync.Mutex

	mu       sync.Mutex
	files    []*fileSource
	slurms   []*fileSource
	caches   []*RTRClient
	registry *Registry
	regTime  time.Time // when the registry was last set
	subs     map[int]func(Change)
	nextSub  int
	ready    chan struct{}
	readyOK  bool
	running  bool
	// runCtx is Run's context while it runs (nil before and after): the
	// caches added by Configure run under it; cancels stops each cache.
	runCtx  context.Context
	cancels map[*RTRClient]context.CancelFunc
	cacheWG sync.WaitGroup
}

// NewManager returns a Manager with no sources and an empty snapshot
// (serial 0).
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FilePoll <= 0 {
		opts.FilePoll = 2 * time.Second
	}
	if opts.RTRVersion == 0 || opts.RTRVersion > 2 {
		opts.RTRVersion = 1
	}
	if opts.RTRDialTimeout <= 0 {
		opts.RTRDialTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Manager{
		log:     opts.Logger.With("component", "rpki"),
		opts:    opts,
		kick:    make(chan struct{}, 1),
		subs:    map[int]func(Change){},
		ready:   make(chan struct{}),
		cancels: map[*RTRClient]context.CancelFunc{},
	}
	m.cur.Store(&Snapshot{Time: opts.Now(), VRPs: newVRPsChecked(nil), ASPAs: NewASPAs(nil)})
	return m
}

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

// Snapshot returns the current snapshot without locking. It is never nil.
func (m *Manager) Snapshot() *Snapshot { return m.cur.Load() }

// Subscribe registers fn to be called, in order, with every published
// change, from the goroutine that publishes it (Run's, or a caller of
// Configure or Reload). fn must not block for long nor call back into the
// Manager's Configure or Reload. The returned function unsubscribes.
func (m *Manager) Subscribe(fn func(Change)) (unsubscribe func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.nextSub
	m.nextSub++
	m.subs[id] = fn
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// Ready is closed once the first merge after Run started has been
// published (files and SLURM loaded, or failed; RTR caches may still be
// syncing).
func (m *Manager) Ready() <-chan struct{} { return m.ready }

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Run runs the sources and publishes snapshots until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return fmt.Errorf("rpki: Manager.Run called twice")
	}
	m.running = true
	m.runCtx = ctx
	for _, c := range m.caches {
		m.startCache(c)
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.runCtx = nil
		m.mu.Unlock()
		m.cacheWG.Wait()
	}()

	m.refresh(true)
	close(m.ready)

	poll := time.NewTicker(m.opts.FilePoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			m.refresh(false)
		case <-m.kick:
			m.refresh(true)
		}
	}
}

// refresh reads the changed files and publishes when something changed
// (or always, with force).
func (m *Manager) refresh(force bool) {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	if m.pollFiles() || force {
		m.publish()
	}
}

// Reload checks the files now (rather than at the next poll) and publishes
// what changed before it returns. It is safe to call while Run runs.
func (m *Manager) Reload() { m.refresh(false) }

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
