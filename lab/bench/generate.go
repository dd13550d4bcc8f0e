package bench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
)

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
