package policy

import "github.com/fedrs/fedrs/conf"

var _ = addCheckTests(conf.CheckRegistry, []checkCase{
	{name: "registered to the member", route: "nhs-northfield | 10.16.1.0/24 | 4200001001", mods: Mods(0).WithRegistry(RegistryOwned), explain: "10.16.1.0/24 is registered to nhs-northfield as part of 10.16.0.0/14 (registry state owned)"},
	{name: "registered to nobody", route: "council-harbour | 192.168.50.0/24 | 4200002003", mods: Mods(0).WithRegistry(RegistryUnregistered), explain: "is not registered to any member"},
	{name: "a hijack", route: "nhs-coastal | 10.40.0.0/16 | 4200001002", want: ReasonRegistryConflict, mods: Mods(0).WithRegistry(RegistryConflict), explain: "10.40.0.0/16 is registered to council-east, not to nhs-coastal"},
	{name: "a more specific registration decides (its owner)", route: "nhs-riverside | 10.40.200.0/24 | 4200001003", mods: Mods(0).WithRegistry(RegistryOwned)},
	{name: "a more specific registration decides (the less specific's owner)", route: "council-east | 10.40.200.0/24 | 4200002001", want: ReasonRegistryConflict, mods: Mods(0).WithRegistry(RegistryConflict)},
	{name: "a shared prefix", route: "nhs-coastal | 10.99.10.0/24 | 4200001002", mods: Mods(0).WithRegistry(RegistryOwned), explain: "(shared)"},
	{name: "a shared prefix from a non-owner", route: "nhs-riverside | 10.99.10.0/24 | 4200001003", want: ReasonRegistryConflict, mods: Mods(0).WithRegistry(RegistryConflict)},
	{name: "transit_for, the customer's origin", route: "council-hillside | 10.24.1.0/24 | 4200002002 4200001003", mods: Mods(0).WithRegistry(RegistryOwned), explain: "council-hillside is transit for nhs-riverside and the origin AS4200001003 is nhs-riverside's"},
	{name: "transit_for, originated by the transit", route: "council-hillside | 10.24.3.0/24 | 4200002002", want: ReasonRegistryConflict, mods: Mods(0).WithRegistry(RegistryConflict)},
})
