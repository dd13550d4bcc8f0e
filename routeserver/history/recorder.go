package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// Options configure a Recorder.
type Options struct {
	// Retain is how long rows are kept after their interval ended; 0 keeps
	// everything. A configuration load ([history] retain) replaces it.
	Retain time.Duration
	// Exports records exposure intervals (what each member could
	// receive); false records imports only. A configuration load
	// ([history] exports) replaces it.
	Exports bool
	// Queue bounds the events waiting for the writer (default 1048576).
	Queue int
	// WriteBehind is how long the writer may keep route events out of
	// the tables while the route server is busy (see SetBusy) or events
	// pour in, so that it does not take CPU from routing during a table
	// load: meanwhile it journals them (a crash loses at most about the
	// last 200 ms) and applies them once the route server is idle.
	// Default 30s; negative applies at once. A configuration load
	// ([history] write_behind) replaces it.
	WriteBehind time.Duration
	// Durable commits every event before the route server exports the
	// route it concerns ([history] durable; the route server holds the
	// exports, see Pushed and Committed). A configuration load replaces
	// it.
	Durable bool
	// Heartbeat is how often the run's last_seen is refreshed when
	// nothing is committed (default 5s).
	Heartbeat time.Duration
	// CommitDelay is how long the writer lets events gather before a
	// commit when the queue is short (default 50ms); Sync commits at once.
	CommitDelay time.Duration
	// PruneBatch is the most rows of one table one retention step deletes
	// (default 2000); steps run between event batches.
	PruneBatch int
	// Version is recorded with each run ("fedrs 1.2.3").
	Version string
	Log     *slog.Logger
	// OnCommit, when set, is called by the writer after every commit.
	OnCommit func(Commit)
}

// Commit describes one committed batch.
type Commit struct {
	Seq       uint64    // commits so far in this run
	Events    uint64    // events committed so far in this run
	LastEvent time.Time // time of the newest event committed (zero if none yet)
	At        time.Time // commit time
}

// OptionsFromConfig returns the options of cfg's [history] table.
func OptionsFromConfig(cfg *conf.Config) Options {
	o := Options{Retain: cfg.History.Retain.Duration, Exports: true, Queue: cfg.History.Queue}
	if cfg.History.Exports != nil {
		o.Exports = *cfg.History.Exports
	}
	o.WriteBehind = writeBehindOf(cfg)
	o.Durable = cfg.History.Durable
	return o
}

// writeBehindOf is [history] write_behind as an Options value.
func writeBehindOf(cfg *conf.Config) time.Duration {
	wb := cfg.History.WriteBehind
	switch {
	case wb == nil:
		return conf.DefaultWriteBehind
	case wb.Duration <= 0:
		return -1
	}
	return wb.Duration
}

func (o *Options) defaults() {
	if o.Queue <= 0 {
		o.Queue = conf.DefaultQueue
	}
	if o.WriteBehind == 0 {
		o.WriteBehind = conf.DefaultWriteBehind
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.CommitDelay <= 0 {
		o.CommitDelay = 50 * time.Millisecond
	}
	if o.PruneBatch <= 0 {
		o.PruneBatch = 2000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "devel"
	}
}

// Recorder is the audit history writer. It implements routeserver.Recorder:
// the hooks copy what they need into a bounded queue and return; one writer
// goroutine commits the queue to SQLite in batched transactions. When the
// queue is full, events are dropped and counted, and the gap is recorded
// with its counts and time range.
type Recorder struct {
	path string
	db   *sql.DB
	opts Options
	log  *slog.Logger

	q           queue
	exports     atomic.Bool
	writeBehind atomic.Int64 // time.Duration; <= 0: write at once
	busy        atomic.Pointer[func() bool]
	holding     atomic.Bool // the writer holds events back (write-behind)
	durable     atomic.Bool
	// committedSeq is the queue sequence number up to which every event
	// is committed (journaled or applied); onCommitted is called after
	// it moves.
	committedSeq  atomic.Uint64
	onCommitted   atomic.Pointer[func()]
	journaled     atomic.Int64 // events journaled, not yet in the tables
	journalOldest atomic.Int64 // unix µs of the oldest of them (0: none)

	// Counters for Stats.
	committed  atomic.Uint64
	commits    atomic.Uint64
	dropped    atomic.Uint64
	gaps       atomic.Uint64
	dbSize     atomic.Int64
	lastCommit atomic.Int64 // unix µs
	writeErrs  atomic.Uint64
	lastErr    atomic.Pointer[string]
	recovered  RecoveryReport

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// RecoveryReport says what Open found from a previous run that did not
// stop cleanly.
type RecoveryReport struct {
	Runs      int       // unclean runs closed
	LastSeen  time.Time // the newest of their last_seen
	Journaled int64     // route events they had journaled, applied first
	Routes    int64     // route versions closed and marked recovered
	Exposures int64
	Sessions  int64
}

// Open opens (creating or migrating) the history database at path, closes
// what a previous unclean run left open, records this run's start and
// starts the writer.
func Open(path string, opts Options) (*Recorder, error) {
	opts.defaults()
	if path == "" {
		return nil, errors.New("history: no database path")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a history database file", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: the directory %s does not exist", path, dir)
		}
	}
	created, err := createPrivate(path)
	if err != nil {
		return nil, err
	}
	// WAL is switched on only once the file is known to be ours: the
	// pragma rewrites the header of whatever database it is given.
	db, err := sql.Open("sqlite", dsn(path, "rwc", "synchronous(NORMAL)", "busy_timeout(10000)", "cache_size(-32000)", "temp_store(MEMORY)"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, describeOpenError(path, err)
	}
	version, _, err := checkIdentity(ctx, db, path)
	if err != nil {
		db.Close()
		return nil, err
	}
	if !created {
		// A database an earlier fedrs created readable by everyone.
		if err := restrictModes(path, opts.Log); err != nil {
			db.Close()
			return nil, err
		}
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		db.Close()
		return nil, describeOpenError(path, err)
	}
	if err := migrate(ctx, db, path, version, opts.Version); err != nil {
		db.Close()
		return nil, err
	}
	r := &Recorder{path: path, db: db, opts: opts, log: opts.Log, stop: make(chan struct{}), done: make(chan struct{})}
	r.q.init(opts.Queue)
	r.exports.Store(opts.Exports)
	r.writeBehind.Store(int64(opts.WriteBehind))
	r.durable.Store(opts.Durable)
	w, err := newWriter(ctx, r)
	if err != nil {
		db.Close()
		return nil, err
	}
	go w.run()
	return r, nil
}

// dsn builds a SQLite URI for path with the given mode (ro, rw, rwc) and
// pragmas.
func dsn(path, mode string, pragmas ...string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	q := url.Values{}
	q.Set("mode", mode)
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

// SetBusy gives the writer a way to ask whether the route server has
// routing work in hand (UPDATEs waiting to be sent): while it has, and
// for at most the write-behind time, the writer holds events back. The
// route server calls it; busy must be quick and safe from any goroutine.
func (r *Recorder) SetBusy(busy func() bool) { r.busy.Store(&busy) }

// Pushed is the sequence number of the last event handed to the
// recorder (queued, or dropped and counted in a gap). Safe from any
// goroutine; with Committed it lets the route server hold an export until
// the event of its route is committed ([history] durable).
func (r *Recorder) Pushed() uint64 { return r.q.seq.Load() }

// Committed is the sequence number up to which every event is committed
// (or, if it could not be, recorded as lost in a gap).
func (r *Recorder) Committed() uint64 { return r.committedSeq.Load() }

// Durable reports whether [history] durable is on: the route server
// then holds each export until Committed passes the route's event.
func (r *Recorder) Durable() bool { return r.durable.Load() }

// OnCommitted sets a function the writer calls after each commit (from
// its goroutine; it must not block).
func (r *Recorder) OnCommitted(f func()) { r.onCommitted.Store(&f) }

// Path returns the database file.
func (r *Recorder) Path() string { return r.path }

// Recovered reports what Open closed after an unclean stop of the
// previous run (zero when the previous run stopped cleanly).
func (r *Recorder) Recovered() RecoveryReport { return r.recovered }

// Stats are the writer's counters, for status and metrics.
type Stats struct {
	Queue      int `json:"queue"`       // events waiting
	QueueLimit int `json:"queue_limit"` // the bound
	// Behind is how long the oldest event not yet in the tables has
	// waited (the history's lag behind routing; write-behind during a
	// burst).
	Behind time.Duration `json:"behind_ns"`
	// Unsaved is how long the oldest event held only in memory has
	// waited: what a crash now would lose.
	Unsaved    time.Duration `json:"unsaved_ns"`
	Journaled  int64         `json:"journaled"` // events journaled, to be applied to the tables
	Durable    bool          `json:"durable"`   // exports wait for their events' commit
	Holding    bool          `json:"holding"`   // write-behind: the writer journals until the route server is idle
	Committed  uint64        `json:"committed"` // events committed by this run
	Commits    uint64        `json:"commits"`   // transactions committed
	Dropped    uint64        `json:"dropped"`   // events dropped because the queue was full (or a write failed)
	Gaps       uint64        `json:"gaps"`      // gap rows recorded
	WriteErrs  uint64        `json:"write_errors"`
	LastError  string        `json:"last_error,omitempty"` // the last write error, if any
	DBSize     int64         `json:"db_bytes"`             // database file plus WAL, bytes
	LastCommit time.Time     `json:"last_commit"`          // zero before the first commit
	Exports    bool          `json:"exports"`              // exposure intervals recorded
	Path       string        `json:"path"`
}

// Stats returns the current counters. Safe to call from any goroutine.
func (r *Recorder) Stats() Stats {
	st := Stats{
		Queue: r.q.len(), QueueLimit: r.opts.Queue, Committed: r.committed.Load(), Commits: r.commits.Load(),
		Dropped: r.dropped.Load(), Gaps: r.gaps.Load(), WriteErrs: r.writeErrs.Load(), DBSize: r.dbSize.Load(),
		Exports: r.exports.Load(), Path: r.path, Holding: r.holding.Load(),
	}
	if us := r.lastCommit.Load(); us != 0 {
		st.LastCommit = time.UnixMicro(us)
	}
	st.Journaled, st.Durable = r.journaled.Load(), r.durable.Load()
	if old := r.q.oldest(); old != 0 {
		st.Unsaved = max(0, time.Duration(now()-old)*time.Microsecond)
		st.Behind = st.Unsaved
	}
	if old := r.journalOldest.Load(); old != 0 {
		st.Behind = max(st.Behind, time.Duration(now()-old)*time.Microsecond)
	}
	if p := r.lastErr.Load(); p != nil {
		st.LastError = *p
	}
	return st
}

// Sync waits until every event queued before the call is committed.
func (r *Recorder) Sync(ctx context.Context) error {
	ch := make(chan struct{})
	if !r.q.pushControl(event{kind: evSync}, &extra{sync: ch}, nil) {
		return errors.New("history: recorder closed")
	}
	select {
	case <-ch:
		return nil
	case <-r.done:
		return errors.New("history: recorder closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued, closes every open interval at the stop
// time (the route server has normally sent the session-down events
// first, which closed its routes), records a clean stop and closes the
// database.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		if n := int64(r.q.len()) + r.journaled.Load(); n >= 10000 {
			r.log.Info("history: writing the queued and journaled events before stopping", "db", r.path, "events", n)
		}
		r.q.pushControl(event{kind: evStop, at: now()}, nil, nil)
		<-r.done
		r.q.close()
		if err := r.db.Close(); err != nil && r.closeErr == nil {
			r.closeErr = err
		}
	})
	return r.closeErr
}

func now() int64 { return time.Now().UnixMicro() }

// ---- the routeserver.Recorder hooks ----

// RouteEvent implements rib.Observer. Called with the RIB locked: it only
// queues.
func (r *Recorder) RouteEvent(ev *rib.RouteEvent) {
	if ev.Bulk {
		return // SourceRoutesEnd queued the end of them all
	}
	at := now()
	if !ev.At.IsZero() {
		at = ev.At.UnixMicro()
	}
	r.q.pushRoute(ev, at, r)
}

// SourceRoutesEnd implements rib.SourceObserver: the end of every route of
// a source in a family (a session down) is one event, queued past the
// bound (the route events it stands for are not queued).
func (r *Recorder) SourceRoutesEnd(s *rib.Source, f bgp.Family, cause string) {
	r.q.pushControl(event{kind: evSourceEnd, at: now(), fam: f}, &extra{cause: cause}, s)
}

// PrefixExposure implements rib.ExposureObserver. Called with the RIB
// locked: it only queues, with the time of the route event before it (or
// of the session down, or of the re-evaluation pass, that it follows).
// exp is the RIB's (valid during the call): one
// exposure, the common case, is kept in the event itself, more are copied.
func (r *Recorder) PrefixExposure(f bgp.Family, p netip.Prefix, exp []rib.Exposure) {
	if !r.exports.Load() {
		return
	}
	r.q.pushExposure(f, p, exp, r)
}

// PassStarted implements rib.PassObserver: a re-evaluation pass (a
// policy reload, an RPKI change) starts at at, and the exposures it
// reports without a route event of their prefix changed then, not at the
// last route event queued before the pass.
func (r *Recorder) PassStarted(at time.Time) {
	r.q.mu.Lock()
	r.q.lastAt = at.UnixMicro()
	r.q.mu.Unlock()
}

// ConfigLoaded records a configuration load; it also applies [history]
// retain and exports.
func (r *Recorder) ConfigLoaded(cfg *conf.Config, changes string) {
	c := configInfo{file: cfg.File, hash: cfg.Hash, changes: changes, retain: cfg.History.Retain.Duration, exports: true}
	if cfg.History.Exports != nil {
		c.exports = *cfg.History.Exports
	}
	for _, m := range cfg.Members {
		c.members = append(c.members, memberInfo{name: m.Name, asn: m.ASN})
	}
	r.writeBehind.Store(int64(writeBehindOf(cfg)))
	r.durable.Store(cfg.History.Durable)
	if !c.exports {
		r.exports.Store(false)
	}
	r.q.pushControl(event{kind: evConfig, at: now()}, &extra{other: &c}, nil)
	if c.exports {
		r.exports.Store(true)
	}
}

// SessionUp records an established session. Session events are queued
// past the bound (they are few): what was exported to a member is read
// against its sessions, so they are never dropped.
func (r *Recorder) SessionUp(member, neighbor string, n *session.Negotiated) {
	r.q.pushControl(event{kind: evSessionUp, at: now()}, &extra{other: &sessionInfo{member: member, neighbor: neighbor, neg: n}}, nil)
}

// SessionDown records the end of a session.
func (r *Recorder) SessionDown(member, neighbor string, ev session.DownEvent) {
	r.q.pushControl(event{kind: evSessionDown, at: now()}, &extra{other: &sessionInfo{member: member, neighbor: neighbor, down: &ev}}, nil)
}

// EndOfRIBSent implements rib.SyncObserver: the route server has sent s
// its whole table for f since the session came up (the end of the
// initial transfer). Called from the RIB's Fill, concurrently for
// different targets: it only queues.
func (r *Recorder) EndOfRIBSent(s *rib.Source, f bgp.Family) {
	member, _, _ := strings.Cut(s.Name, " ")
	r.q.pushControl(event{kind: evSynced, at: now(), fam: f}, &extra{other: &sessionInfo{member: member, neighbor: s.Addr.String()}}, nil)
}

// RPKIChanged records a change of the RPKI tables (serial, VRP and ASPA
// counts after it) and how many route verdicts it changed. The route
// server calls it after re-validation when the Recorder implements it.
func (r *Recorder) RPKIChanged(serial uint32, vrps, aspas int, verdictsChanged int) {
	r.q.push(event{kind: evRPKI, at: now()}, &extra{other: &rpkiInfo{serial: serial, vrps: vrps, aspas: aspas, changed: verdictsChanged}}, r)
}

type configInfo struct {
	file, hash, changes string
	retain              time.Duration
	exports             bool
	members             []memberInfo
}

type memberInfo struct {
	name string
	asn  uint32
}

type sessionInfo struct {
	member, neighbor string
	neg              *session.Negotiated
	down             *session.DownEvent
}

type rpkiInfo struct {
	serial               uint32
	vrps, aspas, changed int
}

// Gauges are the writer's metrics (names prefixed "fedrs_history_"; those
// ending in _total are counters), for the control API's /metrics.
func (r *Recorder) Gauges() map[string]float64 {
	st := r.Stats()
	g := map[string]float64{
		"fedrs_history_queue_length":            float64(st.Queue),
		"fedrs_history_queue_limit":             float64(st.QueueLimit),
		"fedrs_history_events_committed_total":  float64(st.Committed),
		"fedrs_history_commits_total":           float64(st.Commits),
		"fedrs_history_events_dropped_total":    float64(st.Dropped),
		"fedrs_history_gaps_total":              float64(st.Gaps),
		"fedrs_history_write_errors_total":      float64(st.WriteErrs),
		"fedrs_history_db_bytes":                float64(st.DBSize),
		"fedrs_history_last_commit_age_seconds": 0,
		"fedrs_history_behind_seconds":          st.Behind.Seconds(),
	}
	if !st.LastCommit.IsZero() {
		g["fedrs_history_last_commit_age_seconds"] = time.Since(st.LastCommit).Seconds()
	}
	return g
}

// Status is Stats for the control API's status (any, as the API takes
// it).
type Status struct{ *Recorder }

// Stats returns the recorder's Stats.
func (s Status) Stats() any { return s.Recorder.Stats() }

// dbFileMode is the mode of the history database: the routing record of
// the federation is for the daemon's user and group (operators added to
// the group read it with fedrs history), not for everyone on the host.
// SQLite creates the -wal and -shm files with the database's mode.
const dbFileMode = 0o640

// createPrivate creates the database file with dbFileMode (whatever the
// umask) if it does not exist, and reports whether it did.
func createPrivate(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, dbFileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: creating the history database: %w", path, err)
	}
	defer f.Close()
	if err := f.Chmod(dbFileMode); err != nil {
		return true, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// restrictModes takes the access of others away from an existing database
// and its -wal and -shm files (leaving the owner's and group's).
func restrictModes(path string, log *slog.Logger) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		m := st.Mode().Perm()
		if m&0o007 == 0 {
			continue
		}
		if err := os.Chmod(p, m&^0o007); err != nil {
			return fmt.Errorf("%s is readable by every user of the host and could not be restricted: %w", p, err)
		}
		if log != nil {
			log.Warn("history: took the access of other users away from a database file", "file", p, "was", fmt.Sprintf("%#o", m), "now", fmt.Sprintf("%#o", m&^0o007))
		}
	}
	return nil
}
