package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// events handled by run.
type (
	evAccepted struct{ nc net.Conn }
	evDialed   struct {
		nc  net.Conn
		err error
	}
	evOpen struct {
		c     *conn
		id    netip.Addr
		reply chan bool
	}
	evConfirmed struct{ c *conn }
	evClosed    struct {
		c  *conn
		ev DownEvent
	}
	evAdmin struct {
		kind    adminKind
		n       *bgp.Notification
		idleFor time.Duration
		reason  string
		done    chan struct{}
	}
)

// Run runs the FSM until ctx is done; then it closes the session with
// Cease "Peer De-configured" unless Stop already sent something else.
func (p *Peer) Run(ctx context.Context) {
	defer close(p.done)
	var (
		conns    = map[*conn]bool{}
		retry    = time.NewTimer(time.Hour)
		failures int
		dialing  bool
		// waiting are administrative requests whose connections are
		// closing: their callers return once Run has processed every
		// one of them (state, counters, the RIB's session down), so that
		// what the looking glass shows afterwards is the outcome.
		waiting []*adminWait
	)
	defer func() {
		for _, w := range waiting {
			close(w.done)
		}
	}()
	retry.Stop()
	defer retry.Stop()

	schedule := func(d time.Duration) {
		if p.cfg.Passive {
			return
		}
		retry.Reset(d)
	}
	backoff := func() time.Duration {
		return retryDelay(p.cfg.ConnectRetry, failures, rand.Int64N)
	}
	refreshState := func() {
		s := Idle
		if !p.cfg.Passive && !p.isAdminDown() {
			s = Active
			if dialing {
				s = Connect
			}
		} else if !p.isAdminDown() {
			s = Active
		}
		for c := range conns {
			if cs := c.state(); cs > s {
				s = cs
			}
		}
		p.setState(s)
	}
	startConn := func(nc net.Conn, outbound bool) {
		c := newConn(p, nc, outbound)
		conns[c] = true
		go c.handshake()
	}

	if !p.isAdminDown() {
		schedule(time.Duration(rand.Int64N(int64(time.Second)))) // first attempt soon
	}
	refreshState()
	for {
		select {
		case <-ctx.Done():
			n := &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeasePeerDeconfigured}
			for c := range conns {
				c.close(n, "route server stopping", nil)
			}
			for len(conns) > 0 {
				switch e := (<-p.events).(type) {
				case evClosed:
					p.finish(e, conns)
				case evOpen:
					e.reply <- false
				case evAccepted:
					p.reject(e.nc, n)
				case evDialed:
					if e.err == nil {
						e.nc.Close()
					}
				case evAdmin:
					if e.done != nil {
						close(e.done)
					}
				}
			}
			return
		case <-retry.C:
			if dialing || p.isAdminDown() || p.current != nil || time.Now().Before(p.getIdleUntil()) {
				break
			}
			dialing = true
			go func() {
				dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				defer cancel()
				nc, err := p.dial(dctx)
				p.events <- evDialed{nc, err}
			}()
		case ev := <-p.events:
			switch e := ev.(type) {
			case evAccepted:
				switch {
				case p.isAdminDown():
					p.reject(e.nc, p.adminNotification())
				case time.Now().Before(p.getIdleUntil()):
					p.reject(e.nc, &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseConnRejected})
				case p.current != nil:
					// §6.8: a collision with an Established session closes
					// the new connection.
					p.reject(e.nc, &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision})
				default:
					if p.admit(e.nc, conns) {
						startConn(e.nc, false)
					}
				}
			case evDialed:
				dialing = false
				if e.err != nil {
					failures++
					p.setErr(fmt.Sprintf("connect: %v", e.err))
					schedule(backoff())
					break
				}
				if p.isAdminDown() || p.current != nil {
					p.reject(e.nc, &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision})
					break
				}
				if !p.admit(e.nc, conns) {
					schedule(backoff())
					break
				}
				startConn(e.nc, true)
			case evOpen:
				e.reply <- p.resolveCollision(e.c, e.id, conns)
			case evConfirmed:
				if !conns[e.c] || p.current != nil {
					e.c.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision}, "collision", nil)
					break
				}
				for c := range conns {
					if c != e.c {
						c.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision}, "collision resolution", nil)
					}
				}
				failures = 0
				retry.Stop()
				p.current = e.c
				p.mu.Lock()
				p.neg = e.c.neg
				p.estConn = e.c
				p.lastUp = time.Now()
				p.downSince = time.Time{}
				p.mu.Unlock()
				e.c.setState(Established)
				p.log.Info("session established", "remote", e.c.neg.RemoteAddr, "hold", e.c.neg.HoldTime,
					"families", familyList(e.c.neg.Families), "role", roleString(e.c.neg), "four_octet_as", e.c.neg.FourOctetAS)
				e.c.establish(p.h.Established(p, e.c.neg))
			case evClosed:
				wasCurrent := p.finish(e, conns)
				for _, w := range waiting {
					delete(w.conns, e.c)
				}
				if !p.isAdminDown() {
					d := backoff()
					if wasCurrent {
						d = time.Second // reconnect soon after a session drop
					}
					if until := p.getIdleUntil(); time.Now().Before(until) {
						d = time.Until(until)
					}
					schedule(d)
				}
			case evAdmin:
				closing := p.admin(e, conns)
				if e.kind == adminEnable || e.kind == adminReset {
					failures = 0
					schedule(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
				}
				if e.done != nil {
					waiting = append(waiting, &adminWait{conns: closing, done: e.done})
				}
			}
		}
		refreshState()
		// Answer the administrative requests whose connections are all
		// closed, now that the state says so.
		kept := waiting[:0]
		for _, w := range waiting {
			if len(w.conns) == 0 {
				close(w.done)
			} else {
				kept = append(kept, w)
			}
		}
		clear(waiting[len(kept):])
		waiting = kept
	}
}

// retryDelay is the wait before the next outgoing connection attempt
// after failures consecutive failed attempts: base after none or the
// first, then doubling, up to 8× base from the fourth on; with ±25%
// jitter (randN(n) returns a value in [0, n)) so that restarts do not
// synchronise.
func retryDelay(base time.Duration, failures int, randN func(int64) int64) time.Duration {
	d := base << min(max(failures-1, 0), 3)
	return d*3/4 + time.Duration(randN(int64(d/2)+1))
}

// admit decides whether a new connection (incoming, or one Run dialed)
// may start its handshake:
// a neighbour has at most maxConns connections at once (RFC 4271 §6.8
// needs one in OpenConfirm or Established and one being resolved). At
// the limit, the oldest incoming connection on which the neighbour has
// sent nothing gives way to the new one (a router sends its OPEN at once;
// a silent connection is stale or not a router); if there is none, the
// new connection is refused at once. Either is counted and logged at
// most once a minute.
func (p *Peer) admit(nc net.Conn, conns map[*conn]bool) bool {
	live := 0
	var silent *conn
	for c := range conns {
		select {
		case <-c.closed:
			continue
		default:
		}
		live++
		if !c.outbound && !c.heard.Load() && (silent == nil || c.started.Before(silent.started)) {
			silent = c
		}
	}
	if live < maxConns {
		return true
	}
	p.refusedConns.Add(1)
	if p.cfg.RefusedConns != nil {
		p.cfg.RefusedConns.Add(1)
	}
	what := "refused a new connection: the neighbour already has the connections collision detection needs"
	if silent != nil {
		what = "closed the oldest connection on which the neighbour has sent nothing, to take a new one"
	}
	p.limitQuiet++
	if now := time.Now(); now.Sub(p.limitLogAt) >= time.Minute {
		p.log.Warn(what, "limit", maxConns, "remote", nc.RemoteAddr().String(), "refused_since_last_line", p.limitQuiet)
		p.limitLogAt, p.limitQuiet = now, 0
	}
	if silent != nil {
		silent.close(nil, "replaced by a newer connection (at most 2 at a time)", nil)
		return true
	}
	rejectConn(nc, &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseConnRejected})
	return false
}

// finish removes a closed connection; it reports whether it was the
// established one.
func (p *Peer) finish(e evClosed, conns map[*conn]bool) bool {
	delete(conns, e.c)
	if n := e.ev.Sent; n != nil && (n.Code != bgp.ErrCease || n.Subcode != bgp.CeaseCollision) {
		p.setSent(n)
	}
	if e.ev.Received != nil {
		p.setRecvd(e.ev.Received)
	}
	if e.ev.Err != nil {
		p.setErr(e.ev.Err.Error())
	} else if e.ev.Reason != "" {
		p.setErr(e.ev.Reason)
	}
	if p.current != e.c {
		return false
	}
	p.current = nil
	p.flaps.Add(1)
	p.mu.Lock()
	p.neg = nil
	p.estConn = nil
	p.downSince = time.Now()
	p.mu.Unlock()
	args := []any{"reason", e.ev.Reason, "sent", notifString(e.ev.Sent), "received", notifString(e.ev.Received)}
	if e.ev.Err != nil {
		args = append(args, "err", e.ev.Err)
	}
	p.log.Warn("session down", append(args, "graceful_restart", e.ev.GracefulRestart)...)
	p.h.Down(p, e.ev)
	return true
}

// resolveCollision decides whether connection c, whose peer just sent an
// OPEN with identifier id, may proceed (RFC 4271 §6.8): against a
// connection in OpenConfirm, keep the one initiated by the speaker with
// the higher BGP Identifier.
func (p *Peer) resolveCollision(c *conn, id netip.Addr, conns map[*conn]bool) bool {
	if p.current != nil {
		return false
	}
	local := binary.BigEndian.Uint32(p.cfg.RouterID.AsSlice())
	remote := binary.BigEndian.Uint32(id.AsSlice())
	keepOutbound := local > remote
	for other := range conns {
		if other == c || other.state() != OpenConfirm {
			continue
		}
		// other and c collide: keep the one initiated by the higher ID.
		if c.outbound == keepOutbound {
			other.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision}, "collision resolution", nil)
			return true
		}
		return false
	}
	return true
}

func notifString(n *bgp.Notification) string {
	if n == nil {
		return ""
	}
	return n.String()
}

func familyList(f [bgp.NumFamilies]bool) []string {
	var out []string
	for i, on := range f {
		if on {
			out = append(out, bgp.Family(i).String())
		}
	}
	return out
}

func roleString(n *Negotiated) string {
	if !n.HasRole {
		return "none"
	}
	return bgp.RoleName(n.PeerRole)
}
