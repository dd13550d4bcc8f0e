package bench

import (
	"errors"
	"fmt"
	"net/netip"
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
