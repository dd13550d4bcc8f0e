package session

import (
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
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
	// RefusedConns, when set, counts (besides the peer's own counter)
	// the connections refused for the limit per neighbour; a server
	// shares one among its peers so that the total outlives a peer
	// removed by a reload.
	RefusedConns *atomic.Uint64
	// OpenSentHold is how long a connection waits for the neighbour's
	// OPEN; default 30 s (RFC 4271 suggests 4 minutes).
	OpenSentHold time.Duration
	// WriteBuffers, when set, lends the writer the buffer it builds
	// UPDATEs in for each burst (New must return a *[]byte); a server
	// shares one pool among its peers so that idle sessions hold no
	// buffer. Nil: each connection allocates its own.
	WriteBuffers *sync.Pool
	// RSClient makes this the member's end of the session (the routers of
	// fedrs demo): the OPEN announces role rs-client and a peer that
	// announces a role must announce rs. The route server's own sessions
	// leave it false: they announce rs and expect rs-client.
	RSClient bool
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

	// AdminShutdown: AdminDown because of an administrative shutdown
	// (Shutdown: an operator, the configuration, maintenance), not a
	// maximum-prefix teardown waiting for an operator.
	AdminShutdown bool
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

	// refusedConns counts the connections refused or replaced because
	// the neighbour had maxConns already; limitLogAt and limitQuiet (Run's)
	// rate-limit their log.
	refusedConns atomic.Uint64
	limitLogAt   time.Time
	limitQuiet   int
}

// RefusedConns returns the connections from the neighbour refused (or
// replaced while silent) because it had as many as collision detection
// needs already.
func (p *Peer) RefusedConns() uint64 { return p.refusedConns.Load() }

// NewPeer returns a peer; Run starts it.
func NewPeer(cfg Config, h Handler, log *slog.Logger) *Peer {
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 179
	}
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = 30 * time.Second
	}
	if cfg.OpenSentHold == 0 {
		cfg.OpenSentHold = openSentHold
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
		AdminDown: p.adminDown, AdminShutdown: p.adminDown && p.adminNote != nil, IdleUntil: p.idleUntil, Flaps: p.flaps.Load(),
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
