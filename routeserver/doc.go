// Package routeserver runs the route server: a Server ties one BGP session
// per configured neighbour (package session) to the RIB (package rib) and
// the policy engine (package policy), follows the RPKI data, and tells its
// side channels (history, BMP) what happens through the interfaces in
// Options. The control API (package api) reads it and calls its
// operations; it knows nothing of the API.
//
// Files, by role:
//   - server.go: Server, New, Run, the neighbours and their session glue:
//     an UPDATE decoded (wire), judged (policy) and applied to the RIB in
//     the session's reader goroutine; the RIB fills the writer's buffer.
//   - reload.go, dryrun.go: a configuration reload and its prediction
//     (`fedrs check --diff`).
//   - rpki.go: the policy engine's view of the RPKI data and the
//     re-validation passes when it changes.
//   - exported.go, state.go: what each member was sent (the truth behind
//     "exported to") and consistent reads of configuration and neighbours.
//   - ops.go, maintenance.go: operator actions (member shutdown, enable,
//     clear) and the maintenance procedure (RFC 8326 then close).
//   - durable.go: the [history] durable gate.
//
// ARCHITECTURE.md at the top of the repository has the whole map and the
// lock order.
package routeserver
