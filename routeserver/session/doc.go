// Package session is the BGP-4 session side of the route server: the finite
// state machine of RFC 4271 §8 per neighbour (passive and active, collision
// detection), OPEN and capability negotiation (multiprotocol, 4-octet AS,
// route refresh, graceful restart helper, extended messages, BGP role,
// ADD-PATH), hold and keepalive timers, NOTIFICATION handling including RFC
// 9003 shutdown messages, and the Linux transport options TCP-MD5 and GTSM.
//
// It knows nothing of routes: UPDATE bodies go up to a Handler in the
// session's reader goroutine, and the session's writer goroutine pulls
// ready-made messages from an Outbox that the RIB provides, so a slow peer
// only ever blocks its own writer.
//
// Files:
//
//   - peer.go: Peer, its configuration, the Handler and Outbox it talks to,
//     and the status snapshot (Info).
//   - fsm.go: Run, the FSM loop of one neighbour: connection attempts and
//     back-off, collision detection, Established and session down.
//   - admin.go: administrative requests (shutdown, reset, enable, maximum
//     prefix, route refresh) and how Run carries them out.
//   - connect.go: opening, accepting and refusing TCP connections.
//   - conn.go: one TCP connection from OPEN to close: handshake, the reader
//     and writer goroutines, hold, keepalive and send hold timers.
//   - open.go: families, OPEN and capability negotiation; message.go and
//     notification.go: message framing and NOTIFICATIONs.
//   - listener.go: the listening sockets; transport_*.go: TCP-MD5, GTSM.
package session
