package bmp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"
)

// Per-peer header flags of the Loc-RIB peer type (RFC 9069 §4.2).
const locRIBFlagFiltered = 0x80

// tlvVRFTableName is the Information TLV naming the Loc-RIB table in its
// Peer Up (RFC 9069 §5.1); the global table is named "global".
const (
	tlvVRFTableName = 3
	locRIBTableName = "global"
)

// maxUpdate is the size an UPDATE inside Route Monitoring is packed to.
const maxUpdate = bgp.MaxMsgLen

// peer is a monitored peer as the collector knows it.
type peer struct {
	addr    netip.Addr
	neg     *session.Negotiated // nil for the Loc-RIB
	as      uint32
	id      netip.Addr
	addPath [bgp.NumFamilies]bool
	loc     bool
}

func newPeer(addr netip.Addr, neg *session.Negotiated) *peer {
	return &peer{addr: addr, neg: neg, as: neg.PeerASN, id: neg.PeerID, addPath: neg.AddPathRx}
}

// header is the per-peer header of a message about p; post sets the L
// flag (post-policy Adj-RIB-In).
func (p *peer) header(post bool, at time.Time) gobmp.BMPPeerHeader {
	h := gobmp.BMPPeerHeader{PeerAS: p.as, Timestamp: float64(at.UnixMicro()) / 1e6}
	if p.id.IsValid() {
		h.PeerBGPID = net.IP(p.id.AsSlice())
	} else {
		h.PeerBGPID = net.IPv4zero.To4()
	}
	if p.loc {
		h.PeerType = gobmp.BMP_PEER_TYPE_LOCAL_RIB
		h.PeerAddress = net.IPv4zero.To4()
		return h
	}
	h.PeerType = gobmp.BMP_PEER_TYPE_GLOBAL
	h.PeerAddress = net.IP(p.addr.AsSlice())
	if p.addr.Is6() {
		h.Flags |= gobmp.BMP_PEER_FLAG_IPV6
	}
	if post {
		h.Flags |= gobmp.BMP_PEER_FLAG_POST_POLICY
	}
	return h
}

// rawBody is a message body fedrs encodes itself: Peer Up, whose OPEN
// messages are the session's own bytes (not re-encoded) and whose
// Information TLVs gobgp's type lacks.
type rawBody []byte

func (b rawBody) ParseBody(*gobmp.BMPMessage, []byte, ...*gobgp.MarshallingOption) error {
	return errEncodeOnly
}

func (b rawBody) Serialize(...*gobgp.MarshallingOption) ([]byte, error) { return b, nil }

func serialize(m *gobmp.BMPMessage) []byte {
	b, err := m.Serialize()
	if err != nil {
		// Every body here is built from valid values; gobgp's encoders
		// fail only on values it cannot represent.
		panic("bmp: encoding " + err.Error())
	}
	return b
}

// initiation is the first message of a connection: sysDescr and sysName
// (RFC 7854 §4.3, both required).
func initiation(sysName, sysDescr string) []byte {
	return serialize(gobmp.NewBMPInitiation([]gobmp.BMPInfoTLVInterface{
		gobmp.NewBMPInfoTLVString(gobmp.BMP_INIT_TLV_TYPE_SYS_DESCR, sysDescr),
		gobmp.NewBMPInfoTLVString(gobmp.BMP_INIT_TLV_TYPE_SYS_NAME, sysName),
	}))
}

// termination is the last message: administratively closed, with reason.
func termination(reason string) []byte {
	return serialize(gobmp.NewBMPTermination([]gobmp.BMPTermTLVInterface{
		gobmp.NewBMPTermTLV16(gobmp.BMP_TERM_TLV_TYPE_REASON, gobmp.BMP_TERM_REASON_ADMIN),
		gobmp.NewBMPTermTLVString(gobmp.BMP_TERM_TLV_TYPE_STRING, reason),
	}))
}

// peerUp announces p with the OPENs of its session (RFC 7854 §4.10).
func peerUp(p *peer, at time.Time) []byte {
	n := p.neg
	b := make([]byte, 20, 20+len(n.SentOpen)+len(n.ReceivedOpen))
	if la := n.LocalAddr.Addr(); la.Is4() || la.Is4In6() {
		a := la.Unmap().As4()
		copy(b[12:16], a[:])
	} else if la.IsValid() {
		a := la.As16()
		copy(b[:16], a[:])
	}
	binary.BigEndian.PutUint16(b[16:], n.LocalAddr.Port())
	binary.BigEndian.PutUint16(b[18:], n.RemoteAddr.Port())
	b = append(b, n.SentOpen...)
	b = append(b, n.ReceivedOpen...)
	return serialize(&gobmp.BMPMessage{
		Header:     gobmp.BMPHeader{Version: gobmp.BMP_VERSION, Type: gobmp.BMP_MSG_PEER_UP_NOTIFICATION},
		PeerHeader: p.header(false, at),
		Body:       rawBody(b),
	})
}

// locRIBPeerUp announces the Loc-RIB instance (RFC 9069 §5.3): no
// addresses or ports, the local router's OPEN as both sent and received,
// and the table name.
func locRIBPeerUp(p *peer, holdTime time.Duration, at time.Time) []byte {
	myAS := uint16(p.as)
	if p.as > 0xffff {
		myAS = bgp.ASTrans
	}
	open := gobgp.NewBGPOpenMessage(myAS, uint16(holdTime/time.Second), p.id.String(), []gobgp.OptionParameterInterface{
		gobgp.NewOptionParameterCapability([]gobgp.ParameterCapabilityInterface{
			gobgp.NewCapMultiProtocol(gobgp.RF_IPv4_UC),
			gobgp.NewCapMultiProtocol(gobgp.RF_IPv6_UC),
			gobgp.NewCapFourOctetASNumber(p.as),
		}),
	})
	ob, err := open.Serialize()
	if err != nil {
		panic("bmp: encoding the Loc-RIB OPEN: " + err.Error())
	}
	b := make([]byte, 20, 20+2*len(ob)+4+len(locRIBTableName))
	b = append(b, ob...)
	b = append(b, ob...)
	b = binary.BigEndian.AppendUint16(b, tlvVRFTableName)
	b = binary.BigEndian.AppendUint16(b, uint16(len(locRIBTableName)))
	b = append(b, locRIBTableName...)
	return serialize(&gobmp.BMPMessage{
		Header:     gobmp.BMPHeader{Version: gobmp.BMP_VERSION, Type: gobmp.BMP_MSG_PEER_UP_NOTIFICATION},
		PeerHeader: p.header(false, at),
		Body:       rawBody(b),
	})
}

// peerDown reports the end of p's session (RFC 7854 §4.9) with the
// NOTIFICATION that ended it, if any.
func peerDown(p *peer, ev *session.DownEvent, at time.Time) []byte {
	hdr := p.header(false, at)
	var m *gobmp.BMPMessage
	switch {
	case ev.Sent != nil:
		m = gobmp.NewBMPPeerDownNotification(hdr, gobmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION,
			gobgp.NewBGPNotificationMessage(ev.Sent.Code, ev.Sent.Subcode, ev.Sent.Data), nil)
	case ev.Received != nil:
		m = gobmp.NewBMPPeerDownNotification(hdr, gobmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION,
			gobgp.NewBGPNotificationMessage(ev.Received.Code, ev.Received.Subcode, ev.Received.Data), nil)
	default:
		m = gobmp.NewBMPPeerDownNotification(hdr, gobmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION, nil, nil)
	}
	return serialize(m)
}

// routeMonitoring wraps one UPDATE (whole, with its header).
func routeMonitoring(hdr gobmp.BMPPeerHeader, update []byte) []byte {
	m := gobmp.NewBMPRouteMonitoring(hdr, nil)
	m.Body.(*gobmp.BMPRouteMonitoring).BGPUpdatePayload = update
	return serialize(m)
}

// packer packs consecutive routes of one peer and view that share
// attributes (or are withdrawn) into UPDATEs, and hands each finished
// Route Monitoring message to emit.
type packer struct {
	emit func([]byte) error

	p     *peer
	post  bool
	fam   bgp.Family
	attrs *wire.AttrSet // nil: withdrawals
	tmpl  *wire.Template
	nlri  []byte
	at    time.Time
	buf   []byte
}

// add adds one route (a == nil: withdrawn).
func (k *packer) add(p *peer, post bool, f bgp.Family, pfx netip.Prefix, pathID uint32, a *wire.AttrSet, at time.Time) error {
	addPath := p.addPath[f]
	if len(k.nlri) > 0 && (k.p != p || k.post != post || k.fam != f || k.attrs != a) {
		if err := k.flush(); err != nil {
			return err
		}
	}
	if k.attrs != a || k.tmpl == nil && a != nil {
		k.tmpl = nil
		if a != nil {
			k.tmpl = wire.Received(a)
		}
	}
	k.p, k.post, k.fam, k.attrs = p, post, f, a
	if len(k.nlri) > 0 && k.overhead()+len(k.nlri)+wire.NLRILen(pfx, addPath) > maxUpdate {
		if err := k.flush(); err != nil {
			return err
		}
	}
	if len(k.nlri) == 0 {
		k.at = at
	}
	k.nlri = wire.AppendNLRI(k.nlri, pfx, pathID, addPath)
	return nil
}

func (k *packer) overhead() int {
	if k.tmpl == nil {
		return wire.WithdrawOverhead(k.fam)
	}
	return wire.AnnounceOverhead(k.tmpl)
}

// flush emits the pending UPDATE, if any.
func (k *packer) flush() error {
	if len(k.nlri) == 0 {
		return nil
	}
	if k.tmpl != nil {
		k.buf = wire.AppendAnnounce(k.buf[:0], k.tmpl, k.nlri)
	} else {
		k.buf = wire.AppendWithdraw(k.buf[:0], k.fam, k.nlri)
	}
	k.nlri = k.nlri[:0]
	return k.emit(routeMonitoring(k.p.header(k.post, k.at), k.buf))
}

// endOfRIB emits the End-of-RIB marker of family f for p's view.
func (k *packer) endOfRIB(p *peer, post bool, f bgp.Family, at time.Time) error {
	if err := k.flush(); err != nil {
		return err
	}
	return k.emit(routeMonitoring(p.header(post, at), wire.AppendEndOfRIB(nil, f)))
}
