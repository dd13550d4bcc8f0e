package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Family is an address family of the benchmark: each member has one
// session per family.
type Family uint8

// The families.
const (
	IPv4 Family = iota
	IPv6
)

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// addrBits is the family's address length.
func (f Family) addrBits() int {
	if f == IPv6 {
		return 128
	}
	return 32
}

// LengthShare is the share of a member's prefixes that have a length.
type LengthShare struct {
	Bits  int
	Share float64
}

// The prefix-length mixes, shaped like the public tables' (IPv4: 60% /24,
// 13% /22, 10% /23, then /21 to /16; IPv6: half /48, 11% /32, 10% /44 ...).
// Shares are floored per member; the main length (/24, /48) takes the rest.
var (
	MixV4 = []LengthShare{{16, .015}, {17, .010}, {18, .015}, {19, .025}, {20, .045}, {21, .05}, {22, .13}, {23, .10}}
	MixV6 = []LengthShare{{29, .02}, {32, .11}, {33, .02}, {36, .04}, {40, .07}, {42, .02}, {44, .10}, {45, .02}, {46, .05}, {47, .03}}
)

// mainBits is the length that takes what the mix leaves.
func (f Family) mainBits() int {
	if f == IPv6 {
		return 48
	}
	return 24
}

func (f Family) mix() []LengthShare {
	if f == IPv6 {
		return MixV6
	}
	return MixV4
}

// PathLengthShares[i] is the share of AS_PATHs of i+1 ASes (before the
// occasional prepend), roughly what an IXP member's table looks like.
var PathLengthShares = [8]float64{.15, .25, .25, .17, .09, .05, .025, .015}

// AS numbers of the benchmark.
const (
	// RSASN is the route server's AS.
	RSASN = 4200000000
	// FirstMemberASN is member 1's AS; member i has FirstMemberASN+i-1.
	FirstMemberASN = 4200001001
	// Transit and origin ASes behind the member are drawn from
	// [MinPathASN, MaxPathASN) (23456, AS_TRANS, excluded).
	MinPathASN = 2000
	MaxPathASN = 60000
	// MaxMembers bounds the member count (addresses are 198.18.x.y).
	MaxMembers = 1000
)

// Shares of the RPKI outcome per prefix: a VRP that matches (valid), a VRP
// for another origin (invalid), none (not found).
const (
	shareValid   = 0.50
	shareInvalid = 0.015
)

// TableOptions size a Table.
type TableOptions struct {
	Members    int
	PrefixesV4 int // per member
	PrefixesV6 int // per member
	Seed       uint64
	// Loopback gives the members IPv4 addresses on 127.1.0.0/16 instead
	// of the benchmark LAN's, for in-process runs without namespaces
	// (IPv4 only: the loopback has one IPv6 address).
	Loopback bool
}

// Table is the benchmark's load: every member's prefixes, grouped by
// shared attributes, and the VRP set. Prefixes are numbered per family
// from 0: member m (from 0) owns [m×P, (m+1)×P) where P is the family's
// per-member count. Every member has the same layout of lengths in its own
// address block, so a prefix's number follows from its address and length
// (Lookup) without a map.
type Table struct {
	Options TableOptions
	Members []Member
	VRPs    []VRP
	fam     [2]famData
}

// famData is one family's shared data.
type famData struct {
	perMember int
	classes   []class // the per-member layout, largest prefixes first
	byBits    [129]int8
	align     uint64
	size      uint64   // a member block's size, in hi units
	starts    []uint64 // each member block's start, ascending
	invalid   []uint64 // bitset over prefix numbers: RPKI invalid
	group     []int32  // prefix number → group within its member
	valid     int      // prefixes that are not invalid
}

// class is one prefix length inside a member block.
type class struct {
	bits  int
	count int
	first int    // number of the class's first prefix within the member
	rel   uint64 // offset of the class inside the member block
}

// Member is one synthetic member.
type Member struct {
	Index int // from 0
	Name  string
	ASN   uint32
	// Addr is the member's address per family (its session's source and
	// the NEXT_HOP it announces).
	Addr [2]netip.Addr
	Fam  [2]MemberFamily
}

// MemberFamily is a member's table in one family.
type MemberFamily struct {
	First, Count int // the member's prefix numbers
	Invalid      int // how many of them are RPKI invalid
	Groups       []Group
	start        uint64
}

// Group is a set of a member's prefixes announced with one attribute set.
type Group struct {
	Attrs    Attrs
	Prefixes []int32 // prefix numbers
}

// Attrs are a group's path attributes besides NEXT_HOP.
type Attrs struct {
	Origin      uint8 // 0 IGP, 2 INCOMPLETE
	ASPath      []uint32
	HasMED      bool
	MED         uint32
	Communities []uint32
	Large       [][3]uint32
}

// OriginAS is the last AS of the path.
func (a *Attrs) OriginAS() uint32 { return a.ASPath[len(a.ASPath)-1] }

// VRP is a validated ROA payload.
type VRP struct {
	Prefix netip.Prefix
	MaxLen int
	ASN    uint32
}

// Family bases and limits of the member blocks, as 64-bit "hi" values: an
// IPv4 address in the top 32 bits, the top 64 bits of an IPv6 address.
var (
	baseV4  = uint64(1) << 56      // 1.0.0.0
	limitV4 = uint64(223) << 56    // 223.0.0.0 (223/8 holds the probes)
	baseV6  = uint64(0x2a00) << 48 // 2a00::
	limitV6 = uint64(0x2c00) << 48 // 2c00:: (2c00::/16 holds the probes)
	reserv4 = []netip.Prefix{      // never used for member blocks
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("192.88.99.0/24"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
)

// hiOf returns an address's hi value.
func hiOf(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8])
}

// prefixOf builds a prefix from a hi value.
func prefixOf(f Family, hi uint64, bits int) netip.Prefix {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(hi>>32))
		return netip.PrefixFrom(netip.AddrFrom4(b), bits)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}

// unit is the hi-space size of a prefix of length bits.
func unit(bits int) uint64 { return uint64(1) << (64 - bits) }

// Probes are two routes per member and family that every route server must
// filter, to show that each applies the policy: ProbeNextHop is on the
// member's prefix list but announced with another member's address as
// NEXT_HOP; ProbeList is on no list. Neither is in the table, so a member
// that receives one counts it as unexpected and never converges.
const (
	ProbeNextHop = 0
	ProbeList    = 1
)

// Probe returns member m's probe prefix of kind (ProbeNextHop or
// ProbeList) in family f: 223.x.y.0/24 and 2c00:0:n::/48.
func Probe(f Family, m, kind int) netip.Prefix {
	n := uint64(2*m + kind)
	if f == IPv6 {
		return prefixOf(f, uint64(0x2c00)<<48|n<<16, 48)
	}
	return prefixOf(f, uint64(223)<<56|n<<40, 24)
}

// probeNextHop is the wrong NEXT_HOP of member m's next-hop probe: the
// next member's address (or an unused LAN address with one member).
func (t *Table) probeNextHop(f Family, m int) netip.Addr {
	if len(t.Members) > 1 {
		return t.Members[(m+1)%len(t.Members)].Addr[f]
	}
	if f == IPv6 {
		return netip.MustParseAddr("2001:db8:ffff::3")
	}
	return netip.MustParseAddr("198.18.0.3")
}

// MemberAddr returns member i's (from 0) address in family f:
// 198.18.(1+i/250).(1+i%250) and 2001:db8:ffff::1:(i+1).
func MemberAddr(i int, f Family) netip.Addr {
	if f == IPv6 {
		return netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::1:%x", i+1))
	}
	return netip.AddrFrom4([4]byte{198, 18, byte(1 + i/250), byte(1 + i%250)})
}

// The route server's addresses and the RTR server's (on the members' side).
var (
	RSAddr4  = netip.MustParseAddr("198.18.0.1")
	RSAddr6  = netip.MustParseAddr("2001:db8:ffff::1")
	RTRAddr4 = netip.MustParseAddr("198.18.0.2")
	LANBits4 = 16
	LANBits6 = 64
)

// RSAddr returns the route server's address in family f.
func RSAddr(f Family) netip.Addr {
	if f == IPv6 {
		return RSAddr6
	}
	return RSAddr4
}

// NewTable generates the table for o; the same options give the same table.
func NewTable(o TableOptions) (*Table, error) {
	if o.Members < 1 || o.Members > MaxMembers {
		return nil, fmt.Errorf("members: %d, want 1-%d", o.Members, MaxMembers)
	}
	if o.PrefixesV4 < 0 || o.PrefixesV6 < 0 || o.PrefixesV4+o.PrefixesV6 == 0 {
		return nil, fmt.Errorf("prefixes per member: %d IPv4 and %d IPv6, want at least one", o.PrefixesV4, o.PrefixesV6)
	}
	t := &Table{Options: o, Members: make([]Member, o.Members)}
	for i := range t.Members {
		m := &t.Members[i]
		m.Index, m.Name, m.ASN = i, "m"+strconv.Itoa(i+1), FirstMemberASN+uint32(i)
		m.Addr = [2]netip.Addr{MemberAddr(i, IPv4), MemberAddr(i, IPv6)}
		if o.Loopback {
			m.Addr[IPv4] = netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(1 + i%250)})
		}
	}
	for _, f := range []Family{IPv4, IPv6} {
		n := o.PrefixesV4
		if f == IPv6 {
			n = o.PrefixesV6
		}
		if n == 0 {
			continue
		}
		if err := t.layout(f, n); err != nil {
			return nil, err
		}
		for i := range t.Members {
			t.generate(f, i)
		}
	}
	return t, nil
}

// layout places the per-member classes and every member's block.
func (t *Table) layout(f Family, n int) error {
	fd := &t.fam[f]
	fd.perMember = n
	for i := range fd.byBits {
		fd.byBits[i] = -1
	}
	rest := n
	counts := map[int]int{}
	for _, s := range f.mix() {
		c := int(float64(n) * s.Share)
		counts[s.Bits] = c
		rest -= c
	}
	counts[f.mainBits()] += rest
	bitsList := make([]int, 0, len(counts))
	for b, c := range counts {
		if c > 0 {
			bitsList = append(bitsList, b)
		}
	}
	sort.Ints(bitsList)
	var off uint64
	first := 0
	for _, b := range bitsList {
		fd.byBits[b] = int8(len(fd.classes))
		fd.classes = append(fd.classes, class{bits: b, count: counts[b], first: first, rel: off})
		off += uint64(counts[b]) * unit(b)
		first += counts[b]
	}
	fd.size = off
	fd.align = unit(bitsList[0])
	if f == IPv4 && fd.align < unit(16) {
		fd.align = unit(16)
	}
	base, limit := baseV4, limitV4
	if f == IPv6 {
		base, limit = baseV6, limitV6
	}
	cur := base
	for i := range t.Members {
		s := alignUp(cur, fd.align)
		if f == IPv4 {
			for moved := true; moved; {
				moved = false
				for _, r := range reserv4 {
					rs, re := hiOf(r.Addr()), hiOf(r.Addr())+unit(r.Bits())
					if s < re && s+fd.size > rs {
						s, moved = alignUp(re, fd.align), true
					}
				}
			}
		}
		if s+fd.size > limit || s+fd.size < s {
			return fmt.Errorf("%d members × %d %s prefixes do not fit the benchmark's address space (%s to %s): use fewer members or prefixes",
				len(t.Members), n, f, prefixOf(f, base, 8).Addr(), prefixOf(f, limit, 8).Addr())
		}
		fd.starts = append(fd.starts, s)
		m := &t.Members[i].Fam[f]
		m.First, m.Count, m.start = i*n, n, s
		cur = s + fd.size
	}
	total := n * len(t.Members)
	fd.invalid = make([]uint64, (total+63)/64)
	fd.group = make([]int32, total)
	return nil
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) / a * a }

// generate builds member i's groups and VRPs in family f.
func (t *Table) generate(f Family, i int) {
	fd := &t.fam[f]
	m := &t.Members[i]
	mf := &m.Fam[f]
	r := rand.New(rand.NewPCG(t.Options.Seed, uint64(i)<<1|uint64(f)))
	perm := r.Perm(mf.Count)
	maxBits := 24
	if f == IPv6 {
		maxBits = 48
	}
	for len(perm) > 0 {
		n := min(groupSize(r), len(perm))
		g := Group{Attrs: genAttrs(r, m.ASN)}
		if len(mf.Groups) == 0 {
			// The member's own address space: a tenth of its prefixes
			// with one attribute set (the UPDATEs that fill 4096 octets).
			n = max(1, mf.Count/10)
			g.Attrs = Attrs{ASPath: []uint32{m.ASN}}
		}
		gi := int32(len(mf.Groups))
		for _, rel := range perm[:n] {
			idx := mf.First + rel
			g.Prefixes = append(g.Prefixes, int32(idx))
			fd.group[idx] = gi
			p := t.Prefix(f, idx)
			switch x := r.Float64(); {
			case x < shareValid:
				ml := p.Bits()
				if r.Float64() < 0.2 {
					ml = min(ml+1+r.IntN(2), max(maxBits, ml))
				}
				t.VRPs = append(t.VRPs, VRP{Prefix: p, MaxLen: ml, ASN: g.Attrs.OriginAS()})
			case x < shareValid+shareInvalid:
				other := randASN(r)
				for other == g.Attrs.OriginAS() {
					other = randASN(r)
				}
				t.VRPs = append(t.VRPs, VRP{Prefix: p, MaxLen: p.Bits(), ASN: other})
				fd.invalid[idx/64] |= 1 << (idx % 64)
				mf.Invalid++
			}
		}
		perm = perm[n:]
		mf.Groups = append(mf.Groups, g)
	}
	fd.valid += mf.Count - mf.Invalid
}

// groupSize draws how many prefixes share an attribute set: mostly one,
// sometimes dozens (mean about 4.4). Besides, a tenth of each member's
// prefixes, its own, share one set.
func groupSize(r *rand.Rand) int {
	switch x := r.Float64(); {
	case x < .55:
		return 1
	case x < .83:
		return 2 + r.IntN(3)
	case x < .96:
		return 5 + r.IntN(12)
	}
	return 17 + r.IntN(48)
}

func randASN(r *rand.Rand) uint32 {
	a := uint32(MinPathASN + r.IntN(MaxPathASN-MinPathASN))
	if a == 23456 {
		a++
	}
	return a
}

// genAttrs draws a group's attributes: an AS_PATH of 1-8 ASes starting
// with the member's (10% with the member's AS prepended once or twice),
// ORIGIN IGP (88%) or INCOMPLETE, a MED on a quarter, standard communities
// on a third, large ones on 8%.
func genAttrs(r *rand.Rand, asn uint32) Attrs {
	var a Attrs
	x := r.Float64()
	n := 8
	for i, s := range PathLengthShares {
		if x < s {
			n = i + 1
			break
		}
		x -= s
	}
	a.ASPath = append(make([]uint32, 0, 8), asn)
	for len(a.ASPath) < n {
		a.ASPath = append(a.ASPath, randASN(r))
	}
	if n <= 6 && r.Float64() < 0.10 {
		for k := 1 + r.IntN(2); k > 0; k-- {
			a.ASPath = append([]uint32{asn}, a.ASPath...)
		}
	}
	if r.Float64() < 0.12 {
		a.Origin = 2
	}
	if r.Float64() < 0.25 {
		a.HasMED, a.MED = true, uint32(r.IntN(1000))
	}
	if r.Float64() < 0.35 {
		for k := 1 + r.IntN(6); k > 0; k-- {
			g := randASN(r)
			if len(a.ASPath) > 1 && a.ASPath[1] != asn {
				g = a.ASPath[1]
			}
			a.Communities = append(a.Communities, g<<16|uint32(r.IntN(65536)))
		}
	}
	if r.Float64() < 0.08 {
		for k := 1 + r.IntN(2); k > 0; k-- {
			a.Large = append(a.Large, [3]uint32{asn, uint32(1 + r.IntN(3)), uint32(r.IntN(1000))})
		}
	}
	return a
}

// Count is the number of prefixes of family f over all members.
func (t *Table) Count(f Family) int { return t.fam[f].perMember * len(t.Members) }

// PerMember is the number of prefixes each member announces in family f.
func (t *Table) PerMember(f Family) int { return t.fam[f].perMember }

// Routes is the number of routes the route server receives: every
// member's prefixes in both families.
func (t *Table) Routes() int { return t.Count(IPv4) + t.Count(IPv6) }

// Invalid reports whether prefix idx of family f is RPKI invalid.
func (t *Table) Invalid(f Family, idx int) bool {
	return t.fam[f].invalid[idx/64]&(1<<(idx%64)) != 0
}

// Expected is the number of routes of family f member m should receive:
// every other member's prefixes that are not RPKI invalid.
func (t *Table) Expected(f Family, m int) int {
	if t.fam[f].perMember == 0 {
		return 0
	}
	mf := &t.Members[m].Fam[f]
	return t.fam[f].valid - (mf.Count - mf.Invalid)
}

// Owner returns the member that announces prefix idx of family f.
func (t *Table) Owner(f Family, idx int) int { return idx / t.fam[f].perMember }

// GroupOf returns the group of prefix idx within its owner's family table.
func (t *Table) GroupOf(f Family, idx int) *Group {
	return &t.Members[t.Owner(f, idx)].Fam[f].Groups[t.fam[f].group[idx]]
}

// Prefix returns prefix number idx of family f.
func (t *Table) Prefix(f Family, idx int) netip.Prefix {
	fd := &t.fam[f]
	m, rel := idx/fd.perMember, idx%fd.perMember
	c := &fd.classes[len(fd.classes)-1]
	for k := range fd.classes {
		if rel < fd.classes[k].first+fd.classes[k].count {
			c = &fd.classes[k]
			break
		}
	}
	hi := fd.starts[m] + c.rel + uint64(rel-c.first)*unit(c.bits)
	return prefixOf(f, hi, c.bits)
}

// Lookup returns the number of the prefix with address hi (see hiOf) and
// length bits in family f, and its owner; ok is false for a prefix that
// is not in the table.
func (t *Table) Lookup(f Family, hi uint64, bits int) (idx, owner int, ok bool) {
	fd := &t.fam[f]
	if bits < 0 || bits > 64 || fd.perMember == 0 {
		return 0, 0, false
	}
	ci := fd.byBits[bits]
	if ci < 0 {
		return 0, 0, false
	}
	s := fd.starts
	lo, hiI := 0, len(s)
	for lo < hiI { // first block starting after hi
		mid := int(uint(lo+hiI) >> 1)
		if s[mid] <= hi {
			lo = mid + 1
		} else {
			hiI = mid
		}
	}
	if lo == 0 {
		return 0, 0, false
	}
	m := lo - 1
	off := hi - s[m]
	c := &fd.classes[ci]
	if off < c.rel {
		return 0, 0, false
	}
	off -= c.rel
	u := unit(bits)
	k := off / u
	if off%u != 0 || k >= uint64(c.count) {
		return 0, 0, false
	}
	return m*fd.perMember + c.first + int(k), m, true
}

// Size is one benchmark size: members, and prefixes per member and family.
type Size struct {
	Members    int `json:"members"`
	PrefixesV4 int `json:"prefixes_v4"`
	PrefixesV6 int `json:"prefixes_v6"`
}

// String names the size as the command line does, by members and IPv4
// prefixes: "20x5000".
func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Members, s.PrefixesV4) }

// Routes is the number of routes the route server holds at this size.
func (s Size) Routes() int { return s.Members * (s.PrefixesV4 + s.PrefixesV6) }

// ParseSizes reads "NxP[+Q],..." : N members, each announcing P IPv4
// prefixes and Q IPv6 prefixes (default P×v6ratio, rounded).
func ParseSizes(list string, v6ratio float64) ([]Size, error) {
	var out []Size
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ns, rest, ok := strings.Cut(s, "x")
		if !ok {
			return nil, fmt.Errorf("size %q: want MEMBERSxPREFIXES[+IPV6PREFIXES], e.g. 20x5000", s)
		}
		ps, v6s, hasV6 := strings.Cut(rest, "+")
		n, err1 := strconv.Atoi(ns)
		p, err2 := strconv.Atoi(ps)
		if err1 != nil || err2 != nil || n < 1 || p < 0 {
			return nil, fmt.Errorf("size %q: want MEMBERSxPREFIXES[+IPV6PREFIXES] with positive numbers, e.g. 20x5000", s)
		}
		if n > MaxMembers {
			return nil, fmt.Errorf("size %q: at most %d members", s, MaxMembers)
		}
		q := int(float64(p)*v6ratio + 0.5)
		if hasV6 {
			if q, err1 = strconv.Atoi(v6s); err1 != nil || q < 0 {
				return nil, fmt.Errorf("size %q: IPv6 prefixes after '+' must be a number", s)
			}
		}
		if p+q == 0 {
			return nil, fmt.Errorf("size %q: no prefixes", s)
		}
		out = append(out, Size{Members: n, PrefixesV4: p, PrefixesV6: q})
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes given")
	}
	return out, nil
}
