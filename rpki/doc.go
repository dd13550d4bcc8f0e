// Package rpki holds the RPKI data fedrs validates routes against: the VRP
// and ASPA tables with route origin validation (RFC 6811) and ASPA path
// verification, the RTR client and server (RFC 8210), the JSON and SLURM
// (RFC 8416) loaders, and the federation ownership registry.
package rpki
