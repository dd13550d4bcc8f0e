// Package wire turns UPDATE messages into interned attribute sets and
// prefixes, and packs exported routes back into UPDATE messages.
//
// Decoding is fedrs's own, not gobgp's object codec: it classifies every
// error as RFC 7606 says (treat-as-withdraw, attribute discard, session
// reset), never allocates per prefix, and keys the intern table on the
// attribute bytes so that the prefixes of one UPDATE share one set. The
// tests check it against gobgp's codec.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// Attribute type codes.
const (
	AttrOrigin          = 1
	AttrASPath          = 2
	AttrNextHop         = 3
	AttrMED             = 4
	AttrLocalPref       = 5
	AttrAtomicAggregate = 6
	AttrAggregator      = 7
	AttrCommunities     = 8
	AttrOriginatorID    = 9
	AttrClusterList     = 10
	AttrMPReach         = 14
	AttrMPUnreach       = 15
	AttrExtCommunities  = 16
	AttrAS4Path         = 17
	AttrAS4Aggregator   = 18
	AttrLargeCommunity  = 32
	AttrOTC             = 35
)

// Attribute flags.
const (
	FlagOptional   = 0x80
	FlagTransitive = 0x40
	FlagPartial    = 0x20
	FlagExtLen     = 0x10
)

// NLRI is one prefix with its ADD-PATH path identifier (0 without ADD-PATH).
type NLRI struct {
	Prefix netip.Prefix
	PathID uint32
}

// Update is a decoded UPDATE. Its slices are reused by the next Decode.
type Update struct {
	Withdrawn [bgp.NumFamilies][]NLRI
	Announced [bgp.NumFamilies][]NLRI
	// Attrs holds the interned attribute set of each family's announced
	// routes, with one reference taken for the caller (Release it if the
	// routes are not stored).
	Attrs [bgp.NumFamilies]*AttrSet
	// EndOfRIB marks an End-of-RIB for the family (RFC 4724 §2).
	EndOfRIB [bgp.NumFamilies]bool
	// TreatAsWithdraw is set when an attribute error made every announced
	// prefix a withdrawal (RFC 7606); the prefixes are in Withdrawn.
	TreatAsWithdraw error
	// Discarded lists attributes dropped under "attribute discard".
	Discarded []string
}

// Decoder decodes the UPDATEs of one session.
type Decoder struct {
	// AddPath[f]: the peer sends path identifiers for family f.
	AddPath [bgp.NumFamilies]bool
	// FourOctetAS: the session negotiated 4-octet AS numbers.
	FourOctetAS bool
	Table       *Table

	u       Update
	scratch []byte
	a       bgp.Attrs
	segs    []bgp.Segment
}

// attrErr is an attribute error with its RFC 7606 class.
type attrErr struct {
	typ     uint8
	discard bool // attribute discard; otherwise treat-as-withdraw
	msg     string
}

func (e *attrErr) Error() string { return fmt.Sprintf("attribute %s: %s", attrName(e.typ), e.msg) }

func updateErr(sub uint8, format string, args ...any) error {
	return fmt.Errorf("%w: %s", &bgp.Notification{Code: bgp.ErrUpdate, Subcode: sub}, fmt.Sprintf(format, args...))
}

// Decode decodes an UPDATE body. An error is always a session reset (it
// wraps the *bgp.Notification to send); errors that RFC 7606 handles
// more gently are reported in the Update.
func (d *Decoder) Decode(body []byte) (*Update, error) {
	u := &d.u
	for f := range u.Withdrawn {
		u.Withdrawn[f] = u.Withdrawn[f][:0]
		u.Announced[f] = u.Announced[f][:0]
		u.Attrs[f] = nil
		u.EndOfRIB[f] = false
	}
	u.TreatAsWithdraw = nil
	u.Discarded = u.Discarded[:0]

	if len(body) < 4 {
		return nil, updateErr(bgp.ErrSubMalformedAttrList, "UPDATE shorter than 4 octets")
	}
	wlen := int(binary.BigEndian.Uint16(body))
	if 2+wlen+2 > len(body) {
		return nil, updateErr(bgp.ErrSubMalformedAttrList, "withdrawn routes length %d overruns the message", wlen)
	}
	withdrawn := body[2 : 2+wlen]
	alen := int(binary.BigEndian.Uint16(body[2+wlen:]))
	if 4+wlen+alen > len(body) {
		return nil, updateErr(bgp.ErrSubMalformedAttrList, "total path attribute length %d overruns the message", alen)
	}
	attrs := body[4+wlen : 4+wlen+alen]
	nlri := body[4+wlen+alen:]

	var err error
	if u.Withdrawn[bgp.IPv4Unicast], err = parsePrefixes(u.Withdrawn[bgp.IPv4Unicast], withdrawn, false, d.AddPath[bgp.IPv4Unicast]); err != nil {
		return nil, updateErr(bgp.ErrSubInvalidNetworkField, "withdrawn routes: %v", err)
	}
	if u.Announced[bgp.IPv4Unicast], err = parsePrefixes(u.Announced[bgp.IPv4Unicast], nlri, false, d.AddPath[bgp.IPv4Unicast]); err != nil {
		return nil, updateErr(bgp.ErrSubInvalidNetworkField, "NLRI: %v", err)
	}
	if len(attrs) == 0 {
		if len(withdrawn) == 0 && len(nlri) == 0 {
			u.EndOfRIB[bgp.IPv4Unicast] = true
		}
		if len(nlri) > 0 {
			// NLRI without attributes: the mandatory ones are missing.
			u.TreatAsWithdraw = errors.New("NLRI present but no path attributes")
			u.Withdrawn[bgp.IPv4Unicast] = append(u.Withdrawn[bgp.IPv4Unicast], u.Announced[bgp.IPv4Unicast]...)
			u.Announced[bgp.IPv4Unicast] = u.Announced[bgp.IPv4Unicast][:0]
		}
		return u, nil
	}
	return d.decodeAttrs(u, attrs)
}

// decodeAttrs walks the path attributes, fills the per-family attribute
// sets and applies RFC 7606.
func (d *Decoder) decodeAttrs(u *Update, attrs []byte) (*Update, error) {
	d.a = bgp.Attrs{}
	d.segs = d.segs[:0]
	raw := d.scratch[:0]
	var (
		seen          [256]bool
		withdrawErr   error
		nh4           netip.Addr
		mpNH, mpNHLL  netip.Addr
		mpFam         = bgp.Family(255)
		mpSeen        bool
		as4path       []byte
		haveOrigin    bool
		haveASPath    bool
		haveNextHop   bool
		aspathRaw     []byte
		onlyMPUnreach = true
	)
	setTAW := func(e error) {
		if withdrawErr == nil {
			withdrawErr = e
		}
	}
	rest := attrs
	for len(rest) > 0 {
		if len(rest) < 3 || (rest[0]&FlagExtLen != 0 && len(rest) < 4) {
			setTAW(errors.New("fewer octets remain than an attribute header needs"))
			break
		}
		flags, typ := rest[0], rest[1]
		hl, l := 3, int(rest[2])
		if flags&FlagExtLen != 0 {
			hl, l = 4, int(binary.BigEndian.Uint16(rest[2:4]))
		}
		if hl+l > len(rest) {
			setTAW(fmt.Errorf("attribute %s length %d overruns the attribute list", attrName(typ), l))
			break
		}
		val := rest[hl : hl+l]
		rest = rest[hl+l:]
		if typ != AttrMPUnreach {
			onlyMPUnreach = false
		}
		if seen[typ] {
			if typ == AttrMPReach || typ == AttrMPUnreach {
				return nil, updateErr(bgp.ErrSubMalformedAttrList, "%s appears more than once", attrName(typ))
			}
			// RFC 7606 §3 g: discard all but the first.
			u.Discarded = append(u.Discarded, "duplicate "+attrName(typ))
			continue
		}
		seen[typ] = true
		if e := checkFlags(typ, flags); e != nil {
			if typ == AttrMPReach || typ == AttrMPUnreach {
				return nil, updateErr(bgp.ErrSubAttrFlags, "%v", e)
			}
			setTAW(e)
			continue
		}
		switch typ {
		case AttrOrigin:
			if l != 1 || val[0] > 2 {
				setTAW(&attrErr{typ: typ, msg: "length must be 1 and value 0-2"})
				continue
			}
			d.a.Origin = val[0]
			haveOrigin = true
			raw = appendAttr(raw, FlagTransitive, typ, val)
		case AttrASPath:
			aspathRaw = val
			haveASPath = true
		case AttrNextHop:
			if l != 4 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d, want 4", l)})
				continue
			}
			nh4 = netip.AddrFrom4([4]byte(val))
			haveNextHop = true
		case AttrMED:
			if l != 4 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d, want 4", l)})
				continue
			}
			d.a.MED, d.a.HasMED = binary.BigEndian.Uint32(val), true
			raw = appendAttr(raw, FlagOptional, typ, val)
		case AttrLocalPref:
			// Received over eBGP: ignored (RFC 4271 §5.1.5), never passed on.
			u.Discarded = append(u.Discarded, "LOCAL_PREF from an eBGP peer")
		case AttrAtomicAggregate:
			if l != 0 {
				u.Discarded = append(u.Discarded, "ATOMIC_AGGREGATE with non-zero length")
				continue
			}
			raw = appendAttr(raw, FlagTransitive, typ, val)
		case AttrAggregator:
			want := 6
			if d.FourOctetAS {
				want = 8
			}
			if l != want {
				u.Discarded = append(u.Discarded, fmt.Sprintf("AGGREGATOR of length %d (want %d)", l, want))
				continue
			}
			if !d.FourOctetAS {
				// Store canonically with a 4-octet AS.
				v := binary.BigEndian.AppendUint32(nil, uint32(binary.BigEndian.Uint16(val)))
				val = append(v, val[2:]...)
			}
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive|FlagPartial), typ, val)
		case AttrCommunities:
			if l%4 != 0 || l == 0 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d is not a positive multiple of 4", l)})
				continue
			}
			d.a.Communities = make([]uint32, l/4)
			for i := range d.a.Communities {
				d.a.Communities[i] = binary.BigEndian.Uint32(val[4*i:])
			}
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive|FlagPartial), typ, val)
		case AttrOriginatorID, AttrClusterList:
			// Route reflection attributes have no meaning over eBGP.
			u.Discarded = append(u.Discarded, attrName(typ)+" from an eBGP peer")
		case AttrMPReach:
			mpSeen = true
			fam, nh, ll, nlri, err := parseMPReach(val)
			if err != nil {
				return nil, updateErr(bgp.ErrSubOptionalAttr, "MP_REACH_NLRI: %v", err)
			}
			if fam == 255 {
				// A family we do not carry: ignore it entirely.
				continue
			}
			if u.Announced[fam], err = parsePrefixes(u.Announced[fam], nlri, fam == bgp.IPv6Unicast, d.AddPath[fam]); err != nil {
				return nil, updateErr(bgp.ErrSubOptionalAttr, "MP_REACH_NLRI: %v", err)
			}
			mpFam, mpNH, mpNHLL = fam, nh, ll
		case AttrMPUnreach:
			if l < 3 {
				return nil, updateErr(bgp.ErrSubOptionalAttr, "MP_UNREACH_NLRI shorter than 3 octets")
			}
			fam, ok := bgp.FamilyOf(binary.BigEndian.Uint16(val), val[2])
			if !ok {
				continue
			}
			var err error
			if u.Withdrawn[fam], err = parsePrefixes(u.Withdrawn[fam], val[3:], fam == bgp.IPv6Unicast, d.AddPath[fam]); err != nil {
				return nil, updateErr(bgp.ErrSubOptionalAttr, "MP_UNREACH_NLRI: %v", err)
			}
			if l == 3 {
				u.EndOfRIB[fam] = true
			}
		case AttrExtCommunities:
			if l%8 != 0 || l == 0 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d is not a positive multiple of 8", l)})
				continue
			}
			d.a.ExtCount = l / 8
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive|FlagPartial), typ, val)
		case AttrAS4Path:
			if d.FourOctetAS {
				// RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from a NEW speaker.
				u.Discarded = append(u.Discarded, "AS4_PATH from a 4-octet AS speaker")
				continue
			}
			as4path = val
		case AttrAS4Aggregator:
			if d.FourOctetAS || l != 8 {
				u.Discarded = append(u.Discarded, "AS4_AGGREGATOR")
				continue
			}
			// Merged into AGGREGATOR below if that exists; keep simple: discard.
			u.Discarded = append(u.Discarded, "AS4_AGGREGATOR (merged)")
		case AttrLargeCommunity:
			if l%12 != 0 || l == 0 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d is not a positive multiple of 12", l)})
				continue
			}
			d.a.Large = make([]bgp.Large, l/12)
			for i := range d.a.Large {
				v := val[12*i:]
				d.a.Large[i] = bgp.Large{Global: binary.BigEndian.Uint32(v), Local1: binary.BigEndian.Uint32(v[4:]), Local2: binary.BigEndian.Uint32(v[8:])}
			}
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive|FlagPartial), typ, val)
		case AttrOTC:
			if l != 4 {
				setTAW(&attrErr{typ: typ, msg: fmt.Sprintf("length %d, want 4", l)})
				continue
			}
			d.a.OTC, d.a.HasOTC = binary.BigEndian.Uint32(val), true
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive|FlagPartial), typ, val)
		default:
			if flags&FlagOptional == 0 {
				return nil, fmt.Errorf("%w: unrecognized well-known attribute type %d",
					&bgp.Notification{Code: bgp.ErrUpdate, Subcode: bgp.ErrSubUnrecognizedWK, Data: appendAttr(nil, flags&^FlagExtLen, typ, val)}, typ)
			}
			if flags&FlagTransitive == 0 {
				// Unknown optional non-transitive: quietly not passed on.
				continue
			}
			// Unknown optional transitive: passed on with Partial set.
			raw = appendAttr(raw, flags&(FlagOptional|FlagTransitive)|FlagPartial, typ, val)
		}
	}
	d.scratch = raw[:0]
	if onlyMPUnreach && !mpSeen {
		// MP_UNREACH only: a pure withdrawal (or End-of-RIB).
		return u, nil
	}
	hasNLRI := len(u.Announced[bgp.IPv4Unicast]) > 0 || mpFam != 255
	if !hasNLRI {
		// Nothing announced: attribute errors do not matter (§5.1... nothing to withdraw).
		return u, nil
	}
	if withdrawErr == nil && haveASPath {
		if err := d.decodeASPath(aspathRaw, as4path, u); err != nil {
			withdrawErr = err
		}
	}
	if withdrawErr == nil {
		switch {
		case !haveOrigin:
			withdrawErr = errors.New("missing well-known attribute ORIGIN")
		case !haveASPath:
			withdrawErr = errors.New("missing well-known attribute AS_PATH")
		case len(u.Announced[bgp.IPv4Unicast]) > 0 && !haveNextHop:
			withdrawErr = errors.New("missing well-known attribute NEXT_HOP")
		}
	}
	if withdrawErr != nil {
		u.TreatAsWithdraw = withdrawErr
		for f := range u.Announced {
			u.Withdrawn[f] = append(u.Withdrawn[f], u.Announced[f]...)
			u.Announced[f] = u.Announced[f][:0]
		}
		return u, nil
	}
	// Canonical AS_PATH (4-octet) goes into the raw attribute list, in
	// type order after ORIGIN.
	raw = d.insertASPath(raw)
	d.a.Discarded = nil
	if len(u.Announced[bgp.IPv4Unicast]) > 0 {
		a := d.a
		a.NextHop = nh4
		u.Attrs[bgp.IPv4Unicast] = d.Table.Intern(bgp.IPv4Unicast, raw, &a, d.segs)
	}
	if mpFam != 255 && len(u.Announced[mpFam]) > 0 {
		if mpFam == bgp.IPv4Unicast && len(u.Announced[bgp.IPv4Unicast]) > 0 && u.Attrs[mpFam] != nil {
			// IPv4 in both NLRI and MP_REACH: one set, the MP next hop wins
			// for all (RFC 4760 §2 leaves this to us; such UPDATEs are rare).
			u.Attrs[mpFam].Release()
		}
		a := d.a
		a.NextHop, a.NextHopLL = mpNH, mpNHLL
		u.Attrs[mpFam] = d.Table.Intern(mpFam, raw, &a, d.segs)
	}
	d.scratch = raw[:0]
	return u, nil
}

// checkFlags applies RFC 7606 §3 c to the attributes whose flags are fixed.
func checkFlags(typ, flags uint8) error {
	var want uint8
	switch typ {
	case AttrOrigin, AttrASPath, AttrNextHop, AttrLocalPref, AttrAtomicAggregate:
		want = FlagTransitive
	case AttrMED, AttrOriginatorID, AttrClusterList, AttrMPReach, AttrMPUnreach:
		want = FlagOptional
	case AttrAggregator, AttrCommunities, AttrExtCommunities, AttrAS4Path, AttrAS4Aggregator, AttrLargeCommunity, AttrOTC:
		want = FlagOptional | FlagTransitive
	default:
		return nil
	}
	if flags&(FlagOptional|FlagTransitive) != want {
		return &attrErr{typ: typ, msg: fmt.Sprintf("flags %#02x conflict with the attribute's type", flags)}
	}
	return nil
}

// appendAttr appends an attribute, choosing the extended length flag.
func appendAttr(b []byte, flags, typ uint8, val []byte) []byte {
	flags &^= FlagExtLen
	if len(val) > 255 {
		b = append(b, flags|FlagExtLen, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	} else {
		b = append(b, flags, typ, byte(len(val)))
	}
	return append(b, val...)
}

func attrName(t uint8) string {
	switch t {
	case AttrOrigin:
		return "ORIGIN"
	case AttrASPath:
		return "AS_PATH"
	case AttrNextHop:
		return "NEXT_HOP"
	case AttrMED:
		return "MULTI_EXIT_DISC"
	case AttrLocalPref:
		return "LOCAL_PREF"
	case AttrAtomicAggregate:
		return "ATOMIC_AGGREGATE"
	case AttrAggregator:
		return "AGGREGATOR"
	case AttrCommunities:
		return "COMMUNITIES"
	case AttrOriginatorID:
		return "ORIGINATOR_ID"
	case AttrClusterList:
		return "CLUSTER_LIST"
	case AttrMPReach:
		return "MP_REACH_NLRI"
	case AttrMPUnreach:
		return "MP_UNREACH_NLRI"
	case AttrExtCommunities:
		return "EXTENDED_COMMUNITIES"
	case AttrAS4Path:
		return "AS4_PATH"
	case AttrAS4Aggregator:
		return "AS4_AGGREGATOR"
	case AttrLargeCommunity:
		return "LARGE_COMMUNITY"
	case AttrOTC:
		return "OTC"
	}
	return fmt.Sprintf("type %d", t)
}
