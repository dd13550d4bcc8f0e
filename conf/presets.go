package conf

import (
	"net/netip"
	"slices"
)

// Policy presets.
const (
	PresetFederation = "federation"
	PresetIXP        = "ixp"
)

// Presets lists the valid values of [policy] preset.
var Presets = []string{PresetFederation, PresetIXP}

// presetDefaults are the values a preset gives the keys of [policy] that
// the configuration does not set.
type presetDefaults struct {
	minV4, maxV4, minV6, maxV6 int
}

func defaultsFor(preset string) presetDefaults {
	if preset == PresetIXP {
		// The usual Internet exchange bounds: nothing longer than a /24
		// or /48 is globally routable.
		return presetDefaults{minV4: 8, maxV4: 24, minV6: 16, maxV6: 48}
	}
	// A federation routes internal networks: a shared service may live in
	// a /28 or /29 DMZ, and IPv6 service subnets are /64s. Host routes
	// (/32, /128) are not ordinary routes; the blackhole check admits
	// BLACKHOLE-tagged routes up to /32 and /128 regardless of this bound.
	// The minimum of 8 rejects default routes (and 0.0.0.0/1-style halves).
	return presetDefaults{minV4: 8, maxV4: 29, minV6: 16, maxV6: 64}
}

// Policy defaults that do not depend on the preset.
const (
	DefaultMinASPath      = 1
	DefaultMaxASPath      = 64
	DefaultMaxCommunities = 150
)

// DefaultCheckAction is the action of a check that [policy.checks] does not
// set: "filter", except "aspa", which is "tag" (ASPA verification is still
// an Internet-Draft and few ASPA objects exist, so its verdict is recorded
// but does not filter unless the operator asks).
func DefaultCheckAction(check string) string {
	if check == CheckASPA {
		return ActionTag
	}
	return ActionFilter
}

// Bogon prefixes common to both presets. Sources: RFC 6890 and the IANA
// IPv4/IPv6 Special-Purpose Address Registries.
var commonBogonsV4 = []string{
	"0.0.0.0/0",       // default route (matches only itself, see MatchesBogon)
	"0.0.0.0/8",       // "this network", RFC 791
	"127.0.0.0/8",     // loopback, RFC 1122
	"169.254.0.0/16",  // link local, RFC 3927
	"192.0.0.0/24",    // IETF protocol assignments, RFC 6890
	"192.0.2.0/24",    // TEST-NET-1, RFC 5737
	"192.88.99.0/24",  // 6to4 relay anycast, deprecated by RFC 7526
	"198.18.0.0/15",   // benchmarking, RFC 2544
	"198.51.100.0/24", // TEST-NET-2, RFC 5737
	"203.0.113.0/24",  // TEST-NET-3, RFC 5737
	"224.0.0.0/4",     // multicast, RFC 5771
	"240.0.0.0/4",     // reserved, RFC 1112 (includes 255.255.255.255)
}

var commonBogonsV6 = []string{
	"::/0",         // default route (matches only itself, see MatchesBogon)
	"::/8",         // unspecified, loopback, IPv4-compatible/-mapped, RFC 4291
	"100::/64",     // discard-only, RFC 6666
	"2001:2::/48",  // benchmarking, RFC 5180
	"2001:10::/28", // ORCHID, RFC 4843
	"3ffe::/16",    // former 6bone, RFC 3701
	"fe80::/10",    // link local, RFC 4291
	"fec0::/10",    // site local, deprecated by RFC 3879
	"ff00::/8",     // multicast, RFC 4291
}

// The federation preset deliberately does not list 2001:db8::/32 (IPv6
// documentation space, RFC 3849): federations, and the example
// configuration, may number internal services from it the way they use
// RFC 1918 space. The ixp preset does list it.
var ixpExtraBogons = []string{
	"10.0.0.0/8",     // private, RFC 1918
	"100.64.0.0/10",  // shared address space (CGNAT), RFC 6598
	"172.16.0.0/12",  // private, RFC 1918
	"192.168.0.0/16", // private, RFC 1918
	"2001:db8::/32",  // documentation, RFC 3849
	"2002::/16",      // 6to4, deprecated by RFC 7526
	"fc00::/7",       // unique local, RFC 4193
}

// Bogon AS numbers common to both presets (IANA Special-Purpose AS
// Numbers registry).
var commonBogonASNs = []ASNRange{
	{0, 0},                   // RFC 7607
	{23456, 23456},           // AS_TRANS, RFC 6793
	{64496, 64511},           // documentation, RFC 5398
	{65535, 65535},           // reserved, RFC 7300
	{65536, 65551},           // documentation, RFC 5398
	{65552, 131071},          // IANA reserved
	{4294967295, 4294967295}, // reserved, RFC 7300
}

var ixpExtraBogonASNs = []ASNRange{
	{64512, 65534},           // private, RFC 6996
	{4200000000, 4294967294}, // private, RFC 6996
}

// Well-known transit-free networks, the ixp preset's default
// transit_free_asns: a route from an exchange member whose path crosses
// one of them is a leak of transit routes.
var ixpTransitFree = []ASNRange{
	{174, 174}, {701, 701}, {1299, 1299}, {2914, 2914}, {3257, 3257},
	{3320, 3320}, {3356, 3356}, {3491, 3491}, {5511, 5511}, {6453, 6453},
	{6461, 6461}, {6762, 6762}, {6830, 6830}, {7018, 7018}, {12956, 12956},
}

func mustPrefixes(ss ...[]string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		for _, p := range s {
			out = append(out, netip.MustParsePrefix(p))
		}
	}
	return out
}

// BogonPrefixes returns a fresh copy of the preset's bogon prefix list
// ("federation" for an unknown preset). Entries are canonical prefixes;
// see MatchesBogon for how a route is matched against them.
//
// federation: 0.0.0.0/0 and ::/0 (default routes), 0.0.0.0/8, 127.0.0.0/8,
// 169.254.0.0/16, 192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24,
// 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4,
// 240.0.0.0/4, ::/8, 100::/64, 2001:2::/48, 2001:10::/28, 3ffe::/16,
// fe80::/10, fec0::/10, ff00::/8. RFC 1918, 100.64.0.0/10, fc00::/7 and
// 2001:db8::/32 are normal in a federation.
//
// ixp: all of the above plus 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12,
// 192.168.0.0/16, 2001:db8::/32, 2002::/16, fc00::/7.
func BogonPrefixes(preset string) []netip.Prefix {
	if preset == PresetIXP {
		return mustPrefixes(commonBogonsV4, commonBogonsV6, ixpExtraBogons)
	}
	return mustPrefixes(commonBogonsV4, commonBogonsV6)
}

// BogonASNs returns a fresh copy of the preset's bogon AS number list.
//
// federation: 0, 23456, 64496-64511, 65535, 65536-65551, 65552-131071,
// 4294967295. Private ASNs are normal in a federation.
//
// ixp: all of the above plus the private ranges 64512-65534 and
// 4200000000-4294967294.
func BogonASNs(preset string) []ASNRange {
	if preset == PresetIXP {
		return append(slices.Clone(commonBogonASNs), ixpExtraBogonASNs...)
	}
	return slices.Clone(commonBogonASNs)
}

// TransitFreeASNs returns the preset's default transit_free_asns: none for
// federation; for ixp the well-known transit-free networks 174, 701, 1299,
// 2914, 3257, 3320, 3356, 3491, 5511, 6453, 6461, 6762, 6830, 7018, 12956.
func TransitFreeASNs(preset string) []ASNRange {
	if preset == PresetIXP {
		return slices.Clone(ixpTransitFree)
	}
	return nil
}

// MatchesBogon reports whether the route prefix p is a bogon by list: p
// equals an entry or is more specific than it. A /0 entry matches only the
// default route itself (it would otherwise match everything). This is the
// reference semantics; the policy engine may use a faster structure.
func MatchesBogon(list []netip.Prefix, p netip.Prefix) bool {
	for _, b := range list {
		if b.Bits() == 0 {
			if p.Bits() == 0 && p.Addr().Is4() == b.Addr().Is4() {
				return true
			}
			continue
		}
		if b.Addr().Is4() == p.Addr().Is4() && b.Bits() <= p.Bits() && b.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
