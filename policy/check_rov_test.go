package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckRPKI, []checkCase{
	{name: "valid within maxLength", route: "council-hillside | 10.41.16.0/20 | 4200002002", mods: Mods(0).WithROV(ROVValid), explain: "ROV state of 10.41.16.0/20 from origin AS4200002002 is valid"},
	{name: "longer than maxLength", route: "council-hillside | 10.41.1.0/24 | 4200002002", want: ReasonRPKIInvalid, mods: Mods(0).WithROV(ROVInvalid), explain: "is invalid"},
	{name: "another origin", route: "nhs-northfield | 10.16.7.0/24 | 4200001001 4200009999", want: ReasonRPKIInvalid, mods: Mods(0).WithROV(ROVInvalid)},
	{name: "no covering VRP", route: "council-harbour | 192.168.50.0/24 | 4200002003", mods: Mods(0).WithROV(ROVNotFound), explain: "is not-found"},
	{name: "no origin AS (AS_SET)", route: "nhs-northfield | 10.16.5.0/24 | 4200001001 {65001 65002}", want: ReasonRPKIInvalid, mods: Mods(0).WithROV(ROVInvalid), explain: "without an origin AS (AS_SET) is invalid"},
	{name: "an accepted BLACKHOLE /32 ignores maxLength", route: "nhs-northfield | 10.16.1.1/32 | 4200001001 | c=65535:666", mods: Mods(0).WithROV(ROVValid), explain: "maxLength is ignored, a VRP covering it authorises AS4200001001"},
	{name: "a /32 without BLACKHOLE", route: "nhs-northfield | 10.16.1.1/32 | 4200001001", want: ReasonRPKIInvalid, mods: Mods(0).WithROV(ROVInvalid)},
	{name: "tag for harbour: still yields the reason", route: "council-harbour | 172.20.1.0/24 | 4200002003", want: ReasonRPKIInvalid, mods: Mods(0).WithROV(ROVInvalid)},
	{name: "no RPKI source", route: "council-hillside | 10.41.1.0/24 | 4200002002", noRPKI: true, explain: "no RPKI data source: the route is not checked"},
})
