package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/rpki"
)

// rpkiTables adapts the rpki package's tables to the RPKI interface, as
// the route server does.
type rpkiTables struct {
	vrps  *rpki.VRPs
	aspas *rpki.ASPAs
}

func (r *rpkiTables) ROV(p netip.Prefix, origin uint32, ok bool) ROVState {
	switch r.vrps.Validate(p, origin, ok) {
	case rpki.Valid:
		return ROVValid
	case rpki.Invalid:
		return ROVInvalid
	}
	return ROVNotFound
}

func (r *rpkiTables) ASPA(path []uint32, hasSet bool, neighbor uint32) ASPAState {
	switch r.aspas.VerifyUpstream(path, hasSet, neighbor) {
	case rpki.PathValid:
		return ASPAValid
	case rpki.PathInvalid:
		return ASPAInvalid
	}
	return ASPAUnknown
}

// benchSetup is a 50-member federation in which member 0 has a 10,000
// entry prefix list, every member registers three prefixes, and RPKI holds
// 100,000 VRPs (one per prefix-list entry among them) and 1,000 ASPAs.
type benchSetup struct {
	cfg      *conf.Config
	e        *Engine
	accept   []benchRoute // accepted routes of member 0
	filtered []benchRoute // filtered routes of member 0
}

type benchRoute struct {
	p netip.Prefix
	a *bgp.Attrs
}

const benchMembers = 50

var benchOnce = sync.OnceValues(func() (*benchSetup, error) { return newBenchSetup() })

func newBenchSetup() (*benchSetup, error) {
	r := rand.New(rand.NewPCG(7, 7))
	cfg := &conf.Config{
		Server: conf.Server{ASN: 4200065000, RouterID: netip.MustParseAddr("192.0.2.1")},
		Groups: []conf.Group{{Name: "nhs", ID: 1}, {Name: "council", ID: 2}},
	}
	for i := 0; i < benchMembers; i++ {
		m := conf.Member{
			Name:      fmt.Sprintf("m%02d", i),
			ASN:       4200001000 + uint32(i),
			Neighbors: []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::%x", 10+i))},
			Groups:    []string{[]string{"nhs", "council"}[i%2]},
		}
		for j := 0; j < 3; j++ {
			m.Prefixes = append(m.Prefixes, conf.PrefixRange{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j * 64), 0}), 18), LE: 24})
		}
		m.BlackholeReceive = i%5 == 0
		cfg.Members = append(cfg.Members, m)
	}
	var vrps []rpki.VRP
	seen := map[netip.Prefix]bool{}
	list := make([]conf.PrefixRange, 0, 10000)
	for len(list) < 10000 {
		a := r.Uint32()
		addr := netip.AddrFrom4([4]byte{byte(1 + a>>24%223), byte(a >> 16), byte(a >> 8), 0})
		if addr.As4()[0] == 10 || addr.As4()[0] == 127 || addr.As4()[0] >= 224 || addr.As4()[0] == 0 {
			continue
		}
		bits := 20 + r.IntN(5)
		p := netip.PrefixFrom(addr, bits).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		pr := conf.PrefixRange{Prefix: p}
		if r.IntN(3) == 0 {
			pr.LE = 24
		}
		list = append(list, pr)
		_, hi := pr.Bounds()
		vrps = append(vrps, rpki.VRP{Prefix: p, MaxLen: uint8(hi), ASN: cfg.Members[0].ASN})
	}
	cfg.Members[0].PrefixList = conf.NewPrefixList(list)
	for len(vrps) < 100000 {
		a := r.Uint32()
		bits := 16 + r.IntN(9)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + a>>24%223), byte(a >> 16), byte(a >> 8), byte(a)}), bits).Masked()
		vrps = append(vrps, rpki.VRP{Prefix: p, MaxLen: uint8(bits), ASN: 1 + r.Uint32N(400000)})
	}
	var aspas []rpki.ASPA
	for i := 0; i < 1000; i++ {
		aspas = append(aspas, rpki.ASPA{Customer: 1 + r.Uint32N(400000), Providers: []uint32{1 + r.Uint32N(400000)}})
	}
	aspas = append(aspas, rpki.ASPA{Customer: cfg.Members[0].ASN, Providers: []uint32{4200065001}})
	cfg.ApplyDefaults()
	if err := conf.Validate(cfg); err != nil {
		return nil, err
	}
	vt, err := rpki.NewVRPs(vrps)
	if err != nil {
		return nil, err
	}
	e, err := New(cfg, &rpkiTables{vt, rpki.NewASPAs(aspas)})
	if err != nil {
		return nil, err
	}
	s := &benchSetup{cfg: cfg, e: e}
	m0 := cfg.Members[0]
	for i := 0; i < 1024; i++ {
		pr := list[r.IntN(len(list))]
		p := pr.Prefix
		if lo, hi := pr.Bounds(); hi > lo {
			// A random more specific inside the range.
			bits := lo + r.IntN(hi-lo+1)
			a4 := p.Addr().As4()
			v := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
			v |= r.Uint32() >> p.Bits()
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits).Masked()
		}
		a := &bgp.Attrs{
			ASPath:      []uint32{m0.ASN},
			PathLen:     1,
			NextHop:     m0.Neighbors[0],
			Communities: []uint32{64512<<16 | 100},
			Large:       []bgp.Large{{Global: m0.ASN, Local1: 1, Local2: 1}},
		}
		if i%3 == 0 {
			a.ASPath = []uint32{m0.ASN, m0.ASN}
			a.PathLen = 2
		}
		s.accept = append(s.accept, benchRoute{p, a})
	}
	for i := 0; i < 1024; i++ {
		a := &bgp.Attrs{ASPath: []uint32{m0.ASN}, PathLen: 1, NextHop: m0.Neighbors[0]}
		var p netip.Prefix
		switch i % 4 {
		case 0: // another member's registered prefix: hijack
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(1 + r.IntN(benchMembers-1)), byte(r.IntN(256)), 0}), 24)
		case 1: // not in the prefix list
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(r.IntN(256)), 0}), 24)
		case 2: // member leak
			p = list[r.IntN(len(list))].Prefix
			a.ASPath = []uint32{m0.ASN, cfg.Members[3].ASN}
			a.PathLen = 2
		case 3: // wrong next hop
			p = list[r.IntN(len(list))].Prefix
			a.NextHop = netip.MustParseAddr("192.0.2.250")
		}
		s.filtered = append(s.filtered, benchRoute{p.Masked(), a})
	}
	for _, rt := range s.accept {
		if v := e.Import(0, rt.p, rt.a); !v.Accepted() {
			return nil, fmt.Errorf("benchmark accept route %s filtered: %v\n%s", rt.p, v.Filtered.Reasons(), e.Explain(0, rt.p, rt.a, -1))
		}
	}
	for _, rt := range s.filtered {
		if v := e.Import(0, rt.p, rt.a); v.Accepted() {
			return nil, fmt.Errorf("benchmark filter route %s accepted", rt.p)
		}
	}
	return s, nil
}

func bench(tb testing.TB) *benchSetup {
	tb.Helper()
	s, err := benchOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestImportNoAlloc: the accept path (and the filter path) of Import does
// not allocate, with real RPKI tables.
func TestImportNoAlloc(t *testing.T) {
	s := bench(t)
	i := 0
	if n := testing.AllocsPerRun(2000, func() {
		rt := s.accept[i%len(s.accept)]
		i++
		s.e.Import(0, rt.p, rt.a)
	}); n != 0 {
		t.Errorf("Import (accept path) allocates %.1f times per call", n)
	}
	if n := testing.AllocsPerRun(2000, func() {
		rt := s.filtered[i%len(s.filtered)]
		i++
		s.e.Import(0, rt.p, rt.a)
	}); n != 0 {
		t.Errorf("Import (filter path) allocates %.1f times per call", n)
	}
}

func BenchmarkImportAccept(b *testing.B) {
	s := bench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rt := s.accept[i%len(s.accept)]
		s.e.Import(0, rt.p, rt.a)
	}
}

func BenchmarkImportAcceptNoRPKI(b *testing.B) {
	s := bench(b)
	e, err := New(s.cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rt := s.accept[i%len(s.accept)]
		e.Import(0, rt.p, rt.a)
	}
}

func BenchmarkImportFilter(b *testing.B) {
	s := bench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rt := s.filtered[i%len(s.filtered)]
		s.e.Import(0, rt.p, rt.a)
	}
}

// BenchmarkProfile50 computes a route's export profile and asks it about
// all 50 targets, for attribute sets without and with action communities.
func BenchmarkProfile50(b *testing.B) {
	s := bench(b)
	m0 := s.cfg.Members[0]
	for _, c := range []struct {
		name string
		a    *bgp.Attrs
	}{
		{"plain", &bgp.Attrs{ASPath: []uint32{m0.ASN}, PathLen: 1, Communities: []uint32{64512<<16 | 1}}},
		{"actions", &bgp.Attrs{ASPath: []uint32{m0.ASN}, PathLen: 1, Large: []bgp.Large{
			{Global: 4200065000, Local1: 0, Local2: 0}, {Global: 4200065000, Local1: 11, Local2: 1}, {Global: 4200065000, Local1: 0, Local2: s.cfg.Members[2].ASN},
			{Global: 4200065000, Local1: 102, Local2: s.cfg.Members[4].ASN}, {Global: 4200065000, Local1: 65281, Local2: s.cfg.Members[6].ASN},
		}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				p := s.e.Profile(0, c.a, 0)
				for t := 0; t < benchMembers; t++ {
					if p.Allows(t) && p.VariantFor(t) == 0 {
						n++
					}
				}
			}
			_ = n
		})
	}
	// The per-target decisions alone, on a computed profile.
	b.Run("allows-only", func(b *testing.B) {
		p := s.e.Profile(0, &bgp.Attrs{ASPath: []uint32{m0.ASN}, PathLen: 1}, 0)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for t := 0; t < benchMembers; t++ {
				if p.Allows(t) {
					n += int(p.VariantFor(t))
				}
			}
		}
		_ = n
	})
}

func BenchmarkRewrite(b *testing.B) {
	s := bench(b)
	m0 := s.cfg.Members[0]
	a := &bgp.Attrs{ASPath: []uint32{m0.ASN}, PathLen: 1, NextHop: m0.Neighbors[0],
		Communities: []uint32{64512<<16 | 1, 0<<16 | 4567},
		Large:       []bgp.Large{{Global: m0.ASN, Local1: 1, Local2: 1}, {Global: 4200065000, Local1: 102, Local2: s.cfg.Members[4].ASN}},
	}
	mods := Mods(0).WithROV(ROVValid).WithASPA(ASPAUnknown).WithRegistry(RegistryOwned)
	b.ReportAllocs()
	for b.Loop() {
		s.e.Rewrite(0, a, mods, 2|VariantNoExport)
	}
}

func BenchmarkExplain(b *testing.B) {
	s := bench(b)
	rt := s.accept[0]
	b.ReportAllocs()
	for b.Loop() {
		s.e.Explain(0, rt.p, rt.a, 3)
	}
}

func BenchmarkNew(b *testing.B) {
	s := bench(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(s.cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
