package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckCommunities, []checkCase{
	{name: "none", route: "nhs-northfield | 10.16.9.0/24 | 4200001001", explain: "0 communities (0 standard, 0 large, 0 extended), at most 12"},
	{name: "12, the maximum", route: "nhs-northfield | 10.16.9.0/24 | 4200001001 | c=64512:1,64512:2,64512:3,64512:4,64512:5 l=4200001001:1:1,4200001001:1:2,4200001001:1:3,4200001001:1:4 ext=3"},
	{name: "13 standard", route: "nhs-northfield | 10.16.9.0/24 | 4200001001 | c=64512:1,64512:2,64512:3,64512:4,64512:5,64512:6,64512:7,64512:8,64512:9,64512:10,64512:11,64512:12,64512:13", want: ReasonTooManyCommunities, explain: "13 communities (13 standard, 0 large, 0 extended) are more than the maximum 12"},
	{name: "13 of three kinds", route: "nhs-northfield | 10.16.9.0/24 | 4200001001 | c=64512:1,64512:2,64512:3,64512:4,64512:5 l=4200001001:1:1,4200001001:1:2,4200001001:1:3,4200001001:1:4 ext=4", want: ReasonTooManyCommunities},
})

var _ = addCheckTests(conf.CheckBlackhole, []checkCase{
	{name: "no BLACKHOLE", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "no BLACKHOLE community"},
	{name: "BLACKHOLE inside the member's prefix", route: "nhs-northfield | 10.16.1.1/32 | 4200001001 | c=65535:666", mods: ModBlackhole, explain: "accepted as a blackhole route, sent only to members with blackhole_receive"},
	{name: "BLACKHOLE inside a prefix list entry", route: "council-harbour | 192.168.50.7/32 | 4200002003 | c=65535:666", mods: ModBlackhole},
	{name: "BLACKHOLE outside the member's prefixes", route: "nhs-northfield | 10.40.1.1/32 | 4200001001 | c=65535:666", want: ReasonBlackholeNotAllowed, explain: "which is not inside any prefix nhs-northfield may announce"},
	{name: "off for uplink-gw: an ordinary route", route: "uplink-gw | 185.66.1.1/32 | 12345 | c=65535:666"},
})

var _ = addCheckTests(conf.CheckGracefulShutOff, []checkCase{
	{name: "no GRACEFUL_SHUTDOWN", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "no GRACEFUL_SHUTDOWN community"},
	{name: "GRACEFUL_SHUTDOWN", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 | c=65535:0", mods: ModGracefulShutdown, explain: "the route gets the lowest preference inside the route server"},
})
