package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckPrefixAllowed, []checkCase{
	{name: "inside the member's prefix", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "10.16.1.0/24 matches nhs-northfield's prefix 10.16.0.0/14 le 24"},
	{name: "the prefix itself (le admits it)", route: "nhs-northfield | 10.16.0.0/14 | 4200001001"},
	{name: "beyond the range's le", route: "nhs-northfield | 2001:db8:100:500::/56 | 4200001001", want: ReasonPrefixNotAllowed, explain: "but its length /56 is not allowed there"},
	{name: "outside every range", route: "nhs-northfield | 10.40.7.0/24 | 4200001001", want: ReasonPrefixNotAllowed, explain: "10.40.7.0/24 is not in nhs-northfield's prefixes or prefix list"},
	{name: "a prefix list entry", route: "council-harbour | 192.168.50.0/24 | 4200002003", explain: "prefix list entry"},
	{name: "a prefix list le 20 rejects a /24", route: "council-harbour | 10.200.16.0/24 | 4200002003", want: ReasonPrefixNotAllowed},
	{name: "a prefix of the member it is transit for", route: "council-hillside | 10.24.1.0/24 | 4200002002 4200001003", explain: "of nhs-riverside (transit_for)"},
	{name: "an accepted BLACKHOLE /32", route: "nhs-northfield | 10.16.1.1/32 | 4200001001 | c=65535:666", explain: "BLACKHOLE route 10.16.1.1/32 is covered by nhs-northfield's"},
	{name: "a /32 without BLACKHOLE", route: "nhs-northfield | 10.16.1.1/32 | 4200001001", want: ReasonPrefixNotAllowed},
})

var _ = addCheckTests(conf.CheckOriginAllowed, []checkCase{
	{name: "the member's AS", route: "nhs-northfield | 10.16.7.0/24 | 4200001001", explain: "origin AS4200001001 is one of nhs-northfield's origin ASNs"},
	{name: "another AS", route: "nhs-northfield | 10.16.7.0/24 | 4200001001 4200009999", want: ReasonOriginNotAllowed, explain: "origin AS4200009999 is not one of nhs-northfield's origin ASNs"},
	{name: "one of origin_asns", route: "nhs-riverside | 10.24.1.0/24 | 4200001003 4200088888"},
	{name: "a path ending in an AS_SET", route: "nhs-northfield | 10.16.7.0/24 | 4200001001 {4200001001}", want: ReasonOriginNotAllowed, explain: "the route has no origin AS"},
	{name: "empty", route: "nhs-northfield | 10.16.7.0/24 | ", want: ReasonOriginNotAllowed},
})
