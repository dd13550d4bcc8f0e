// Package bench is fedrs's route-server benchmark: a load generator of
// many synthetic members and a harness that runs fedrs, BIRD 2 (a table per
// member, and single-table), OpenBGPD and gobgpd as route servers under the
// same load on the same machine, one after the other, and reports
// convergence time, CPU seconds and peak RSS of each.
//
// The load is a Table: members × prefixes with a prefix-length mix and
// AS_PATH lengths like the public table's (mostly /24 and /48, some /16 to
// /23 and /29 to /47; paths of 1 to 8 ASes starting with the member's AS),
// attributes shared by groups of prefixes, and a VRP set that makes about
// half the routes RPKI-valid and 1.5% invalid. Everything follows from the
// seed. Each member is a Speaker: a small BGP speaker on gobgp's
// pkg/packet/bgp codec (not a daemon) that opens one session per address
// family from its own address, sends its pre-encoded UPDATEs (prefixes
// sharing attributes packed up to 4096 octets) and counts what it receives
// with a Receiver that decodes only NLRI into a bitmap.
//
// Run builds, per contender, a namespace for the route server and one for
// all members, joined by a veth pair; writes the contender's configuration
// with the same policy (first-AS and next-hop checks, per-member prefix
// lists, RPKI origin validation dropping invalids); starts it; connects the
// members once it listens (and has its VRPs); and measures the time from
// the route server's start until every member holds every route it should:
// the other members' prefixes minus the invalid ones. CPU time and VmHWM
// are read from /proc for every process in the route server's namespace.
//
// The Table's files: table.go (its types, the mixes, lookups and sizes),
// generate.go (NewTable: layout and generation from the seed) and addrs.go
// (the address plan and the probes).
package bench
