// Package lab builds federations in network namespaces with real router
// daemons, checks scenarios against them, exports containerlab topologies,
// and runs the load generator and benchmark. It drives the fedrs binary and
// the daemons from outside.
//
// A Topology (a TOML file, see README.md) names the route server — fedrs,
// or BIRD, OpenBGPD or gobgpd in route-server mode — and the members, each
// on a daemon (BIRD, FRR, OpenBGPD, gobgpd, ExaBGP) with the prefixes it
// announces. Up creates a named network namespace per router ("fl-LAB-NODE")
// and one for the peering LAN's bridge, writes every daemon's config into a
// run directory, starts the daemons with "ip netns exec" and waits for the
// sessions; Down removes every process and namespace. Sessions and Routes
// read each daemon's view back through its own control interface, and the
// Wait functions poll them with bounded time. Load reopens a lab from its
// state file in another process.
//
// The Lab's files: lab.go (the Lab, its nodes, commands, sessions, routes
// and status), up.go (Prerequisites, Up, starting the daemons) and down.go
// (Down, and the labs found in a run root: Load, List, Leftovers,
// DownName).
package lab
