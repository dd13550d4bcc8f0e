package session

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// msgTypeName names a message type for logs.
func msgTypeName(t uint8) string {
	switch t {
	case bgp.MsgOpen:
		return "OPEN"
	case bgp.MsgUpdate:
		return "UPDATE"
	case bgp.MsgNotification:
		return "NOTIFICATION"
	case bgp.MsgKeepalive:
		return "KEEPALIVE"
	case bgp.MsgRouteRefresh:
		return "ROUTE-REFRESH"
	}
	return fmt.Sprintf("type %d", t)
}

// reader reads whole BGP messages from a stream into a reused buffer.
type reader struct {
	r      io.Reader
	buf    []byte
	maxLen int
}

// readBufferBytes is the size of a session's receive buffer: several
// UPDATEs per read system call.
const readBufferBytes = 16 << 10

func newReader(r io.Reader) *reader {
	// The message buffer grows to an extended message's size only when
	// one arrives.
	return &reader{r: bufio.NewReaderSize(r, readBufferBytes), buf: make([]byte, bgp.MaxMsgLen), maxLen: bgp.MaxMsgLen}
}

// next returns the type and body of the next message. The body aliases the
// reader's buffer and is valid until the next call. A framing error is a
// *Notification (Message Header Error) to send before closing; I/O errors
// are returned as they are.
func (r *reader) next() (uint8, []byte, error) {
	h := r.buf[:bgp.HeaderLen]
	if _, err := io.ReadFull(r.r, h); err != nil {
		return 0, nil, err
	}
	if !bgp.MarkerOK(h) {
		return 0, nil, &bgp.Notification{Code: bgp.ErrMsgHeader, Subcode: bgp.ErrSubConnNotSynced}
	}
	length := int(binary.BigEndian.Uint16(h[16:18]))
	typ := h[18]
	if length < bgp.HeaderLen || length > r.maxLen || !lengthOK(typ, length) {
		return 0, nil, &bgp.Notification{Code: bgp.ErrMsgHeader, Subcode: bgp.ErrSubBadMsgLength, Data: []byte{h[16], h[17]}}
	}
	if typ < bgp.MsgOpen || typ > bgp.MsgRouteRefresh {
		return 0, nil, &bgp.Notification{Code: bgp.ErrMsgHeader, Subcode: bgp.ErrSubBadMsgType, Data: []byte{typ}}
	}
	if length > len(r.buf) {
		r.buf = append(r.buf[:bgp.HeaderLen], make([]byte, bgp.MaxExtendedLen-bgp.HeaderLen)...)
	}
	body := r.buf[bgp.HeaderLen:length]
	if _, err := io.ReadFull(r.r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return typ, body, nil
}

// lengthOK applies the per-type minimum and fixed lengths of RFC 4271 §6.1.
func lengthOK(typ uint8, length int) bool {
	switch typ {
	case bgp.MsgOpen:
		return length >= 29
	case bgp.MsgUpdate:
		return length >= 23
	case bgp.MsgNotification:
		return length >= 21
	case bgp.MsgKeepalive:
		return length == bgp.HeaderLen
	case bgp.MsgRouteRefresh:
		return length >= 23
	}
	return true
}

var keepaliveMsg = bgp.AppendHeader(nil, bgp.MsgKeepalive, 0)
