package routeserver

import (
	"slices"

	"github.com/fedrs/fedrs/conf"
)

// ConfigAndNeighbors returns the running configuration and its
// neighbours (as Neighbors does), read together, so that every
// Neighbor.Member indexes that configuration's members even while a
// reload renumbers them.
func (s *Server) ConfigAndNeighbors() (*conf.Config, []Neighbor) {
	s.mu.RLock()
	cfg := s.cfg
	out := make([]Neighbor, 0, len(s.nbrs))
	for _, n := range s.nbrs {
		out = append(out, Neighbor{Member: n.member, Name: n.name, Peer: n.peer, Source: n.src})
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Neighbor) int {
		if a.Member != b.Member {
			return a.Member - b.Member
		}
		return a.Source.Addr.Compare(b.Source.Addr)
	})
	return cfg, out
}
