package rib

import (
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// The 600,000-route RIB of BenchmarkDump600k: dumpMembers members;
// prefix i (a /24 in 10.0.0.0/8 and up) is announced by member
// i % dumpMembers and every third prefix also by the next member; one
// route in twenty is filtered. 450,000 prefixes, 600,000 routes. Every
// member's session is established and its writer has sent everything
// (so "exported" is the whole table less its own routes).
const (
	dumpMembers  = 8
	dumpPrefixes = 450_000
)

var (
	dumpOnce sync.Once
	dumpTR   *testRIB
)

func dumpPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 0}), 24)
}

// dumpRIB builds the benchmark RIB once per process.
func dumpRIB(b *testing.B) *testRIB {
	dumpOnce.Do(func() {
		tr := newTestRIB(b, dumpMembers)
		filtered := policy.Verdict{Filtered: uint64Reason(policy.ReasonBogonASN)}
		const batch = 1000
		for m := 0; m < dumpMembers; m++ {
			var ch []Change
			flush := func() {
				if len(ch) == 0 {
					return
				}
				a := tr.attrs(m, []uint32{uint32(64500 + m), uint32(len(ch) % 7)}, uint32(m))
				a.RetainN(int32(len(ch)) - 1)
				for i := range ch {
					ch[i].Attrs = a
				}
				tr.r.Apply(tr.srcs[m], ch)
				ch = ch[:0]
			}
			for i := 0; i < dumpPrefixes; i++ {
				if i%dumpMembers != m && !(i%3 == 0 && (i+1)%dumpMembers == m) {
					continue
				}
				c := Change{Family: bgp.IPv4Unicast, Prefix: dumpPrefix(i), Profile: tr.profile[m]}
				if i%20 == 7 {
					c.Verdict, c.Profile = filtered, nil
				}
				ch = append(ch, c)
				if len(ch) == batch {
					flush()
				}
			}
			flush()
		}
		buf := make([]byte, 0, 1<<20)
		for _, s := range tr.srcs {
			for len(tr.r.Fill(s, buf[:0], 1<<20)) > 0 {
			}
		}
		dumpTR = tr
	})
	if tot := dumpTR.r.Totals(); tot.Routes < 590_000 {
		b.Fatalf("benchmark RIB has %d routes, want about 600,000", tot.Routes)
	}
	return dumpTR
}

// fullDump visits every route of the RIB in prefix order, as an MRT dump
// or a birdwatcher table does, and returns how many it saw. (Before the
// chunked walk, the before.txt figures, it was RIB.Routes(all, 0, 0): one
// read lock for the whole table.)
func fullDump(r *RIB) int {
	n := 0
	r.Walk(Filter{Member: -1}, func(Route) bool { n++; return true })
	return n
}

// BenchmarkDump600k measures, with a 600,000-route RIB (8 members, every
// session established and synchronised), a full dump and one deep page of
// a member's received and exported routes, while another goroutine keeps
// applying single-route UPDATEs: max-apply-pause-ms is the longest an
// Apply took during the operations (how long routing stood still),
// p999-apply-ms the 99.9th percentile of an Apply's time (rounded up to
// a power of two of nanoseconds), applies/op how many UPDATEs went
// through per operation, and
// p99-lock-hold-ms and max-lock-hold-ms how long one chunk of the walk
// held the RIB's read lock (the max is where the machine preempted the
// walk while it held the lock: on a loaded 2-core VM, tens of ms). "idle" is the
// floor: the longest Apply while nothing else runs (on a busy 2-core
// machine, scheduling and GC pauses of tens of milliseconds).
//
// Run: go test -run '^$' -bench Dump600k -benchtime 10x ./routeserver/rib/
func BenchmarkDump600k(b *testing.B) {
	tr := dumpRIB(b)
	const member = 3
	ops := []struct {
		name string
		op   func(b *testing.B)
	}{
		// idle: no dump, 100 ms per operation: the pauses that come
		// from the machine (scheduling, GC), not from the RIB's lock.
		{"idle", func(b *testing.B) { time.Sleep(100 * time.Millisecond) }},
		{"full", func(b *testing.B) {
			if n := fullDump(tr.r); n < 590_000 {
				b.Fatalf("dump saw %d routes", n)
			}
		}},
		{"received-page", func(b *testing.B) {
			rs, total := tr.r.Routes(Filter{Member: member}, 60_000, 100)
			if len(rs) != 100 || total < 70_000 {
				b.Fatalf("received page: %d routes of %d", len(rs), total)
			}
		}},
		{"exported-page", func(b *testing.B) {
			hs, total, _ := tr.r.Held(member, HeldFilter{}, 300_000, 100)
			if len(hs) != 100 || total < 350_000 {
				b.Fatalf("exported page: %d routes of %d", len(hs), total)
			}
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			stop := make(chan struct{})
			done := make(chan struct{})
			var maxPause, applies atomic.Int64
			var hist [64]int64 // Apply latencies by power of two of ns; read after done
			var reset atomic.Bool
			go func() {
				defer close(done)
				src := tr.srcs[0]
				as := [2]*wire.AttrSet{tr.attrs(0, []uint32{64500, 1}, 0), tr.attrs(0, []uint32{64500, 2}, 0)}
				for i := 0; ; i++ {
					select {
					case <-stop:
						as[0].Release()
						as[1].Release()
						return
					default:
					}
					a := as[i&1]
					a.RetainN(1)
					ch := []Change{{Family: bgp.IPv4Unicast, Prefix: dumpPrefix(8 * (i % 1000)), Attrs: a, Profile: tr.profile[0]}}
					t0 := time.Now()
					tr.r.Apply(src, ch)
					d := int64(time.Since(t0))
					if d > maxPause.Load() {
						maxPause.Store(d)
					}
					hist[bits.Len64(uint64(d))]++
					if reset.Load() {
						clear(hist[:])
						maxPause.Store(0)
						applies.Store(0)
						reset.Store(false)
						continue
					}
					applies.Add(1)
				}
			}()
			// Let the writer goroutine start before the clock runs.
			for applies.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			reset.Store(true) // the writer starts counting afresh
			for reset.Load() {
				time.Sleep(time.Millisecond)
			}
			var holds []time.Duration
			tr.r.walkHook = func(d time.Duration) { holds = append(holds, d) }
			defer func() { tr.r.walkHook = nil }()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o.op(b)
			}
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(maxPause.Load())/1e6, "max-apply-pause-ms")
			var n, seen int64
			for _, c := range hist {
				n += c
			}
			for k, c := range hist {
				if seen += c; seen*1000 >= n*999 {
					b.ReportMetric(float64(uint64(1)<<k)/1e6, "p999-apply-ms")
					break
				}
			}
			b.ReportMetric(float64(applies.Load())/float64(b.N), "applies/op")
			if len(holds) > 0 {
				slices.Sort(holds)
				b.ReportMetric(float64(holds[len(holds)*99/100])/1e6, "p99-lock-hold-ms")
				b.ReportMetric(float64(holds[len(holds)-1])/1e6, "max-lock-hold-ms")
			}
		})
	}
}
