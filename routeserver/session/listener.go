package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Listener accepts BGP connections on the configured addresses and hands
// each to the Peer configured for the remote address; other connections
// get Cease "Connection Rejected".
type Listener struct {
	log    *slog.Logger
	lookup func(netip.Addr) *Peer
	lns    []net.Listener
	wg     sync.WaitGroup
	// refused counts and logs (rate-limited) the connections refused.
	refused *refusals
}

// Listen opens a listener per "address:port". lookup finds the peer for a
// remote address (nil: not a configured neighbour); it is called from the
// accept goroutines and must be safe for concurrent use.
func Listen(ctx context.Context, addrs []string, lookup func(netip.Addr) *Peer, log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.Default()
	}
	l := &Listener{log: log, lookup: lookup, refused: newRefusals(log)}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("listen address %q: want address:port such as 0.0.0.0:179 or [::]:179: %w", a, err)
		}
		network := "tcp4"
		if ap.Addr().Is6() {
			network = "tcp6" // IPV6_V6ONLY, so 0.0.0.0 and :: can both be bound
		}
		var lc net.ListenConfig
		// Plain TCP: Go listens with MPTCP by default, and MPTCP sockets
		// refuse TCP-MD5 (ENOPROTOOPT) and the TTL options GTSM needs.
		lc.SetMultipathTCP(false)
		// The kernel answers a SYN from the listening socket, before the
		// accepted connection exists to take GTSM's options: a GTSM peer
		// (RFC 5082 §3: every packet of the session with TTL 255) would
		// drop a SYN-ACK sent with the default TTL. Sending with TTL 255
		// costs other peers nothing; the minimum TTL is set per accepted
		// connection of a GTSM neighbour only.
		v6 := ap.Addr().Is6()
		// The kernel also keeps each connection's SYN (TCP_SAVE_SYN), so
		// that the TTL of a GTSM neighbour's connection is checked before
		// anything it sent is read (see accept).
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			return control(c, func(fd uintptr) error {
				if err := setSendTTL255(fd, v6); err != nil {
					return err
				}
				return setSaveSYN(fd)
			})
		}
		ln, err := lc.Listen(ctx, network, ap.String())
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("listening on %s: %w", a, err)
		}
		l.lns = append(l.lns, ln)
	}
	for _, ln := range l.lns {
		l.wg.Add(1)
		go l.accept(ln)
	}
	return l, nil
}

// Addrs returns the bound addresses (useful with port 0).
func (l *Listener) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range l.lns {
		out = append(out, addrPort(ln.Addr()))
	}
	return out
}

// SetMD5 installs the TCP-MD5 key for a neighbour on every listening socket
// of its address family ("" removes it).
func (l *Listener) SetMD5(peer netip.Addr, key string) error {
	peer = peer.Unmap()
	var errs []error
	for _, ln := range l.lns {
		tl, ok := ln.(*net.TCPListener)
		if !ok || addrPort(ln.Addr()).Addr().Is4() != peer.Is4() {
			continue
		}
		rc, err := tl.SyscallConn()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := control(rc, func(fd uintptr) error { return setMD5(fd, peer, key) }); err != nil {
			errs = append(errs, fmt.Errorf("on %s: %w", ln.Addr(), err))
		}
	}
	return errors.Join(errs...)
}

func (l *Listener) accept(ln net.Listener) {
	defer l.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("accept failed", "listen", ln.Addr().String(), "err", err)
			continue
		}
		remote := addrPort(nc.RemoteAddr()).Addr()
		p := l.lookup(remote)
		if p == nil {
			l.refused.refused(remote, RefusedUnconfigured, "connection from an address that is not a configured neighbour; rejected")
			rejectConn(nc, &bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseConnRejected})
			continue
		}
		if p.cfg.GTSM && !l.gtsm(nc, p, remote) {
			continue
		}
		p.Accept(nc)
	}
}

// gtsm applies GTSM (RFC 5082) to a connection accepted from neighbour p
// before anything is read from it: the TTL of the SYN that opened it,
// which the listener kept, must be at least 256 minus the member's hops,
// or the connection is closed unread and without a NOTIFICATION (a
// packet below the bound is to be dropped, not answered). The minimum TTL
// is then set on the connection for the segments still to come. Without
// a saved SYN (a connection accepted with a SYN cookie) only the minimum
// TTL applies, to what arrives from then on. It reports whether the
// connection may go on.
func (l *Listener) gtsm(nc net.Conn, p *Peer, remote netip.Addr) bool {
	minTTL := 256 - p.cfg.GTSMHops
	rc, err := nc.(*net.TCPConn).SyscallConn()
	var ttl int
	if err == nil {
		err = control(rc, func(fd uintptr) error {
			var serr error
			ttl, serr = synTTL(fd)
			if errors.Is(serr, errNoSavedSYN) {
				ttl = -1
				return nil
			}
			return serr
		})
	}
	if err != nil {
		l.log.Error("GTSM: reading the TTL of the connection's SYN", "neighbor", p.cfg.Name, "err", err)
		nc.Close()
		return false
	}
	if ttl >= 0 && ttl < minTTL {
		nc.Close()
		l.refused.refused(remote, RefusedTTL, "connection refused unread: TTL too low for GTSM",
			"neighbor", p.cfg.Name, "ttl", ttl, "min_ttl", minTTL)
		return false
	}
	if ttl < 0 {
		l.log.Debug("GTSM: no saved SYN (SYN cookie?); the minimum TTL applies from now on", "neighbor", p.cfg.Name)
	}
	if err := control(rc, func(fd uintptr) error { return setGTSM(fd, !remote.Is4(), p.cfg.GTSMHops) }); err != nil {
		l.log.Error("GTSM on accepted connection", "neighbor", p.cfg.Name, "err", err)
		nc.Close()
		return false
	}
	return true
}

// Close stops accepting.
func (l *Listener) Close() {
	for _, ln := range l.lns {
		ln.Close()
	}
	l.wg.Wait()
	l.refused.stop()
}
