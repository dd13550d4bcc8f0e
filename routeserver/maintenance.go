package routeserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/fedrs/fedrs/routeserver/session"
)

// MaintenancePhase is where route-server maintenance stands.
type MaintenancePhase string

// Maintenance phases.
const (
	// MaintenanceOff: routes are sent as usual.
	MaintenanceOff MaintenancePhase = "off"
	// MaintenanceDraining: every route is sent with GRACEFUL_SHUTDOWN;
	// the sessions close when the wait ends.
	MaintenanceDraining MaintenancePhase = "draining"
	// MaintenanceClosed: the wait ended and maintenance closed the
	// sessions; they stay down until maintenance stops.
	MaintenanceClosed MaintenancePhase = "closed"
)

// MaintenanceStatus describes route-server maintenance.
type MaintenanceStatus struct {
	Phase MaintenancePhase
	// Since is when the phase began (zero: off since the start).
	Since time.Time
	// Started, Message and Wait are those of the current (or last)
	// maintenance.
	Started time.Time
	Message string
	Wait    time.Duration
	// CloseAt is when the sessions close (draining only).
	CloseAt time.Time
	// Sessions are the neighbours affected ("member address"): while
	// draining, the established sessions that receive GRACEFUL_SHUTDOWN;
	// once closed, the sessions maintenance closed.
	Sessions []string
}

// maintenance is the state behind StartMaintenance, StopMaintenance and
// the close at the end of the wait.
type maintenance struct {
	op sync.Mutex // serialises start, stop and the close

	mu      sync.Mutex // guards the fields below, for status readers
	phase   MaintenancePhase
	since   time.Time
	started time.Time
	msg     string
	wait    time.Duration
	closeAt time.Time
	run     uint64                // which maintenance a wait timer belongs to
	stop    chan struct{}         // closed when the draining maintenance stops
	closed  map[netip.Addr]string // neighbours closed by maintenance: address → name
}

func (m *maintenance) get() (MaintenancePhase, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.phase == "" {
		return MaintenanceOff, m.run
	}
	return m.phase, m.run
}

// MaintenanceStatus reports where maintenance stands.
func (s *Server) MaintenanceStatus() MaintenanceStatus {
	m := &s.maint
	m.mu.Lock()
	st := MaintenanceStatus{Phase: m.phase, Since: m.since, Started: m.started, Message: m.msg, Wait: m.wait}
	if st.Phase == "" {
		st.Phase = MaintenanceOff
	}
	switch st.Phase {
	case MaintenanceDraining:
		st.CloseAt = m.closeAt
	case MaintenanceClosed:
		for _, name := range m.closed {
			st.Sessions = append(st.Sessions, name)
		}
	}
	m.mu.Unlock()
	if st.Phase == MaintenanceDraining {
		st.Sessions = s.establishedNeighbors()
	}
	slices.Sort(st.Sessions)
	return st
}

// establishedNeighbors names the neighbours whose session is up.
func (s *Server) establishedNeighbors() []string {
	var out []string
	for _, n := range s.Neighbors() {
		if n.Peer.State() == session.Established {
			out = append(out, n.Name)
		}
	}
	return out
}

// StartMaintenance starts route-server maintenance (RFC 8326): every
// route sent is tagged GRACEFUL_SHUTDOWN so that members move traffic
// away; when wait has passed, every session that is not already
// administratively down is closed with Cease "Administrative Shutdown"
// and msg. It returns once the tagged routes are queued. A maintenance
// already running is not restarted: ErrWrongState (stop it first).
func (s *Server) StartMaintenance(msg string, wait time.Duration) (MaintenanceStatus, error) {
	m := &s.maint
	m.op.Lock()
	defer m.op.Unlock()
	if phase, _ := m.get(); phase != MaintenanceOff {
		st := s.MaintenanceStatus()
		what := "its sessions close at " + st.CloseAt.Format(time.RFC3339)
		if phase == MaintenanceClosed {
			what = "the sessions are closed"
		}
		return st, fmt.Errorf("maintenance is already running (%s since %s; %s); stop it first (fedrs maintenance stop) to start again with another message or wait: %w",
			phase, st.Since.Format(time.RFC3339), what, ErrWrongState)
	}
	now := time.Now()
	m.mu.Lock()
	m.run++
	run := m.run
	m.phase, m.since, m.started, m.msg, m.wait, m.closeAt = MaintenanceDraining, now, now, msg, wait, now.Add(wait)
	m.stop = make(chan struct{})
	stop := m.stop
	m.closed = nil
	m.mu.Unlock()

	s.maintenance.Store(true)
	s.rib.Regenerate()
	s.log.Warn("maintenance: every route now carries GRACEFUL_SHUTDOWN; sessions close after the wait", "wait", wait, "message", msg)
	s.mu.RLock()
	ctx := s.runCtx
	s.mu.RUnlock()
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
		s.closeForMaintenance(run)
	}()
	return s.MaintenanceStatus(), nil
}

// closeForMaintenance ends the wait of maintenance run: it closes every
// session that is not administratively down and remembers which, so that
// StopMaintenance brings back those and only those.
func (s *Server) closeForMaintenance(run uint64) {
	m := &s.maint
	m.op.Lock()
	defer m.op.Unlock()
	if phase, cur := m.get(); phase != MaintenanceDraining || cur != run {
		return // stopped meanwhile
	}
	m.mu.Lock()
	msg := m.msg
	m.mu.Unlock()
	s.mu.RLock()
	var nbrs []*neighbor
	for _, n := range s.nbrs {
		if !n.peer.AdminDown() {
			nbrs = append(nbrs, n)
		}
	}
	s.mu.RUnlock()
	closed := make(map[netip.Addr]string, len(nbrs))
	for _, n := range nbrs {
		closed[n.src.Addr] = n.name
	}
	// Recorded before the sessions close, so that a member an operator
	// shuts down meanwhile (forgetMaintenance) is not brought back by
	// StopMaintenance.
	m.mu.Lock()
	m.closed = closed
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nbrs {
		wg.Add(1)
		go func(p *session.Peer) { defer wg.Done(); p.Shutdown(msg) }(n.peer)
	}
	wg.Wait()
	m.mu.Lock()
	m.phase, m.since = MaintenanceClosed, time.Now()
	k := len(m.closed)
	m.mu.Unlock()
	s.log.Warn("maintenance: sessions closed; `fedrs maintenance stop` brings them back", "sessions", k, "message", msg)
}

// StopMaintenance ends maintenance. While draining, the routes are sent
// again without the GRACEFUL_SHUTDOWN the route server added (a member's
// own 65535:0 stays); once the sessions are closed, maintenance lets
// them reconnect (only those it closed) and they get their routes
// without it. It returns what it did; ErrWrongState when maintenance is
// off.
func (s *Server) StopMaintenance() (string, error) {
	m := &s.maint
	m.op.Lock()
	defer m.op.Unlock()
	phase, _ := m.get()
	if phase == MaintenanceOff {
		return "", fmt.Errorf("maintenance is off; there is nothing to stop: %w", ErrWrongState)
	}
	m.mu.Lock()
	closed := m.closed
	if m.stop != nil {
		close(m.stop)
		m.stop = nil
	}
	m.phase, m.since, m.closeAt, m.closed = MaintenanceOff, time.Now(), time.Time{}, nil
	m.mu.Unlock()

	// Templates are encoded again without the tag, and resent to the
	// sessions that are up; sessions coming back get the new ones.
	s.maintenance.Store(false)
	s.rib.Regenerate()
	if phase == MaintenanceDraining {
		n := len(s.establishedNeighbors())
		s.log.Warn("maintenance stopped during the wait: routes resent without GRACEFUL_SHUTDOWN", "sessions", n)
		return fmt.Sprintf("maintenance stopped before the sessions closed: routes resent without the GRACEFUL_SHUTDOWN the route server added, to %d sessions", n), nil
	}
	enabled := 0
	for addr := range closed {
		s.mu.RLock()
		n := s.nbrs[addr]
		var p *session.Peer
		if n != nil {
			p = n.peer
		}
		s.mu.RUnlock()
		if p != nil {
			p.Enable()
			enabled++
		}
	}
	s.log.Warn("maintenance stopped: the sessions it closed may reconnect", "sessions", enabled)
	return fmt.Sprintf("maintenance stopped: %d sessions it closed enabled again; they come back as the members reconnect (or the route server connects out)", enabled), nil
}

// closing reports whether maintenance has closed the sessions, with its
// message; if so, the neighbour counts as one of the sessions it closed.
func (m *maintenance) closing(addr netip.Addr, name string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.phase != MaintenanceClosed {
		return "", false
	}
	m.closed[addr] = name
	return m.msg, true
}

// forgetMaintenance drops neighbours from the sessions maintenance
// closed: an operator shut them down explicitly, so stopping maintenance
// must not bring them back.
func (s *Server) forgetMaintenance(addrs ...netip.Addr) {
	m := &s.maint
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range addrs {
		delete(m.closed, a)
	}
}

// InMaintenance reports whether maintenance is on (draining or closed).
func (s *Server) InMaintenance() bool { return s.maintenance.Load() }
