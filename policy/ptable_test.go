package policy

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/fedrs/fedrs/conf"
)

func randPrefix(r *rand.Rand, v6 bool, minBits, maxBits int) netip.Prefix {
	bits := minBits + r.IntN(maxBits-minBits+1)
	if !v6 {
		// A small address space so that prefixes nest often.
		a := [4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))}
		return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
	}
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
	a[4] = byte(r.IntN(4))
	for i := 5; i < 16; i++ {
		a[i] = byte(r.IntN(256))
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), bits).Masked()
}

// TestPTableCovering compares the covering entries found by the table
// (deepest entry, then parents) with a brute-force scan.
func TestPTableCovering(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v6 := range []bool{false, true} {
		lo, hi := 8, 32
		if v6 {
			lo, hi = 32, 128
		}
		var entries []pentry[int]
		for i := 0; i < 3000; i++ {
			entries = append(entries, pentry[int]{randPrefix(r, v6, lo, hi), i})
		}
		entries = append(entries, pentry[int]{entries[5].p, 99999}) // a duplicate prefix
		if !v6 {
			entries = append(entries, pentry[int]{netip.MustParsePrefix("0.0.0.0/0"), -1})
		}
		set := buildPSet(entries)
		fam := 0
		if v6 {
			fam = 1
		}
		tab := &set.fam[fam]
		for q := 0; q < 20000; q++ {
			p := randPrefix(r, v6, lo, hi)
			if q%7 == 0 {
				p = entries[r.IntN(len(entries))].p
			}
			var want []int
			for _, e := range entries {
				if e.p.Bits() <= p.Bits() && e.p.Contains(p.Addr()) {
					want = append(want, e.v)
				}
			}
			var got []int
			for i := tab.deepest(keyOf(p)); i >= 0; i = tab.parent[i] {
				if !tab.covers(i, keyOf(p)) {
					t.Fatalf("%s: entry %s on the parent chain does not cover it", p, tab.prefix(i, fam))
				}
				got = append(got, tab.payloads(i)...)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: covering %v, want %v", p, got, want)
			}
		}
		// prefix() inverts keyOf.
		for i := int32(0); i < int32(tab.len()); i++ {
			if p := tab.prefix(i, fam); keyOf(p) != (pkey{tab.hi[i], tab.lo[i], tab.bits[i]}) {
				t.Fatalf("prefix(%d) = %s does not round-trip", i, p)
			}
		}
	}
}

// TestBogonAndAllowSemantics checks the compiled bogon and allowed-prefix
// lookups against conf's reference semantics (MatchesBogon,
// PrefixRange.Contains).
func TestBogonAndAllowSemantics(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, preset := range conf.Presets {
		list := conf.BogonPrefixes(preset)
		var es []pentry[bogonPay]
		for _, b := range list {
			pay := bogonPay{uint8(b.Bits()), uint8(b.Addr().BitLen())}
			if b.Bits() == 0 {
				pay.hi = 0
			}
			es = append(es, pentry[bogonPay]{b, pay})
		}
		set := buildPSet(es)
		queries := append([]netip.Prefix{}, list...)
		for _, s := range []string{"0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/7", "10.1.0.0/16", "192.0.2.128/25", "192.0.0.0/16", "fe80::1/128", "2001:db8::/48", "2001:db8::/31", "100::/64", "100::/63", "127.0.0.1/32"} {
			queries = append(queries, netip.MustParsePrefix(s))
		}
		for i := 0; i < 5000; i++ {
			b := r.IntN(33)
			a := netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			queries = append(queries, netip.PrefixFrom(a, b).Masked())
		}
		for _, q := range queries {
			fam := family(q)
			tab := &set.fam[fam]
			got := false
			for i := tab.deepest(keyOf(q)); i >= 0 && !got; i = tab.parent[i] {
				for _, b := range tab.payloads(i) {
					if uint8(q.Bits()) >= b.lo && uint8(q.Bits()) <= b.hi {
						got = true
					}
				}
			}
			if want := conf.MatchesBogon(list, q); got != want {
				t.Errorf("%s: %s bogon = %v, want %v", preset, q, got, want)
			}
		}
	}

	var ranges []conf.PrefixRange
	for i := 0; i < 2000; i++ {
		p := randPrefix(r, false, 12, 26)
		pr := conf.PrefixRange{Prefix: p}
		switch r.IntN(4) {
		case 1:
			pr.LE = min(32, p.Bits()+r.IntN(8))
		case 2:
			pr.GE = min(32, p.Bits()+r.IntN(4))
		case 3:
			pr.GE = min(32, p.Bits()+r.IntN(3))
			pr.LE = min(32, pr.GE+r.IntN(5))
		}
		ranges = append(ranges, pr)
	}
	var es []pentry[allowPay]
	for _, pr := range ranges {
		lo, hi := pr.Bounds()
		es = append(es, pentry[allowPay]{pr.Prefix, allowPay{lo: uint8(lo), hi: uint8(hi)}})
	}
	set := buildPSet(es)
	for i := 0; i < 20000; i++ {
		q := randPrefix(r, false, 10, 32)
		want := false
		for _, pr := range ranges {
			if pr.Contains(q) {
				want = true
				break
			}
		}
		tab := &set.fam[0]
		got, _ := allowMatch(tab, tab.deepest(keyOf(q)), uint8(q.Bits()))
		if got != want {
			t.Fatalf("%s: allowed = %v, want %v", q, got, want)
		}
	}
}

func TestASNSet(t *testing.T) {
	r := func(a, b uint32) conf.ASNRange { return conf.ASNRange{Min: a, Max: b} }
	s := newASNSet([]conf.ASNRange{r(10, 20), r(5, 9), r(30, 30), r(15, 25), r(4294967295, 4294967295), r(100, 50)})
	want := asnSet{r(5, 25), r(30, 30), r(4294967295, 4294967295)}
	if !slices.Equal(s, want) {
		t.Fatalf("merged %v, want %v", s, want)
	}
	for asn, in := range map[uint32]bool{0: false, 4: false, 5: true, 17: true, 25: true, 26: false, 30: true, 31: false, 4294967294: false, 4294967295: true} {
		if s.has(asn) != in {
			t.Errorf("has(%d) = %v", asn, !in)
		}
	}
	if asnSet(nil).has(1) {
		t.Errorf("empty set has 1")
	}
}
