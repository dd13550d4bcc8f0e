package bmp

import (
	"net/netip"
	"slices"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// stream is one connection's view of the monitored peers.
type stream struct {
	c     *collector
	w     *connWriter
	pk    packer
	peers map[netip.Addr]*peer
	loc   *peer
	// Loc-RIB prefixes touched by the batch being processed.
	locSet  map[netip.Prefix]struct{}
	locList []netip.Prefix
}

// sync sends the current state: Initiation, the Loc-RIB's Peer Up, then
// per established session its Peer Up, its routes and End-of-RIB, and the
// Loc-RIB's routes and End-of-RIB. Events queued meanwhile are sent
// after it; replaying them over the dump converges on the current state.
func (st *stream) sync() error {
	c := st.c
	srv := c.s.srv.Load()
	now := time.Now()
	if err := st.w.message(initiation(c.s.sysName, c.s.sysDescr)); err != nil {
		return err
	}
	if c.loc {
		if err := st.w.message(locRIBPeerUp(st.loc, c.s.holdTime, now)); err != nil {
			return err
		}
	}
	for _, n := range srv.Neighbors() {
		info := n.Peer.Info()
		up := info.State == session.Established && info.Negotiated != nil && (c.pre || c.post)
		if !up && !c.loc {
			continue
		}
		routes, _ := srv.RIB().Routes(rib.Filter{Source: n.Source, Member: -1}, 0, 0)
		// Routes sharing attributes next to each other pack into one UPDATE.
		slices.SortStableFunc(routes, func(a, b rib.Route) int {
			if a.Family != b.Family {
				return int(a.Family) - int(b.Family)
			}
			return int(a.Attrs.ID()) - int(b.Attrs.ID())
		})
		if up {
			p := newPeer(n.Source.Addr, info.Negotiated)
			st.peers[p.addr] = p
			if err := st.w.message(peerUp(p, info.Since)); err != nil {
				return err
			}
			for _, post := range []bool{false, true} {
				if (!post && !c.pre) || (post && !c.post) {
					continue
				}
				for _, r := range routes {
					if post && !r.Verdict.Accepted() {
						continue
					}
					if err := st.pk.add(p, post, r.Family, r.Prefix, r.PathID, r.Attrs, now); err != nil {
						return err
					}
				}
				for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
					if p.neg.Families[f] {
						if err := st.pk.endOfRIB(p, post, f, now); err != nil {
							return err
						}
					}
				}
			}
		}
		if c.loc {
			for _, r := range routes {
				if r.Best {
					if err := st.pk.add(st.loc, false, r.Family, r.Prefix, 0, r.Attrs, now); err != nil {
						return err
					}
				}
			}
		}
	}
	if c.loc {
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if err := st.pk.endOfRIB(st.loc, false, f, now); err != nil {
				return err
			}
		}
	}
	if err := st.pk.flush(); err != nil {
		return err
	}
	return st.w.bw.Flush()
}

// process sends a batch of queued events.
func (st *stream) process(items []item) error {
	c := st.c
	for i := range items {
		it := &items[i]
		at := time.Unix(0, it.at)
		switch it.kind {
		case itemUp:
			if p := st.peers[it.peer]; p != nil && p.neg == it.neg {
				continue // already announced by the initial dump
			}
			if err := st.pk.flush(); err != nil {
				return err
			}
			p := newPeer(it.peer, it.neg)
			st.peers[it.peer] = p
			if c.pre || c.post {
				if err := st.w.message(peerUp(p, at)); err != nil {
					return err
				}
			}
		case itemDown:
			p := st.peers[it.peer]
			if p == nil {
				continue
			}
			if err := st.pk.flush(); err != nil {
				return err
			}
			delete(st.peers, it.peer)
			if c.pre || c.post {
				if err := st.w.message(peerDown(p, it.down, at)); err != nil {
					return err
				}
			}
		case itemRoute:
			if c.loc {
				st.touchLoc(it.prefix)
			}
			p := st.peers[it.peer]
			if p == nil {
				continue // not up (stale routes purged after a Peer Down)
			}
			if c.pre && it.pre {
				if err := st.pk.add(p, false, it.fam, it.prefix, it.pathID, it.attrs, at); err != nil {
					return err
				}
			}
			if c.post {
				// After policy: the route if accepted, else withdrawn.
				a := it.attrs
				if !it.accepted {
					a = nil
				}
				if err := st.pk.add(p, true, it.fam, it.prefix, it.pathID, a, at); err != nil {
					return err
				}
			}
		}
	}
	if err := st.flushLoc(); err != nil {
		return err
	}
	return st.pk.flush()
}

func (st *stream) touchLoc(p netip.Prefix) {
	if st.locSet == nil {
		st.locSet = map[netip.Prefix]struct{}{}
	}
	if _, ok := st.locSet[p]; !ok {
		st.locSet[p] = struct{}{}
		st.locList = append(st.locList, p)
	}
}

// flushLoc sends the Loc-RIB state of the prefixes the batch touched: the
// best route now, or a withdrawal.
func (st *stream) flushLoc() error {
	if len(st.locList) == 0 {
		return nil
	}
	r := st.c.s.srv.Load().RIB()
	now := time.Now()
	for _, p := range st.locList {
		f := bgp.IPv4Unicast
		if p.Addr().Is6() {
			f = bgp.IPv6Unicast
		}
		var best *wire.AttrSet
		for _, x := range r.Lookup(p, rib.Exact) {
			if x.Best {
				best = x.Attrs
				break
			}
		}
		if err := st.pk.add(st.loc, false, f, p, 0, best, now); err != nil {
			return err
		}
	}
	clear(st.locSet)
	st.locList = st.locList[:0]
	return nil
}
