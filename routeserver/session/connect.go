package session

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

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

// Accept hands an incoming connection from this neighbour to the FSM.
func (p *Peer) Accept(nc net.Conn) {
	select {
	case p.events <- evAccepted{nc}:
	case <-p.done:
		nc.Close()
	}
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

// isClosedErr reports errors that only say the connection went away.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
