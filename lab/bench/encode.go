package bench

import (
	"fmt"
	"net/netip"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// MaxMessage is the BGP message size limit the speakers keep to (no
// extended messages).
const MaxMessage = 4096

// writeChunk is about how much a speaker writes at once.
const writeChunk = 64 << 10

// Encoded is a member's table in one family as UPDATE messages, encoded
// once before the run so that sending costs only the writes.
type Encoded struct {
	// Msgs holds the UPDATEs back to back.
	Msgs []byte
	// Cuts are offsets into Msgs at message boundaries, about writeChunk
	// apart, ending with len(Msgs): a speaker writes Msgs[Cuts[i]:Cuts[i+1]].
	Cuts []int
	// Updates counts the messages; Prefixes the NLRI they carry.
	Updates, Prefixes int
	// EoR is the family's End-of-RIB marker.
	EoR []byte
}

// Encode packs member m's prefixes of family f into UPDATEs: one group's
// prefixes share an attribute set, so they go into as few messages as the
// 4096-octet limit allows.
func (t *Table) Encode(f Family, m int) (*Encoded, error) {
	mem := &t.Members[m]
	mf := &mem.Fam[f]
	e := &Encoded{Cuts: []int{0}}
	eor := bgp.NewEndOfRib(bgp.RF_IPv4_UC)
	if f == IPv6 {
		eor = bgp.NewEndOfRib(bgp.RF_IPv6_UC)
	}
	var err error
	if e.EoR, err = eor.Serialize(); err != nil {
		return nil, err
	}
	if mf.Count == 0 {
		e.Cuts = append(e.Cuts, 0)
		return e, nil
	}
	for gi := range mf.Groups {
		g := &mf.Groups[gi]
		base, err := attrsLen(t.attrs(f, mem, &g.Attrs, nil))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", mem.Name, f, err)
		}
		// header, withdrawn length, attributes length, attributes
		budget := MaxMessage - 19 - 2 - 2 - base
		if f == IPv6 {
			// MP_REACH_NLRI: extended-length header, AFI, SAFI, next hop
			// length, next hop, reserved.
			budget -= 4 + 2 + 1 + 1 + 16 + 1
		}
		for rest := g.Prefixes; len(rest) > 0; {
			used, n := 0, 0
			for n < len(rest) {
				sz := 1 + (t.Prefix(f, int(rest[n])).Bits()+7)/8
				if used+sz > budget {
					break
				}
				used += sz
				n++
			}
			msg, err := t.update(f, mem, &g.Attrs, rest[:n])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", mem.Name, f, err)
			}
			if len(msg) > MaxMessage {
				return nil, fmt.Errorf("%s %s: encoded an UPDATE of %d octets, over %d", mem.Name, f, len(msg), MaxMessage)
			}
			e.Msgs = append(e.Msgs, msg...)
			e.Updates++
			e.Prefixes += n
			if len(e.Msgs)-e.Cuts[len(e.Cuts)-1] >= writeChunk {
				e.Cuts = append(e.Cuts, len(e.Msgs))
			}
			rest = rest[n:]
		}
	}
	// The probes: a route with another member's next hop, and a prefix
	// on no prefix list.
	for kind := range 2 {
		nh := mem.Addr[f]
		if kind == ProbeNextHop {
			nh = t.probeNextHop(f, m)
		}
		msg, err := probeUpdate(f, Probe(f, m, kind), mem.ASN, nh)
		if err != nil {
			return nil, err
		}
		e.Msgs = append(e.Msgs, msg...)
		e.Updates++
	}
	if e.Cuts[len(e.Cuts)-1] != len(e.Msgs) {
		e.Cuts = append(e.Cuts, len(e.Msgs))
	}
	return e, nil
}

func attrsLen(attrs []bgp.PathAttributeInterface) (int, error) {
	n := 0
	for _, a := range attrs {
		b, err := a.Serialize()
		if err != nil {
			return 0, err
		}
		n += len(b)
	}
	return n, nil
}

// nlri builds the codec's prefix for prefix number idx.
func (t *Table) nlri(f Family, idx int) bgp.AddrPrefixInterface {
	p := t.Prefix(f, idx)
	if f == IPv6 {
		return bgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())
	}
	return bgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())
}

// attrs returns a group's attributes in type order; for IPv6 the
// MP_REACH_NLRI carries nlri (nil: only to measure the rest).
func (t *Table) attrs(f Family, mem *Member, a *Attrs, nlri []bgp.AddrPrefixInterface) []bgp.PathAttributeInterface {
	out := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(a.Origin),
		bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, a.ASPath)}),
	}
	if f == IPv4 {
		out = append(out, bgp.NewPathAttributeNextHop(mem.Addr[IPv4].String()))
	}
	if a.HasMED {
		out = append(out, bgp.NewPathAttributeMultiExitDisc(a.MED))
	}
	if len(a.Communities) > 0 {
		out = append(out, bgp.NewPathAttributeCommunities(a.Communities))
	}
	if f == IPv6 && nlri != nil {
		out = append(out, bgp.NewPathAttributeMpReachNLRI(mem.Addr[IPv6].String(), nlri))
	}
	if len(a.Large) > 0 {
		var ls []*bgp.LargeCommunity
		for _, l := range a.Large {
			ls = append(ls, bgp.NewLargeCommunity(l[0], l[1], l[2]))
		}
		out = append(out, bgp.NewPathAttributeLargeCommunities(ls))
	}
	return out
}

// update encodes one UPDATE announcing prefixes with attributes a.
func (t *Table) update(f Family, mem *Member, a *Attrs, prefixes []int32) ([]byte, error) {
	var msg *bgp.BGPMessage
	if f == IPv4 {
		nlri := make([]*bgp.IPAddrPrefix, len(prefixes))
		for i, idx := range prefixes {
			nlri[i] = t.nlri(f, int(idx)).(*bgp.IPAddrPrefix)
		}
		msg = bgp.NewBGPUpdateMessage(nil, t.attrs(f, mem, a, nil), nlri)
	} else {
		nlri := make([]bgp.AddrPrefixInterface, len(prefixes))
		for i, idx := range prefixes {
			nlri[i] = t.nlri(f, int(idx))
		}
		msg = bgp.NewBGPUpdateMessage(nil, t.attrs(f, mem, a, nlri), nil)
	}
	return msg.Serialize()
}

// EncodeAnnounce encodes an UPDATE that (re-)announces prefix idx of
// family f with its group's attributes (churn).
func (t *Table) EncodeAnnounce(f Family, idx int) ([]byte, error) {
	mem := &t.Members[t.Owner(f, idx)]
	return t.update(f, mem, &t.GroupOf(f, idx).Attrs, []int32{int32(idx)})
}

// EncodeWithdraw encodes an UPDATE that withdraws prefix idx of family f.
func (t *Table) EncodeWithdraw(f Family, idx int) ([]byte, error) {
	if f == IPv6 {
		return bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{
			bgp.NewPathAttributeMpUnreachNLRI([]bgp.AddrPrefixInterface{t.nlri(f, idx)}),
		}, nil).Serialize()
	}
	return bgp.NewBGPUpdateMessage([]*bgp.IPAddrPrefix{t.nlri(f, idx).(*bgp.IPAddrPrefix)}, nil, nil).Serialize()
}

// probeUpdate encodes a probe: prefix p with AS_PATH [asn] and next hop nh.
func probeUpdate(f Family, p netip.Prefix, asn uint32, nh netip.Addr) ([]byte, error) {
	attrs := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(0),
		bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{asn})}),
	}
	if f == IPv6 {
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI(nh.String(),
			[]bgp.AddrPrefixInterface{bgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())}))
		return bgp.NewBGPUpdateMessage(nil, attrs, nil).Serialize()
	}
	attrs = append(attrs, bgp.NewPathAttributeNextHop(nh.String()))
	return bgp.NewBGPUpdateMessage(nil, attrs, []*bgp.IPAddrPrefix{bgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())}).Serialize()
}
