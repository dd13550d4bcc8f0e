// AS_PATH and AS4_PATH (RFC 6793): decoding, merging, and re-inserting
// the merged path for the members that speak 2-octet AS.

package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// decodeASPath parses AS_PATH (2- or 4-octet per session) and merges
// AS4_PATH for 2-octet speakers (RFC 6793 §4.2.3).
func (d *Decoder) decodeASPath(v, as4 []byte, u *Update) error {
	size := 2
	if d.FourOctetAS {
		size = 4
	}
	path, segs, err := parseSegments(v, size, nil, nil)
	if err != nil {
		return &attrErr{typ: AttrASPath, msg: err.Error()}
	}
	for _, s := range segs {
		if s.Type == bgp.SegConfedSeq || s.Type == bgp.SegConfedSet {
			return &attrErr{typ: AttrASPath, msg: "confederation segment from an eBGP peer"}
		}
	}
	if as4 != nil {
		p4, s4, err := parseSegments(as4, 4, nil, nil)
		switch {
		case err != nil:
			u.Discarded = append(u.Discarded, "malformed AS4_PATH: "+err.Error())
		default:
			path, segs = mergeAS4(path, segs, p4, s4)
		}
	}
	d.a.ASPath = path
	d.a.PathLen = 0
	d.a.HasASSet = false
	single := len(segs) == 1 && segs[0].Type == bgp.SegSequence
	for _, s := range segs {
		switch s.Type {
		case bgp.SegSequence:
			d.a.PathLen += s.End - s.Start
		case bgp.SegSet:
			d.a.PathLen++
			d.a.HasASSet = true
		}
	}
	if single || len(segs) == 0 {
		d.segs = d.segs[:0]
	} else {
		d.segs = append(d.segs[:0], segs...)
	}
	return nil
}

func parseSegments(v []byte, size int, path []uint32, segs []bgp.Segment) ([]uint32, []bgp.Segment, error) {
	for len(v) > 0 {
		if len(v) < 2 {
			return nil, nil, errors.New("truncated segment header")
		}
		t, n := v[0], int(v[1])
		if t < 1 || t > 4 {
			return nil, nil, fmt.Errorf("segment type %d", t)
		}
		if n == 0 {
			return nil, nil, errors.New("empty segment")
		}
		if len(v) < 2+n*size {
			return nil, nil, fmt.Errorf("segment of %d ASes overruns the attribute", n)
		}
		start := len(path)
		for i := 0; i < n; i++ {
			if size == 4 {
				path = append(path, binary.BigEndian.Uint32(v[2+4*i:]))
			} else {
				path = append(path, uint32(binary.BigEndian.Uint16(v[2+2*i:])))
			}
		}
		segs = append(segs, bgp.Segment{Type: t, Start: start, End: len(path)})
		v = v[2+n*size:]
	}
	return path, segs, nil
}

// mergeAS4 reconstructs the path from AS_PATH and AS4_PATH (RFC 6793
// §4.2.3): if AS4_PATH has more ASes than AS_PATH it is ignored; else the
// leading ASes of AS_PATH are kept and the rest replaced by AS4_PATH.
func mergeAS4(p2 []uint32, s2 []bgp.Segment, p4 []uint32, s4 []bgp.Segment) ([]uint32, []bgp.Segment) {
	count := func(segs []bgp.Segment) int {
		n := 0
		for _, s := range segs {
			if s.Type == bgp.SegSet {
				n++
			} else {
				n += s.End - s.Start
			}
		}
		return n
	}
	n2, n4 := count(s2), count(s4)
	if n4 > n2 {
		return p2, s2
	}
	keep := n2 - n4
	var path []uint32
	var segs []bgp.Segment
	for _, s := range s2 {
		if keep == 0 {
			break
		}
		if s.Type == bgp.SegSet {
			start := len(path)
			path = append(path, p2[s.Start:s.End]...)
			segs = append(segs, bgp.Segment{Type: s.Type, Start: start, End: len(path)})
			keep--
			continue
		}
		take := min(keep, s.End-s.Start)
		start := len(path)
		path = append(path, p2[s.Start:s.Start+take]...)
		segs = append(segs, bgp.Segment{Type: s.Type, Start: start, End: len(path)})
		keep -= take
	}
	for _, s := range s4 {
		start := len(path)
		path = append(path, p4[s.Start:s.End]...)
		if n := len(segs); n > 0 && segs[n-1].Type == bgp.SegSequence && s.Type == bgp.SegSequence && segs[n-1].End == start {
			segs[n-1].End = len(path)
			continue
		}
		segs = append(segs, bgp.Segment{Type: s.Type, Start: start, End: len(path)})
	}
	return path, segs
}

// insertASPath adds the canonical 4-octet AS_PATH to raw after ORIGIN.
func (d *Decoder) insertASPath(raw []byte) []byte {
	var v []byte
	if len(d.segs) == 0 {
		v = appendSegment(v, bgp.SegSequence, d.a.ASPath)
	} else {
		for _, s := range d.segs {
			v = appendSegment(v, s.Type, d.a.ASPath[s.Start:s.End])
		}
	}
	attr := appendAttr(nil, FlagTransitive, AttrASPath, v)
	// ORIGIN (if present) is the first attribute in raw; put AS_PATH after.
	pos := 0
	if len(raw) >= 3 && raw[1] == AttrOrigin {
		pos = 4
	}
	return slices.Insert(raw, pos, attr...)
}

func appendSegment(b []byte, t uint8, ases []uint32) []byte {
	for len(ases) > 0 {
		n := min(len(ases), 255)
		b = append(b, t, byte(n))
		for _, as := range ases[:n] {
			b = binary.BigEndian.AppendUint32(b, as)
		}
		ases = ases[n:]
	}
	return b
}
