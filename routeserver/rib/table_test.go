package rib

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestTableAgainstMap drives the open-addressing index with random
// inserts and removals and compares it with a map after every step.
func TestTableAgainstMap(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		var tb famTable
		if v6 {
			tb = newTable(keyV6, hashV6)
		} else {
			tb = newTable(keyV4, hashV4)
		}
		ref := map[netip.Prefix]uint32{}
		rng := rand.New(rand.NewPCG(3, 4))
		randPrefix := func() netip.Prefix {
			// A small space so that removals and re-inserts collide.
			if v6 {
				var a [16]byte
				a[0], a[1], a[5] = 0x20, 0x01, byte(rng.IntN(64))
				return netip.PrefixFrom(netip.AddrFrom16(a), 48)
			}
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(8)), byte(rng.IntN(256)), 0}), 24)
		}
		for step := 0; step < 60000; step++ {
			p := randPrefix()
			if rng.IntN(3) == 0 {
				if idx, ok := ref[p]; ok {
					tb.remove(idx)
					delete(ref, p)
				}
			} else {
				idx := tb.insert(p)
				if old, ok := ref[p]; ok && old != idx {
					t.Fatalf("step %d: %v re-inserted at %d, was %d", step, p, idx, old)
				}
				ref[p] = idx
				if got := tb.prefix(idx); got != p {
					t.Fatalf("step %d: index %d holds %v, want %v", step, idx, got, p)
				}
			}
			if step%997 == 0 {
				if tb.len() != len(ref) {
					t.Fatalf("step %d: len %d, want %d", step, tb.len(), len(ref))
				}
				for k := 0; k < 200; k++ {
					q := randPrefix()
					if _, in := ref[q]; !in {
						if _, ok := tb.find(q); ok {
							t.Fatalf("step %d: removed %v still found", step, q)
						}
					}
				}
				for q, idx := range ref {
					if got, ok := tb.find(q); !ok || got != idx {
						t.Fatalf("step %d: find(%v) = %d %v, want %d", step, q, got, ok, idx)
					}
				}
			}
		}
	}
}
