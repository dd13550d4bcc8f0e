package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Attrs is one received path attribute set, decoded, as the policy engine
// sees it. The route server interns attribute sets: every prefix of one
// UPDATE shares one *Attrs, and an *Attrs is immutable once built.
type Attrs struct {
	Origin uint8 // 0 IGP, 1 EGP, 2 INCOMPLETE
	// ASPath is the AS_PATH flattened in wire order (ASPath[0] is the
	// neighbour). Segments describes its segments when it is not a single
	// AS_SEQUENCE (nil for the common case).
	ASPath   []uint32
	Segments []Segment
	// PathLen is the length the decision process uses (an AS_SET counts
	// as one, confederation segments as zero).
	PathLen  int
	HasASSet bool
	// NextHop is the NEXT_HOP (IPv4) or the global MP_REACH next hop
	// (IPv6); NextHopLL the IPv6 link-local next hop, if any.
	NextHop   netip.Addr
	NextHopLL netip.Addr
	MED       uint32
	HasMED    bool
	// Communities (RFC 1997), Large (RFC 8092), and the number of extended
	// communities (RFC 4360), kept only for counting.
	Communities []uint32
	Large       []Large
	ExtCount    int
	OTC         uint32 // Only to Customer (RFC 9234), when HasOTC
	HasOTC      bool
	// Discarded lists attribute types dropped on receipt under RFC 7606
	// "attribute discard".
	Discarded []uint8
}

// Segment is an AS_PATH segment: ASPath[Start:End] of type Type (1 AS_SET,
// 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET).
type Segment struct {
	Type       uint8
	Start, End int
}

// AS_PATH segment types.
const (
	SegSet         = 1
	SegSequence    = 2
	SegConfedSeq   = 3
	SegConfedSet   = 4
	OriginIGP      = 0
	OriginEGP      = 1
	OriginIncomplt = 2
)

// Large is a large community (RFC 8092).
type Large struct{ Global, Local1, Local2 uint32 }

func (l Large) String() string { return fmt.Sprintf("%d:%d:%d", l.Global, l.Local1, l.Local2) }

// FirstAS returns the neighbour AS: the first AS of the path if the path
// starts with an AS_SEQUENCE.
func (a *Attrs) FirstAS() (uint32, bool) {
	if len(a.ASPath) == 0 || (a.Segments != nil && a.Segments[0].Type != SegSequence) {
		return 0, false
	}
	return a.ASPath[0], true
}

// OriginAS returns the origin AS (RFC 6811): the last AS of the path if the
// last segment is an AS_SEQUENCE. A path ending in an AS_SET, or an empty
// path, has no origin AS.
func (a *Attrs) OriginAS() (uint32, bool) {
	if len(a.ASPath) == 0 || (a.Segments != nil && a.Segments[len(a.Segments)-1].Type != SegSequence) {
		return 0, false
	}
	return a.ASPath[len(a.ASPath)-1], true
}

// HasCommunity reports whether the standard community c is present.
func (a *Attrs) HasCommunity(c uint32) bool { return slices.Contains(a.Communities, c) }

// Well-known communities.
const (
	CommGracefulShutdown = 0xFFFF0000 // RFC 8326
	CommBlackhole        = 0xFFFF029A // RFC 7999, 65535:666
	CommNoExport         = 0xFFFFFF01
	CommNoAdvertise      = 0xFFFFFF02
)

// Rewrite is the attribute change applied to a route on export toward a
// target; the policy engine decides it and the wire encoder applies it.
// Transparency (RFC 7947): NEXT_HOP, MED and AS_PATH stay as received
// unless a field here says otherwise.
type Rewrite struct {
	// Communities and Large replace the received lists (action
	// communities stripped, informational and NO_EXPORT/NO_ADVERTISE
	// added). A nil slice means "none".
	Communities []uint32
	Large       []Large
	// PrependAS is prepended PrependN times.
	PrependAS uint32
	PrependN  int
	// OTC is set when the route carries none (RFC 9234 egress to an
	// RS-Client); it is never changed once present.
	SetOTC bool
	OTC    uint32
	// NextHop, when valid, replaces the next hop (blackhole next-hop
	// rewrite); the IPv6 link-local next hop is then dropped.
	NextHop netip.Addr
}

// CommunityString is the text form of a standard community (RFC 1997):
// "high:low" in decimal.
func CommunityString(c uint32) string {
	return strconv.FormatUint(uint64(c>>16), 10) + ":" + strconv.FormatUint(uint64(c&0xffff), 10)
}
