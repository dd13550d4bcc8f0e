package rib

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

func walkPrefix(i int) string {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24).String()
}

// TestWalkYieldsToRouting: a full walk releases the RIB's lock between
// chunks (the hook between two chunks finds the lock free and applies
// UPDATEs), sees the changes made meanwhile to prefixes it has not read
// yet, and is consistent per prefix (each prefix once, in order, its
// routes read together with one best among them).
func TestWalkYieldsToRouting(t *testing.T) {
	tr := newTestRIB(t, 3)
	n := 3*walkChunk + 100
	var ps []string
	for i := 0; i < n; i++ {
		ps = append(ps, walkPrefix(i))
	}
	tr.announce(0, tr.attrs(0, []uint32{100, 1}, 0), tr.profile[0], ps...)
	tr.announce(1, tr.attrs(1, []uint32{200, 2}, 0), tr.profile[1], ps...)

	last, gone := netip.MustParsePrefix(ps[n-1]), netip.MustParsePrefix(ps[n-2])
	hooks := 0
	tr.r.walkHook = func(time.Duration) {
		hooks++
		if !tr.r.mu.TryLock() {
			t.Fatalf("between two chunks of a walk (hook %d) the RIB's lock is still held: routing would wait", hooks)
		}
		tr.r.mu.Unlock()
		if hooks == 1 {
			// Routing goes on: member 2 announces the last prefix
			// (shorter path: the new best) and the one before it is
			// withdrawn by both members.
			tr.announce(2, tr.attrs(2, []uint32{300}, 0), tr.profile[2], last.String())
			tr.withdraw(0, gone.String())
			tr.withdraw(1, gone.String())
		}
		// Every chunk boundary: member 0 flaps its route of prefix 0
		// (already read or not: either way one consistent entry).
		tr.announce(0, tr.attrs(0, []uint32{100, uint32(hooks)}, 0), tr.profile[0], ps[0])
	}
	var got []Route
	tr.r.Walk(Filter{Member: -1}, func(r Route) bool { got = append(got, r); return true })
	tr.r.walkHook = nil

	// Pass one reads n entries in ⌈n/walkChunk⌉ chunks, pass two as many
	// prefixes: the lock was released after every chunk of each pass.
	chunks := (n + walkChunk - 1) / walkChunk
	if hooks < 2*chunks {
		t.Errorf("the walk released the lock %d times; want at least %d (every %d entries)", hooks, 2*chunks, walkChunk)
	}
	byPrefix := map[netip.Prefix][]Route{}
	var order []netip.Prefix
	for _, r := range got {
		if l := len(order); l == 0 || order[l-1] != r.Prefix {
			if _, dup := byPrefix[r.Prefix]; dup {
				t.Fatalf("%s appears twice, not as one entry", r.Prefix)
			}
			order = append(order, r.Prefix)
		}
		byPrefix[r.Prefix] = append(byPrefix[r.Prefix], r)
	}
	if !slices.IsSortedFunc(order, comparePrefix) {
		t.Error("walk not in prefix order")
	}
	if _, ok := byPrefix[gone]; ok {
		t.Errorf("%s was withdrawn before the walk read it, but the walk shows it", gone)
	}
	if len(order) != n-1 {
		t.Errorf("walk saw %d prefixes, want %d", len(order), n-1)
	}
	for p, rs := range byPrefix {
		best := 0
		for _, r := range rs {
			if r.Best {
				best++
			}
		}
		want := 2
		if p == last {
			want = 3
		}
		if len(rs) != want || best != 1 {
			t.Errorf("%s: %d routes with %d best; want %d routes, one best", p, len(rs), best, want)
		}
	}
	if rs := byPrefix[last]; len(rs) == 3 {
		for _, r := range rs {
			if r.Best != (r.Source.Member == 2) {
				t.Errorf("%s: the best is not member 2's route, announced before the walk read the prefix", last)
			}
		}
	}
}

// TestRoutesPagesMatchReference: pages of Routes, Held and Exportable
// (chunked, with their totals) are the slices of the whole list, which is
// the list the table gives when read in one go, for both families.
func TestRoutesPagesMatchReference(t *testing.T) {
	tr := newTestRIB(t, 3)
	n := walkChunk + 300
	var ps []string
	for i := 0; i < n; i++ {
		ps = append(ps, walkPrefix(n-i)) // announced out of order
	}
	tr.announce(0, tr.attrs(0, []uint32{100}, 0), tr.profile[0], ps...)
	tr.announce(1, tr.attrs(1, []uint32{200, 1}, 0), tr.profile[1], ps[:n/2]...)
	filtered := []Change{}
	for i := 0; i < n; i += 7 {
		a := tr.attrs(2, []uint32{300}, 0)
		filtered = append(filtered, Change{Family: bgp.IPv4Unicast, Prefix: netip.MustParsePrefix(ps[i]), Attrs: a,
			Verdict: policy.Verdict{Filtered: uint64Reason(policy.ReasonBogonASN)}})
	}
	v4 := tr.attrs(2, []uint32{300}, 0)
	a6 := v4.Attrs
	a6.NextHop = netip.MustParseAddr("2001:db8::3")
	for i := 0; i < 50; i++ {
		a := tr.r.Attrs().Intern(bgp.IPv6Unicast, v4.Raw(), &a6, nil)
		filtered = append(filtered, Change{Family: bgp.IPv6Unicast, Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, byte(50 - i)}), 48),
			Attrs: a, Profile: tr.profile[2]})
	}
	v4.Release()
	tr.r.Apply(tr.srcs[2], filtered)
	for i := range tr.srcs {
		tr.drain(t, i)
	}

	// reference: the table read in one go under the lock.
	reference := func(flt Filter) []Route {
		tr.r.mu.RLock()
		defer tr.r.mu.RUnlock()
		var out []Route
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if flt.HasFamily && flt.Family != f {
				continue
			}
			t := tr.r.tables[f]
			var idxs []uint32
			for idx := uint32(1); int(idx) < t.limit(); idx++ {
				if t.entry(idx).head != 0 {
					idxs = append(idxs, idx)
				}
			}
			slices.SortFunc(idxs, func(a, b uint32) int { return comparePrefix(t.prefix(a), t.prefix(b)) })
			for _, idx := range idxs {
				for ci := t.entry(idx).head; ci != 0; ci = tr.r.cands[ci].next {
					if tr.r.matches(&flt, ci) {
						out = append(out, tr.r.view(f, idx, ci))
					}
				}
			}
		}
		return out
	}
	key := func(r Route) string { return fmt.Sprintf("%s/%d/%d/%v", r.Prefix, r.Source.Member, r.PathID, r.Best) }
	same := func(what string, got, want []Route) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d routes, want %d", what, len(got), len(want))
		}
		for i := range got {
			if key(got[i]) != key(want[i]) {
				t.Fatalf("%s: route %d is %s, want %s", what, i, key(got[i]), key(want[i]))
			}
		}
	}
	for _, flt := range []Filter{
		{Member: -1}, {Member: 0}, {Member: 2}, {Member: 2, Filtered: true}, {Member: -1, Accepted: true},
		{Member: -1, HasFamily: true, Family: bgp.IPv6Unicast}, {Source: tr.srcs[1], Member: -1},
	} {
		all := reference(flt)
		var walked []Route
		tr.r.Walk(flt, func(r Route) bool { walked = append(walked, r); return true })
		same(fmt.Sprintf("Walk(%+v)", flt), walked, all)
		for _, pg := range [][2]int{{0, 0}, {0, 100}, {len(all) - 10, 100}, {walkChunk - 5, 50}, {len(all) + 5, 10}, {3, 1}} {
			rs, total := tr.r.Routes(flt, pg[0], pg[1])
			if total != len(all) {
				t.Fatalf("Routes(%+v, %d, %d): total %d, want %d", flt, pg[0], pg[1], total, len(all))
			}
			want := all[min(pg[0], len(all)):]
			if pg[1] > 0 {
				want = want[:min(len(want), pg[1])]
			}
			same(fmt.Sprintf("Routes(%+v, %d, %d)", flt, pg[0], pg[1]), rs, want)
		}
	}

	// Held and Exportable: member 1 holds every prefix but those where
	// only its own route is accepted (none here) — compare pages with the
	// whole list.
	hall, htotal, _ := tr.r.Held(1, HeldFilter{}, 0, 0)
	eall, etotal := tr.r.Exportable(1, 0, 0)
	if htotal != len(hall) || etotal != len(eall) || htotal != etotal || htotal != n+50 {
		t.Fatalf("member 1 holds %d (total %d), exportable %d (total %d); want %d", len(hall), htotal, len(eall), etotal, n+50)
	}
	for i := range hall {
		if key(hall[i].Route) != key(eall[i]) {
			t.Fatalf("held %d is %s, exportable %s", i, key(hall[i].Route), key(eall[i]))
		}
		if i > 0 && comparePrefix(hall[i-1].Prefix, hall[i].Prefix) >= 0 {
			t.Fatalf("held not in prefix order at %d", i)
		}
	}
	for _, pg := range [][2]int{{0, 100}, {n - 20, 100}, {walkChunk + 1, 7}} {
		hs, total, _ := tr.r.Held(1, HeldFilter{}, pg[0], pg[1])
		es, etotal := tr.r.Exportable(1, pg[0], pg[1])
		want := hall[pg[0]:min(len(hall), pg[0]+pg[1])]
		if total != htotal || etotal != htotal || len(hs) != len(want) || len(es) != len(want) {
			t.Fatalf("Held/Exportable(1, %d, %d): %d/%d routes (total %d/%d), want %d of %d", pg[0], pg[1], len(hs), len(es), total, etotal, len(want), htotal)
		}
		for i := range hs {
			if key(hs[i].Route) != key(want[i].Route) || key(es[i]) != key(want[i].Route) {
				t.Fatalf("Held/Exportable(1, %d, %d) route %d: %s / %s, want %s", pg[0], pg[1], i, key(hs[i].Route), key(es[i]), key(want[i].Route))
			}
		}
	}
}

// TestSelectRange: the selected page is the sorted slice of the sorted
// keys, for pages at the start, middle and end, small and large.
func TestSelectRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 10, 1000, 20000} {
		keys := make([]skey, n)
		seen := map[uint64]bool{}
		for i := range keys {
			v := rng.Uint64() >> 8
			for seen[v] {
				v = rng.Uint64() >> 8
			}
			seen[v] = true
			keys[i] = skey{hi: v, idx: uint32(i)}
		}
		sorted := slices.Clone(keys)
		slices.SortFunc(sorted, cmpSkey)
		for _, r := range [][2]int{{0, 1}, {0, n}, {n / 2, n/2 + 1}, {n - 1, n}, {n / 3, min(n, n/3+100)}, {n * 3 / 4, n}} {
			k := slices.Clone(keys)
			selectRange(k, r[0], r[1])
			if !slices.Equal(k[r[0]:r[1]], sorted[r[0]:r[1]]) {
				t.Fatalf("n=%d: selectRange(%d, %d) does not give the sorted page", n, r[0], r[1])
			}
		}
	}
}

// TestWalkConcurrentWithApply: walks and pages run while another goroutine
// keeps applying UPDATEs (run it with -race): every prefix comes once, in
// order, with its routes as they were at one moment (members 0 and 1
// always, member 2's at most once, exactly one best).
func TestWalkConcurrentWithApply(t *testing.T) {
	tr := newTestRIB(t, 3)
	n := 3*walkChunk + 17
	var ps []string
	for i := 0; i < n; i++ {
		ps = append(ps, walkPrefix(i))
	}
	tr.announce(0, tr.attrs(0, []uint32{100, 1}, 0), tr.profile[0], ps...)
	tr.announce(1, tr.attrs(1, []uint32{200, 2}, 0), tr.profile[1], ps...)
	tr.drain(t, 2) // member 2 holds every prefix (members 0 and 1 never withdraw)
	stop, done := make(chan struct{}), make(chan struct{})
	applied := 0
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := ps[(i*7919)%n]
			switch i % 3 {
			case 0: // member 2 announces a shorter path: the new best
				tr.announce(2, tr.attrs(2, []uint32{300}, 0), tr.profile[2], p)
			case 1: // member 0 changes its path
				tr.announce(0, tr.attrs(0, []uint32{100, uint32(i)}, 0), tr.profile[0], p)
			default:
				tr.withdraw(2, p)
			}
			applied++
		}
	}()
	check := func(rs []Route) {
		t.Helper()
		seen := map[netip.Prefix]bool{}
		for i := 0; i < len(rs); {
			j := i
			var members [3]int
			best := 0
			for ; j < len(rs) && rs[j].Prefix == rs[i].Prefix; j++ {
				members[rs[j].Source.Member]++
				if rs[j].Best {
					best++
				}
			}
			p := rs[i].Prefix
			if seen[p] || (i > 0 && comparePrefix(rs[i-1].Prefix, p) >= 0) {
				t.Fatalf("%s out of order or twice", p)
			}
			seen[p] = true
			if members[0] != 1 || members[1] != 1 || members[2] > 1 || best != 1 {
				t.Fatalf("%s read torn: routes per member %v, %d best", p, members, best)
			}
			i = j
		}
		if len(seen) != n {
			t.Fatalf("saw %d prefixes, want %d", len(seen), n)
		}
	}
	for round := 0; round < 3; round++ {
		var rs []Route
		tr.r.Walk(Filter{Member: -1}, func(r Route) bool { rs = append(rs, r); return true })
		check(rs)
		all, total := tr.r.Routes(Filter{Member: 0}, 0, 0)
		page, ptotal := tr.r.Routes(Filter{Member: 0}, n/2, 10)
		if total != n || len(all) != n || ptotal != n || len(page) != 10 {
			t.Fatalf("member 0: %d routes (total %d), page of %d (total %d); want %d and 10", len(all), total, len(page), ptotal, n)
		}
		if hs, htotal, _ := tr.r.Held(2, HeldFilter{}, n-5, 10); htotal != n || len(hs) != 5 {
			t.Fatalf("member 2 holds %d prefixes, the last page has %d; want %d and 5", htotal, len(hs), n)
		}
	}
	close(stop)
	<-done
	if applied == 0 {
		t.Fatal("no UPDATE applied while the walks ran")
	}
}
