package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

type adminKind int

const (
	adminShutdown adminKind = iota // close and stay down until Enable
	adminReset                     // close, then reconnect as usual
	adminIdle                      // close and stay down for idleFor (max prefix)
	adminEnable
)

// adminWait is an administrative request waiting for the connections it
// closed.
type adminWait struct {
	conns map[*conn]bool
	done  chan struct{}
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
