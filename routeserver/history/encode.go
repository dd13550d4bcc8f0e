package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// appendRec appends r to a journal blob; prevAt is the time of the
// record before it (times are stored as differences).
func appendRec(b []byte, r *rec, prevAt int64) []byte {
	b = append(b, r.op)
	b = binary.AppendVarint(b, r.at-prevAt)
	switch r.op {
	case recRoute, recExposure:
		b = append(b, r.k.fam, r.k.bits)
		if r.k.fam == uint8(bgp.IPv4Unicast) {
			b = append(b, r.k.addr[12:]...)
		} else {
			b = append(b, r.k.addr[:]...)
		}
		if r.op == recRoute {
			var flags byte
			if r.filtered {
				flags |= 1
			}
			if r.hasExp {
				flags |= 2
			}
			b = binary.AppendUvarint(b, uint64(r.pathID))
			b = binary.AppendUvarint(b, uint64(r.src))
			b = binary.AppendVarint(b, int64(r.attrs))
			b = binary.AppendUvarint(b, uint64(r.verdict))
			b = binary.AppendUvarint(b, uint64(r.cause))
			b = append(b, flags)
		}
		if r.hasExp {
			b = binary.AppendUvarint(b, uint64(len(r.exps)))
			for _, e := range r.exps {
				b = binary.AppendUvarint(b, uint64(e.pathID))
				b = binary.AppendUvarint(b, uint64(e.src))
				b = binary.AppendUvarint(b, uint64(e.set))
			}
		}
	case recSourceEnd:
		b = append(b, r.k.fam)
		b = binary.AppendUvarint(b, uint64(r.src))
		b = binary.AppendUvarint(b, uint64(r.cause))
	}
	return b
}

var errJournalCorrupt = errors.New("journal row is corrupt")

// recReader decodes a journal blob.
type recReader struct {
	b      []byte
	prevAt int64
	err    error
}

func (d *recReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recReader) bytes(n int) []byte {
	if len(d.b) < n {
		d.err = errJournalCorrupt
		d.b = nil
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

// next decodes the next record into r; false at the end or on an error
// (d.err).
func (d *recReader) next(r *rec) bool {
	if len(d.b) == 0 || d.err != nil {
		return false
	}
	*r = rec{exps: r.exps[:0], op: d.bytes(1)[0]}
	delta, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errJournalCorrupt
		return false
	}
	d.b = d.b[n:]
	r.at = d.prevAt + delta
	d.prevAt = r.at
	switch r.op {
	case recRoute, recExposure:
		h := d.bytes(2)
		r.k.fam, r.k.bits = h[0], h[1]
		if r.k.fam == uint8(bgp.IPv4Unicast) {
			r.k.addr = [16]byte{10: 0xff, 11: 0xff}
			copy(r.k.addr[12:], d.bytes(4))
		} else {
			copy(r.k.addr[:], d.bytes(16))
		}
		if r.op == recRoute {
			r.pathID = uint32(d.uvarint())
			r.src = int32(d.uvarint())
			r.attrs = int32(d.varint())
			r.verdict = int32(d.uvarint())
			r.cause = int32(d.uvarint())
			flags := d.bytes(1)[0]
			r.filtered, r.hasExp = flags&1 != 0, flags&2 != 0
		} else {
			r.hasExp = true
		}
		if r.hasExp {
			n := d.uvarint()
			for i := uint64(0); i < n && d.err == nil; i++ {
				r.exps = append(r.exps, expRef{pathID: uint32(d.uvarint()), src: int32(d.uvarint()), set: int32(d.uvarint())})
			}
		}
	case recSourceEnd:
		r.k.fam = d.bytes(1)[0]
		r.src = int32(d.uvarint())
		r.cause = int32(d.uvarint())
	case recExportsOff:
	default:
		d.err = fmt.Errorf("%w: operation %d", errJournalCorrupt, r.op)
	}
	return d.err == nil
}

// appendAttrKey appends a's identity as the attribute table keys it:
// family, next hop, link-local next hop (each length-prefixed) and the
// canonical attributes.
func appendAttrKey(b []byte, a *wire.AttrSet) []byte {
	b = append(b, byte(a.Family))
	for _, ad := range []netip.Addr{a.NextHop, a.NextHopLL} {
		s := ad.AsSlice()
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return append(b, a.Raw()...)
}

// decodeAttrKey rebuilds an attribute set from its key (a start after a
// crash applies journal rows whose sets only the dead run held): the
// attributes are decoded again as an UPDATE carrying them would be.
func decodeAttrKey(key []byte, t *wire.Table) (*wire.AttrSet, error) {
	bad := fmt.Errorf("%w: attribute set key", errJournalCorrupt)
	if len(key) < 3 {
		return nil, bad
	}
	f := bgp.Family(key[0])
	var nh [2][]byte
	rest := key[1:]
	for i := range nh {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, bad
		}
		nh[i], rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
	}
	attrs := append([]byte(nil), rest...)
	var nlri []byte
	switch f {
	case bgp.IPv4Unicast:
		if len(nh[0]) != 4 {
			return nil, bad
		}
		attrs = append(attrs, wire.FlagTransitive, 3, 4)
		attrs = append(attrs, nh[0]...)
		nlri = []byte{0} // 0.0.0.0/0: the set needs a route to carry it
	case bgp.IPv6Unicast:
		v := []byte{0, 2, 1, byte(len(nh[0]) + len(nh[1]))}
		v = append(append(append(v, nh[0]...), nh[1]...), 0, 0) // reserved, then ::/0
		attrs = append(attrs, wire.FlagOptional|wire.FlagExtLen, wire.AttrMPReach, byte(len(v)>>8), byte(len(v)))
		attrs = append(attrs, v...)
	default:
		return nil, bad
	}
	body := binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(len(attrs)))
	body = append(append(body, attrs...), nlri...)
	d := wire.Decoder{FourOctetAS: true, Table: t}
	u, err := d.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bad, err)
	}
	if u.Attrs[f] == nil {
		return nil, fmt.Errorf("%w: %v", bad, u.TreatAsWithdraw)
	}
	return u.Attrs[f], nil
}
