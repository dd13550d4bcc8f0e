package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// State is a BGP FSM state (RFC 4271 §8.2.2).
type State uint32

// FSM states.
const (
	Idle State = iota
	Connect
	Active
	OpenSent
	OpenConfirm
	Established
)

func (s State) String() string {
	switch s {
	case Idle:
		return "Idle"
	case Connect:
		return "Connect"
	case Active:
		return "Active"
	case OpenSent:
		return "OpenSent"
	case OpenConfirm:
		return "OpenConfirm"
	case Established:
		return "Established"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Config is one neighbour: a member router's address.
type Config struct {
	// Name identifies the neighbour in logs ("nhs-coastal 192.0.2.11").
	Name      string
	PeerAddr  netip.Addr
	PeerPort  int        // for active connections; default 179
	LocalAddr netip.Addr // source for active connections (optional)
	LocalASN  uint32
	PeerASN   uint32
	RouterID  netip.Addr
	// HoldTime offered; 0 disables keepalives and the hold timer.
	HoldTime time.Duration
	// ConnectRetry is the first back-off after a failed connection; it
	// doubles up to 8×. Default 30s.
	ConnectRetry time.Duration
	// Passive never connects out.
	Passive    bool
	MD5Key     string
	GTSM       bool
	GTSMHops   int
	RoleStrict bool
	Families   [bgp.NumFamilies]bool
	AddPathRx  bool
	AddPathTx  bool
	// GracefulRestart announces the helper capability.
	GracefulRestart bool
	// WriteBuffers, when set, lends the writer the buffer it builds
	// UPDATEs in for each burst (New must return a *[]byte); a server
	// shares one pool among its peers so that idle sessions hold no
	// buffer. Nil: each connection allocates its own.
	WriteBuffers *sync.Pool
}

// Handler is the RIB side of a session.
type Handler interface {
	// Established is called when the session reaches Established, before
	// any UPDATE is read; the returned Outbox feeds the session's writer.
	Established(p *Peer, n *Negotiated) Outbox
	// Update is called from the session's reader goroutine with the body
	// of each UPDATE (valid only during the call). An error ends the
	// session; a *Notification in its chain is sent first.
	Update(p *Peer, body []byte) error
	// RouteRefresh is called for a ROUTE-REFRESH (subtype 0 request,
	// 1 BoRR, 2 EoRR per RFC 7313).
	RouteRefresh(p *Peer, f bgp.Family, subtype uint8)
	// Down is called once when an established session ends.
	Down(p *Peer, ev DownEvent)
}

// Outbox is where the session's writer goroutine pulls UPDATEs from.
type Outbox interface {
	// Fill appends whole BGP messages to buf, stopping once buf holds about
	// limit octets, and returns it; it returns buf unchanged when nothing
	// is pending. The writer calls it again after each write until it
	// returns nothing, and again after every Kick.
	Fill(buf []byte, limit int) []byte
}

// DownEvent says why an established session ended.
type DownEvent struct {
	Reason string
	// Sent and Received are the NOTIFICATIONs exchanged, if any.
	Sent, Received *bgp.Notification
	Err            error
	// GracefulRestart is true when the peer announced graceful restart and
	// the session ended in a way that lets the helper keep its routes as
	// stale (transport failure or hold timer, not a NOTIFICATION from the
	// peer nor an administrative action here).
	GracefulRestart bool
	Negotiated      *Negotiated
	Uptime          time.Duration
}

// Info is a snapshot of a peer for status and the looking glass.
type Info struct {
	Name       string
	PeerAddr   netip.Addr
	State      State
	Since      time.Time // of the current state
	Negotiated *Negotiated
	// DownSince is when the session last left Established, or when the
	// peer started if it never was (zero while Established).
	DownSince time.Time
	// LastUp is when the session last reached Established (zero: never).
	LastUp    time.Time
	LastError string
	// LastErrorAt is when LastError was recorded.
	LastErrorAt time.Time
	// LastNotifySent and LastNotifyRecvd are the last NOTIFICATIONs sent
	// to and received from the neighbour, on any connection (nil: none
	// since the start). Collision resolution is left out: it closes a
	// duplicate connection, not the session.
	LastNotifySent, LastNotifyRecvd *NotificationEvent
	AdminDown                       bool
	IdleUntil                       time.Time
	Flaps                           uint64
	MsgIn, MsgOut                   uint64
	UpdIn, UpdOut                   uint64
}

// NotificationEvent is a NOTIFICATION with the time it was sent or
// received.
type NotificationEvent struct {
	*bgp.Notification
	At time.Time
}

// Peer runs the FSM of one neighbour.
type Peer struct {
	cfg Config
	h   Handler
	log *slog.Logger

	events chan any
	done   chan struct{}

	state atomic.Uint32
	msgIn, msgOut, updIn, updOut,
	flaps atomic.Uint64

	mu        sync.Mutex // guards the fields below, for Info
	since     time.Time
	downSince time.Time
	lastUp    time.Time
	neg       *Negotiated
	lastErr   string
	lastErrAt time.Time
	lastSent  *NotificationEvent
	lastRecvd *NotificationEvent
	adminDown bool
	// adminNote is the NOTIFICATION of the administrative shutdown in
	// force: connections the neighbour opens meanwhile are refused with
	// it, so that its operator keeps reading the same message.
	adminNote *bgp.Notification
	idleUntil time.Time
	estConn   *conn // the established connection, for other goroutines
	current   *conn // the established connection, owned by Run
}

// NewPeer returns a peer; Run starts it.
func NewPeer(cfg Config, h Handler, log *slog.Logger) *Peer {
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 179
	}
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = 30 * time.Second
	}
	if cfg.GTSM && cfg.GTSMHops == 0 {
		cfg.GTSMHops = 1
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Peer{
		cfg:    cfg,
		h:      h,
		log:    log.With("neighbor", cfg.Name),
		events: make(chan any, 16),
		done:   make(chan struct{}),
	}
	p.since = time.Now()
	p.downSince = p.since
	return p
}

// Config returns the neighbour configuration.
func (p *Peer) Config() *Config { return &p.cfg }

// State returns the current FSM state (the most advanced of its
// connections).
func (p *Peer) State() State { return State(p.state.Load()) }

// Info returns a snapshot for status displays.
func (p *Peer) Info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Info{
		Name: p.cfg.Name, PeerAddr: p.cfg.PeerAddr, State: p.State(), Since: p.since,
		Negotiated: p.neg, DownSince: p.downSince, LastUp: p.lastUp,
		LastError: p.lastErr, LastErrorAt: p.lastErrAt, LastNotifySent: p.lastSent, LastNotifyRecvd: p.lastRecvd,
		AdminDown: p.adminDown, IdleUntil: p.idleUntil, Flaps: p.flaps.Load(),
		MsgIn: p.msgIn.Load(), MsgOut: p.msgOut.Load(), UpdIn: p.updIn.Load(), UpdOut: p.updOut.Load(),
	}
}

func (p *Peer) setState(s State) {
	if State(p.state.Swap(uint32(s))) != s {
		p.mu.Lock()
		p.since = time.Now()
		p.mu.Unlock()
	}
}

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

type adminKind int

const (
	adminShutdown adminKind = iota // close and stay down until Enable
	adminReset                     // close, then reconnect as usual
	adminIdle                      // close and stay down for idleFor (max prefix)
	adminEnable
	adminRefresh // send ROUTE-REFRESH (soft clear in)
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
					startConn(e.nc, false)
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

// adminWait is an administrative request waiting for the connections it
// closed.
type adminWait struct {
	conns map[*conn]bool
	done  chan struct{}
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

// admin carries out an administrative request; it returns the
// connections it closed (their evClosed is still to come).
func (p *Peer) admin(e evAdmin, conns map[*conn]bool) map[*conn]bool {
	closeAll := func() map[*conn]bool {
		closing := make(map[*conn]bool, len(conns))
		for c := range conns {
			c.close(e.n, e.reason, nil)
			closing[c] = true
		}
		return closing
	}
	switch e.kind {
	case adminShutdown:
		p.mu.Lock()
		p.adminDown = true
		p.adminNote = e.n
		p.mu.Unlock()
		return closeAll()
	case adminIdle:
		p.mu.Lock()
		if e.idleFor > 0 {
			p.idleUntil = time.Now().Add(e.idleFor)
		} else {
			p.adminDown = true // stays down until an operator enables it
			p.adminNote = nil
		}
		p.mu.Unlock()
		return closeAll()
	case adminReset:
		p.mu.Lock()
		p.idleUntil = time.Time{}
		p.mu.Unlock()
		return closeAll()
	case adminEnable:
		p.mu.Lock()
		p.adminDown = false
		p.adminNote = nil
		p.idleUntil = time.Time{}
		p.mu.Unlock()
	}
	return nil
}

// adminNotification is what a connection opened while the neighbour is
// administratively down is refused with: the shutdown's own NOTIFICATION
// (its RFC 9003 message), else a plain Administrative Shutdown.
func (p *Peer) adminNotification() *bgp.Notification {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.adminNote != nil {
		return p.adminNote
	}
	return bgp.NewShutdown(bgp.CeaseAdminShutdown, "neighbor administratively down")
}

// reject sends n on a connection we do not want and closes it; n counts
// as the last NOTIFICATION sent unless it resolves a collision.
func (p *Peer) reject(nc net.Conn, n *bgp.Notification) {
	if rejectConn(nc, n) == nil {
		p.msgOut.Add(1)
		if n.Code != bgp.ErrCease || n.Subcode != bgp.CeaseCollision {
			p.setSent(n)
		}
	}
}

func (p *Peer) sendAdmin(e evAdmin) {
	e.done = make(chan struct{})
	select {
	case p.events <- e:
		select {
		case <-e.done:
		case <-p.done:
		}
	case <-p.done:
	}
}

// Shutdown closes the session with Cease "Administrative Shutdown" and the
// RFC 9003 message msg, and keeps the neighbour down until Enable;
// connections the neighbour opens meanwhile are refused with the same
// NOTIFICATION. It returns once the session is down (Info and the
// Handler's Down reflect it).
func (p *Peer) Shutdown(msg string) {
	p.sendAdmin(evAdmin{kind: adminShutdown, n: bgp.NewShutdown(bgp.CeaseAdminShutdown, msg), reason: "administrative shutdown"})
}

// Reset closes the session with Cease "Administrative Reset" and the
// message msg, returning once it is down; the neighbour reconnects as
// usual.
func (p *Peer) Reset(msg string) {
	p.sendAdmin(evAdmin{kind: adminReset, n: bgp.NewShutdown(bgp.CeaseAdminReset, msg), reason: "administrative reset"})
}

// CloseWith closes the session with the given NOTIFICATION (e.g. Cease
// "Other Configuration Change"); the neighbour reconnects as usual.
func (p *Peer) CloseWith(n *bgp.Notification, reason string) {
	p.sendAdmin(evAdmin{kind: adminReset, n: n, reason: reason})
}

// Enable lifts an administrative shutdown or an idle hold.
func (p *Peer) Enable() { p.sendAdmin(evAdmin{kind: adminEnable}) }

// MaxPrefixExceeded tears the session down with Cease "Maximum Number of
// Prefixes Reached" (RFC 4486 data: AFI, SAFI, limit) and keeps the
// neighbour idle for restart (0: until Enable). It may be called from the
// Handler's Update; it does not wait.
func (p *Peer) MaxPrefixExceeded(f bgp.Family, limit uint32, restart time.Duration) {
	afi, safi := f.AFISAFI()
	data := []byte{byte(afi >> 8), byte(afi), safi, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(data[3:], limit)
	e := evAdmin{kind: adminIdle, n: &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseMaxPrefix, Data: data},
		idleFor: restart, reason: fmt.Sprintf("maximum number of %s prefixes (%d) reached", f, limit)}
	go func() {
		select {
		case p.events <- e:
		case <-p.done:
		}
	}()
}

// AdminDown reports whether the neighbour is administratively down.
func (p *Peer) AdminDown() bool { return p.isAdminDown() }

// SendRouteRefresh asks the peer to resend its routes of family f (soft
// clear in). It returns an error when the session is not established or
// the peer did not announce route refresh.
func (p *Peer) SendRouteRefresh(f bgp.Family) error {
	p.mu.Lock()
	neg := p.neg
	p.mu.Unlock()
	c := p.established()
	if c == nil || neg == nil {
		return errors.New("session is not established")
	}
	if !neg.RouteRefresh {
		return errors.New("the peer did not announce the route refresh capability")
	}
	if !neg.Families[f] {
		return fmt.Errorf("%s was not negotiated", f)
	}
	afi, safi := f.AFISAFI()
	return c.writeMsg(bgp.AppendMessage(nil, bgp.MsgRouteRefresh, []byte{byte(afi >> 8), byte(afi), 0, safi}))
}

// Kick wakes the writer: the Outbox has something new.
func (p *Peer) Kick() {
	if c := p.established(); c != nil {
		c.kick()
	}
}

// established returns the established connection, if any. Safe from any
// goroutine.
func (p *Peer) established() *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.estConn
}

// Done is closed when Run has returned.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Accept hands an incoming connection from this neighbour to the FSM.
func (p *Peer) Accept(nc net.Conn) {
	select {
	case p.events <- evAccepted{nc}:
	case <-p.done:
		nc.Close()
	}
}

func (p *Peer) isAdminDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.adminDown
}

func (p *Peer) getIdleUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idleUntil
}

func (p *Peer) setErr(s string) {
	p.mu.Lock()
	p.lastErr = s
	p.lastErrAt = time.Now()
	p.mu.Unlock()
}

func (p *Peer) setSent(n *bgp.Notification) {
	p.mu.Lock()
	p.lastSent = &NotificationEvent{Notification: n, At: time.Now()}
	p.mu.Unlock()
}

func (p *Peer) setRecvd(n *bgp.Notification) {
	p.mu.Lock()
	p.lastRecvd = &NotificationEvent{Notification: n, At: time.Now()}
	p.mu.Unlock()
}

// dial opens an active connection with the transport options applied
// before connect (MD5 must be on the socket before the SYN).
func (p *Peer) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{
		Control: func(network, address string, c syscall.RawConn) error {
			return control(c, func(fd uintptr) error {
				if p.cfg.MD5Key != "" {
					if err := setMD5(fd, p.cfg.PeerAddr, p.cfg.MD5Key); err != nil {
						return err
					}
				}
				if p.cfg.GTSM {
					return setGTSM(fd, !p.cfg.PeerAddr.Unmap().Is4(), p.cfg.GTSMHops)
				}
				return nil
			})
		},
	}
	d.SetMultipathTCP(false)
	if p.cfg.LocalAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: p.cfg.LocalAddr.AsSlice()}
	}
	return d.DialContext(ctx, "tcp", netip.AddrPortFrom(p.cfg.PeerAddr, uint16(p.cfg.PeerPort)).String())
}

// rejectConn sends n on a connection we do not want and closes it.
func rejectConn(nc net.Conn, n *bgp.Notification) error {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := nc.Write(bgp.AppendMessage(nil, bgp.MsgNotification, notificationBody(n)))
	nc.Close()
	return err
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

// isClosedErr reports errors that only say the connection went away.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
