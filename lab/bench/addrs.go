package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Family bases and limits of the member blocks, as 64-bit "hi" values: an
// IPv4 address in the top 32 bits, the top 64 bits of an IPv6 address.
var (
	baseV4  = uint64(1) << 56      // 1.0.0.0
	limitV4 = uint64(223) << 56    // 223.0.0.0 (223/8 holds the probes)
	baseV6  = uint64(0x2a00) << 48 // 2a00::
	limitV6 = uint64(0x2c00) << 48 // 2c00:: (2c00::/16 holds the probes)
	reserv4 = []netip.Prefix{      // never used for member blocks
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("192.88.99.0/24"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
)

// hiOf returns an address's hi value.
func hiOf(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8])
}

// prefixOf builds a prefix from a hi value.
func prefixOf(f Family, hi uint64, bits int) netip.Prefix {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(hi>>32))
		return netip.PrefixFrom(netip.AddrFrom4(b), bits)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}

// unit is the hi-space size of a prefix of length bits.
func unit(bits int) uint64 { return uint64(1) << (64 - bits) }

// Probes are two routes per member and family that every route server must
// filter, to show that each applies the policy: ProbeNextHop is on the
// member's prefix list but announced with another member's address as
// NEXT_HOP; ProbeList is on no list. Neither is in the table, so a member
// that receives one counts it as unexpected and never converges.
const (
	ProbeNextHop = 0
	ProbeList    = 1
)

// Probe returns member m's probe prefix of kind (ProbeNextHop or
// ProbeList) in family f: 223.x.y.0/24 and 2c00:0:n::/48.
func Probe(f Family, m, kind int) netip.Prefix {
	n := uint64(2*m + kind)
	if f == IPv6 {
		return prefixOf(f, uint64(0x2c00)<<48|n<<16, 48)
	}
	return prefixOf(f, uint64(223)<<56|n<<40, 24)
}

// probeNextHop is the wrong NEXT_HOP of member m's next-hop probe: the
// next member's address (or an unused LAN address with one member).
func (t *Table) probeNextHop(f Family, m int) netip.Addr {
	if len(t.Members) > 1 {
		return t.Members[(m+1)%len(t.Members)].Addr[f]
	}
	if f == IPv6 {
		return netip.MustParseAddr("2001:db8:ffff::3")
	}
	return netip.MustParseAddr("198.18.0.3")
}

// MemberAddr returns member i's (from 0) address in family f:
// 198.18.(1+i/250).(1+i%250) and 2001:db8:ffff::1:(i+1).
func MemberAddr(i int, f Family) netip.Addr {
	if f == IPv6 {
		return netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::1:%x", i+1))
	}
	return netip.AddrFrom4([4]byte{198, 18, byte(1 + i/250), byte(1 + i%250)})
}

// The route server's addresses and the RTR server's (on the members' side).
var (
	RSAddr4  = netip.MustParseAddr("198.18.0.1")
	RSAddr6  = netip.MustParseAddr("2001:db8:ffff::1")
	RTRAddr4 = netip.MustParseAddr("198.18.0.2")
	LANBits4 = 16
	LANBits6 = 64
)

// RSAddr returns the route server's address in family f.
func RSAddr(f Family) netip.Addr {
	if f == IPv6 {
		return RSAddr6
	}
	return RSAddr4
}
