package policy

import (
	"strings"

	"github.com/fedrs/fedrs/conf"
)

var _ = addCheckTests(conf.CheckBogonASN, []checkCase{
	{name: "a public path", route: "nhs-northfield | 10.16.2.0/24 | 4200001001 4200009999", explain: "no ASN in the AS_PATH is a bogon"},
	{name: "a documentation ASN", route: "nhs-northfield | 10.16.2.0/24 | 4200001001 64496", want: ReasonBogonASN, explain: "the bogon ASN 64496"},
	{name: "AS_TRANS", route: "nhs-northfield | 10.16.2.0/24 | 4200001001 23456 4200001001", want: ReasonBogonASN, explain: "23456"},
	{name: "inside an AS_SET", route: "nhs-northfield | 10.16.2.0/24 | 4200001001 {4200009999 64500}", want: ReasonBogonASN},
	{name: "a private ASN under the federation preset", route: "nhs-northfield | 10.16.2.0/24 | 4200001001 65001"},
	{name: "a private ASN under the ixp preset", route: "uplink-gw | 185.66.1.0/24 | 12345 65001", want: ReasonBogonASN},
})

var _ = addCheckTests(conf.CheckASPathLength, []checkCase{
	{name: "one AS", route: "nhs-northfield | 10.16.3.0/24 | 4200001001", explain: "AS_PATH length 1 is within 1-16"},
	{name: "16, the maximum", route: "nhs-northfield | 10.16.3.0/24 | " + strings.Repeat("4200001001 ", 16)},
	{name: "17", route: "nhs-northfield | 10.16.3.0/24 | " + strings.Repeat("4200001001 ", 17), want: ReasonASPathTooLong, explain: "more than the maximum 16"},
	{name: "empty", route: "nhs-northfield | 10.16.3.0/24 | ", want: ReasonASPathTooShort, explain: "less than the minimum 1"},
	{name: "an AS_SET counts as one", route: "nhs-northfield | 10.16.3.0/24 | " + strings.Repeat("4200001001 ", 15) + "{1 2 3}"},
	{name: "a confederation segment counts as zero", route: "nhs-northfield | 10.16.3.0/24 | (65010 65011) " + strings.Repeat("4200001001 ", 16)},
})

var _ = addCheckTests(conf.CheckASSet, []checkCase{
	{name: "a sequence", route: "nhs-northfield | 10.16.5.0/24 | 4200001001 4200009999", explain: "AS_PATH has no AS_SET"},
	{name: "an AS_SET in the middle", route: "nhs-northfield | 10.16.5.0/24 | 4200001001 {65001 65002} 4200001001", want: ReasonASSet, explain: "AS_PATH 4200001001 {65001 65002} 4200001001 contains an AS_SET"},
	{name: "an AS_SET at the end", route: "nhs-northfield | 10.16.5.0/24 | 4200001001 {65001}", want: ReasonASSet},
	{name: "a confederation set is not an AS_SET", route: "nhs-northfield | 10.16.5.0/24 | [65010] 4200001001"},
})

var _ = addCheckTests(conf.CheckFirstAS, []checkCase{
	{name: "the member's AS", route: "nhs-northfield | 10.16.6.0/24 | 4200001001 4200009999", explain: "first AS 4200001001 is nhs-northfield's"},
	{name: "another AS", route: "nhs-northfield | 10.16.6.0/24 | 4200009999 4200001001", want: ReasonFirstAS, explain: "first AS 4200009999 is not nhs-northfield's AS4200001001"},
	{name: "a confederation segment first", route: "nhs-northfield | 10.16.6.0/24 | (65010) 4200001001", want: ReasonFirstAS, explain: "does not start with an AS_SEQUENCE"},
	{name: "an AS_SET first", route: "nhs-northfield | 10.16.6.0/24 | {4200001001}", want: ReasonFirstAS},
	{name: "empty", route: "nhs-northfield | 10.16.6.0/24 | ", want: ReasonFirstAS},
})

var _ = addCheckTests(conf.CheckTransitFree, []checkCase{
	{name: "no transit-free ASNs under the federation preset", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 3356", explain: "no transit-free ASN in the AS_PATH"},
	{name: "a public path under the ixp preset", route: "uplink-gw | 185.66.2.0/24 | 12345 8888"},
	{name: "a transit-free ASN in the path", route: "uplink-gw | 185.66.2.0/24 | 12345 3356 8888", want: ReasonTransitFree, explain: "the transit-free ASN 3356"},
	{name: "inside an AS_SET", route: "uplink-gw | 185.66.2.0/24 | 12345 {174 8888}", want: ReasonTransitFree, explain: "174"},
})
