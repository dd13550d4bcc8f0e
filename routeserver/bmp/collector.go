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
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/conf"
)

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
