package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckPrefixLength, []checkCase{
	{name: "a /24 within /8-/29", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "/24 is within /8-/29 for IPv4"},
	{name: "a /30 is too long", route: "nhs-northfield | 10.16.1.4/30 | 4200001001", want: ReasonPrefixTooLong, explain: "at most /29"},
	{name: "max_length_v4 = 30 for coastal", route: "nhs-coastal | 10.20.1.4/30 | 4200001002", explain: "/30 is within /8-/30"},
	{name: "a /7 is too short", route: "nhs-northfield | 10.0.0.0/7 | 4200001001", want: ReasonPrefixTooShort, explain: "at least /8"},
	{name: "IPv6 /65 is too long", route: "nhs-northfield | 2001:db8:100::/65 | 4200001001", want: ReasonPrefixTooLong, explain: "for IPv6 (at most /64)"},
	{name: "an accepted BLACKHOLE /32", route: "nhs-northfield | 10.16.1.1/32 | 4200001001 | c=65535:666", explain: "blackholes may be up to /32"},
	{name: "a BLACKHOLE /32 outside the member's space", route: "nhs-northfield | 10.40.1.1/32 | 4200001001 | c=65535:666", want: ReasonPrefixTooLong},
	{name: "ixp preset: a /25 is too long", route: "uplink-gw | 185.66.1.0/25 | 12345", want: ReasonPrefixTooLong, explain: "at most /24"},
})

var _ = addCheckTests(conf.CheckBogonPrefix, []checkCase{
	{name: "an ordinary prefix", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "is not inside any of the"},
	{name: "the default route", route: "nhs-northfield | 0.0.0.0/0 | 4200001001", want: ReasonBogonPrefix, explain: "0.0.0.0/0 is on the bogon list"},
	{name: "a more specific of loopback", route: "nhs-northfield | 127.1.0.0/16 | 4200001001", want: ReasonBogonPrefix, explain: "inside the bogon prefix 127.0.0.0/8"},
	{name: "a less specific of a bogon", route: "nhs-northfield | 192.0.0.0/16 | 4200001001"},
	{name: "a /1 is not the default route", route: "nhs-northfield | 0.0.0.0/1 | 4200001001"},
	{name: "IPv6 multicast", route: "nhs-northfield | ff05::/16 | 4200001001", want: ReasonBogonPrefix},
	{name: "RFC 1918 under the federation preset", route: "nhs-northfield | 10.70.0.0/16 | 4200001001"},
	{name: "RFC 1918 under the ixp preset", route: "uplink-gw | 10.70.0.0/16 | 12345", want: ReasonBogonPrefix},
})
