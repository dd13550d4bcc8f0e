package history

import (
	"net/netip"
	"slices"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// prefixKey identifies a prefix compactly (no pointers).
type prefixKey struct {
	fam  uint8
	bits uint8
	addr [16]byte
}

func keyOf(f bgp.Family, p netip.Prefix) prefixKey {
	return prefixKey{fam: uint8(f), bits: uint8(p.Bits()), addr: p.Addr().As16()}
}

// key is the event's prefix as a prefixKey.
func (ev *event) key() prefixKey { return prefixKey{fam: uint8(ev.fam), bits: ev.bits, addr: ev.addr} }

// prefix returns the key's prefix.
func (k prefixKey) prefix() netip.Prefix {
	a := netip.AddrFrom16(k.addr)
	if bgp.Family(k.fam) == bgp.IPv4Unicast {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}

func familyNumber(f bgp.Family) int {
	if f == bgp.IPv6Unicast {
		return 6
	}
	return 4
}

// prefixRange returns the first and last address of p as big-endian bytes
// (4 for IPv4, 16 for IPv6).
func prefixRange(p netip.Prefix) (start, end []byte) {
	p = p.Masked()
	start = p.Addr().AsSlice()
	end = slices.Clone(start)
	bits := p.Bits()
	for i := range end {
		lo := i * 8
		switch {
		case bits <= lo:
			end[i] = 0xff
		case bits < lo+8:
			end[i] |= byte(0xff >> (bits - lo))
		}
	}
	return start, end
}
