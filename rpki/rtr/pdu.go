package rtr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// Type is a PDU type.
type Type uint8

// PDU types (RFC 8210 §5, 8210bis for ASPA).
const (
	SerialNotify  Type = 0
	SerialQuery   Type = 1
	ResetQuery    Type = 2
	CacheResponse Type = 3
	IPv4Prefix    Type = 4
	IPv6Prefix    Type = 6
	EndOfData     Type = 7
	CacheReset    Type = 8
	RouterKey     Type = 9
	ErrorReport   Type = 10
	ASPA          Type = 11
)

var typeNames = map[Type]string{
	SerialNotify: "Serial Notify", SerialQuery: "Serial Query", ResetQuery: "Reset Query",
	CacheResponse: "Cache Response", IPv4Prefix: "IPv4 Prefix", IPv6Prefix: "IPv6 Prefix",
	EndOfData: "End of Data", CacheReset: "Cache Reset", RouterKey: "Router Key",
	ErrorReport: "Error Report", ASPA: "ASPA",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("PDU type %d", uint8(t))
}

// ErrorCode is an Error Report code (RFC 8210 §13).
type ErrorCode uint16

// Error Report codes.
const (
	CorruptData                ErrorCode = 0
	InternalError              ErrorCode = 1
	NoDataAvailable            ErrorCode = 2
	InvalidRequest             ErrorCode = 3
	UnsupportedProtocolVersion ErrorCode = 4
	UnsupportedPDUType         ErrorCode = 5
	WithdrawalOfUnknownRecord  ErrorCode = 6
	DuplicateAnnouncement      ErrorCode = 7
	UnexpectedProtocolVersion  ErrorCode = 8
	ASPAProviderListError      ErrorCode = 9
)

var codeNames = map[ErrorCode]string{
	CorruptData: "Corrupt Data", InternalError: "Internal Error", NoDataAvailable: "No Data Available",
	InvalidRequest: "Invalid Request", UnsupportedProtocolVersion: "Unsupported Protocol Version",
	UnsupportedPDUType: "Unsupported PDU Type", WithdrawalOfUnknownRecord: "Withdrawal of Unknown Record",
	DuplicateAnnouncement: "Duplicate Announcement Received", UnexpectedProtocolVersion: "Unexpected Protocol Version",
	ASPAProviderListError: "ASPA Provider List Error",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("error code %d", uint16(c))
}

// Flag bit of prefix, router key and ASPA PDUs.
const FlagAnnounce = 1

// HeaderLen is the length of the common header; MaxLen bounds the length a
// decoder accepts (an Error Report may carry text, an ASPA many providers).
const (
	HeaderLen = 8
	MaxLen    = 1 << 20
)

// PDU is any RTR PDU; which fields are used depends on Type.
type PDU struct {
	Version uint8
	Type    Type
	// SessionID: Serial Notify, Serial Query, Cache Response, End of Data.
	SessionID uint16
	// Serial: Serial Notify, Serial Query, End of Data.
	Serial uint32
	// Refresh, Retry and Expire (seconds): End of Data, version ≥ 1.
	Refresh, Retry, Expire uint32
	// Flags: IPv4/IPv6 Prefix, Router Key, ASPA (FlagAnnounce).
	Flags uint8
	// Prefix, MaxLen and ASN: IPv4/IPv6 Prefix; ASN also Router Key.
	Prefix netip.Prefix
	MaxLen uint8
	ASN    uint32
	// SKI and SPKI: Router Key.
	SKI  [20]byte
	SPKI []byte
	// Customer and Providers: ASPA.
	Customer  uint32
	Providers []uint32
	// Code, ErrPDU and Text: Error Report.
	Code   ErrorCode
	ErrPDU []byte
	Text   string
}

// Announce reports whether the flags announce (rather than withdraw).
func (p *PDU) Announce() bool { return p.Flags&FlagAnnounce != 0 }

func (p *PDU) String() string {
	switch p.Type {
	case SerialNotify, SerialQuery:
		return fmt.Sprintf("v%d %s session %d serial %d", p.Version, p.Type, p.SessionID, p.Serial)
	case CacheResponse:
		return fmt.Sprintf("v%d %s session %d", p.Version, p.Type, p.SessionID)
	case EndOfData:
		return fmt.Sprintf("v%d %s session %d serial %d refresh %d retry %d expire %d", p.Version, p.Type, p.SessionID, p.Serial, p.Refresh, p.Retry, p.Expire)
	case IPv4Prefix, IPv6Prefix:
		return fmt.Sprintf("v%d %s flags %d %s-%d AS%d", p.Version, p.Type, p.Flags, p.Prefix, p.MaxLen, p.ASN)
	case ASPA:
		return fmt.Sprintf("v%d %s flags %d AS%d providers %v", p.Version, p.Type, p.Flags, p.Customer, p.Providers)
	case ErrorReport:
		return fmt.Sprintf("v%d %s %s: %q", p.Version, p.Type, p.Code, p.Text)
	}
	return fmt.Sprintf("v%d %s", p.Version, p.Type)
}

// Error is a decoding or protocol error with the Error Report code that
// describes it. PDU holds the offending PDU's bytes when known (to be
// encapsulated in the Error Report).
type Error struct {
	Code ErrorCode
	Msg  string
	PDU  []byte
}

func (e *Error) Error() string { return fmt.Sprintf("RTR %s: %s", e.Code, e.Msg) }

func errorf(code ErrorCode, raw []byte, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), PDU: raw}
}

// ErrTruncated is wrapped by ReadPDU when the stream ends inside a PDU.
var ErrTruncated = errors.New("truncated PDU")

// ReadPDU reads one PDU from r. It returns io.EOF at a clean end of stream,
// an error wrapping ErrTruncated when the stream ends inside a PDU, and an
// *Error for a PDU that does not decode. raw is the PDU's bytes (valid
// until the next call with the same buf).
func ReadPDU(r io.Reader, buf []byte) (p PDU, raw []byte, err error) {
	if cap(buf) < HeaderLen {
		buf = make([]byte, 0, 64)
	}
	hdr := buf[:HeaderLen]
	if n, err := io.ReadFull(r, hdr); err != nil {
		if err == io.EOF {
			return p, nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return p, hdr[:n], fmt.Errorf("%w: stream ended after %d of %d header bytes", ErrTruncated, n, HeaderLen)
		}
		return p, nil, err
	}
	l := binary.BigEndian.Uint32(hdr[4:8])
	if l < HeaderLen || l > MaxLen {
		return p, hdr, errorf(CorruptData, hdr, "%s length %d outside %d..%d", Type(hdr[1]), l, HeaderLen, MaxLen)
	}
	if uint32(cap(buf)) < l {
		nb := make([]byte, l)
		copy(nb, hdr)
		buf = nb
	}
	raw = buf[:l]
	if n, err := io.ReadFull(r, raw[HeaderLen:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return p, raw[:HeaderLen+n], fmt.Errorf("%w: %s of %d bytes ended after %d", ErrTruncated, Type(hdr[1]), l, HeaderLen+n)
		}
		return p, nil, err
	}
	p, err = Parse(raw)
	return p, raw, err
}

// Parse decodes exactly one PDU from b, which must hold the whole PDU and
// nothing else.
func Parse(b []byte) (PDU, error) {
	var p PDU
	if len(b) < HeaderLen {
		return p, errorf(CorruptData, b, "%d bytes: shorter than the %d-byte header", len(b), HeaderLen)
	}
	p.Version, p.Type = b[0], Type(b[1])
	l := binary.BigEndian.Uint32(b[4:8])
	if int64(l) != int64(len(b)) {
		return p, errorf(CorruptData, b, "%s length field %d but %d bytes", p.Type, l, len(b))
	}
	if p.Version > 2 {
		return p, errorf(UnsupportedProtocolVersion, b, "protocol version %d", p.Version)
	}
	want := func(n int) error {
		if len(b) != n {
			return errorf(CorruptData, b, "v%d %s must be %d bytes, got %d", p.Version, p.Type, n, len(b))
		}
		return nil
	}
	sess := binary.BigEndian.Uint16(b[2:4])
	switch p.Type {
	case SerialNotify, SerialQuery:
		if err := want(12); err != nil {
			return p, err
		}
		p.SessionID, p.Serial = sess, binary.BigEndian.Uint32(b[8:12])
	case ResetQuery, CacheReset:
		if err := want(8); err != nil {
			return p, err
		}
	case CacheResponse:
		if err := want(8); err != nil {
			return p, err
		}
		p.SessionID = sess
	case IPv4Prefix, IPv6Prefix:
		alen := 4
		if p.Type == IPv6Prefix {
			alen = 16
		}
		if err := want(16 + alen); err != nil { // header, flags/len/maxlen/zero, address, ASN
			return p, err
		}
		p.Flags, p.MaxLen = b[8], b[10]
		plen := int(b[9])
		var a netip.Addr
		if alen == 4 {
			a = netip.AddrFrom4([4]byte(b[12:16]))
		} else {
			a = netip.AddrFrom16([16]byte(b[12:28]))
		}
		if plen > alen*8 || int(p.MaxLen) > alen*8 || int(p.MaxLen) < plen {
			return p, errorf(CorruptData, b, "%s %s/%d maxLength %d: lengths out of range", p.Type, a, plen, p.MaxLen)
		}
		if p.Flags&^FlagAnnounce != 0 {
			// Unknown flag bits are ignored by receivers.
			p.Flags &= FlagAnnounce
		}
		p.Prefix = netip.PrefixFrom(a, plen).Masked()
		p.ASN = binary.BigEndian.Uint32(b[12+alen:])
	case EndOfData:
		n := 24
		if p.Version == 0 {
			n = 12
		}
		if err := want(n); err != nil {
			return p, err
		}
		p.SessionID, p.Serial = sess, binary.BigEndian.Uint32(b[8:12])
		if p.Version > 0 {
			p.Refresh = binary.BigEndian.Uint32(b[12:16])
			p.Retry = binary.BigEndian.Uint32(b[16:20])
			p.Expire = binary.BigEndian.Uint32(b[20:24])
		}
	case RouterKey:
		if p.Version == 0 {
			return p, errorf(UnsupportedPDUType, b, "Router Key in protocol version 0")
		}
		if len(b) < 32 {
			return p, errorf(CorruptData, b, "Router Key of %d bytes, shorter than 32", len(b))
		}
		p.Flags = b[2]
		copy(p.SKI[:], b[8:28])
		p.ASN = binary.BigEndian.Uint32(b[28:32])
		p.SPKI = append([]byte(nil), b[32:]...)
	case ErrorReport:
		if len(b) < 16 {
			return p, errorf(CorruptData, b, "Error Report of %d bytes, shorter than 16", len(b))
		}
		p.Code = ErrorCode(sess)
		el := binary.BigEndian.Uint32(b[8:12])
		if uint64(el) > uint64(len(b)-16) {
			return p, errorf(CorruptData, b, "Error Report encapsulated PDU length %d exceeds the PDU", el)
		}
		p.ErrPDU = append([]byte(nil), b[12:12+el]...)
		rest := b[12+el:]
		tl := binary.BigEndian.Uint32(rest[:4])
		if uint64(tl) != uint64(len(rest)-4) {
			return p, errorf(CorruptData, b, "Error Report text length %d but %d bytes remain", tl, len(rest)-4)
		}
		p.Text = string(rest[4:])
	case ASPA:
		if p.Version < 2 {
			return p, errorf(UnsupportedPDUType, b, "ASPA PDU in protocol version %d", p.Version)
		}
		if len(b) < 12 || (len(b)-12)%4 != 0 {
			return p, errorf(CorruptData, b, "ASPA PDU of %d bytes: want 12 + 4 per provider", len(b))
		}
		p.Flags = b[2]
		p.Customer = binary.BigEndian.Uint32(b[8:12])
		for i := 12; i < len(b); i += 4 {
			p.Providers = append(p.Providers, binary.BigEndian.Uint32(b[i:]))
		}
	default:
		return p, errorf(UnsupportedPDUType, b, "unknown PDU type %d", uint8(p.Type))
	}
	return p, nil
}

// Append encodes p at the end of dst.
func (p *PDU) Append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, p.Version, byte(p.Type), 0, 0, 0, 0, 0, 0)
	put16 := func(v uint16) { binary.BigEndian.PutUint16(dst[start+2:], v) }
	switch p.Type {
	case SerialNotify, SerialQuery:
		put16(p.SessionID)
		dst = binary.BigEndian.AppendUint32(dst, p.Serial)
	case CacheResponse:
		put16(p.SessionID)
	case IPv4Prefix, IPv6Prefix:
		a := p.Prefix.Addr()
		dst = append(dst, p.Flags, byte(p.Prefix.Bits()), p.MaxLen, 0)
		if p.Type == IPv4Prefix {
			b := a.As4()
			dst = append(dst, b[:]...)
		} else {
			b := a.As16()
			dst = append(dst, b[:]...)
		}
		dst = binary.BigEndian.AppendUint32(dst, p.ASN)
	case EndOfData:
		put16(p.SessionID)
		dst = binary.BigEndian.AppendUint32(dst, p.Serial)
		if p.Version > 0 {
			dst = binary.BigEndian.AppendUint32(dst, p.Refresh)
			dst = binary.BigEndian.AppendUint32(dst, p.Retry)
			dst = binary.BigEndian.AppendUint32(dst, p.Expire)
		}
	case RouterKey:
		dst[start+2] = p.Flags
		dst = append(dst, p.SKI[:]...)
		dst = binary.BigEndian.AppendUint32(dst, p.ASN)
		dst = append(dst, p.SPKI...)
	case ErrorReport:
		put16(uint16(p.Code))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.ErrPDU)))
		dst = append(dst, p.ErrPDU...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Text)))
		dst = append(dst, p.Text...)
	case ASPA:
		dst[start+2] = p.Flags
		dst = binary.BigEndian.AppendUint32(dst, p.Customer)
		for _, a := range p.Providers {
			dst = binary.BigEndian.AppendUint32(dst, a)
		}
	}
	binary.BigEndian.PutUint32(dst[start+4:], uint32(len(dst)-start))
	return dst
}

// NewErrorReport builds an Error Report for err (an *Error gives the code
// and the encapsulated PDU; anything else is an Internal Error). An Error
// Report is never encapsulated in another (RFC 8210 §5.11).
func NewErrorReport(version uint8, err error) PDU {
	p := PDU{Version: version, Type: ErrorReport, Code: InternalError, Text: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		p.Code, p.Text = e.Code, e.Msg
		if len(e.PDU) >= 2 && Type(e.PDU[1]) != ErrorReport {
			p.ErrPDU = e.PDU
			if len(p.ErrPDU) > 1024 {
				p.ErrPDU = p.ErrPDU[:1024]
			}
		}
	}
	return p
}
