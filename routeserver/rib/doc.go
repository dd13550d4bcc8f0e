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
//
// The files follow a route through the RIB:
//
//   - rib.go: the RIB, sources (neighbour slots), the candidate arena, interned
//     export profiles; adding, retiring and renumbering sources.
//   - table.go: the per-family prefix index and the bitsets.
//   - adjin.go: applying a member's UPDATE (Apply): announce, withdraw,
//     maximum-prefix, removal of empty entries.
//   - decide.go: the decision process (selectBest) and the best route per
//     target (bestFor, path hiding mitigation).
//   - adjout.go: the per-target Adj-RIB-Out state, marking what changed for
//     whom, waking the writers, ROUTE-REFRESH and regeneration.
//   - pack.go: Fill, which turns a target's dirty entries into packed UPDATEs
//     and End-of-RIB.
//   - session.go: a session coming up (full dump) or going down, and graceful
//     restart (stale routes, End-of-RIB from the member, restart timer).
//   - reeval.go: re-running import policy on held routes.
//   - observer.go, sync.go, exposure.go: what the RIB reports (route events,
//     End-of-RIB sent, exposures); durable.go: holding exports until the
//     history has committed them.
//   - query.go, held.go: read-only views (looking glass, what a member holds).
//   - walk.go: how the table-wide views read the table in chunks, so that a
//     dump or a page never holds routing up for its duration.
package rib
