package rpki

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
