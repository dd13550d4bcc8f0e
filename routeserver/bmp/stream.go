package bmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

var (
	errEncodeOnly = errors.New("bmp: fedrs only encodes this body")
	// ErrOverflow ends a collector's connection whose queue overflowed.
	ErrOverflow = errors.New("queue overflow: the collector did not keep up; connection dropped, the full state is sent again on reconnect (a larger [[bmp]] queue helps)")
)

// Timeouts of a collector connection.
const (
	dialTimeout  = 10 * time.Second
	writeTimeout = 30 * time.Second
	// closeGrace is how long the collectors get, once the route server
	// stops, to send what is queued and the Termination message.
	closeGrace = 3 * time.Second
)

// Options are a Streamer's settings that do not come from [[bmp]].
type Options struct {
	Log *slog.Logger
	// SysName and SysDescr go into the Initiation message. Defaults: the
	// host name, and "fedrs route server AS… router-id …".
	SysName, SysDescr string
}

// Streamer streams to every configured collector. It is a
// routeserver.Monitor: pass it in routeserver.Options.Monitors, then
// Attach the server and Run.
type Streamer struct {
	log      *slog.Logger
	sysName  string
	sysDescr string
	localAS  uint32
	routerID netip.Addr
	holdTime time.Duration
	cols     []*collector
	active   atomic.Int32 // collectors accepting events
	srv      atomic.Pointer[routeserver.Server]
}

// New returns a streamer for cfg's [[bmp]] collectors (none: a streamer
// that does nothing).
func New(cfg *conf.Config, opts Options) *Streamer {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Streamer{
		log: opts.Log.With("component", "bmp"), sysName: opts.SysName, sysDescr: opts.SysDescr,
		localAS: cfg.Server.ASN, routerID: cfg.Server.RouterID, holdTime: cfg.Server.HoldTime.Duration,
	}
	if s.sysName == "" {
		s.sysName, _ = os.Hostname()
		if s.sysName == "" {
			s.sysName = "fedrs"
		}
	}
	if s.sysDescr == "" {
		s.sysDescr = fmt.Sprintf("fedrs route server AS%d router-id %s", s.localAS, s.routerID)
	}
	for _, b := range cfg.BMP {
		c := &collector{s: s, cfg: b, wake: make(chan struct{}, 1), state: "idle", since: time.Now(),
			pre: b.HasView(conf.BMPViewPrePolicy), post: b.HasView(conf.BMPViewPostPolicy), loc: b.HasView(conf.BMPViewLocRIB)}
		s.cols = append(s.cols, c)
	}
	return s
}

// Attach gives the streamer the server whose state it sends to a
// collector that connects. Call it before Run.
func (s *Streamer) Attach(srv *routeserver.Server) { s.srv.Store(srv) }

// Run connects to every collector, reconnecting with back-off, until ctx
// ends; then it sends each connected collector what is still queued and a
// Termination message (waiting at most a few seconds), and returns.
func (s *Streamer) Run(ctx context.Context) {
	if s.srv.Load() == nil {
		panic("bmp: Run before Attach")
	}
	var wg sync.WaitGroup
	for _, c := range s.cols {
		wg.Add(1)
		go func() { defer wg.Done(); c.run(ctx) }()
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	for _, c := range s.cols {
		c.abort()
	}
	<-done
}

// Status is a collector's state for the control API.
type Status struct {
	Name    string    `json:"name"`
	Address string    `json:"address"`
	Views   []string  `json:"views"`
	State   string    `json:"state"` // idle, connecting, syncing, up, down, stopped
	Since   time.Time `json:"since"`
	// LastError says why the last connection ended or failed.
	LastError string `json:"last_error,omitempty"`
	// Connects counts established connections; QueueDrops the
	// connections dropped because the queue overflowed.
	Connects   uint64 `json:"connects"`
	QueueDrops uint64 `json:"queue_drops"`
	QueueLen   int    `json:"queue_length"`
	QueueLimit int    `json:"queue_limit"`
	Messages   uint64 `json:"messages_sent"`
	Bytes      uint64 `json:"bytes_sent"`
}

// Up reports whether the collector is connected and in sync.
func (st Status) Up() bool { return st.State == "up" }

// Status returns every collector's state, in configuration order.
func (s *Streamer) Status() []Status {
	out := make([]Status, 0, len(s.cols))
	for _, c := range s.cols {
		c.mu.Lock()
		out = append(out, Status{
			Name: c.cfg.Name, Address: c.cfg.Address, Views: slices.Clone(c.cfg.Views), State: c.state, Since: c.since,
			LastError: c.lastErr, Connects: c.connects, QueueDrops: c.drops, QueueLen: len(c.items), QueueLimit: c.cfg.Queue,
			Messages: c.msgs.Load(), Bytes: c.bytes.Load(),
		})
		c.mu.Unlock()
	}
	return out
}

// ---- routeserver.Monitor: called by the RIB and the sessions ----

type itemKind uint8

const (
	itemRoute itemKind = iota
	itemUp
	itemDown
)

// item is one event waiting for a collector. It holds only immutable
// values: an attribute set is never changed once interned, and stays
// readable (by the garbage collector's grace) after the RIB releases it.
type item struct {
	kind     itemKind
	fam      bgp.Family
	pre      bool // received from the member (not only a verdict change)
	accepted bool
	pathID   uint32
	at       int64 // unix nanoseconds
	peer     netip.Addr
	prefix   netip.Prefix
	attrs    *wire.AttrSet // nil: withdrawn
	neg      *session.Negotiated
	down     *session.DownEvent
}

// RouteEvent implements rib.Observer. It runs with the RIB locked: it only
// queues.
func (s *Streamer) RouteEvent(ev *rib.RouteEvent) {
	if s.active.Load() == 0 {
		return
	}
	it := item{kind: itemRoute, fam: ev.Family, pre: ev.Attrs == nil || ev.Cause == "update", accepted: ev.Attrs != nil && ev.Verdict.Accepted(),
		pathID: ev.PathID, at: ev.At.UnixNano(), peer: ev.Source.Addr, prefix: ev.Prefix, attrs: ev.Attrs}
	if ev.At.IsZero() {
		it.at = time.Now().UnixNano()
	}
	for _, c := range s.cols {
		c.push(&it)
	}
}

// SessionUp implements routeserver.Monitor.
func (s *Streamer) SessionUp(member, neighbor string, n *session.Negotiated) {
	if s.active.Load() == 0 {
		return
	}
	addr, err := netip.ParseAddr(neighbor)
	if err != nil {
		return
	}
	it := item{kind: itemUp, at: time.Now().UnixNano(), peer: addr, neg: n}
	for _, c := range s.cols {
		c.push(&it)
	}
}

// SessionDown implements routeserver.Monitor.
func (s *Streamer) SessionDown(member, neighbor string, ev session.DownEvent) {
	if s.active.Load() == 0 {
		return
	}
	addr, err := netip.ParseAddr(neighbor)
	if err != nil {
		return
	}
	it := item{kind: itemDown, at: time.Now().UnixNano(), peer: addr, neg: ev.Negotiated, down: &ev}
	for _, c := range s.cols {
		c.push(&it)
	}
}
