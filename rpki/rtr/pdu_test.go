package rtr

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"testing"
)

func samples() []PDU {
	return []PDU{
		{Version: 1, Type: SerialNotify, SessionID: 7, Serial: 42},
		{Version: 1, Type: SerialQuery, SessionID: 7, Serial: 42},
		{Version: 0, Type: ResetQuery},
		{Version: 1, Type: CacheResponse, SessionID: 7},
		{Version: 1, Type: IPv4Prefix, Flags: FlagAnnounce, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLen: 24, ASN: 64496},
		{Version: 1, Type: IPv6Prefix, Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLen: 48, ASN: 4200000000},
		{Version: 0, Type: EndOfData, SessionID: 7, Serial: 43},
		{Version: 1, Type: EndOfData, SessionID: 7, Serial: 43, Refresh: 3600, Retry: 600, Expire: 7200},
		{Version: 1, Type: CacheReset},
		{Version: 1, Type: RouterKey, Flags: 1, ASN: 64496, SPKI: []byte{1, 2, 3}},
		{Version: 1, Type: ErrorReport, Code: UnsupportedPDUType, ErrPDU: []byte{1, 99, 0, 0, 0, 0, 0, 8}, Text: "unknown"},
		{Version: 2, Type: ASPA, Flags: FlagAnnounce, Customer: 64496, Providers: []uint32{64497, 64498}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, p := range samples() {
		b := p.Append(nil)
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %v", &p, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip: %+v, want %+v", got, p)
		}
		// Through a stream too.
		got, raw, err := ReadPDU(bytes.NewReader(b), nil)
		if err != nil || !bytes.Equal(raw, b) || got.Type != p.Type {
			t.Errorf("ReadPDU(%v) = %v, %v", &p, &got, err)
		}
	}
}

func TestWireFormat(t *testing.T) {
	// RFC 8210 §5.6: IPv4 Prefix is 20 bytes; §5.8: v1 End of Data 24.
	p := PDU{Version: 1, Type: IPv4Prefix, Flags: 1, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLen: 24, ASN: 64496}
	want := []byte{1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 24, 0, 192, 0, 2, 0, 0, 0, 0xfb, 0xf0}
	if got := p.Append(nil); !bytes.Equal(got, want) {
		t.Errorf("IPv4 Prefix = %v, want %v", got, want)
	}
	e := PDU{Version: 1, Type: EndOfData, SessionID: 1, Serial: 2, Refresh: 3, Retry: 4, Expire: 5}
	if b := e.Append(nil); len(b) != 24 || b[7] != 24 {
		t.Errorf("v1 End of Data = %v", b)
	}
}

func TestDecodeErrors(t *testing.T) {
	v4 := (&PDU{Version: 1, Type: IPv4Prefix, Flags: 1, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLen: 24, ASN: 1}).Append(nil)
	// A stream that ends inside a PDU.
	for _, n := range []int{3, 8, 13} {
		_, _, err := ReadPDU(bytes.NewReader(v4[:n]), nil)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("truncated at %d: %v", n, err)
		}
	}
	if _, _, err := ReadPDU(bytes.NewReader(nil), nil); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
	for _, c := range []struct {
		b    []byte
		code ErrorCode
	}{
		{[]byte{1, 99, 0, 0, 0, 0, 0, 8}, UnsupportedPDUType},
		{[]byte{1, 4, 0, 0, 0, 0, 0, 8}, CorruptData},                                        // too short for its type
		{[]byte{1, 7, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1}, CorruptData},                           // v1 End of Data of v0 length
		{[]byte{3, 2, 0, 0, 0, 0, 0, 8}, UnsupportedProtocolVersion},                         // version 3
		{[]byte{1, 4, 0, 0, 0, 0, 0, 20, 1, 33, 33, 0, 1, 2, 3, 4, 0, 0, 0, 1}, CorruptData}, // /33
		{[]byte{1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 16, 0, 1, 2, 3, 4, 0, 0, 0, 1}, CorruptData}, // maxLength < length
		{[]byte{1, 11, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1}, UnsupportedPDUType},                   // ASPA in v1
		{[]byte{1, 10, 0, 0, 0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0}, CorruptData},              // bad encapsulated length
	} {
		_, err := Parse(c.b)
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code {
			t.Errorf("Parse(%v) = %v, want %v", c.b, err, c.code)
		}
	}
	// A length field beyond MaxLen is rejected before reading the body.
	_, _, err := ReadPDU(bytes.NewReader([]byte{1, 10, 0, 0, 0xff, 0xff, 0xff, 0xff}), nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CorruptData {
		t.Errorf("huge length: %v", err)
	}
}

// FuzzParse: no input panics; whatever decodes re-encodes to the same
// bytes (modulo ignored flag bits and host bits), and decodes again equal.
func FuzzParse(f *testing.F) {
	for _, p := range samples() {
		f.Add(p.Append(nil))
	}
	f.Add([]byte{1, 99, 0, 0, 0, 0, 0, 8})
	f.Add([]byte{1, 4, 0, 0, 0, 0, 0, 20, 1, 24})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			er := NewErrorReport(1, err)
			er.Append(nil)
			return
		}
		again, err := Parse(p.Append(nil))
		if err != nil {
			t.Fatalf("re-encoding of %v does not parse: %v", &p, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("%+v re-decoded as %+v", p, again)
		}
		_, _, _ = ReadPDU(bytes.NewReader(b), nil)
	})
}
