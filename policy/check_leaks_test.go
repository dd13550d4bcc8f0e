package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckOTCLeak, []checkCase{
	{name: "no OTC", route: "nhs-northfield | 10.16.8.0/24 | 4200001001", explain: "the route carries no OTC"},
	{name: "OTC", route: "nhs-northfield | 10.16.8.0/24 | 4200001001 | otc=4200001001", want: ReasonOTCLeak, explain: "the route carries OTC 4200001001; nhs-northfield is an RS-Client"},
})

var _ = addCheckTests(conf.CheckMemberLeak, []checkCase{
	{name: "the member alone", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", explain: "no other federation member's AS behind the first hop"},
	{name: "the member's own prepends", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 4200001001"},
	{name: "a non-member behind the first hop", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 4200009999"},
	{name: "another member behind the first hop", route: "council-hillside | 10.20.1.0/24 | 4200002002 4200001002", want: ReasonMemberLeak, explain: "carries the federation member nhs-coastal (AS4200001002) behind the first hop"},
	{name: "the member it is transit for", route: "council-hillside | 10.24.1.0/24 | 4200002002 4200001003", explain: "behind the first hop: nhs-riverside, which council-hillside is transit for"},
	{name: "tag for lab-legacy: still yields the reason", route: "lab-legacy | 10.60.7.0/24 | 64600 4200002001 4200077777", want: ReasonMemberLeak},
	{name: "an empty path", route: "nhs-northfield | 10.16.1.0/24 | "},
})
