package routeserver

import (
	"context"

	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// A planned restart (RFC 4724), the route server being the restarting
// speaker. PrepareRestart, then ending Serve's context, closes every
// session without a NOTIFICATION: members that negotiated graceful
// restart keep the route server's routes as stale for the restart time
// ([server] graceful_restart_time). The next process starts with
// Options.Restarted: its OPENs set the Restart State bit and the
// Forwarding State bit of each family, so the members keep those routes
// until its End-of-RIB, and it sends nothing until it has the members'
// routes again (deferRoutes). A member then receives the whole table and
// End-of-RIB: unchanged routes replace their stale copies, the others it
// drops at the End-of-RIB. No route of theirs flaps.

// PrepareRestart makes the end of Serve close every session without a
// NOTIFICATION (a planned restart), instead of Cease.
func (s *Server) PrepareRestart() {
	// Nothing more goes out: as the sessions close one by one, the routes
	// of members that do not keep state (OpenBGPD announces restart time
	// 0) leave the RIB, and their withdrawals must not reach the members
	// whose sessions are still open.
	s.rib.Defer()
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.restarting.Store(true)
	for _, n := range s.nbrs {
		n.peer.PrepareRestart()
	}
}

// RestartPrepared reports whether PrepareRestart was called.
func (s *Server) RestartPrepared() bool { return s.restarting.Load() }

// Deferring reports whether exports are held after a planned restart
// (waiting for the members' End-of-RIB).
func (s *Server) Deferring() bool { return s.rib.Deferred() }

// checkSynced marks the neighbour's initial update complete once it is
// established and has sent End-of-RIB for every family negotiated, or
// when RFC 4724 §4.1 excludes it from the wait: it did not announce
// graceful restart, or it is restarting itself (Restart State bit).
// Called from the session's goroutines.
func (n *neighbor) checkSynced() {
	if n.s.deferral == nil || n.synced.Load() || n.neg == nil {
		return
	}
	done := !n.neg.GracefulRestart || n.neg.GRRestarting
	if !done {
		done = true
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if n.neg.Families[f] && !n.eorIn[f] {
				done = false
			}
		}
	}
	if done {
		n.synced.Store(true)
		select {
		case n.s.deferral <- struct{}{}:
		default:
		}
	}
}

// restartQuiet is how long no member may have sent an UPDATE, besides
// every End-of-RIB being in, before the deferral after a planned restart
// ends.
const restartQuiet = 2 * time.Second

// deferRoutes releases the exports held since the start once every
// configured neighbour (but those shut down in the configuration) has
// finished its initial update, or after [server]
// graceful_restart_eor_wait, whichever comes first.
func (s *Server) deferRoutes(ctx context.Context) {
	s.mu.RLock()
	wait := s.cfg.Server.GracefulRestartEORWait.Duration
	s.mu.RUnlock()
	start := time.Now()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var settle <-chan time.Time
	for {
		if s.allSynced() {
			// Some members send End-of-RIB before the UPDATEs of their
			// initial table (FRR 8 did in the lab: its UPDATEs wait for
			// its coalesce timer, 1s by default). Wait until no UPDATE
			// has come for restartQuiet as well.
			quiet := time.Since(time.Unix(0, s.lastUpdate.Load()))
			if quiet >= restartQuiet {
				s.rib.Release()
				s.log.Info("graceful restart: every member's End-of-RIB received; sending routes", "waited", time.Since(start).Round(time.Millisecond))
				return
			}
			settle = time.After(restartQuiet - quiet)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.deferral:
		case <-settle:
		case <-timer.C:
			s.rib.Release()
			s.log.Warn("graceful restart: graceful_restart_eor_wait passed without every member's End-of-RIB; sending routes",
				"waited", wait, "waiting_for", s.unsynced())
			return
		}
	}
}

func (s *Server) allSynced() bool { return len(s.unsynced()) == 0 }

// unsynced names the neighbours whose initial update is still awaited.
func (s *Server) unsynced() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, n := range s.nbrs {
		if s.cfg.Members[n.member].Shutdown || n.synced.Load() {
			continue
		}
		out = append(out, n.name)
	}
	return out
}
