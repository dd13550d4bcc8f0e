// Package rib holds the route server's routing information: per prefix,
// every member's candidate route with its verdict (the Adj-RIBs-In, kept
// pre-policy so policy can be re-run), the best route per target member
// among those the export policy allows it (path hiding mitigation, RFC
// 7947 §2.3), and the per-target export state that lets each session's
// writer send correct diffs.
//
// Memory is the design constraint. Routes live in a pointer-free arena of
// 32-byte candidates keyed by compact prefix keys; attribute sets are
// interned (package wire); export decisions are interned profiles shared
// by all routes with the same attributes and announcing member. Nothing is
// stored per (route, target) except two bits: "needs sending" and
// "advertised". What a target receives is derived from the RIB when its
// writer runs, so a slow target coalesces changes instead of queueing them.
package rib
