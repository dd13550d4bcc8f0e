package bgp

// Family is an address family the route server carries.
type Family uint8

// Families: IPv4 and IPv6 unicast.
const (
	IPv4Unicast Family = iota
	IPv6Unicast
	NumFamilies
)

// AFI and SAFI values (RFC 4760).
const (
	AFIIPv4     = 1
	AFIIPv6     = 2
	SAFIUnicast = 1
)

// AFISAFI returns the wire values of f.
func (f Family) AFISAFI() (uint16, uint8) {
	if f == IPv6Unicast {
		return AFIIPv6, SAFIUnicast
	}
	return AFIIPv4, SAFIUnicast
}

func (f Family) String() string {
	if f == IPv6Unicast {
		return "ipv6-unicast"
	}
	return "ipv4-unicast"
}

// FamilyOf maps wire values to a Family.
func FamilyOf(afi uint16, safi uint8) (Family, bool) {
	switch {
	case afi == AFIIPv4 && safi == SAFIUnicast:
		return IPv4Unicast, true
	case afi == AFIIPv6 && safi == SAFIUnicast:
		return IPv6Unicast, true
	}
	return 0, false
}
