package routeserver

import (
	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// durableRecorder is a Recorder that numbers its events and reports its
// commits, so that exports can wait for them ([history] durable).
type durableRecorder interface {
	rib.Committer
	// OnCommitted sets what the recorder calls after each commit.
	OnCommitted(func())
}

// applyDurable turns the RIB's durable gate on or off as cfg's [history]
// durable says: when on, no route is exported to any member before its
// history event is committed.
func (s *Server) applyDurable(cfg *conf.Config) {
	d, ok := s.opts.History.(durableRecorder)
	if !ok {
		return
	}
	if cfg.History.Durable {
		d.OnCommitted(s.rib.HistoryCommitted)
		s.rib.SetDurable(d)
		return
	}
	s.rib.SetDurable(nil)
}
