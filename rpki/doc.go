// Package rpki holds the RPKI data fedrs validates routes against: the VRP
// and ASPA tables with route origin validation (RFC 6811) and ASPA path
// verification (draft-ietf-sidrops-aspa-verification), the RTR client and
// server (RFC 8210, RFC 6810), the JSON and SLURM (RFC 8416) loaders, and
// the federation ownership registry.
//
// A Manager owns the sources and publishes immutable Snapshots; the route
// server reads Manager.Snapshot (lock-free) to validate routes and
// subscribes to Changes to re-validate only the routes an update affects.
// An RTRServer serves the published VRPs to members' routers. Subpackage rtr
// is the RTR PDU codec.
//
// The Manager's files: manager.go (snapshots, changes, subscribers, the Run
// loop), configure.go (sources from the configuration, reload, Preview),
// sources.go (merging the sources, polling the files) and status.go.
package rpki
