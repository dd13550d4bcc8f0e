package routeserver

import "sync/atomic"

// reloadCounts counts configuration reloads since the start, whatever
// asked for them (the control API, `fedrs reload`, SIGHUP): applied ones
// (including those that changed nothing) and refused ones (the file did
// not load or validate, or its policy did not build; the running
// configuration stayed). The metrics export them as fedrs_reloads_total.
type reloadCounts struct{ applied, refused atomic.Uint64 }

func (c *reloadCounts) count(err error) {
	if err != nil {
		c.refused.Add(1)
	} else {
		c.applied.Add(1)
	}
}

// Reloads returns how many configuration reloads were applied and how
// many were refused since the start.
func (s *Server) Reloads() (applied, refused uint64) {
	return s.reloads.applied.Load(), s.reloads.refused.Load()
}
