// Package speaker is a member's end of a BGP session to the route server,
// built on the route server's own session FSM (package session, connecting
// out and announcing role rs-client) and codec (package wire). A Speaker
// announces and withdraws routes with given attributes and keeps the
// routes it receives. fedrs demo runs one per member on 127.0.0.x; it
// needs no root and no other software.
package speaker

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Config describes one member's speaker.
type Config struct {
	Name string
	ASN  uint32
	// RouterID defaults to LocalAddr (which must then be IPv4).
	RouterID netip.Addr
	// LocalAddr is the member's own address (127.0.0.x); the session to
	// the route server is opened from it, and it is the next hop of the
	// IPv4 routes that name none.
	LocalAddr netip.Addr
	RSAddr    netip.Addr
	RSPort    int
	RSASN     uint32
	MD5       string
	// HoldTime offered (default 90s); ConnectRetry is the first wait
	// before connecting again (default 1s).
	HoldTime     time.Duration
	ConnectRetry time.Duration
	Log          *slog.Logger
}

// Route is a route announced or received.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	// ASPath is the AS_PATH as received; for Announce it is the path behind
	// the member's own AS, which the speaker prepends (eBGP).
	ASPath      []uint32
	MED         *uint32
	Communities []string // "65535:666"
	Large       []string // "4200065000:0:4200001002"
	OTC         *uint32
}

// Speaker is one member's session to the route server.
type Speaker struct {
	cfg  Config
	peer *session.Peer
	// in holds the attribute sets of received routes while they are
	// decoded, out those of the routes announced.
	in, out *wire.Table
	cancel  context.CancelFunc

	mu        sync.Mutex
	announced map[netip.Prefix]*announcement
	// The established session, if any: its number (so that the writer
	// of a session that ended fills nothing), what was negotiated, the
	// prefixes whose announcement or withdrawal is still to be sent, and
	// whether End-of-RIB is.
	gen      int
	neg      *session.Negotiated
	dec      *wire.Decoder
	queue    []netip.Prefix
	queued   map[netip.Prefix]bool
	eor      bool
	up       chan struct{} // closed while established
	received map[netip.Prefix]Route
}

// announcement is an announced route as wire.Encode takes it: the
// attribute set as the member holds the route (ORIGIN, the AS_PATH behind
// its AS, the next hop, MED), and the rewrite that prepends the member's
// AS and adds the communities and OTC.
type announcement struct {
	set *wire.AttrSet
	rw  bgp.Rewrite
}

// Start starts the speaker; it connects to the route server and keeps
// reconnecting until Stop.
func Start(cfg Config) (*Speaker, error) {
	if cfg.HoldTime == 0 {
		cfg.HoldTime = 90 * time.Second
	}
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = time.Second
	}
	if !cfg.RouterID.IsValid() {
		if !cfg.LocalAddr.Is4() {
			return nil, fmt.Errorf("member %s: RouterID is required with an IPv6 local address", cfg.Name)
		}
		cfg.RouterID = cfg.LocalAddr
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Speaker{cfg: cfg, in: wire.NewTable(), out: wire.NewTable(), announced: map[netip.Prefix]*announcement{},
		up: make(chan struct{}), received: map[netip.Prefix]Route{}}
	s.peer = session.NewPeer(session.Config{
		Name: cfg.Name, PeerAddr: cfg.RSAddr, PeerPort: cfg.RSPort, LocalAddr: cfg.LocalAddr,
		LocalASN: cfg.ASN, PeerASN: cfg.RSASN, RouterID: cfg.RouterID, HoldTime: cfg.HoldTime,
		ConnectRetry: cfg.ConnectRetry, MD5Key: cfg.MD5, RSClient: true,
		Families: [bgp.NumFamilies]bool{bgp.IPv4Unicast: true, bgp.IPv6Unicast: true},
	}, s, cfg.Log.With("member", cfg.Name))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.peer.Run(ctx)
	return s, nil
}

// Name returns the member's name.
func (s *Speaker) Name() string { return s.cfg.Name }

// Stop closes the session (Cease, Peer De-configured) and stops.
func (s *Speaker) Stop() {
	s.cancel()
	<-s.peer.Done()
}

// State returns the session's FSM state.
func (s *Speaker) State() session.State { return s.peer.State() }

// WaitEstablished waits until the session is established or ctx ends.
func (s *Speaker) WaitEstablished(ctx context.Context) error {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session state %s: %w", s.peer.State(), ctx.Err())
	}
}

// Announce announces rt, replacing what was announced for its prefix; it
// is sent now if the session is established, else when it is.
func (s *Speaker) Announce(rt Route) error {
	a, err := s.encodable(rt)
	if err != nil {
		return fmt.Errorf("%s: %w", rt.Prefix, err)
	}
	s.mu.Lock()
	if old, ok := s.announced[rt.Prefix]; ok {
		old.set.Release()
	}
	s.announced[rt.Prefix] = a
	s.enqueue(rt.Prefix)
	s.mu.Unlock()
	s.peer.Kick()
	return nil
}

// Withdraw withdraws the route announced for prefix.
func (s *Speaker) Withdraw(prefix netip.Prefix) {
	s.mu.Lock()
	if a, ok := s.announced[prefix]; ok {
		a.set.Release()
		delete(s.announced, prefix)
		s.enqueue(prefix)
	}
	s.mu.Unlock()
	s.peer.Kick()
}

// Received returns the routes received from the route server, sorted by
// prefix.
func (s *Speaker) Received() []Route {
	s.mu.Lock()
	out := make([]Route, 0, len(s.received))
	for _, r := range s.received {
		out = append(out, r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Route) int {
		return a.Prefix.Addr().Compare(b.Prefix.Addr())*64 + (a.Prefix.Bits() - b.Prefix.Bits())
	})
	return out
}

// encodable checks rt and turns it into an announcement.
func (s *Speaker) encodable(rt Route) (*announcement, error) {
	f := bgp.IPv4Unicast
	nh := rt.NextHop
	if !nh.IsValid() {
		nh = s.cfg.LocalAddr
	}
	if rt.Prefix.Addr().Is6() {
		f = bgp.IPv6Unicast
		if !nh.Is6() || nh.Is4In6() {
			return nil, fmt.Errorf("next hop %s: an IPv6 route needs an IPv6 next hop", nh)
		}
	} else if !nh.Is4() {
		return nil, fmt.Errorf("next hop %s: an IPv4 route needs an IPv4 next hop", nh)
	}
	// The canonical attribute bytes wire keeps (ORIGIN IGP, AS_PATH as
	// one 4-octet AS_SEQUENCE, MED); Encode writes NEXT_HOP (or the
	// MP_REACH_NLRI head) from the set, and the prepend, the communities
	// and OTC from the rewrite.
	raw := []byte{wire.FlagTransitive, wire.AttrOrigin, 1, 0}
	raw = appendASPath(raw, rt.ASPath)
	attrs := bgp.Attrs{ASPath: rt.ASPath, PathLen: len(rt.ASPath), NextHop: nh}
	if rt.MED != nil {
		raw = append(raw, wire.FlagOptional, wire.AttrMED, 4)
		raw = binary.BigEndian.AppendUint32(raw, *rt.MED)
		attrs.MED, attrs.HasMED = *rt.MED, true
	}
	a := &announcement{rw: bgp.Rewrite{PrependAS: s.cfg.ASN, PrependN: 1}}
	for _, c := range rt.Communities {
		v, err := ParseCommunity(c)
		if err != nil {
			return nil, err
		}
		a.rw.Communities = append(a.rw.Communities, v)
	}
	for _, c := range rt.Large {
		v, err := parseLarge(c)
		if err != nil {
			return nil, err
		}
		a.rw.Large = append(a.rw.Large, v)
	}
	if rt.OTC != nil {
		a.rw.SetOTC, a.rw.OTC = true, *rt.OTC
	}
	a.set = s.out.Intern(f, raw, &attrs, nil)
	return a, nil
}

// appendASPath appends AS_PATH with path as AS_SEQUENCE segments of 4-octet
// ASes.
func appendASPath(b []byte, path []uint32) []byte {
	var v []byte
	for rest := path; len(rest) > 0; {
		n := min(len(rest), 255)
		v = append(v, bgp.SegSequence, byte(n))
		for _, as := range rest[:n] {
			v = binary.BigEndian.AppendUint32(v, as)
		}
		rest = rest[n:]
	}
	if len(v) > 255 {
		b = append(b, wire.FlagTransitive|wire.FlagExtLen, wire.AttrASPath)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	} else {
		b = append(b, wire.FlagTransitive, wire.AttrASPath, byte(len(v)))
	}
	return append(b, v...)
}

// ParseCommunity parses "A:B" (or a number) into a 32-bit community.
func ParseCommunity(s string) (uint32, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("community %q: want A:B", s)
		}
		return uint32(v), nil
	}
	hi, err1 := strconv.ParseUint(a, 10, 16)
	lo, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community %q: want A:B with both parts 0-65535", s)
	}
	return uint32(hi)<<16 | uint32(lo), nil
}

// parseLarge parses "G:L1:L2" into a large community.
func parseLarge(s string) (bgp.Large, error) {
	parts := strings.Split(s, ":")
	var v [3]uint32
	if len(parts) != 3 {
		return bgp.Large{}, fmt.Errorf("large community %q: want G:L1:L2", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return bgp.Large{}, fmt.Errorf("large community %q: want G:L1:L2, each 0-4294967295", s)
		}
		v[i] = uint32(n)
	}
	return bgp.Large{Global: v[0], Local1: v[1], Local2: v[2]}, nil
}

// enqueue marks p to be sent (called with s.mu held).
func (s *Speaker) enqueue(p netip.Prefix) {
	if s.neg == nil || s.queued[p] {
		return
	}
	s.queued[p] = true
	s.queue = append(s.queue, p)
}

// Established implements session.Handler: the whole table is to be sent,
// then End-of-RIB.
func (s *Speaker) Established(p *session.Peer, n *session.Negotiated) session.Outbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.neg = n
	s.dec = &wire.Decoder{AddPath: n.AddPathRx, FourOctetAS: n.FourOctetAS, Table: s.in}
	s.queue, s.queued = nil, map[netip.Prefix]bool{}
	for pfx := range s.announced {
		s.enqueue(pfx)
	}
	slices.SortFunc(s.queue, netip.Prefix.Compare)
	s.eor = true
	close(s.up)
	return outbox{s, s.gen}
}

// Update implements session.Handler: it keeps what the route server sends.
func (s *Speaker) Update(p *session.Peer, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.dec.Decode(body)
	if err != nil {
		return err
	}
	for f := range bgp.NumFamilies {
		for _, n := range u.Withdrawn[f] {
			delete(s.received, n.Prefix)
		}
		a := u.Attrs[f]
		if a == nil {
			continue
		}
		for _, n := range u.Announced[f] {
			s.received[n.Prefix] = received(n.Prefix, a)
		}
		a.Release()
	}
	return nil
}

// received is the Route a member holds for prefix p with attributes a.
func received(p netip.Prefix, a *wire.AttrSet) Route {
	r := Route{Prefix: p, NextHop: a.NextHop.Unmap(), ASPath: slices.Clone(a.ASPath)}
	if a.HasMED {
		med := a.MED
		r.MED = &med
	}
	for _, c := range a.Communities {
		r.Communities = append(r.Communities, bgp.CommunityString(c))
	}
	for _, l := range a.Large {
		r.Large = append(r.Large, l.String())
	}
	if a.HasOTC {
		otc := a.OTC
		r.OTC = &otc
	}
	return r
}

// RouteRefresh implements session.Handler: a request has the family's
// routes sent again.
func (s *Speaker) RouteRefresh(p *session.Peer, f bgp.Family, subtype uint8) {
	if subtype != 0 {
		return
	}
	s.mu.Lock()
	for pfx, a := range s.announced {
		if a.set.Family == f {
			s.enqueue(pfx)
		}
	}
	s.mu.Unlock()
	p.Kick()
}

// Down implements session.Handler: the routes received go with the session.
func (s *Speaker) Down(p *session.Peer, ev session.DownEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.neg, s.dec, s.queue, s.queued = nil, nil, nil, nil
	clear(s.received)
	s.up = make(chan struct{})
}

// outbox feeds the writer of one established session.
type outbox struct {
	s   *Speaker
	gen int
}

// Fill implements session.Outbox: one UPDATE per queued prefix, then
// End-of-RIB for each family after the first table.
func (o outbox) Fill(buf []byte, limit int) []byte {
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.gen != s.gen {
		return buf
	}
	for len(s.queue) > 0 && len(buf) < limit {
		p := s.queue[0]
		s.queue = s.queue[1:]
		delete(s.queued, p)
		f := bgp.IPv4Unicast
		if p.Addr().Is6() {
			f = bgp.IPv6Unicast
		}
		if !s.neg.Families[f] {
			continue
		}
		nlri := wire.AppendNLRI(nil, p, 0, s.neg.AddPathTx[f])
		if a, ok := s.announced[p]; ok {
			buf = wire.AppendAnnounce(buf, wire.Encode(a.set, &a.rw, s.neg.FourOctetAS), nlri)
		} else {
			buf = wire.AppendWithdraw(buf, f, nlri)
		}
	}
	if len(s.queue) == 0 && s.eor {
		s.eor = false
		for f := range bgp.NumFamilies {
			if s.neg.Families[f] {
				buf = wire.AppendEndOfRIB(buf, f)
			}
		}
	}
	return buf
}

var _ session.Handler = (*Speaker)(nil)
