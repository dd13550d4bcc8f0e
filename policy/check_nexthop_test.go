package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckNextHop, []checkCase{
	{name: "a neighbour address", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 | nh=192.0.2.11", explain: "NEXT_HOP 192.0.2.11 is one of nhs-northfield's addresses"},
	{name: "the member's other neighbour address", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 | nh=192.0.2.12"},
	{name: "an IPv4-mapped neighbour address", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 | nh=::ffff:192.0.2.11"},
	{name: "an authorised extra next hop (next_hops)", route: "council-east | 10.40.1.0/24 | 4200002001 | nh=192.0.2.25"},
	{name: "an address not the member's", route: "nhs-coastal | 10.20.2.0/24 | 4200001002 | nh=192.0.2.99", want: ReasonNextHop, explain: "NEXT_HOP 192.0.2.99 is not one of nhs-coastal's addresses 192.0.2.13, 2001:db8:ffff::13"},
	{name: "another member's address", route: "council-east | 10.40.1.0/24 | 4200002001 | nh=192.0.2.11", want: ReasonNextHop},
	{name: "no next hop", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", want: ReasonNextHop, explain: "the route has no global NEXT_HOP"},
	{name: "IPv6 with a link-local next hop, none configured", route: "nhs-northfield | 2001:db8:100::/40 | 4200001001 | nh=2001:db8:ffff::11 ll=fe80::11", explain: "has no link-local address configured to compare it with"},
	{name: "IPv6: a global address in the link-local slot", route: "council-east | 2001:db8:400::/40 | 4200002001 | nh=2001:db8:ffff::21 ll=2001:db8:ffff::21", want: ReasonNextHop, explain: "is not a link-local address (fe80::/10)"},
	{name: "IPv6: the configured link-local next hop", route: "council-hillside | 2001:db8:500::/40 | 4200002002 | nh=2001:db8:ffff::22 ll=fe80::22", explain: "is one of its link-local addresses"},
	{name: "IPv6: another link-local next hop", route: "council-hillside | 2001:db8:500::/40 | 4200002002 | nh=2001:db8:ffff::22 ll=fe80::99", want: ReasonNextHop, explain: "is not one of council-hillside's link-local addresses fe80::22"},
	{name: "off for lab-legacy: Import does not hold it", route: "lab-legacy | 10.60.1.0/24 | 64600 | nh=192.0.2.250", want: ReasonNextHop},
})
