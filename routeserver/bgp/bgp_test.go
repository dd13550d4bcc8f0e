package bgp

import (
	"errors"
	"fmt"
	"testing"
)

func TestPathString(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Attrs
		want string
	}{
		{"empty", Attrs{}, ""},
		{"empty with a segment list", Attrs{Segments: []Segment{}}, ""},
		{"one AS", Attrs{ASPath: []uint32{64500}}, "64500"},
		{"AS_SEQUENCE", Attrs{ASPath: []uint32{64500, 4200000001, 64502}}, "64500 4200000001 64502"},
		{"AS_SEQUENCE as one segment", Attrs{ASPath: []uint32{64500, 64501},
			Segments: []Segment{{Type: SegSequence, Start: 0, End: 2}}}, "64500 64501"},
		{"AS_SET at the end", Attrs{ASPath: []uint32{64500, 64501, 64502, 64503},
			Segments: []Segment{{Type: SegSequence, Start: 0, End: 2}, {Type: SegSet, Start: 2, End: 4}}},
			"64500 64501 {64502 64503}"},
		{"AS_SET alone", Attrs{ASPath: []uint32{64502, 64503},
			Segments: []Segment{{Type: SegSet, Start: 0, End: 2}}}, "{64502 64503}"},
		{"AS_SET in the middle", Attrs{ASPath: []uint32{64500, 64501, 64502, 64503},
			Segments: []Segment{{Type: SegSequence, Start: 0, End: 1}, {Type: SegSet, Start: 1, End: 3}, {Type: SegSequence, Start: 3, End: 4}}},
			"64500 {64501 64502} 64503"},
		{"confederation segments", Attrs{ASPath: []uint32{65001, 65002, 65003, 65004, 64500},
			Segments: []Segment{{Type: SegConfedSeq, Start: 0, End: 2}, {Type: SegConfedSet, Start: 2, End: 4}, {Type: SegSequence, Start: 4, End: 5}}},
			"(65001 65002) [65003 65004] 64500"},
		{"empty AS_SET", Attrs{ASPath: []uint32{64500},
			Segments: []Segment{{Type: SegSequence, Start: 0, End: 1}, {Type: SegSet, Start: 1, End: 1}}}, "64500 {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.PathString(); got != tc.want {
				t.Errorf("PathString() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFamily(t *testing.T) {
	for f := Family(0); f < NumFamilies; f++ {
		afi, safi := f.AFISAFI()
		g, ok := FamilyOf(afi, safi)
		if !ok || g != f {
			t.Errorf("%v: FamilyOf(%d, %d) = %v, %v", f, afi, safi, g, ok)
		}
	}
	for _, tc := range []struct {
		f    Family
		afi  uint16
		safi uint8
		name string
	}{
		{IPv4Unicast, 1, 1, "ipv4-unicast"},
		{IPv6Unicast, 2, 1, "ipv6-unicast"},
	} {
		if afi, safi := tc.f.AFISAFI(); afi != tc.afi || safi != tc.safi {
			t.Errorf("%v.AFISAFI() = %d, %d, want %d, %d", tc.f, afi, safi, tc.afi, tc.safi)
		}
		if s := tc.f.String(); s != tc.name {
			t.Errorf("String() = %q, want %q", s, tc.name)
		}
	}
	for _, w := range [][2]int{{1, 2}, {2, 2}, {1, 128}, {25, 70}, {0, 0}, {3, 1}} {
		if f, ok := FamilyOf(uint16(w[0]), uint8(w[1])); ok {
			t.Errorf("FamilyOf(%d, %d) = %v, want none", w[0], w[1], f)
		}
	}
}

func TestNotificationNames(t *testing.T) {
	for _, tc := range []struct {
		n         Notification
		code, sub string
		text      string
	}{
		{Notification{Code: ErrMsgHeader, Subcode: ErrSubConnNotSynced}, "Message Header Error", "Connection Not Synchronized", "Message Header Error/Connection Not Synchronized"},
		{Notification{Code: ErrMsgHeader, Subcode: ErrSubBadMsgLength, Data: []byte{0, 5}}, "Message Header Error", "Bad Message Length", "Message Header Error/Bad Message Length (data 0005)"},
		{Notification{Code: ErrMsgHeader, Subcode: ErrSubBadMsgType}, "Message Header Error", "Bad Message Type", "Message Header Error/Bad Message Type"},
		{Notification{Code: ErrOpen, Subcode: ErrSubUnsupportedVersion}, "OPEN Message Error", "Unsupported Version Number", "OPEN Message Error/Unsupported Version Number"},
		{Notification{Code: ErrOpen, Subcode: ErrSubBadPeerAS}, "OPEN Message Error", "Bad Peer AS", "OPEN Message Error/Bad Peer AS"},
		{Notification{Code: ErrOpen, Subcode: ErrSubBadBGPID}, "OPEN Message Error", "Bad BGP Identifier", "OPEN Message Error/Bad BGP Identifier"},
		{Notification{Code: ErrOpen, Subcode: ErrSubUnsupportedOptParm}, "OPEN Message Error", "Unsupported Optional Parameter", "OPEN Message Error/Unsupported Optional Parameter"},
		{Notification{Code: ErrOpen, Subcode: ErrSubUnacceptableHold}, "OPEN Message Error", "Unacceptable Hold Time", "OPEN Message Error/Unacceptable Hold Time"},
		{Notification{Code: ErrOpen, Subcode: ErrSubUnsupportedCap}, "OPEN Message Error", "Unsupported Capability", "OPEN Message Error/Unsupported Capability"},
		{Notification{Code: ErrOpen, Subcode: ErrSubRoleMismatch}, "OPEN Message Error", "Role Mismatch", "OPEN Message Error/Role Mismatch"},
		{Notification{Code: ErrOpen}, "OPEN Message Error", "", "OPEN Message Error"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubMalformedAttrList}, "UPDATE Message Error", "Malformed Attribute List", "UPDATE Message Error/Malformed Attribute List"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubUnrecognizedWK}, "UPDATE Message Error", "Unrecognized Well-known Attribute", "UPDATE Message Error/Unrecognized Well-known Attribute"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubMissingWK}, "UPDATE Message Error", "Missing Well-known Attribute", "UPDATE Message Error/Missing Well-known Attribute"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubAttrFlags}, "UPDATE Message Error", "Attribute Flags Error", "UPDATE Message Error/Attribute Flags Error"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubAttrLength}, "UPDATE Message Error", "Attribute Length Error", "UPDATE Message Error/Attribute Length Error"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubInvalidOrigin}, "UPDATE Message Error", "Invalid ORIGIN Attribute", "UPDATE Message Error/Invalid ORIGIN Attribute"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubInvalidNextHop}, "UPDATE Message Error", "Invalid NEXT_HOP Attribute", "UPDATE Message Error/Invalid NEXT_HOP Attribute"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubOptionalAttr}, "UPDATE Message Error", "Optional Attribute Error", "UPDATE Message Error/Optional Attribute Error"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubInvalidNetworkField}, "UPDATE Message Error", "Invalid Network Field", "UPDATE Message Error/Invalid Network Field"},
		{Notification{Code: ErrUpdate, Subcode: ErrSubMalformedASPath}, "UPDATE Message Error", "Malformed AS_PATH", "UPDATE Message Error/Malformed AS_PATH"},
		{Notification{Code: ErrUpdate, Subcode: 7}, "UPDATE Message Error", "subcode 7", "UPDATE Message Error/subcode 7"},
		{Notification{Code: ErrHoldTimer}, "Hold Timer Expired", "", "Hold Timer Expired"},
		{Notification{Code: ErrFSM, Subcode: 1}, "Finite State Machine Error", "Unexpected Message in OpenSent", "Finite State Machine Error/Unexpected Message in OpenSent"},
		{Notification{Code: ErrFSM, Subcode: 2}, "Finite State Machine Error", "Unexpected Message in OpenConfirm", "Finite State Machine Error/Unexpected Message in OpenConfirm"},
		{Notification{Code: ErrFSM, Subcode: 3}, "Finite State Machine Error", "Unexpected Message in Established", "Finite State Machine Error/Unexpected Message in Established"},
		{Notification{Code: ErrCease, Subcode: CeaseMaxPrefix, Data: []byte{0, 1, 1, 0, 0, 0, 10}}, "Cease", "Maximum Number of Prefixes Reached", "Cease/Maximum Number of Prefixes Reached (data 0001010000000a)"},
		{*NewShutdown(CeaseAdminShutdown, "maintenance"), "Cease", "Administrative Shutdown", `Cease/Administrative Shutdown: "maintenance"`},
		{*NewShutdown(CeaseAdminShutdown, ""), "Cease", "Administrative Shutdown", "Cease/Administrative Shutdown"},
		{Notification{Code: ErrCease, Subcode: CeasePeerDeconfigured}, "Cease", "Peer De-configured", "Cease/Peer De-configured"},
		{*NewShutdown(CeaseAdminReset, "new link"), "Cease", "Administrative Reset", `Cease/Administrative Reset: "new link"`},
		{Notification{Code: ErrCease, Subcode: CeaseConnRejected}, "Cease", "Connection Rejected", "Cease/Connection Rejected"},
		{Notification{Code: ErrCease, Subcode: CeaseConfigChange}, "Cease", "Other Configuration Change", "Cease/Other Configuration Change"},
		{Notification{Code: ErrCease, Subcode: CeaseCollision}, "Cease", "Connection Collision Resolution", "Cease/Connection Collision Resolution"},
		{Notification{Code: ErrCease, Subcode: CeaseOutOfResources}, "Cease", "Out of Resources", "Cease/Out of Resources"},
		{Notification{Code: ErrCease, Subcode: CeaseHardReset}, "Cease", "Hard Reset", "Cease/Hard Reset"},
		{Notification{Code: ErrCease, Subcode: CeaseBFDDown}, "Cease", "BFD Down", "Cease/BFD Down"},
		{Notification{Code: ErrRouteRefresh, Subcode: ErrSubRRInvalidLength}, "ROUTE-REFRESH Message Error", "Invalid Message Length", "ROUTE-REFRESH Message Error/Invalid Message Length"},
		{Notification{Code: 9, Subcode: 1}, "code 9", "subcode 1", "code 9/subcode 1"},
		{Notification{Code: 9}, "code 9", "", "code 9"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			n := tc.n
			if got := n.CodeName(); got != tc.code {
				t.Errorf("CodeName() = %q, want %q", got, tc.code)
			}
			if got := n.SubcodeName(); got != tc.sub {
				t.Errorf("SubcodeName() = %q, want %q", got, tc.sub)
			}
			if got := n.String(); got != tc.text {
				t.Errorf("String() = %q, want %q", got, tc.text)
			}
			var err error = fmt.Errorf("wrapped: %w", &n)
			var back *Notification
			if !errors.As(err, &back) || back.Code != n.Code || back.Error() != tc.text {
				t.Errorf("errors.As on a wrapped Notification: %v", back)
			}
		})
	}
}

func TestShutdownMessage(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	long[254] = 0xc3 // a 2-octet UTF-8 sequence cut by the 255-octet limit
	long[255] = 0xa9
	for _, tc := range []struct {
		name  string
		n     *Notification
		msg   string
		ok    bool
		extra []byte
	}{
		{"message", NewShutdown(CeaseAdminShutdown, "maintenance"), "maintenance", true, []byte{}},
		{"empty", NewShutdown(CeaseAdminShutdown, ""), "", false, nil},
		{"truncated on a UTF-8 boundary", NewShutdown(CeaseAdminReset, string(long)), string(long[:254]), true, []byte{}},
		{"not a shutdown", &Notification{Code: ErrCease, Subcode: CeaseMaxPrefix, Data: []byte{1, 'a'}}, "", false, []byte{1, 'a'}},
		{"length beyond the data", &Notification{Code: ErrCease, Subcode: CeaseAdminShutdown, Data: []byte{5, 'a'}}, "", false, []byte{5, 'a'}},
		{"extra data after the message", &Notification{Code: ErrCease, Subcode: CeaseAdminShutdown, Data: []byte{1, 'a', 7}}, "a", true, []byte{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := tc.n.ShutdownMessage()
			if msg != tc.msg || ok != tc.ok {
				t.Errorf("ShutdownMessage() = %q, %v, want %q, %v", msg, ok, tc.msg, tc.ok)
			}
			if got := tc.n.ExtraData(); string(got) != string(tc.extra) || (got == nil) != (tc.extra == nil) {
				t.Errorf("ExtraData() = %v, want %v", got, tc.extra)
			}
		})
	}
}

func TestRoleName(t *testing.T) {
	for r, want := range map[uint8]string{RoleProvider: "provider", RoleRS: "rs", RoleRSClient: "rs-client",
		RoleCustomer: "customer", RolePeer: "peer", 5: "role 5"} {
		if got := RoleName(r); got != want {
			t.Errorf("RoleName(%d) = %q, want %q", r, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	m := AppendMessage([]byte{9}, MsgKeepalive, nil)[1:]
	if len(m) != HeaderLen || !MarkerOK(m) || m[16] != 0 || m[17] != HeaderLen || m[18] != MsgKeepalive {
		t.Errorf("KEEPALIVE = %x", m)
	}
	m = AppendMessage(nil, MsgNotification, []byte{ErrCease, CeaseAdminShutdown, 0})
	if len(m) != HeaderLen+3 || m[17] != HeaderLen+3 || m[18] != MsgNotification {
		t.Errorf("NOTIFICATION = %x", m)
	}
	m[3] = 0xfe
	if MarkerOK(m) || MarkerOK(m[:15]) {
		t.Error("MarkerOK accepts a damaged or short marker")
	}
}

func TestAttrs(t *testing.T) {
	seq := &Attrs{ASPath: []uint32{64500, 64501}, Communities: []uint32{CommBlackhole}}
	set := &Attrs{ASPath: []uint32{64500, 64501, 64502},
		Segments: []Segment{{Type: SegSequence, Start: 0, End: 1}, {Type: SegSet, Start: 1, End: 3}}}
	confed := &Attrs{ASPath: []uint32{65001, 64500},
		Segments: []Segment{{Type: SegConfedSeq, Start: 0, End: 1}, {Type: SegSequence, Start: 1, End: 2}}}
	for _, tc := range []struct {
		name              string
		a                 *Attrs
		first, origin     uint32
		firstOK, originOK bool
	}{
		{"AS_SEQUENCE", seq, 64500, 64501, true, true},
		{"AS_SET at the end", set, 64500, 0, true, false},
		{"confederation first", confed, 0, 64500, false, true},
		{"empty", &Attrs{}, 0, 0, false, false},
	} {
		if f, ok := tc.a.FirstAS(); f != tc.first || ok != tc.firstOK {
			t.Errorf("%s: FirstAS() = %d, %v", tc.name, f, ok)
		}
		if o, ok := tc.a.OriginAS(); o != tc.origin || ok != tc.originOK {
			t.Errorf("%s: OriginAS() = %d, %v", tc.name, o, ok)
		}
	}
	if !seq.HasCommunity(CommBlackhole) || seq.HasCommunity(CommNoExport) {
		t.Error("HasCommunity")
	}
	if s := (Large{Global: 4200000000, Local1: 1, Local2: 2}).String(); s != "4200000000:1:2" {
		t.Errorf("Large.String() = %q", s)
	}
}

func TestCommunityString(t *testing.T) {
	for _, tc := range []struct {
		c    uint32
		want string
	}{
		{0, "0:0"},
		{65535<<16 | 666, "65535:666"},
		{CommGracefulShutdown, "65535:0"},
		{64500<<16 | 65535, "64500:65535"},
	} {
		if got := CommunityString(tc.c); got != tc.want {
			t.Errorf("CommunityString(%#x) = %q, want %q", tc.c, got, tc.want)
		}
	}
}
