package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Template is the encoded attribute part of an UPDATE for one attribute
// set as one kind of target receives it. Packing appends NLRI to it.
type Template struct {
	Family bgp.Family
	// Attrs are the path attributes; for IPv4 they include NEXT_HOP.
	Attrs []byte
	// MPHead is, for IPv6, the MP_REACH_NLRI value up to the NLRI (AFI,
	// SAFI, next hop, reserved octet).
	MPHead []byte
}

// Encode builds the template of a with the rewrite applied, for a target
// that does (as4) or does not support 4-octet AS numbers.
func Encode(a *AttrSet, rw *bgp.Rewrite, as4 bool) *Template {
	t := &Template{Family: a.Family}
	var b []byte
	raw := a.Raw()
	commDone, largeDone, otcDone := false, false, false
	emitComms := func() {
		if !commDone {
			commDone = true
			if len(rw.Communities) > 0 {
				v := make([]byte, 0, 4*len(rw.Communities))
				for _, c := range rw.Communities {
					v = binary.BigEndian.AppendUint32(v, c)
				}
				b = appendAttr(b, FlagOptional|FlagTransitive, AttrCommunities, v)
			}
		}
	}
	emitLarge := func() {
		if !largeDone {
			largeDone = true
			if len(rw.Large) > 0 {
				v := make([]byte, 0, 12*len(rw.Large))
				for _, l := range rw.Large {
					v = binary.BigEndian.AppendUint32(v, l.Global)
					v = binary.BigEndian.AppendUint32(v, l.Local1)
					v = binary.BigEndian.AppendUint32(v, l.Local2)
				}
				b = appendAttr(b, FlagOptional|FlagTransitive, AttrLargeCommunity, v)
			}
		}
	}
	nextHopDone := false
	emitNextHop := func() {
		if nextHopDone || a.Family != bgp.IPv4Unicast {
			return
		}
		nextHopDone = true
		nh := a.NextHop
		if rw.NextHop.IsValid() {
			nh = rw.NextHop
		}
		if nh.Is4() {
			v := nh.As4()
			b = appendAttr(b, FlagTransitive, AttrNextHop, v[:])
		}
	}
	for len(raw) > 0 {
		flags, typ := raw[0], raw[1]
		hl, l := 3, int(raw[2])
		if flags&FlagExtLen != 0 {
			hl, l = 4, int(binary.BigEndian.Uint16(raw[2:4]))
		}
		attr, val := raw[:hl+l], raw[hl:hl+l]
		raw = raw[hl+l:]
		// Keep type order: insert NEXT_HOP before the first attribute
		// past it, communities in their own slot.
		if typ > AttrNextHop {
			emitNextHop()
		}
		if typ > AttrCommunities {
			emitComms()
		}
		if typ > AttrLargeCommunity {
			emitLarge()
		}
		switch typ {
		case AttrASPath:
			if rw.PrependN == 0 && as4 {
				b = append(b, attr...)
			} else {
				b = appendASPath(b, a, rw, as4)
			}
		case AttrAggregator:
			if as4 {
				b = append(b, attr...)
			} else if len(val) == 8 {
				as := binary.BigEndian.Uint32(val)
				if as > 0xffff {
					v := append([]byte{byte(bgp.ASTrans >> 8), byte(bgp.ASTrans & 0xff)}, val[4:]...)
					b = appendAttr(b, flags, typ, v)
					b = appendAttr(b, FlagOptional|FlagTransitive, AttrAS4Aggregator, val)
				} else {
					b = appendAttr(b, flags, typ, append([]byte{byte(as >> 8), byte(as)}, val[4:]...))
				}
			}
		case AttrCommunities:
			emitComms()
		case AttrLargeCommunity:
			emitLarge()
		case AttrOTC:
			otcDone = true
			b = append(b, attr...)
		default:
			if typ > AttrOTC && !otcDone && rw.SetOTC {
				otcDone = true
				b = appendAttr(b, FlagOptional|FlagTransitive, AttrOTC, binary.BigEndian.AppendUint32(nil, rw.OTC))
			}
			b = append(b, attr...)
		}
	}
	emitNextHop()
	emitComms()
	emitLarge()
	if !otcDone && rw.SetOTC {
		b = appendAttr(b, FlagOptional|FlagTransitive, AttrOTC, binary.BigEndian.AppendUint32(nil, rw.OTC))
	}
	t.Attrs = b
	if a.Family == bgp.IPv6Unicast {
		nh, ll := a.NextHop, a.NextHopLL
		if rw.NextHop.IsValid() {
			nh, ll = rw.NextHop, netip.Addr{}
		}
		afi, safi := a.Family.AFISAFI()
		h := []byte{byte(afi >> 8), byte(afi), safi}
		if ll.IsValid() {
			v, w := nh.As16(), ll.As16()
			h = append(append(append(h, 32), v[:]...), w[:]...)
		} else {
			v := nh.As16()
			h = append(append(h, 16), v[:]...)
		}
		t.MPHead = append(h, 0)
	}
	return t
}

// appendASPath writes AS_PATH with prepends, in 4-octet form or, for a
// 2-octet target, with AS_TRANS and an AS4_PATH (RFC 6793 §4.2.2).
func appendASPath(b []byte, a *AttrSet, rw *bgp.Rewrite, as4 bool) []byte {
	type seg struct {
		t    uint8
		ases []uint32
	}
	var segs []seg
	if len(a.Segments) == 0 {
		segs = append(segs, seg{bgp.SegSequence, a.ASPath})
	} else {
		for _, s := range a.Segments {
			segs = append(segs, seg{s.Type, a.ASPath[s.Start:s.End]})
		}
	}
	if rw.PrependN > 0 {
		pre := make([]uint32, 0, rw.PrependN+len(a.ASPath))
		for i := 0; i < rw.PrependN; i++ {
			pre = append(pre, rw.PrependAS)
		}
		if len(a.ASPath) > 0 && segs[0].t == bgp.SegSequence {
			segs[0].ases = append(pre, segs[0].ases...)
		} else {
			segs = append([]seg{{bgp.SegSequence, pre}}, segs...)
		}
	}
	var v, v4 []byte
	needAS4 := false
	for _, s := range segs {
		if as4 {
			v = appendSegment(v, s.t, s.ases)
			continue
		}
		for rest := s.ases; len(rest) > 0; {
			n := min(len(rest), 255)
			v = append(v, s.t, byte(n))
			for _, as := range rest[:n] {
				if as > 0xffff {
					needAS4 = true
					as = bgp.ASTrans
				}
				v = binary.BigEndian.AppendUint16(v, uint16(as))
			}
			rest = rest[n:]
		}
		v4 = appendSegment(v4, s.t, s.ases)
	}
	b = appendAttr(b, FlagTransitive, AttrASPath, v)
	if needAS4 {
		b = appendAttr(b, FlagOptional|FlagTransitive, AttrAS4Path, v4)
	}
	return b
}

// AppendNLRI appends one prefix in NLRI encoding.
func AppendNLRI(b []byte, p netip.Prefix, pathID uint32, addPath bool) []byte {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, pathID)
	}
	bits := p.Bits()
	b = append(b, byte(bits))
	n := (bits + 7) / 8
	if p.Addr().Is4() {
		a := p.Addr().As4()
		return append(b, a[:n]...)
	}
	a := p.Addr().As16()
	return append(b, a[:n]...)
}

// NLRILen is the encoded length of p.
func NLRILen(p netip.Prefix, addPath bool) int {
	n := 1 + (p.Bits()+7)/8
	if addPath {
		n += 4
	}
	return n
}

// AppendAnnounce appends one UPDATE announcing the encoded prefixes nlri
// with template t.
func AppendAnnounce(b []byte, t *Template, nlri []byte) []byte {
	if t.Family == bgp.IPv4Unicast {
		body := 4 + len(t.Attrs) + len(nlri)
		b = bgp.AppendHeader(b, bgp.MsgUpdate, body)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Attrs)))
		b = append(b, t.Attrs...)
		return append(b, nlri...)
	}
	mpLen := len(t.MPHead) + len(nlri)
	alen := len(t.Attrs) + 4 + mpLen
	b = bgp.AppendHeader(b, bgp.MsgUpdate, 4+alen)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(alen))
	b = append(b, t.Attrs...)
	b = append(b, FlagOptional|FlagExtLen, AttrMPReach)
	b = binary.BigEndian.AppendUint16(b, uint16(mpLen))
	b = append(b, t.MPHead...)
	return append(b, nlri...)
}

// AnnounceOverhead is the size of an announcing UPDATE without its NLRI.
func AnnounceOverhead(t *Template) int {
	if t.Family == bgp.IPv4Unicast {
		return bgp.HeaderLen + 4 + len(t.Attrs)
	}
	return bgp.HeaderLen + 4 + len(t.Attrs) + 4 + len(t.MPHead)
}

// AppendWithdraw appends one UPDATE withdrawing the encoded prefixes.
func AppendWithdraw(b []byte, f bgp.Family, nlri []byte) []byte {
	if f == bgp.IPv4Unicast {
		b = bgp.AppendHeader(b, bgp.MsgUpdate, 4+len(nlri))
		b = binary.BigEndian.AppendUint16(b, uint16(len(nlri)))
		b = append(b, nlri...)
		return append(b, 0, 0)
	}
	afi, safi := f.AFISAFI()
	alen := 4 + 3 + len(nlri)
	b = bgp.AppendHeader(b, bgp.MsgUpdate, 4+alen)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(alen))
	b = append(b, FlagOptional|FlagExtLen, AttrMPUnreach)
	b = binary.BigEndian.AppendUint16(b, uint16(3+len(nlri)))
	b = append(b, byte(afi>>8), byte(afi), safi)
	return append(b, nlri...)
}

// WithdrawOverhead is the size of a withdrawing UPDATE without its NLRI.
func WithdrawOverhead(f bgp.Family) int {
	if f == bgp.IPv4Unicast {
		return bgp.HeaderLen + 4
	}
	return bgp.HeaderLen + 4 + 4 + 3
}

// AppendEndOfRIB appends the End-of-RIB marker for f (RFC 4724 §2).
func AppendEndOfRIB(b []byte, f bgp.Family) []byte {
	if f == bgp.IPv4Unicast {
		b = bgp.AppendHeader(b, bgp.MsgUpdate, 4)
		return append(b, 0, 0, 0, 0)
	}
	afi, safi := f.AFISAFI()
	b = bgp.AppendHeader(b, bgp.MsgUpdate, 4+6)
	return append(b, 0, 0, 0, 6, FlagOptional, AttrMPUnreach, 3, byte(afi>>8), byte(afi), safi)
}
