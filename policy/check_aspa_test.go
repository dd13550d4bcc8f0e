package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckASPA, []checkCase{
	{name: "the member alone", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", mods: Mods(0).WithASPA(ASPAValid), explain: "ASPA upstream verification of AS_PATH 4200001001 from nhs-northfield (AS4200001001) is valid"},
	{name: "an attested customer", route: "council-hillside | 10.24.1.0/24 | 4200002002 4200001003", mods: Mods(0).WithASPA(ASPAValid)},
	{name: "an AS without ASPA", route: "nhs-northfield | 10.16.1.0/24 | 4200001001 4200009999", mods: Mods(0).WithASPA(ASPAUnknown), explain: "is unknown"},
	{name: "a provider not attested", route: "nhs-riverside | 2001:db8:300::/44 | 4200001003 4200088888", want: ReasonASPAInvalid, mods: Mods(0).WithASPA(ASPAInvalid), explain: "is invalid"},
	{name: "the first AS is not the member's", route: "nhs-northfield | 10.16.6.0/24 | 4200009999 4200001001", want: ReasonASPAInvalid, mods: Mods(0).WithASPA(ASPAInvalid)},
	{name: "no RPKI source", route: "nhs-riverside | 2001:db8:300::/44 | 4200001003 4200088888", noRPKI: true, explain: "no RPKI data source: the path is not verified"},
})
