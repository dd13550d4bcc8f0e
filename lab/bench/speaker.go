package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// DialFunc opens a TCP connection from local to remote.
type DialFunc func(ctx context.Context, local netip.Addr, remote netip.AddrPort) (net.Conn, error)

// DirectDial dials from the calling process's own namespace.
func DirectDial(ctx context.Context, local netip.Addr, remote netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0)), Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", remote.String())
}

// SpeakerConfig describes one member session.
type SpeakerConfig struct {
	Table  *Table
	Family Family
	Member int
	// RS is the route server's address and port; RSASN its AS.
	RS    netip.AddrPort
	RSASN uint32
	// HoldTime offered (default 180s).
	HoldTime time.Duration
	// Role sends the BGP Role capability with role RS-Client (RFC 9234).
	Role bool
	Dial DialFunc
	// Updates is the member's pre-encoded table in the family.
	Updates  *Encoded
	Receiver *Receiver
}

// Speaker is one member's BGP session to the route server: it opens the
// session, writes its pre-encoded table and End-of-RIB, answers with
// keepalives, and hands every UPDATE it receives to its Receiver.
type Speaker struct {
	cfg  SpeakerConfig
	conn net.Conn
	br   *bufio.Reader
	hold time.Duration
	wmu  sync.Mutex

	mu          sync.Mutex
	established time.Time
	sent        time.Time
}

// NewSpeaker returns an unconnected speaker.
func NewSpeaker(cfg SpeakerConfig) *Speaker {
	if cfg.HoldTime == 0 {
		cfg.HoldTime = 180 * time.Second
	}
	if cfg.Dial == nil {
		cfg.Dial = DirectDial
	}
	return &Speaker{cfg: cfg}
}

// Name names the session in messages: "m3 ipv6".
func (s *Speaker) Name() string {
	return s.cfg.Table.Members[s.cfg.Member].Name + " " + s.cfg.Family.String()
}

// Established returns when the session came up (zero before).
func (s *Speaker) Established() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.established
}

// TableSent returns when the last octet of the table was written (zero
// before).
func (s *Speaker) TableSent() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// openWait bounds the OPEN and KEEPALIVE exchange: RFC 4271's suggested
// hold time while waiting for the peer's OPEN (a busy route server may
// take long to answer).
const openWait = 4 * time.Minute

// Connect dials the route server until it accepts (every 100 ms, until ctx
// ends) and exchanges OPEN and KEEPALIVE; the session is then Established.
func (s *Speaker) Connect(ctx context.Context) error {
	m := &s.cfg.Table.Members[s.cfg.Member]
	var lastErr error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || attempt >= 3000 {
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			return fmt.Errorf("%s: connecting to %s: %w", s.Name(), s.cfg.RS, lastErr)
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := s.cfg.Dial(dctx, m.Addr[s.cfg.Family], s.cfg.RS)
		cancel()
		if err == nil {
			s.conn = c
			break
		}
		lastErr = err
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if tc, ok := s.conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	s.br = bufio.NewReaderSize(s.conn, 1<<16+19)
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	_ = s.conn.SetDeadline(time.Now().Add(openWait))
	defer s.conn.SetDeadline(time.Time{})
	if err := s.write(s.openMessage()); err != nil {
		return fmt.Errorf("%s: sending OPEN: %w", s.Name(), err)
	}
	typ, body, err := s.read()
	if err != nil {
		return fmt.Errorf("%s: waiting for OPEN: %w", s.Name(), err)
	}
	if typ != bgp.BGP_MSG_OPEN {
		return fmt.Errorf("%s: got %s instead of OPEN", s.Name(), describe(typ, body))
	}
	if len(body) < 10 {
		return fmt.Errorf("%s: short OPEN", s.Name())
	}
	hold := time.Duration(binary.BigEndian.Uint16(body[3:5])) * time.Second
	s.hold = min(hold, s.cfg.HoldTime)
	ka, _ := bgp.NewBGPKeepAliveMessage().Serialize()
	if err := s.write(ka); err != nil {
		return fmt.Errorf("%s: sending KEEPALIVE: %w", s.Name(), err)
	}
	for {
		typ, body, err := s.read()
		if err != nil {
			return fmt.Errorf("%s: waiting for KEEPALIVE: %w", s.Name(), err)
		}
		switch typ {
		case bgp.BGP_MSG_KEEPALIVE:
			s.mu.Lock()
			s.established = time.Now()
			s.mu.Unlock()
			return nil
		case bgp.BGP_MSG_NOTIFICATION:
			return fmt.Errorf("%s: %s", s.Name(), describe(typ, body))
		}
	}
}

func (s *Speaker) openMessage() []byte {
	m := &s.cfg.Table.Members[s.cfg.Member]
	rf := bgp.RF_IPv4_UC
	if s.cfg.Family == IPv6 {
		rf = bgp.RF_IPv6_UC
	}
	caps := []bgp.ParameterCapabilityInterface{
		bgp.NewCapMultiProtocol(rf),
		bgp.NewCapRouteRefresh(),
		bgp.NewCapFourOctetASNumber(m.ASN),
	}
	if s.cfg.Role {
		caps = append(caps, bgp.NewCapUnknown(9, []byte{2})) // BGP Role: RS-Client
	}
	myAS := uint16(bgp.AS_TRANS)
	if m.ASN <= 0xffff {
		myAS = uint16(m.ASN)
	}
	b, _ := bgp.NewBGPOpenMessage(myAS, uint16(s.cfg.HoldTime/time.Second), m.Addr[IPv4].String(),
		[]bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)}).Serialize()
	return b
}

// read returns the next message's type and body; the body is valid until
// the next read.
func (s *Speaker) read() (uint8, []byte, error) {
	h, err := s.br.Peek(19)
	if err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(h[16:18]))
	typ := h[18]
	if n < 19 || n > 1<<16-1 {
		return 0, nil, fmt.Errorf("bad message length %d", n)
	}
	msg, err := s.br.Peek(n)
	if err != nil {
		return 0, nil, err
	}
	_, _ = s.br.Discard(n)
	return typ, msg[19:], nil
}

func (s *Speaker) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(b)
	return err
}

// Send writes one pre-encoded message (churn) on the session.
func (s *Speaker) Send(msg []byte) error { return s.write(msg) }

// Run sends the table and End-of-RIB, keeps the session alive and counts
// what arrives, until ctx ends (nil) or the session fails (the error says
// how, with the NOTIFICATION's code if there was one).
func (s *Speaker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	errc := make(chan error, 3)
	go func() { errc <- s.sendTable(ctx) }()
	go func() { errc <- s.keepalive(ctx) }()
	go func() { errc <- s.readLoop() }()
	var first error
	for i := 0; i < 3; i++ {
		err := <-errc
		if err != nil && first == nil && ctx.Err() == nil {
			first = err
			cancel()
		}
	}
	if first != nil {
		return fmt.Errorf("%s: %w", s.Name(), first)
	}
	return nil
}

func (s *Speaker) sendTable(ctx context.Context) error {
	e := s.cfg.Updates
	for i := 0; i+1 < len(e.Cuts); i++ {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.write(e.Msgs[e.Cuts[i]:e.Cuts[i+1]]); err != nil {
			return fmt.Errorf("sending the table: %w", err)
		}
	}
	if err := s.write(e.EoR); err != nil {
		return fmt.Errorf("sending End-of-RIB: %w", err)
	}
	s.mu.Lock()
	s.sent = time.Now()
	s.mu.Unlock()
	return nil
}

func (s *Speaker) keepalive(ctx context.Context) error {
	if s.hold == 0 {
		return nil
	}
	ka, _ := bgp.NewBGPKeepAliveMessage().Serialize()
	t := time.NewTicker(s.hold / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.write(ka); err != nil {
				return fmt.Errorf("sending KEEPALIVE: %w", err)
			}
		}
	}
}

func (s *Speaker) readLoop() error {
	for {
		typ, body, err := s.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the route server closed the session")
			}
			return err
		}
		switch typ {
		case bgp.BGP_MSG_UPDATE:
			if err := s.cfg.Receiver.Update(body); err != nil {
				return fmt.Errorf("received UPDATE: %w", err)
			}
		case bgp.BGP_MSG_NOTIFICATION:
			return errors.New(describe(typ, body))
		}
	}
}

// describe names a message, and a NOTIFICATION's error.
func describe(typ uint8, body []byte) string {
	switch typ {
	case bgp.BGP_MSG_OPEN:
		return "OPEN"
	case bgp.BGP_MSG_UPDATE:
		return "UPDATE"
	case bgp.BGP_MSG_KEEPALIVE:
		return "KEEPALIVE"
	case bgp.BGP_MSG_ROUTE_REFRESH:
		return "ROUTE-REFRESH"
	case bgp.BGP_MSG_NOTIFICATION:
		if len(body) < 2 {
			return "NOTIFICATION"
		}
		n := &bgp.BGPNotification{}
		_ = n.DecodeFromBytes(body)
		msg := fmt.Sprintf("NOTIFICATION %d/%d (%s)", body[0], body[1], bgp.NewNotificationErrorCode(body[0], body[1]))
		if len(n.Data) > 0 {
			msg += fmt.Sprintf(": %q", n.Data)
		}
		return "received " + msg
	}
	return fmt.Sprintf("message type %d", typ)
}
