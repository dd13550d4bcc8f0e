package mrt

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"
)

// Stats describe a dump.
type Stats struct {
	Time     time.Time `json:"time"`
	Peers    int       `json:"peers"`
	Prefixes int       `json:"prefixes"`
	Routes   int       `json:"routes"`
	Bytes    int64     `json:"bytes"`
}

// ViewName is the view name written in the PEER_INDEX_TABLE.
const ViewName = "fedrs"

// Dump writes a TABLE_DUMP_V2 dump of srv's RIB to w, timestamped at.
//
// The routes are read with rib.RIB.Walk: in prefix order, in chunks of the
// table, never holding the RIB's lock while they are encoded and written,
// so a dump of a large table does not stall routing and takes little
// memory (the sort keys and one chunk). Each prefix's RIB entry is
// consistent (its routes read together); the dump as a whole is not a
// point-in-time snapshot: a prefix that changes while the dump runs is
// written as it was when its chunk was read.
func Dump(w io.Writer, srv *routeserver.Server, at time.Time) (Stats, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	st := Stats{Time: at}
	ts := uint32(at.Unix())
	cfg, nbrs := srv.ConfigAndNeighbors()

	// PEER_INDEX_TABLE: every neighbour, up or not (stale routes of a
	// restarting member stay in the RIB).
	index := map[*rib.Source]uint16{}
	since := map[*rib.Source]uint32{}
	peers := make([]*gomrt.Peer, 0, len(nbrs))
	for _, n := range nbrs {
		if len(peers) == 0xffff {
			return st, errors.New("more than 65535 neighbours: beyond what a PEER_INDEX_TABLE can list")
		}
		var asn uint32
		if n.Member >= 0 && n.Member < len(cfg.Members) {
			asn = cfg.Members[n.Member].ASN
		}
		id := "0.0.0.0"
		index[n.Source] = uint16(len(peers))
		since[n.Source] = ts
		info := n.Peer.Info()
		if ng := info.Negotiated; ng != nil && info.State == session.Established {
			id = ng.PeerID.String()
			asn = ng.PeerASN
			// fedrs keeps no per-route arrival time (the history has
			// it): a route is at least as old as its session.
			since[n.Source] = uint32(info.Since.Unix())
		}
		peers = append(peers, gomrt.NewPeer(id, n.Source.Addr.String(), asn, true))
	}
	st.Peers = len(peers)
	if err := write(bw, ts, gomrt.PEER_INDEX_TABLE, gomrt.NewPeerIndexTable(cfg.Server.RouterID.String(), ViewName, peers)); err != nil {
		return st, err
	}

	enc := &encoder{attrs: map[*wire.AttrSet]rawAttrs{}}
	seq := uint32(0)
	var group []rib.Route
	// flush writes the RIB entry of one prefix: group, all its routes.
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		defer func() { clear(group); group = group[:0] }()
		addPath := false
		for _, r := range group {
			addPath = addPath || r.PathID != 0
		}
		entries := make([]*gomrt.RibEntry, 0, len(group))
		for _, r := range group {
			pi, ok := index[r.Source]
			if !ok || r.Attrs == nil {
				continue // a neighbour removed by a reload since the index was read
			}
			entries = append(entries, gomrt.NewRibEntry(pi, since[r.Source], r.PathID, []gobgp.PathAttributeInterface{enc.of(r.Attrs)}, addPath))
		}
		if len(entries) == 0 {
			return nil
		}
		if len(entries) > 0xffff {
			entries = entries[:0xffff] // the entry count is 16 bits
		}
		p := group[0].Prefix
		var nlri gobgp.AddrPrefixInterface
		sub := gomrt.RIB_IPV4_UNICAST
		if p.Addr().Is4() {
			nlri = gobgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())
		} else {
			nlri = gobgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())
			sub = gomrt.RIB_IPV6_UNICAST
		}
		if addPath {
			sub += gomrt.RIB_IPV4_UNICAST_ADDPATH - gomrt.RIB_IPV4_UNICAST
		}
		if err := write(bw, ts, sub, gomrt.NewRib(seq, nlri, entries)); err != nil {
			return err
		}
		seq++
		st.Prefixes++
		st.Routes += len(entries)
		return nil
	}
	var err error
	for f := bgp.Family(0); f < bgp.NumFamilies && err == nil; f++ {
		srv.RIB().Walk(rib.Filter{Member: -1, HasFamily: true, Family: f}, func(r rib.Route) bool {
			if len(group) > 0 && r.Prefix != group[0].Prefix {
				err = flush()
			}
			group = append(group, r)
			return err == nil
		})
		if err == nil {
			err = flush()
		}
	}
	if err != nil {
		return st, err
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, nil
}

func write(w io.Writer, ts uint32, sub gomrt.MRTSubTypeTableDumpv2, body gomrt.Body) error {
	m, err := gomrt.NewMRTMessage(ts, gomrt.TABLE_DUMPv2, sub, body)
	if err != nil {
		return err
	}
	b, err := m.Serialize()
	if err != nil {
		return fmt.Errorf("encoding an MRT record: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// encoder turns attribute sets into RIB entry attributes, once per set.
type encoder struct {
	attrs map[*wire.AttrSet]rawAttrs
}

func (e *encoder) of(a *wire.AttrSet) rawAttrs {
	if r, ok := e.attrs[a]; ok {
		return r
	}
	t := wire.Received(a)
	r := rawAttrs(t.Attrs)
	if a.Family == bgp.IPv6Unicast {
		// RFC 6396 §4.3.4: MP_REACH_NLRI holds only the next hop's length
		// and address; the prefix is the record's. MPHead is AFI, SAFI,
		// length, next hop(s), reserved.
		nh := t.MPHead[3 : len(t.MPHead)-1]
		r = append(r[:len(r):len(r)], wire.FlagOptional, wire.AttrMPReach, byte(len(nh)))
		r = append(r, nh...)
	}
	e.attrs[a] = r
	return r
}

// rawAttrs are path attributes already encoded by fedrs's wire encoder,
// handed to gobgp's RibEntry as one block (it only needs their bytes).
type rawAttrs []byte

var errEncodeOnly = errors.New("mrt: encode only")

func (r rawAttrs) DecodeFromBytes([]byte, ...*gobgp.MarshallingOption) error { return errEncodeOnly }
func (r rawAttrs) Serialize(...*gobgp.MarshallingOption) ([]byte, error)     { return r, nil }
func (r rawAttrs) Len(...*gobgp.MarshallingOption) int                       { return len(r) }
func (r rawAttrs) GetFlags() gobgp.BGPAttrFlag                               { return 0 }
func (r rawAttrs) GetType() gobgp.BGPAttrType                                { return 0 }
func (r rawAttrs) String() string                                            { return hex.EncodeToString(r) }
func (r rawAttrs) MarshalJSON() ([]byte, error)                              { return json.Marshal(hex.EncodeToString(r)) }
func (r rawAttrs) Flat() map[string]string                                   { return nil }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
