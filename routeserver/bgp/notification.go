package bgp

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

// NOTIFICATION error subcodes.
const (
	// Message Header Error subcodes (RFC 4271 §6.1).
	ErrSubConnNotSynced = 1
	ErrSubBadMsgLength  = 2
	ErrSubBadMsgType    = 3

	// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 9234).
	ErrSubUnsupportedVersion = 1
	ErrSubBadPeerAS          = 2
	ErrSubBadBGPID           = 3
	ErrSubUnsupportedOptParm = 4
	ErrSubUnacceptableHold   = 6
	ErrSubUnsupportedCap     = 7
	ErrSubRoleMismatch       = 11

	// UPDATE Message Error subcodes (RFC 4271 §6.3).
	ErrSubMalformedAttrList   = 1
	ErrSubUnrecognizedWK      = 2
	ErrSubMissingWK           = 3
	ErrSubAttrFlags           = 4
	ErrSubAttrLength          = 5
	ErrSubInvalidOrigin       = 6
	ErrSubInvalidNextHop      = 8
	ErrSubOptionalAttr        = 9
	ErrSubInvalidNetworkField = 10
	ErrSubMalformedASPath     = 11

	// ROUTE-REFRESH Message Error subcodes (RFC 7313).
	ErrSubRRInvalidLength = 1

	// Cease subcodes (RFC 4486, RFC 9003).
	CeaseMaxPrefix        = 1
	CeaseAdminShutdown    = 2
	CeasePeerDeconfigured = 3
	CeaseAdminReset       = 4
	CeaseConnRejected     = 5
	CeaseConfigChange     = 6
	CeaseCollision        = 7
	CeaseOutOfResources   = 8
	CeaseHardReset        = 9
	CeaseBFDDown          = 10
)

// maxShutdownMessageSize is the longest RFC 9003 shutdown communication.
const maxShutdownMessageSize = 255

// Notification is a NOTIFICATION message, sent or received: its code,
// subcode and data. It is also an error: an error that must end the
// session with this NOTIFICATION (the session package sends a
// *Notification found in an error's chain).
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
func (n *Notification) CodeName() string { return CodeName(n.Code) }

// SubcodeName names the subcode ("Administrative Shutdown"); "" for
// subcode 0 (unspecific).
func (n *Notification) SubcodeName() string { return SubcodeName(n.Code, n.Subcode) }

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
	b.WriteString(CodeName(n.Code))
	if s := SubcodeName(n.Code, n.Subcode); s != "" {
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

// CodeName names a NOTIFICATION error code ("Cease"); "code N" for one it
// does not know.
func CodeName(c uint8) string {
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

// SubcodeName names subcode s of error code c ("Administrative Shutdown");
// "" for subcode 0 (unspecific), "subcode N" for one it does not know.
func SubcodeName(c, s uint8) string {
	names := map[uint8]map[uint8]string{
		ErrMsgHeader: {ErrSubConnNotSynced: "Connection Not Synchronized", ErrSubBadMsgLength: "Bad Message Length",
			ErrSubBadMsgType: "Bad Message Type"},
		ErrOpen: {ErrSubUnsupportedVersion: "Unsupported Version Number", ErrSubBadPeerAS: "Bad Peer AS",
			ErrSubBadBGPID: "Bad BGP Identifier", ErrSubUnsupportedOptParm: "Unsupported Optional Parameter",
			ErrSubUnacceptableHold: "Unacceptable Hold Time", ErrSubUnsupportedCap: "Unsupported Capability",
			ErrSubRoleMismatch: "Role Mismatch"},
		ErrUpdate: {ErrSubMalformedAttrList: "Malformed Attribute List", ErrSubUnrecognizedWK: "Unrecognized Well-known Attribute",
			ErrSubMissingWK: "Missing Well-known Attribute", ErrSubAttrFlags: "Attribute Flags Error",
			ErrSubAttrLength: "Attribute Length Error", ErrSubInvalidOrigin: "Invalid ORIGIN Attribute",
			ErrSubInvalidNextHop: "Invalid NEXT_HOP Attribute", ErrSubOptionalAttr: "Optional Attribute Error",
			ErrSubInvalidNetworkField: "Invalid Network Field", ErrSubMalformedASPath: "Malformed AS_PATH"},
		ErrFSM: {1: "Unexpected Message in OpenSent", 2: "Unexpected Message in OpenConfirm",
			3: "Unexpected Message in Established"},
		ErrCease: {CeaseMaxPrefix: "Maximum Number of Prefixes Reached", CeaseAdminShutdown: "Administrative Shutdown",
			CeasePeerDeconfigured: "Peer De-configured", CeaseAdminReset: "Administrative Reset",
			CeaseConnRejected: "Connection Rejected", CeaseConfigChange: "Other Configuration Change",
			CeaseCollision: "Connection Collision Resolution", CeaseOutOfResources: "Out of Resources",
			CeaseHardReset: "Hard Reset", CeaseBFDDown: "BFD Down"},
		ErrRouteRefresh: {ErrSubRRInvalidLength: "Invalid Message Length"},
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
