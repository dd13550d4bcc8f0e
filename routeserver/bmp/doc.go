// Package bmp streams the route server's routing state to BMP collectors
// (RFC 7854): pmacct, OpenBMP, GoBMP and the like.
//
// The route server is the monitored router. Each member session is a
// monitored peer: Peer Up carries the two OPEN messages the session
// exchanged (kept whole for this), Route Monitoring carries every route
// event of the RIB as an UPDATE with the attributes as the member sent
// them, Peer Down carries the NOTIFICATION that ended the session. Three
// views can be streamed: the Adj-RIB-In before policy (every route
// received, filtered ones included), after policy (the accepted routes,
// L flag set), and the Loc-RIB of RFC 9069 (the best route of each
// prefix, peer type 3). A collector that connects first gets the current
// state: Initiation, a Peer Up per established session, a dump of the
// RIB, and an End-of-RIB per peer and family; then the live stream.
// Termination is sent when the route server stops.
//
// A collector can never slow the route server down: the RIB hands events
// to a bounded queue per collector and returns at once. When a queue
// overflows, that collector's connection is dropped, the drop is counted
// (status and metrics), and the full state is sent again when it
// reconnects, with back-off.
//
// Messages are encoded with gobgp's pkg/packet/bmp; the UPDATEs inside
// them with fedrs's own wire encoder, the same that talks to members.
//
// Files: stream.go (the Streamer, its status and the routeserver.Monitor
// events), collector.go (one collector: its queue, dialling and
// reconnecting), connection.go (one connection: the initial state, then
// the live events) and encode.go (the BMP messages).
package bmp
