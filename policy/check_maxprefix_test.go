package policy

import "github.com/fedrs/fedrs/conf"

// max_prefix filters in the RIB (routeserver/rib's tests); per route it
// passes.
var _ = addCheckTests(conf.CheckMaxPrefix, []checkCase{
	{name: "any route", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "counted by the RIB over the member's accepted routes"},
})
