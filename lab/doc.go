// Package lab builds federations in network namespaces with real router
// daemons, checks scenarios against them, exports containerlab topologies,
// and runs the load generator and benchmark. It drives the fedrs binary and
// the daemons from outside.
package lab
