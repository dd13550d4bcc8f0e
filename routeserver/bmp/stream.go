package bmp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// ---- one collector ----

type collector struct {
	s               *Streamer
	cfg             conf.BMPCollector
	pre, post, loc  bool
	wake            chan struct{}
	msgs, bytes     atomic.Uint64
	mu              sync.Mutex
	items           []item
	spare           []item
	active          bool // events are queued
	overflowed      bool
	conn            net.Conn
	state, lastErr  string
	since           time.Time
	connects, drops uint64
}

// push queues it; on overflow it drops the connection instead of waiting.
func (c *collector) push(it *item) {
	c.mu.Lock()
	if !c.active {
		c.mu.Unlock()
		return
	}
	if len(c.items) >= c.cfg.Queue {
		c.active = false
		c.s.active.Add(-1)
		c.overflowed = true
		c.drops++
		c.items = nil
		conn := c.conn
		c.mu.Unlock()
		if conn != nil {
			go conn.Close() // the writer may be blocked on it
		}
		c.signal()
		return
	}
	c.items = append(c.items, *it)
	c.mu.Unlock()
	c.signal()
}

func (c *collector) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take returns the queued items (and whether the queue overflowed); the
// slice is valid until the next take.
func (c *collector) take() ([]item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.overflowed {
		return nil, true
	}
	out := c.items
	clear(c.spare)
	c.items = c.spare[:0]
	c.spare = out
	return out, false
}

// startQueue starts queueing events for a new connection.
func (c *collector) startQueue(conn net.Conn) {
	c.mu.Lock()
	c.conn = conn
	c.items = c.items[:0]
	c.overflowed = false
	if !c.active {
		c.active = true
		c.s.active.Add(1)
	}
	c.state, c.since = "syncing", time.Now()
	c.connects++
	c.mu.Unlock()
}

// stopQueue stops queueing and frees the queue.
func (c *collector) stopQueue() {
	c.mu.Lock()
	if c.active {
		c.active = false
		c.s.active.Add(-1)
	}
	c.conn = nil
	c.items, c.spare = nil, nil
	c.mu.Unlock()
}

func (c *collector) abort() {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

func (c *collector) setState(state, lastErr string) {
	c.mu.Lock()
	c.state, c.since = state, time.Now()
	if lastErr != "" {
		c.lastErr = lastErr
	}
	c.mu.Unlock()
}

// run keeps a connection to the collector until ctx ends.
func (c *collector) run(ctx context.Context) {
	base := c.cfg.ConnectRetry.Duration
	backoff := base
	log := c.s.log.With("collector", c.cfg.Name, "address", c.cfg.Address)
	for {
		c.setState("connecting", "")
		start := time.Now()
		err := c.connection(ctx, log)
		if ctx.Err() != nil {
			c.setState("stopped", "")
			return
		}
		if time.Since(start) > 8*base+time.Minute {
			backoff = base // it was up for a good while: retry promptly
		}
		msg := err.Error()
		c.setState("down", msg)
		if errors.Is(err, ErrOverflow) {
			log.Warn("BMP collector fell behind: connection dropped; it gets the full state again on reconnect", "queue", c.cfg.Queue, "retry_in", backoff)
		} else {
			log.Warn("BMP collector connection failed", "err", err, "retry_in", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			c.setState("stopped", "")
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 8*base)
	}
}

// connection dials the collector, sends the current state and then the
// event stream until the connection fails or ctx ends.
func (c *collector) connection(ctx context.Context, log *slog.Logger) error {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Address)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.cfg.Address, err)
	}
	c.startQueue(conn)
	defer func() {
		c.stopQueue()
		conn.Close()
	}()
	closed := make(chan struct{})
	go func() {
		// Collectors send nothing; reading tells when they hang up.
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	w := &connWriter{c: c, conn: conn}
	w.bw = bufio.NewWriterSize(w, 64<<10)
	st := &stream{c: c, w: w, peers: map[netip.Addr]*peer{}}
	st.pk.emit = w.message
	st.loc = &peer{loc: true, as: c.s.localAS, id: c.s.routerID}
	if err := st.sync(); err != nil {
		return c.connErr(err)
	}
	c.setState("up", "")
	log.Info("BMP collector connected and in sync", "peers", len(st.peers), "messages", c.msgs.Load())
	for {
		select {
		case <-ctx.Done():
			// The route server is stopping: what is queued (the Peer
			// Downs of the closing sessions), then Termination.
			items, overflow := c.take()
			if !overflow {
				st.process(items)
			}
			w.message(termination("route server shutting down"))
			w.bw.Flush()
			return nil
		case <-closed:
			return errors.New("the collector closed the connection")
		case <-c.wake:
		}
		items, overflow := c.take()
		if overflow {
			return ErrOverflow
		}
		if err := st.process(items); err != nil {
			return c.connErr(err)
		}
		if err := w.bw.Flush(); err != nil {
			return c.connErr(err)
		}
	}
}

// connErr reports an overflow as such (the write failed because push
// closed the connection).
func (c *collector) connErr(err error) error {
	c.mu.Lock()
	o := c.overflowed
	c.mu.Unlock()
	if o {
		return ErrOverflow
	}
	return fmt.Errorf("sending to %s: %w", c.cfg.Address, err)
}

// connWriter writes with a deadline and counts.
type connWriter struct {
	c    *collector
	conn net.Conn
	bw   *bufio.Writer
}

func (w *connWriter) Write(b []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := w.conn.Write(b)
	w.c.bytes.Add(uint64(n))
	return n, err
}

func (w *connWriter) message(b []byte) error {
	w.c.msgs.Add(1)
	_, err := w.bw.Write(b)
	return err
}

// stream is one connection's view of the monitored peers.
type stream struct {
	c     *collector
	w     *connWriter
	pk    packer
	peers map[netip.Addr]*peer
	loc   *peer
	// Loc-RIB prefixes touched by the batch being processed.
	locSet  map[netip.Prefix]struct{}
	locList []netip.Prefix
}

// sync sends the current state: Initiation, the Loc-RIB's Peer Up, then
// per established session its Peer Up, its routes and End-of-RIB, and the
// Loc-RIB's routes and End-of-RIB. Events queued meanwhile are sent
// after it; replaying them over the dump converges on the current state.
func (st *stream) sync() error {
	c := st.c
	srv := c.s.srv.Load()
	now := time.Now()
	if err := st.w.message(initiation(c.s.sysName, c.s.sysDescr)); err != nil {
		return err
	}
	if c.loc {
		if err := st.w.message(locRIBPeerUp(st.loc, c.s.holdTime, now)); err != nil {
			return err
		}
	}
	for _, n := range srv.Neighbors() {
		info := n.Peer.Info()
		up := info.State == session.Established && info.Negotiated != nil && (c.pre || c.post)
		if !up && !c.loc {
			continue
		}
		routes, _ := srv.RIB().Routes(rib.Filter{Source: n.Source, Member: -1}, 0, 0)
		// Routes sharing attributes next to each other pack into one UPDATE.
		slices.SortStableFunc(routes, func(a, b rib.Route) int {
			if a.Family != b.Family {
				return int(a.Family) - int(b.Family)
			}
			return int(a.Attrs.ID()) - int(b.Attrs.ID())
		})
		if up {
			p := newPeer(n.Source.Addr, info.Negotiated)
			st.peers[p.addr] = p
			if err := st.w.message(peerUp(p, info.Since)); err != nil {
				return err
			}
			for _, post := range []bool{false, true} {
				if (!post && !c.pre) || (post && !c.post) {
					continue
				}
				for _, r := range routes {
					if post && !r.Verdict.Accepted() {
						continue
					}
					if err := st.pk.add(p, post, r.Family, r.Prefix, r.PathID, r.Attrs, now); err != nil {
						return err
					}
				}
				for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
					if p.neg.Families[f] {
						if err := st.pk.endOfRIB(p, post, f, now); err != nil {
							return err
						}
					}
				}
			}
		}
		if c.loc {
			for _, r := range routes {
				if r.Best {
					if err := st.pk.add(st.loc, false, r.Family, r.Prefix, 0, r.Attrs, now); err != nil {
						return err
					}
				}
			}
		}
	}
	if c.loc {
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if err := st.pk.endOfRIB(st.loc, false, f, now); err != nil {
				return err
			}
		}
	}
	if err := st.pk.flush(); err != nil {
		return err
	}
	return st.w.bw.Flush()
}

// process sends a batch of queued events.
func (st *stream) process(items []item) error {
	c := st.c
	for i := range items {
		it := &items[i]
		at := time.Unix(0, it.at)
		switch it.kind {
		case itemUp:
			if p := st.peers[it.peer]; p != nil && p.neg == it.neg {
				continue // already announced by the initial dump
			}
			if err := st.pk.flush(); err != nil {
				return err
			}
			p := newPeer(it.peer, it.neg)
			st.peers[it.peer] = p
			if c.pre || c.post {
				if err := st.w.message(peerUp(p, at)); err != nil {
					return err
				}
			}
		case itemDown:
			p := st.peers[it.peer]
			if p == nil {
				continue
			}
			if err := st.pk.flush(); err != nil {
				return err
			}
			delete(st.peers, it.peer)
			if c.pre || c.post {
				if err := st.w.message(peerDown(p, it.down, at)); err != nil {
					return err
				}
			}
		case itemRoute:
			if c.loc {
				st.touchLoc(it.prefix)
			}
			p := st.peers[it.peer]
			if p == nil {
				continue // not up (stale routes purged after a Peer Down)
			}
			if c.pre && it.pre {
				if err := st.pk.add(p, false, it.fam, it.prefix, it.pathID, it.attrs, at); err != nil {
					return err
				}
			}
			if c.post {
				// After policy: the route if accepted, else withdrawn.
				a := it.attrs
				if !it.accepted {
					a = nil
				}
				if err := st.pk.add(p, true, it.fam, it.prefix, it.pathID, a, at); err != nil {
					return err
				}
			}
		}
	}
	if err := st.flushLoc(); err != nil {
		return err
	}
	return st.pk.flush()
}

func (st *stream) touchLoc(p netip.Prefix) {
	if st.locSet == nil {
		st.locSet = map[netip.Prefix]struct{}{}
	}
	if _, ok := st.locSet[p]; !ok {
		st.locSet[p] = struct{}{}
		st.locList = append(st.locList, p)
	}
}

// flushLoc sends the Loc-RIB state of the prefixes the batch touched: the
// best route now, or a withdrawal.
func (st *stream) flushLoc() error {
	if len(st.locList) == 0 {
		return nil
	}
	r := st.c.s.srv.Load().RIB()
	now := time.Now()
	for _, p := range st.locList {
		f := bgp.IPv4Unicast
		if p.Addr().Is6() {
			f = bgp.IPv6Unicast
		}
		var best *wire.AttrSet
		for _, x := range r.Lookup(p, rib.Exact) {
			if x.Best {
				best = x.Attrs
				break
			}
		}
		if err := st.pk.add(st.loc, false, f, p, 0, best, now); err != nil {
			return err
		}
	}
	clear(st.locSet)
	st.locList = st.locList[:0]
	return nil
}
