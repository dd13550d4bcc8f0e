package rpki

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/fedrs/fedrs/rpki/rtr"
)

// ServerOptions configure an RTRServer. The zero value works.
type ServerOptions struct {
	Logger *slog.Logger
	// V0Only makes the server speak RTR version 0 only (RFC 6810); by
	// default it speaks version 1 and version 0 to routers that ask for it.
	V0Only bool
	// Refresh, Retry and Expire are the intervals sent in version 1 End of
	// Data PDUs. Defaults 3600s, 600s, 7200s (RFC 8210 §6).
	Refresh, Retry, Expire time.Duration
	// History is how many changes the server keeps to answer Serial
	// Queries incrementally; an older serial gets Cache Reset. Default 100.
	History int
	// HistoryVRPs bounds the VRPs held in that history. Default 2,000,000.
	HistoryVRPs int
}

// RTRServer serves the Manager's published VRPs to routers over RTR
// (RFC 8210 version 1 and RFC 6810 version 0): Reset and Serial Queries,
// incremental answers from a bounded history of changes (Cache Reset when
// the router's serial is older), and a Serial Notify to every connected
// router when the data changes. The serial is the Manager's snapshot
// serial. ASPA is not served: versions 0 and 1 have no ASPA PDU.
type RTRServer struct {
	m    *Manager
	opts ServerOptions
	log  *slog.Logger
	sid  uint16

	mu     sync.Mutex
	cur    *Snapshot
	deltas []serverDelta // consecutive serials, oldest first
	conns  map[*serverConn]struct{}
}

type serverDelta struct {
	serial         uint32 // the serial this change produced
	added, removed []VRP
}

// NewRTRServer returns a server for m's data.
func NewRTRServer(m *Manager, opts ServerOptions) *RTRServer {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Retry <= 0 {
		opts.Retry = DefaultRetry
	}
	if opts.Expire <= 0 {
		opts.Expire = DefaultExpire
	}
	if opts.History <= 0 {
		opts.History = 100
	}
	if opts.HistoryVRPs <= 0 {
		opts.HistoryVRPs = 2_000_000
	}
	var b [2]byte
	rand.Read(b[:])
	return &RTRServer{
		m: m, opts: opts, log: opts.Logger.With("component", "rtr-server"),
		sid:   binary.BigEndian.Uint16(b[:]),
		conns: map[*serverConn]struct{}{},
	}
}

// SessionID returns the server's RTR session ID.
func (s *RTRServer) SessionID() uint16 { return s.sid }

// ListenAndServe listens on addr ("[::]:3323") and serves until ctx is
// done.
func (s *RTRServer) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("RTR server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts routers on ln until ctx is done; it closes ln.
func (s *RTRServer) Serve(ctx context.Context, ln net.Listener) error {
	unsub := s.m.Subscribe(s.onChange)
	defer unsub()
	s.mu.Lock()
	if s.cur == nil {
		s.cur = s.m.Snapshot()
	}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	s.log.Info("RTR server listening", "addr", ln.Addr().String(), "session_id", s.sid)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("RTR server accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

func (s *RTRServer) onChange(ch Change) {
	s.mu.Lock()
	if s.cur != nil && ch.Old.Serial != s.cur.Serial {
		s.deltas = nil // a gap: older serials get Cache Reset
	}
	s.cur = ch.New
	s.deltas = append(s.deltas, serverDelta{serial: ch.New.Serial, added: ch.Added, removed: ch.Removed})
	total := 0
	for _, d := range s.deltas {
		total += len(d.added) + len(d.removed)
	}
	for len(s.deltas) > s.opts.History || (len(s.deltas) > 0 && total > s.opts.HistoryVRPs) {
		total -= len(s.deltas[0].added) + len(s.deltas[0].removed)
		s.deltas = s.deltas[1:]
	}
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// RouterInfo describes a connected router.
type RouterInfo struct {
	Remote    string    `json:"remote"`
	Version   int       `json:"version"` // -1 before the first query
	Since     time.Time `json:"since"`
	LastQuery time.Time `json:"last_query,omitzero"`
	Serial    uint32    `json:"serial"` // the serial last sent
}

// Routers lists the connected routers.
func (s *RTRServer) Routers() []RouterInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RouterInfo
	for c := range s.conns {
		c.mu.Lock()
		out = append(out, RouterInfo{Remote: c.conn.RemoteAddr().String(), Version: c.version, Since: c.since, LastQuery: c.lastQuery, Serial: c.serial})
		c.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b RouterInfo) int { return cmp.Compare(a.Remote, b.Remote) })
	return out
}

type serverConn struct {
	conn   net.Conn
	notify chan struct{}
	since  time.Time

	mu        sync.Mutex // serialises writes and guards the fields below
	w         *bufio.Writer
	version   int
	lastQuery time.Time
	serial    uint32
	answered  bool
}

func (c *serverConn) write(pdus ...rtr.PDU) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked(pdus...)
}

func (c *serverConn) writeLocked(pdus ...rtr.PDU) error {
	var buf []byte
	for i := range pdus {
		if c.version >= 0 {
			pdus[i].Version = uint8(c.version)
		}
		buf = pdus[i].Append(buf[:0])
		if _, err := c.w.Write(buf); err != nil {
			return err
		}
	}
	c.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	return c.w.Flush()
}

func (s *RTRServer) handle(ctx context.Context, conn net.Conn) {
	c := &serverConn{conn: conn, notify: make(chan struct{}, 1), since: time.Now(), w: bufio.NewWriterSize(conn, 64<<10), version: -1}
	log := s.log.With("router", conn.RemoteAddr().String())
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	done := make(chan struct{})
	defer func() {
		close(done)
		conn.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-c.notify:
				s.mu.Lock()
				serial := s.cur.Serial
				s.mu.Unlock()
				c.mu.Lock()
				if c.answered && c.serial != serial {
					if err := c.writeLocked(rtr.PDU{Type: rtr.SerialNotify, SessionID: s.sid, Serial: serial}); err != nil {
						conn.Close()
					}
				}
				c.mu.Unlock()
			}
		}
	}()
	log.Info("RTR router connected")
	maxVer := 1
	if s.opts.V0Only {
		maxVer = 0
	}
	r := bufio.NewReader(conn)
	buf := make([]byte, 0, 64)
	for {
		p, raw, err := rtr.ReadPDU(r, buf)
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				log.Info("RTR router disconnected")
				return
			}
			var re *rtr.Error
			switch {
			case errors.As(err, &re):
				c.mu.Lock()
				if re.Code == rtr.UnsupportedProtocolVersion && c.version < 0 {
					c.version = maxVer
				}
				c.mu.Unlock()
				if len(raw) < 2 || rtr.Type(raw[1]) != rtr.ErrorReport {
					c.write(rtr.NewErrorReport(uint8(max(c.version, 0)), err))
				}
			case errors.Is(err, rtr.ErrTruncated):
				c.write(rtr.NewErrorReport(uint8(max(c.version, 0)), &rtr.Error{Code: rtr.CorruptData, Msg: err.Error(), PDU: raw}))
			}
			log.Warn("RTR router session ended", "err", err)
			return
		}
		c.mu.Lock()
		ver := c.version
		c.mu.Unlock()
		if ver < 0 {
			if int(p.Version) > maxVer {
				// RFC 8210 §7: answer with the highest version we
				// support, so that the router can downgrade.
				c.mu.Lock()
				c.version = maxVer
				c.mu.Unlock()
				c.write(rtr.PDU{Type: rtr.ErrorReport, Code: rtr.UnsupportedProtocolVersion, ErrPDU: raw,
					Text: fmt.Sprintf("this cache speaks RTR versions 0..%d", maxVer)})
				log.Info("RTR router asked for an unsupported version", "version", p.Version)
				return
			}
			c.mu.Lock()
			c.version = int(p.Version)
			c.mu.Unlock()
		} else if int(p.Version) != ver {
			if p.Type != rtr.ErrorReport {
				c.write(rtr.NewErrorReport(uint8(ver), &rtr.Error{Code: rtr.UnexpectedProtocolVersion, PDU: raw,
					Msg: fmt.Sprintf("version %d PDU in a version %d session", p.Version, ver)}))
			}
			return
		}
		switch p.Type {
		case rtr.ResetQuery:
			err = s.sendAll(c)
		case rtr.SerialQuery:
			err = s.sendSince(c, p.SessionID, p.Serial)
		case rtr.ErrorReport:
			log.Warn("RTR router sent an Error Report", "code", p.Code.String(), "text", p.Text)
			return
		default:
			c.write(rtr.NewErrorReport(uint8(ver), &rtr.Error{Code: rtr.InvalidRequest, PDU: raw, Msg: p.Type.String() + " is not a router query"}))
			return
		}
		if err != nil {
			log.Warn("RTR write failed", "err", err)
			return
		}
	}
}

func (s *RTRServer) ready() bool {
	select {
	case <-s.m.Ready():
		return true
	default:
		return false
	}
}

func (s *RTRServer) eod(c *serverConn, serial uint32) rtr.PDU {
	return rtr.PDU{Type: rtr.EndOfData, SessionID: s.sid, Serial: serial,
		Refresh: uint32(s.opts.Refresh / time.Second), Retry: uint32(s.opts.Retry / time.Second), Expire: uint32(s.opts.Expire / time.Second)}
}

func prefixPDU(v VRP, announce bool) rtr.PDU {
	p := rtr.PDU{Type: rtr.IPv6Prefix, Prefix: v.Prefix, MaxLen: v.MaxLen, ASN: v.ASN}
	if v.Prefix.Addr().Is4() {
		p.Type = rtr.IPv4Prefix
	}
	if announce {
		p.Flags = rtr.FlagAnnounce
	}
	return p
}

// sendAll answers a Reset Query with the whole current set.
func (s *RTRServer) sendAll(c *serverConn) error {
	if !s.ready() {
		return c.write(rtr.PDU{Type: rtr.ErrorReport, Code: rtr.NoDataAvailable, Text: "the route server has not loaded its RPKI data yet"})
	}
	s.mu.Lock()
	snap := s.cur
	s.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writeLocked(rtr.PDU{Type: rtr.CacheResponse, SessionID: s.sid}); err != nil {
		return err
	}
	batch := make([]rtr.PDU, 0, 256)
	for v := range snap.VRPs.All() {
		batch = append(batch, prefixPDU(v, true))
		if len(batch) == cap(batch) {
			if err := c.writeLocked(batch...); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	batch = append(batch, s.eod(c, snap.Serial))
	c.serial, c.answered, c.lastQuery = snap.Serial, true, time.Now()
	return c.writeLocked(batch...)
}

// sendSince answers a Serial Query: the changes since serial, or Cache
// Reset when the history does not reach back that far.
func (s *RTRServer) sendSince(c *serverConn, session uint16, serial uint32) error {
	if !s.ready() {
		return c.write(rtr.PDU{Type: rtr.ErrorReport, Code: rtr.NoDataAvailable, Text: "the route server has not loaded its RPKI data yet"})
	}
	s.mu.Lock()
	snap := s.cur
	var changes []serverDelta
	ok := session == s.sid
	if ok && serial != snap.Serial {
		ok = false
		for i, d := range s.deltas {
			if d.serial == serial+1 {
				changes = slices.Clone(s.deltas[i:])
				ok = true
				break
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		return c.write(rtr.PDU{Type: rtr.CacheReset})
	}
	net := map[VRP]int{}
	for _, d := range changes {
		for _, v := range d.removed {
			net[v]--
		}
		for _, v := range d.added {
			net[v]++
		}
	}
	var withdraw, announce []VRP
	for v, n := range net {
		switch {
		case n > 0:
			announce = append(announce, v)
		case n < 0:
			withdraw = append(withdraw, v)
		}
	}
	slices.SortFunc(withdraw, CompareVRP)
	slices.SortFunc(announce, CompareVRP)
	pdus := make([]rtr.PDU, 0, len(withdraw)+len(announce)+2)
	pdus = append(pdus, rtr.PDU{Type: rtr.CacheResponse, SessionID: s.sid})
	for _, v := range withdraw {
		pdus = append(pdus, prefixPDU(v, false))
	}
	for _, v := range announce {
		pdus = append(pdus, prefixPDU(v, true))
	}
	pdus = append(pdus, s.eod(c, snap.Serial))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.serial, c.answered, c.lastQuery = snap.Serial, true, time.Now()
	return c.writeLocked(pdus...)
}
