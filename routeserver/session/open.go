package session

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Capability codes.
const (
	capMultiprotocol   = 1
	capRouteRefresh    = 2
	capExtendedMessage = 6
	capRole            = 9
	capGracefulRestart = 64
	capFourOctetAS     = 65
	capAddPath         = 69
	capEnhancedRR      = 70
	capRouteRefreshOld = 128
)

// defaultGRRestartTime is the restart time we announce unless told.
const defaultGRRestartTime = 120 * time.Second

// Graceful Restart capability flags (RFC 4724 §3, RFC 8538 §2).
const (
	grFlagRestartState = 0x8000 // R: the sender has restarted
	grFlagForwarding   = 0x80   // F, per <AFI, SAFI>: forwarding state preserved
)

// Open is a decoded OPEN message.
type Open struct {
	Version  uint8
	MyAS     uint16
	HoldTime uint16
	ID       netip.Addr
	Caps     []Capability
}

// Capability is one capability as received.
type Capability struct {
	Code  uint8
	Value []byte
}

// Negotiated is what both sides agreed on when the session came up.
type Negotiated struct {
	PeerASN   uint32
	PeerID    netip.Addr
	HoldTime  time.Duration
	Keepalive time.Duration
	// Families negotiated, indexed by Family.
	Families [bgp.NumFamilies]bool
	// AddPathRx: the peer sends path identifiers (we receive them);
	// AddPathTx: we must send path identifiers.
	AddPathRx, AddPathTx [bgp.NumFamilies]bool
	FourOctetAS          bool
	RouteRefresh         bool
	EnhancedRouteRefresh bool
	ExtendedMessage      bool
	// PeerRole is the role the peer announced, if HasRole.
	HasRole  bool
	PeerRole uint8
	// Graceful restart as the peer announced it (RFC 4724).
	GracefulRestart bool
	GRRestartTime   time.Duration
	GRRestarting    bool
	GRFamilies      [bgp.NumFamilies]bool // forwarding state preserved (F bit)
	LocalAddr       netip.AddrPort
	RemoteAddr      netip.AddrPort
	// PeerCapabilities lists the codes the peer sent, for the looking glass.
	PeerCapabilities []uint8
	// SentOpen and ReceivedOpen are the two OPEN messages, whole (with
	// header), as BMP Peer Up notifications carry them.
	SentOpen, ReceivedOpen []byte
}

// MaxMessageLen is the largest message either side may send.
func (n *Negotiated) MaxMessageLen() int {
	if n.ExtendedMessage {
		return bgp.MaxExtendedLen
	}
	return bgp.MaxMsgLen
}

func parseOpen(body []byte) (*Open, error) {
	if len(body) < 10 {
		return nil, &bgp.Notification{Code: bgp.ErrMsgHeader, Subcode: bgp.ErrSubBadMsgLength}
	}
	o := &Open{
		Version:  body[0],
		MyAS:     binary.BigEndian.Uint16(body[1:3]),
		HoldTime: binary.BigEndian.Uint16(body[3:5]),
		ID:       netip.AddrFrom4([4]byte(body[5:9])),
	}
	if o.Version != 4 {
		return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubUnsupportedVersion, Data: []byte{0, 4}}
	}
	optLen := int(body[9])
	params := body[10:]
	extended := false
	// RFC 9072 extended optional parameters length.
	if optLen == 255 && len(params) >= 3 && params[0] == 255 {
		optLen = int(binary.BigEndian.Uint16(params[1:3]))
		params = params[3:]
		extended = true
	}
	if optLen != len(params) {
		return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: 0}
	}
	for len(params) > 0 {
		hdr := 2
		if extended {
			hdr = 3
		}
		if len(params) < hdr {
			return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: 0}
		}
		ptype := params[0]
		plen := int(params[1])
		if extended {
			plen = int(binary.BigEndian.Uint16(params[1:3]))
		}
		if len(params) < hdr+plen {
			return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: 0}
		}
		pval := params[hdr : hdr+plen]
		params = params[hdr+plen:]
		if ptype != 2 { // only Capabilities (RFC 5492)
			return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubUnsupportedOptParm}
		}
		for len(pval) > 0 {
			if len(pval) < 2 || len(pval) < 2+int(pval[1]) {
				return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: 0}
			}
			o.Caps = append(o.Caps, Capability{Code: pval[0], Value: pval[2 : 2+int(pval[1])]})
			pval = pval[2+int(pval[1]):]
		}
	}
	return o, nil
}

// localOpen describes what we offer in our OPEN.
type localOpen struct {
	asn             uint32
	id              netip.Addr
	holdTime        time.Duration
	families        [bgp.NumFamilies]bool
	role            uint8 // the BGP Role we announce
	addPathRx       bool
	addPathTx       bool
	gracefulRestart bool
	grRestartTime   time.Duration
	grRestarting    bool // R and F set: the first OPEN after a planned restart
}

func (l *localOpen) body() []byte {
	var caps []byte
	add := func(code uint8, val ...byte) {
		caps = append(caps, code, byte(len(val)))
		caps = append(caps, val...)
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if l.families[f] {
			afi, safi := f.AFISAFI()
			add(capMultiprotocol, byte(afi>>8), byte(afi), 0, safi)
		}
	}
	add(capRouteRefresh)
	add(capEnhancedRR)
	add(capExtendedMessage)
	add(capRole, l.role)
	if l.gracefulRestart {
		// RFC 4724 §3: Restart Flags (R) and Restart Time, then one
		// <AFI, SAFI, Flags> per family. The families are listed so that
		// a member keeps our routes across a planned restart (§4.2: it
		// retains them "for all the address families that were previously
		// received in the Graceful Restart Capability"); F is set only in
		// the OPEN after such a restart, when the route server's state
		// (its RIB: the members' routes are re-learned before it sends
		// anything, RFC 4724 §4.1) carried over, so that the member does
		// not flush what it kept. The N bit of RFC 8538 is not announced:
		// a planned restart closes without a NOTIFICATION, and a stop's
		// Cease keeps meaning "drop the routes".
		rt := l.grRestartTime
		if rt <= 0 {
			rt = defaultGRRestartTime
		}
		flags := uint16(min(rt/time.Second, 4095))
		if l.grRestarting {
			flags |= grFlagRestartState
		}
		v := []byte{byte(flags >> 8), byte(flags)}
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if l.families[f] {
				afi, safi := f.AFISAFI()
				var ff byte
				if l.grRestarting {
					ff = grFlagForwarding
				}
				v = append(v, byte(afi>>8), byte(afi), safi, ff)
			}
		}
		add(capGracefulRestart, v...)
	}
	var as4 [4]byte
	binary.BigEndian.PutUint32(as4[:], l.asn)
	add(capFourOctetAS, as4[:]...)
	if l.addPathRx || l.addPathTx {
		var mode byte
		if l.addPathRx {
			mode |= 1
		}
		if l.addPathTx {
			mode |= 2
		}
		var v []byte
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if l.families[f] {
				afi, safi := f.AFISAFI()
				v = append(v, byte(afi>>8), byte(afi), safi, mode)
			}
		}
		add(capAddPath, v...)
	}
	myAS := uint16(bgp.ASTrans)
	if l.asn <= 0xffff {
		myAS = uint16(l.asn)
	}
	hold := uint16(l.holdTime / time.Second)
	id := l.id.As4()
	b := []byte{4, byte(myAS >> 8), byte(myAS), byte(hold >> 8), byte(hold)}
	b = append(b, id[:]...)
	b = append(b, byte(len(caps)+2), 2, byte(len(caps)))
	return append(b, caps...)
}

// negotiate checks the peer's OPEN against the neighbour configuration and
// what we offered, and returns the agreed parameters or the NOTIFICATION to
// send.
func negotiate(cfg *Config, local *localOpen, o *Open) (*Negotiated, error) {
	n := &Negotiated{PeerID: o.ID}
	var (
		as4      uint32
		hasAS4   bool
		mp       [bgp.NumFamilies]bool
		anyMP    bool
		roles    []uint8
		peerAddP [bgp.NumFamilies]byte
	)
	for _, c := range o.Caps {
		if !slices.Contains(n.PeerCapabilities, c.Code) {
			n.PeerCapabilities = append(n.PeerCapabilities, c.Code)
		}
		switch c.Code {
		case capMultiprotocol:
			if len(c.Value) == 4 {
				anyMP = true
				if f, ok := bgp.FamilyOf(binary.BigEndian.Uint16(c.Value[:2]), c.Value[3]); ok {
					mp[f] = true
				}
			}
		case capFourOctetAS:
			if len(c.Value) == 4 {
				as4 = binary.BigEndian.Uint32(c.Value)
				hasAS4 = true
			}
		case capRouteRefresh, capRouteRefreshOld:
			n.RouteRefresh = true
		case capEnhancedRR:
			n.EnhancedRouteRefresh = true
		case capExtendedMessage:
			n.ExtendedMessage = true
		case capRole:
			if len(c.Value) != 1 {
				return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubRoleMismatch}
			}
			roles = append(roles, c.Value[0])
		case capGracefulRestart:
			if len(c.Value) >= 2 {
				n.GracefulRestart = true
				flags := binary.BigEndian.Uint16(c.Value[:2])
				n.GRRestarting = flags&0x8000 != 0
				n.GRRestartTime = time.Duration(flags&0x0fff) * time.Second
				for v := c.Value[2:]; len(v) >= 4; v = v[4:] {
					if f, ok := bgp.FamilyOf(binary.BigEndian.Uint16(v[:2]), v[2]); ok {
						n.GRFamilies[f] = v[3]&0x80 != 0
					}
				}
			}
		case capAddPath:
			for v := c.Value; len(v) >= 4; v = v[4:] {
				if f, ok := bgp.FamilyOf(binary.BigEndian.Uint16(v[:2]), v[2]); ok {
					peerAddP[f] = v[3]
				}
			}
		}
	}
	// Peer AS (RFC 6793 §4).
	peerAS := uint32(o.MyAS)
	if hasAS4 {
		peerAS = as4
		n.FourOctetAS = true
		if o.MyAS != bgp.ASTrans && uint32(o.MyAS) != as4 {
			return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubBadPeerAS}
		}
	}
	if peerAS != cfg.PeerASN {
		data := []byte{byte(o.MyAS >> 8), byte(o.MyAS)}
		return nil, fmt.Errorf("%w: peer announced AS%d, configured AS%d",
			&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubBadPeerAS, Data: data}, peerAS, cfg.PeerASN)
	}
	n.PeerASN = peerAS
	// BGP Identifier: non-zero and, for eBGP, anything but ours is fine.
	if o.ID.As4() == [4]byte{} || o.ID == local.id {
		id := o.ID.As4()
		return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubBadBGPID, Data: id[:]}
	}
	// Hold time (RFC 4271 §4.2: 0 or at least 3 seconds).
	if o.HoldTime == 1 || o.HoldTime == 2 {
		return nil, &bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubUnacceptableHold}
	}
	hold := time.Duration(o.HoldTime) * time.Second
	if local.holdTime < hold {
		hold = local.holdTime
	}
	n.HoldTime = hold
	n.Keepalive = hold / 3
	// BGP Role (RFC 9234 §4.2): we are RS, the member must be RS-Client
	// (or, on a member's end, the other way round).
	if len(roles) > 0 {
		for _, r := range roles {
			if r != roles[0] {
				return nil, fmt.Errorf("%w: peer sent several Role capabilities with different values",
					&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubRoleMismatch})
			}
		}
		n.HasRole, n.PeerRole = true, roles[0]
		if cfg.RSClient && roles[0] != bgp.RoleRS {
			return nil, fmt.Errorf("%w: peer announced role %s, a route server client's neighbour must be rs",
				&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubRoleMismatch}, bgp.RoleName(roles[0]))
		}
		if !cfg.RSClient && roles[0] != bgp.RoleRSClient {
			return nil, fmt.Errorf("%w: peer announced role %s, a route server's neighbour must be rs-client",
				&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubRoleMismatch}, bgp.RoleName(roles[0]))
		}
	} else if cfg.RoleStrict {
		return nil, fmt.Errorf("%w: strict role mode requires the BGP Role capability (rs-client) and the peer sent none",
			&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubRoleMismatch})
	}
	// Families: without any multiprotocol capability, IPv4 unicast is
	// implied (RFC 4760 §8).
	if !anyMP {
		mp[bgp.IPv4Unicast] = true
	}
	anyFamily := false
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		n.Families[f] = mp[f] && local.families[f]
		anyFamily = anyFamily || n.Families[f]
		if n.Families[f] {
			n.AddPathRx[f] = local.addPathRx && peerAddP[f]&2 != 0
			n.AddPathTx[f] = local.addPathTx && peerAddP[f]&1 != 0
		}
	}
	if !anyFamily {
		var offered []string
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if local.families[f] {
				offered = append(offered, f.String())
			}
		}
		return nil, fmt.Errorf("%w: no address family in common (we offer %s)",
			&bgp.Notification{Code: bgp.ErrOpen, Subcode: bgp.ErrSubUnsupportedCap}, strings.Join(offered, ", "))
	}
	return n, nil
}
