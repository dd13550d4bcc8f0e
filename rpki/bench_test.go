package rpki_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

// syntheticVRPs returns n VRPs shaped like the global RPKI: about 80 %
// IPv4 (mostly /24, maxLength usually equal to the length) and 20 % IPv6
// (mostly /48 and /32), with ASNs spread over the 32-bit space.
func syntheticVRPs(n int, seed uint64) []VRP {
	r := rand.New(rand.NewPCG(seed, 42))
	out := make([]VRP, 0, n)
	for len(out) < n {
		var v VRP
		if r.IntN(10) < 8 {
			var bits int
			switch x := r.IntN(100); {
			case x < 60:
				bits = 24
			case x < 75:
				bits = 22 + r.IntN(2)
			case x < 95:
				bits = 16 + r.IntN(6)
			default:
				bits = 8 + r.IntN(8)
			}
			a := r.Uint32()
			addr := netip.AddrFrom4([4]byte{byte(1 + a>>24%223), byte(a >> 16), byte(a >> 8), byte(a)})
			v.Prefix = netip.PrefixFrom(addr, bits).Masked()
			v.MaxLen = uint8(bits)
			if r.IntN(5) == 0 {
				v.MaxLen = uint8(max(bits, 24))
			}
		} else {
			var bits int
			switch x := r.IntN(100); {
			case x < 50:
				bits = 48
			case x < 65:
				bits = 32
			default:
				bits = 29 + r.IntN(19)
			}
			var b [16]byte
			b[0], b[1] = 0x20, byte(r.IntN(16))
			hi := r.Uint64()
			for i := 2; i < 8; i++ {
				b[i] = byte(hi >> (8 * i))
			}
			v.Prefix = netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
			v.MaxLen = uint8(bits)
			if r.IntN(5) == 0 {
				v.MaxLen = 48
			}
		}
		v.ASN = 1 + r.Uint32N(400000)
		if r.IntN(20) == 0 {
			v.ASN = 100000 + r.Uint32N(4000000000)
		}
		out = append(out, v)
	}
	return out
}

// lookupSet returns route prefixes under, near and outside the VRPs.
func lookupSet(vs []VRP, n int) ([]netip.Prefix, []uint32) {
	r := rand.New(rand.NewPCG(7, 7))
	ps := make([]netip.Prefix, n)
	os := make([]uint32, n)
	for i := range ps {
		v := vs[r.IntN(len(vs))]
		bits := min(v.Prefix.Addr().BitLen(), int(v.MaxLen)+r.IntN(2))
		ps[i] = netip.PrefixFrom(v.Prefix.Addr(), bits).Masked()
		os[i] = v.ASN
		if i%4 == 0 {
			os[i]++ // wrong origin: Invalid
		}
		if i%8 == 1 { // random prefix: mostly NotFound
			a := r.Uint32()
			ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
		}
	}
	return ps, os
}

const benchVRPs = 500_000

// BenchmarkNewVRPs builds a 500,000-VRP table from an unsorted slice.
func BenchmarkNewVRPs(b *testing.B) {
	vs := syntheticVRPs(benchVRPs, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewVRPs(vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchVRPs), "vrps")
}

// BenchmarkLoadJSON parses a 500,000-VRP rpki-client JSON file and builds
// the table: what a reload costs.
func BenchmarkLoadJSON(b *testing.B) {
	vs := syntheticVRPs(benchVRPs, 1)
	data, err := MarshalFeed(vs, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFeed(data)
		if err != nil {
			b.Fatal(err)
		}
		NewVRPsChecked(f.VRPs)
	}
}

// BenchmarkValidate measures ROV lookups against 500,000 VRPs on one core.
func BenchmarkValidate(b *testing.B) {
	vs := syntheticVRPs(benchVRPs, 1)
	tab, err := NewVRPs(vs)
	if err != nil {
		b.Fatal(err)
	}
	ps, os := lookupSet(vs, 1<<16)
	var states [3]int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (len(ps) - 1)
		states[tab.Validate(ps[j], os[j], true)]++
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkVerifyUpstream measures ASPA verification of a 5-AS path.
func BenchmarkVerifyUpstream(b *testing.B) {
	var as []ASPA
	for c := uint32(1); c < 100000; c++ {
		as = append(as, ASPA{Customer: c, Providers: []uint32{c + 1, c + 7, c + 100}})
	}
	tab := NewASPAs(as)
	path := []uint32{505, 500, 500, 499, 498, 497}
	b.ReportAllocs()
	for b.Loop() {
		tab.VerifyUpstream(path, false, 505)
	}
}

// BenchmarkTableMemory reports the heap bytes a 500,000-VRP table holds.
func BenchmarkTableMemory(b *testing.B) {
	vs := syntheticVRPs(benchVRPs, 1)
	var tab *VRPs
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tab = NewVRPsChecked(append([]VRP(nil), vs...))
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
	}
	b.ReportMetric(float64(tab.MemoryBytes())/(1<<20), "MiB-arrays")
	runtime.KeepAlive(tab)
}

// TestTableMemory logs the size of a 500,000-VRP table (no assertion:
// sizes are for the README).
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	vs := syntheticVRPs(benchVRPs, 1)
	tab := NewVRPsChecked(vs)
	v4, v6 := tab.Count()
	t.Logf("%d VRPs (%d IPv4, %d IPv6): table arrays %.1f MiB", tab.Len(), v4, v6, float64(tab.MemoryBytes())/(1<<20))
	data, _ := MarshalFeed(tab.Slice()[:10], nil)
	if !bytes.Contains(data, []byte(`"roas"`)) {
		t.Fatal("MarshalFeed output has no roas")
	}
}
