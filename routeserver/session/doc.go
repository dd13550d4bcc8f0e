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
package session
