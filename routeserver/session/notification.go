package session

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313).
const (
	ErrMsgHeader    = 1
	ErrOpen         = 2
	ErrUpdate       = 3
	ErrHoldTimer    = 4
	ErrFSM          = 5
	ErrCease        = 6
	ErrRouteRefresh = 7
)

// Subcodes used by the route server.
const (
	ErrSubConnNotSynced = 1
	ErrSubBadMsgLength  = 2
	ErrSubBadMsgType    = 3

	ErrSubUnsupportedVersion = 1
	ErrSubBadPeerAS          = 2
	ErrSubBadBGPID           = 3
	ErrSubUnsupportedOptParm = 4
	ErrSubUnacceptableHold   = 6
	ErrSubUnsupportedCap     = 7
	ErrSubRoleMismatch       = 11

	ErrSubMalformedAttrList = 1
	ErrSubMalformedASPath   = 11

	ErrSubRRInvalidLength = 1

	// Cease subcodes (RFC 4486, RFC 9003).
	CeaseMaxPrefix         = 1
	CeaseAdminShutdown     = 2
	CeasePeerDeconfigured  = 3
	CeaseAdminReset        = 4
	CeaseConnRejected      = 5
	CeaseConfigChange      = 6
	CeaseCollision         = 7
	CeaseOutOfResources    = 8
	CeaseHardReset         = 9
	CeaseBFDDown           = 10
	maxShutdownMessageSize = 255
)

// Notification is a NOTIFICATION message, sent or received. It is also the
// error type of the package: an error that must end the session with this
// NOTIFICATION.
type Notification struct {
	Code, Subcode uint8
	Data          []byte
}

// NewShutdown returns a Cease with the given subcode (admin shutdown or
// admin reset) carrying an RFC 9003 shutdown communication, truncated on a
// UTF-8 boundary to 255 octets.
func NewShutdown(subcode uint8, msg string) *Notification {
	n := &Notification{Code: ErrCease, Subcode: subcode}
	if msg == "" {
		n.Data = []byte{0}
		return n
	}
	b := []byte(msg)
	if len(b) > maxShutdownMessageSize {
		b = b[:maxShutdownMessageSize]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	n.Data = append([]byte{byte(len(b))}, b...)
	return n
}

// ShutdownMessage returns the RFC 9003 shutdown communication carried by a
// Cease admin shutdown or admin reset, if any and if well formed.
func (n *Notification) ShutdownMessage() (string, bool) {
	if n.Code != ErrCease || (n.Subcode != CeaseAdminShutdown && n.Subcode != CeaseAdminReset) || len(n.Data) == 0 {
		return "", false
	}
	l := int(n.Data[0])
	if l == 0 || l > len(n.Data)-1 || !utf8.Valid(n.Data[1:1+l]) {
		return "", false
	}
	return string(n.Data[1 : 1+l]), true
}

func (n *Notification) Error() string { return n.String() }

// CodeName names the error code ("Cease", "Hold Timer Expired").
func (n *Notification) CodeName() string { return codeName(n.Code) }

// SubcodeName names the subcode ("Administrative Shutdown"); "" for
// subcode 0 (unspecific).
func (n *Notification) SubcodeName() string { return subcodeName(n.Code, n.Subcode) }

// ExtraData is the data other than a well-formed RFC 9003 shutdown
// communication (and other than the empty one, a single zero octet).
func (n *Notification) ExtraData() []byte {
	if msg, ok := n.ShutdownMessage(); ok {
		return n.Data[1+len(msg):]
	}
	if n.Code == ErrCease && len(n.Data) == 1 && n.Data[0] == 0 {
		return nil
	}
	return n.Data
}

// String decodes the codes for logs: "Cease/Administrative Shutdown: "maintenance"".
func (n *Notification) String() string {
	var b strings.Builder
	b.WriteString(codeName(n.Code))
	if s := subcodeName(n.Code, n.Subcode); s != "" {
		b.WriteString("/")
		b.WriteString(s)
	}
	if msg, ok := n.ShutdownMessage(); ok {
		fmt.Fprintf(&b, ": %q", msg)
	} else if len(n.Data) > 0 && !(n.Code == ErrCease && len(n.Data) == 1 && n.Data[0] == 0) {
		fmt.Fprintf(&b, " (data %x)", n.Data)
	}
	return b.String()
}

// body encodes the NOTIFICATION body.
func (n *Notification) body() []byte {
	return append([]byte{n.Code, n.Subcode}, n.Data...)
}

func parseNotification(body []byte) *Notification {
	n := &Notification{Code: body[0], Subcode: body[1]}
	if len(body) > 2 {
		n.Data = append([]byte(nil), body[2:]...)
	}
	return n
}

func codeName(c uint8) string {
	switch c {
	case ErrMsgHeader:
		return "Message Header Error"
	case ErrOpen:
		return "OPEN Message Error"
	case ErrUpdate:
		return "UPDATE Message Error"
	case ErrHoldTimer:
		return "Hold Timer Expired"
	case ErrFSM:
		return "Finite State Machine Error"
	case ErrCease:
		return "Cease"
	case ErrRouteRefresh:
		return "ROUTE-REFRESH Message Error"
	}
	return fmt.Sprintf("code %d", c)
}

func subcodeName(c, s uint8) string {
	names := map[uint8]map[uint8]string{
		ErrMsgHeader: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
		ErrOpen: {1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
			4: "Unsupported Optional Parameter", 6: "Unacceptable Hold Time", 7: "Unsupported Capability",
			11: "Role Mismatch"},
		ErrUpdate: {1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
			3: "Missing Well-known Attribute", 4: "Attribute Flags Error", 5: "Attribute Length Error",
			6: "Invalid ORIGIN Attribute", 8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
			10: "Invalid Network Field", 11: "Malformed AS_PATH"},
		ErrFSM: {1: "Unexpected Message in OpenSent", 2: "Unexpected Message in OpenConfirm",
			3: "Unexpected Message in Established"},
		ErrCease: {1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
			3: "Peer De-configured", 4: "Administrative Reset", 5: "Connection Rejected",
			6: "Other Configuration Change", 7: "Connection Collision Resolution", 8: "Out of Resources",
			9: "Hard Reset", 10: "BFD Down"},
		ErrRouteRefresh: {1: "Invalid Message Length"},
	}
	if m, ok := names[c]; ok {
		if n, ok := m[s]; ok {
			return n
		}
	}
	if s == 0 {
		return ""
	}
	return fmt.Sprintf("subcode %d", s)
}
