package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Timers outside the negotiated hold time.
const (
	// openSentHold is how long a connection waits for the neighbour's
	// OPEN by default (Config.OpenSentHold). RFC 4271 §8.2.2 suggests a
	// "large value" (4 minutes); a router sends its OPEN as soon as the
	// connection is up, and a connection that stays silent holds a
	// descriptor and one of the neighbour's two connection slots, so
	// fedrs waits 30 s.
	openSentHold = 30 * time.Second
	// openConfirmHold bounds OpenConfirm when no hold time was negotiated.
	openConfirmHold = 4 * time.Minute
	// maxConns is the connections a neighbour may have at once: what
	// collision detection (RFC 4271 §6.8) needs, one connection in
	// OpenConfirm or Established and one being resolved against it.
	maxConns        = 2
	notifyTimeout   = time.Second // for writing a NOTIFICATION before closing
	minSendHold     = time.Minute // floor of the send hold timer
	writeChunkBytes = 32 << 10
	// writeCoalesce is the least time between two bursts of UPDATEs to a
	// peer: changes arriving meanwhile are gathered (the RIB keeps only
	// the latest state of each prefix) and sent together, in full
	// messages and few writes, instead of a write per inbound UPDATE.
	writeCoalesce = 10 * time.Millisecond
)

// ErrSendHoldTimer is the error code of the send hold timer
// (draft-ietf-idr-bgp-sendholdtimer): the peer did not take our data.
const ErrSendHoldTimer = 8

// conn is one TCP connection of a peer, from OPEN to close.
type conn struct {
	p        *Peer
	nc       net.Conn
	outbound bool
	r        *reader
	st       atomic.Uint32
	neg      *Negotiated // set before OpenConfirm, read-only after
	started  time.Time
	// heard is set once the neighbour has sent a message on the
	// connection: a silent one may be replaced by a newer one.
	heard atomic.Bool

	wmu       sync.Mutex
	kickCh    chan struct{}
	goCh      chan Outbox // Run hands the outbox over on Established
	closed    chan struct{}
	closeOnce sync.Once
	recvd     atomic.Pointer[bgp.Notification]
	wbuf      *[]byte // the writer's own buffer, without Config.WriteBuffers
	estAt     time.Time
}

func newConn(p *Peer, nc net.Conn, outbound bool) *conn {
	c := &conn{
		p: p, nc: nc, outbound: outbound, r: newReader(nc), started: time.Now(),
		kickCh: make(chan struct{}, 1), goCh: make(chan Outbox, 1), closed: make(chan struct{}),
	}
	c.st.Store(uint32(Active))
	return c
}

func (c *conn) state() State     { return State(c.st.Load()) }
func (c *conn) setState(s State) { c.st.Store(uint32(s)) }

func (c *conn) kick() {
	select {
	case c.kickCh <- struct{}{}:
	default:
	}
}

// post delivers an event to Run unless Run has returned.
func (p *Peer) post(ev any) bool {
	select {
	case p.events <- ev:
		return true
	case <-p.done:
		return false
	}
}

func (p *Peer) localOpen() *localOpen {
	role := uint8(bgp.RoleRS)
	if p.cfg.RSClient {
		role = bgp.RoleRSClient
	}
	return &localOpen{
		asn: p.cfg.LocalASN, id: p.cfg.RouterID, holdTime: p.cfg.HoldTime, families: p.cfg.Families, role: role,
		addPathRx: p.cfg.AddPathRx, addPathTx: p.cfg.AddPathTx, gracefulRestart: p.cfg.GracefulRestart,
	}
}

// handshake runs OpenSent and OpenConfirm, then, once Run has made the
// connection the established one, becomes its reader.
func (c *conn) handshake() {
	p := c.p
	c.setState(OpenSent)
	local := p.localOpen()
	sentOpen := bgp.AppendMessage(nil, bgp.MsgOpen, local.body())
	if err := c.writeMsg(sentOpen); err != nil {
		c.close(nil, "sending OPEN failed", err)
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(p.cfg.OpenSentHold))
	typ, body, err := c.r.next()
	if err != nil {
		c.readFailed(err, "OpenSent")
		return
	}
	c.heard.Store(true)
	p.msgIn.Add(1)
	switch typ {
	case bgp.MsgOpen:
	case bgp.MsgNotification:
		c.closeReceived(parseNotification(body))
		return
	default:
		c.close(&bgp.Notification{Code: bgp.ErrFSM, Subcode: 1}, "unexpected "+msgTypeName(typ)+" in OpenSent", nil)
		return
	}
	o, err := parseOpen(body)
	if err != nil {
		c.fail(err, "malformed OPEN")
		return
	}
	neg, err := negotiate(&p.cfg, local, o)
	if err != nil {
		c.fail(err, "OPEN refused")
		return
	}
	neg.LocalAddr = addrPort(c.nc.LocalAddr())
	neg.RemoteAddr = addrPort(c.nc.RemoteAddr())
	neg.SentOpen = sentOpen
	neg.ReceivedOpen = bgp.AppendMessage(nil, bgp.MsgOpen, body)
	c.neg = neg
	reply := make(chan bool, 1)
	if !p.post(evOpen{c: c, id: o.ID, reply: reply}) {
		c.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeasePeerDeconfigured}, "route server stopping", nil)
		return
	}
	if !<-reply {
		c.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseCollision}, "collision resolution", nil)
		return
	}
	c.setState(OpenConfirm)
	if err := c.writeMsg(keepaliveMsg); err != nil {
		c.close(nil, "sending KEEPALIVE failed", err)
		return
	}
	if neg.HoldTime > 0 {
		c.nc.SetReadDeadline(time.Now().Add(neg.HoldTime))
	} else {
		c.nc.SetReadDeadline(time.Now().Add(openConfirmHold))
	}
	typ, body, err = c.r.next()
	if err != nil {
		c.readFailed(err, "OpenConfirm")
		return
	}
	p.msgIn.Add(1)
	switch typ {
	case bgp.MsgKeepalive:
	case bgp.MsgNotification:
		c.closeReceived(parseNotification(body))
		return
	default:
		c.close(&bgp.Notification{Code: bgp.ErrFSM, Subcode: 2}, "unexpected "+msgTypeName(typ)+" in OpenConfirm", nil)
		return
	}
	c.r.maxLen = neg.MaxMessageLen()
	if !p.post(evConfirmed{c}) {
		c.close(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeasePeerDeconfigured}, "route server stopping", nil)
		return
	}
	var out Outbox
	select {
	case out = <-c.goCh:
	case <-c.closed:
		return
	}
	go c.writeLoop(out)
	c.readLoop()
}

// establish is called by Run once the connection is the established one.
func (c *conn) establish(out Outbox) {
	c.estAt = time.Now()
	c.goCh <- out
}

func (c *conn) readLoop() {
	p := c.p
	hold := c.neg.HoldTime
	for {
		if hold > 0 {
			c.nc.SetReadDeadline(time.Now().Add(hold))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		typ, body, err := c.r.next()
		if err != nil {
			c.readFailed(err, "Established")
			return
		}
		p.msgIn.Add(1)
		switch typ {
		case bgp.MsgKeepalive:
		case bgp.MsgUpdate:
			p.updIn.Add(1)
			if err := p.h.Update(p, body); err != nil {
				c.fail(err, "UPDATE error")
				return
			}
		case bgp.MsgRouteRefresh:
			c.routeRefresh(body)
		case bgp.MsgNotification:
			c.closeReceived(parseNotification(body))
			return
		case bgp.MsgOpen:
			c.close(&bgp.Notification{Code: bgp.ErrFSM, Subcode: 3}, "unexpected OPEN in Established", nil)
			return
		}
	}
}

func (c *conn) routeRefresh(body []byte) {
	if len(body) != 4 {
		if c.neg.EnhancedRouteRefresh {
			// RFC 7313 §5: a malformed ROUTE-REFRESH ends the session.
			msg := bgp.AppendMessage(nil, bgp.MsgRouteRefresh, body)
			c.close(&bgp.Notification{Code: bgp.ErrRouteRefresh, Subcode: bgp.ErrSubRRInvalidLength, Data: msg}, "malformed ROUTE-REFRESH", nil)
			return
		}
		c.p.log.Warn("ignoring malformed ROUTE-REFRESH", "length", len(body))
		return
	}
	afi := binary.BigEndian.Uint16(body[:2])
	f, ok := bgp.FamilyOf(afi, body[3])
	if !ok || !c.neg.Families[f] {
		c.p.log.Warn("ignoring ROUTE-REFRESH for a family not negotiated", "afi", afi, "safi", body[3])
		return
	}
	c.p.h.RouteRefresh(c.p, f, body[2])
}

func (c *conn) writeLoop(out Outbox) {
	var ka <-chan time.Time
	var kaTimer *time.Timer
	if c.neg.Keepalive > 0 {
		kaTimer = time.NewTimer(c.neg.Keepalive)
		defer kaTimer.Stop()
		ka = kaTimer.C
	}
	resetKA := func() {
		if kaTimer != nil {
			kaTimer.Reset(c.neg.Keepalive)
		}
	}
	limit := writeChunkBytes
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	defer coalesce.Stop()
	var lastBurst time.Time
	for {
		// Gather: the previous burst was less than writeCoalesce ago.
		if wait := writeCoalesce - time.Since(lastBurst); wait > 0 {
			coalesce.Reset(wait)
			select {
			case <-coalesce.C:
			case <-c.closed:
				return
			}
		}
		lastBurst = time.Now()
		if !c.burst(out, limit, resetKA) {
			return
		}
		select {
		case <-c.kickCh:
		case <-ka:
			if err := c.writeMsg(keepaliveMsg); err != nil {
				c.writeFailed(err)
				return
			}
			resetKA()
		case <-c.closed:
			return
		}
	}
}

// NewWriteBuffers returns a pool of UPDATE-building buffers for
// Config.WriteBuffers.
func NewWriteBuffers() *sync.Pool {
	return &sync.Pool{New: func() any {
		// One extended message past the chunk grows it (append).
		b := make([]byte, 0, writeChunkBytes+bgp.MaxMsgLen)
		return &b
	}}
}

// burst writes what out has, in chunks of about limit octets, until it
// has nothing more; false when the connection failed or closed.
func (c *conn) burst(out Outbox, limit int, sent func()) bool {
	var bp *[]byte
	if pool := c.p.cfg.WriteBuffers; pool != nil {
		bp = pool.Get().(*[]byte)
		defer pool.Put(bp)
	} else {
		if c.wbuf == nil {
			b := make([]byte, 0, writeChunkBytes+bgp.MaxMsgLen)
			c.wbuf = &b
		}
		bp = c.wbuf
	}
	for {
		select {
		case <-c.closed:
			return false
		default:
		}
		buf := out.Fill((*bp)[:0], limit)
		*bp = buf
		if len(buf) == 0 {
			return true
		}
		n := countMessages(buf)
		if err := c.writeMsg(buf); err != nil {
			c.writeFailed(err)
			return false
		}
		c.p.updOut.Add(uint64(n))
		sent()
	}
}

func countMessages(b []byte) int {
	n := 0
	for len(b) >= bgp.HeaderLen {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if l < bgp.HeaderLen || l > len(b) {
			break
		}
		b = b[l:]
		n++
	}
	return n
}

// writeMsg writes whole messages. The send hold timer bounds how long a
// peer that does not read can block us.
func (c *conn) writeMsg(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	sendHold := minSendHold
	if c.neg != nil && 2*c.neg.HoldTime > sendHold {
		sendHold = 2 * c.neg.HoldTime
	}
	c.nc.SetWriteDeadline(time.Now().Add(sendHold))
	_, err := c.nc.Write(b)
	if err == nil {
		c.p.msgOut.Add(uint64(countMessages(b)))
	}
	return err
}

func (c *conn) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.close(nil, "send hold timer expired: the peer did not take our data", err)
		return
	}
	c.close(nil, "write failed", err)
}

// readFailed turns a read error into the right close.
func (c *conn) readFailed(err error, where string) {
	var ne net.Error
	var n *bgp.Notification
	switch {
	case errors.As(err, &n):
		c.close(n, "message header error in "+where, nil)
	case errors.As(err, &ne) && ne.Timeout():
		c.close(&bgp.Notification{Code: bgp.ErrHoldTimer}, "hold timer expired in "+where, nil)
	case isClosedErr(err):
		c.close(nil, "connection closed by peer in "+where, nil)
	default:
		c.close(nil, "read failed in "+where, err)
	}
}

// fail closes with the NOTIFICATION found in err's chain, if any.
func (c *conn) fail(err error, reason string) {
	var n *bgp.Notification
	if errors.As(err, &n) {
		c.close(n, reason, err)
		return
	}
	c.close(nil, reason, err)
}

func (c *conn) closeReceived(n *bgp.Notification) {
	c.recvd.Store(n)
	c.p.log.Warn("NOTIFICATION received", "notification", n.String())
	c.close(nil, "NOTIFICATION received: "+n.String(), nil)
}

// close sends n (if any), closes the connection and reports to Run. Safe to
// call more than once and from any goroutine.
func (c *conn) close(n *bgp.Notification, reason string, err error) {
	c.closeOnce.Do(func() {
		if n != nil {
			// Unblock a writer stuck on a full socket, then send.
			c.nc.SetWriteDeadline(time.Now().Add(notifyTimeout))
			c.wmu.Lock()
			c.nc.SetWriteDeadline(time.Now().Add(notifyTimeout))
			if _, werr := c.nc.Write(bgp.AppendMessage(nil, bgp.MsgNotification, notificationBody(n))); werr == nil {
				c.p.msgOut.Add(1)
			}
			c.wmu.Unlock()
			if n.Code != bgp.ErrCease || n.Subcode != bgp.CeaseCollision {
				args := []any{"notification", n.String(), "reason", reason}
				if err != nil {
					args = append(args, "err", err)
				}
				c.p.log.Warn("NOTIFICATION sent", args...)
			}
		}
		c.nc.Close()
		close(c.closed)
		ev := DownEvent{Reason: reason, Sent: n, Received: c.recvd.Load(), Err: err, Negotiated: c.neg}
		if !c.estAt.IsZero() {
			ev.Uptime = time.Since(c.estAt)
		}
		ev.GracefulRestart = c.neg != nil && c.neg.GracefulRestart && ev.Received == nil &&
			(n == nil || n.Code == bgp.ErrHoldTimer)
		go c.p.post(evClosed{c: c, ev: ev})
	})
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// String describes the connection for logs.
func (c *conn) String() string {
	dir := "inbound"
	if c.outbound {
		dir = "outbound"
	}
	return fmt.Sprintf("%s %s", dir, c.nc.RemoteAddr())
}
