package bgp

import "encoding/binary"

// BGP message types (RFC 4271 §4.1, RFC 2918).
const (
	MsgOpen         = 1
	MsgUpdate       = 2
	MsgNotification = 3
	MsgKeepalive    = 4
	MsgRouteRefresh = 5
)

// Message size limits (RFC 4271 §4.1, RFC 8654).
const (
	HeaderLen      = 19
	MaxMsgLen      = 4096
	MaxExtendedLen = 65535
)

// ASTrans is AS_TRANS (RFC 6793).
const ASTrans = 23456

var marker = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// MarkerOK reports whether a message header starts with the 16-octet
// all-ones marker.
func MarkerOK(header []byte) bool {
	return len(header) >= len(marker) && [16]byte(header[:16]) == marker
}

// AppendHeader appends a BGP header for a message whose body is bodyLen
// octets long.
func AppendHeader(b []byte, typ uint8, bodyLen int) []byte {
	b = append(b, marker[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(HeaderLen+bodyLen))
	return append(b, typ)
}

// AppendMessage appends a whole message.
func AppendMessage(b []byte, typ uint8, body []byte) []byte {
	b = AppendHeader(b, typ, len(body))
	return append(b, body...)
}
