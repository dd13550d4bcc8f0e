// NLRI: MP_REACH_NLRI next hops and prefixes, with ADD-PATH path IDs.

package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// parseMPReach returns the family (255 for one we do not carry), next
// hops and NLRI bytes of MP_REACH_NLRI.
func parseMPReach(v []byte) (bgp.Family, netip.Addr, netip.Addr, []byte, error) {
	var nh, ll netip.Addr
	if len(v) < 5 {
		return 0, nh, ll, nil, errors.New("shorter than 5 octets")
	}
	fam, ok := bgp.FamilyOf(binary.BigEndian.Uint16(v), v[2])
	nhLen := int(v[3])
	if len(v) < 4+nhLen+1 {
		return 0, nh, ll, nil, fmt.Errorf("next hop length %d overruns the attribute", nhLen)
	}
	if !ok {
		return 255, nh, ll, nil, nil
	}
	nhb := v[4 : 4+nhLen]
	switch {
	case fam == bgp.IPv6Unicast && (nhLen == 16 || nhLen == 32):
		nh = netip.AddrFrom16([16]byte(nhb[:16]))
		if nhLen == 32 {
			ll = netip.AddrFrom16([16]byte(nhb[16:32]))
		}
	case fam == bgp.IPv4Unicast && nhLen == 4:
		nh = netip.AddrFrom4([4]byte(nhb))
	case fam == bgp.IPv4Unicast && (nhLen == 16 || nhLen == 32):
		// RFC 8950 IPv6 next hop for IPv4 NLRI.
		nh = netip.AddrFrom16([16]byte(nhb[:16]))
	default:
		return 0, nh, ll, nil, fmt.Errorf("next hop length %d is invalid for %s", nhLen, fam)
	}
	// One reserved octet (formerly SNPAs) follows the next hop.
	return fam, nh, ll, v[4+nhLen+1:], nil
}

// parsePrefixes appends the prefixes encoded in b to out.
func parsePrefixes(out []NLRI, b []byte, v6, addPath bool) ([]NLRI, error) {
	maxBits := 32
	if v6 {
		maxBits = 128
	}
	for len(b) > 0 {
		var id uint32
		if addPath {
			if len(b) < 4 {
				return out, errors.New("truncated path identifier")
			}
			id = binary.BigEndian.Uint32(b)
			b = b[4:]
			if len(b) == 0 {
				return out, errors.New("path identifier without prefix")
			}
		}
		bits := int(b[0])
		if bits > maxBits {
			return out, fmt.Errorf("prefix length %d exceeds %d", bits, maxBits)
		}
		n := (bits + 7) / 8
		if len(b) < 1+n {
			return out, fmt.Errorf("prefix of length %d overruns the field", bits)
		}
		var p netip.Prefix
		if v6 {
			var a [16]byte
			copy(a[:], b[1:1+n])
			p = netip.PrefixFrom(netip.AddrFrom16(a), bits)
		} else {
			var a [4]byte
			copy(a[:], b[1:1+n])
			p = netip.PrefixFrom(netip.AddrFrom4(a), bits)
		}
		out = append(out, NLRI{Prefix: p.Masked(), PathID: id})
		b = b[1+n:]
	}
	return out, nil
}
