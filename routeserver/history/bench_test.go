package history_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// synth makes route events the way the RIB reports them, without a RIB:
// sources of members, a pool of interned attribute sets, prefixes.
type synth struct {
	srcs  []*rib.Source
	attrs []*wire.AttrSet
}

func newSynth(members, attrSets int) *synth {
	r := rib.New(wire.NewTable(), nil)
	s := &synth{}
	for m := 0; m < members; m++ {
		s.srcs = append(s.srcs, r.AddSource(m, fmt.Sprintf("m%d 192.0.2.%d", m, m+1), netip.AddrFrom4([4]byte{192, 0, 2, byte(m + 1)})))
	}
	t := r.Attrs()
	for i := 0; i < attrSets; i++ {
		m := i % members
		a := bgp.Attrs{ASPath: []uint32{4200001000 + uint32(m), 64600 + uint32(i%400)}, PathLen: 2,
			NextHop: netip.AddrFrom4([4]byte{192, 0, 2, byte(m + 1)}), MED: uint32(i), HasMED: i%3 == 0,
			Communities: []uint32{65000<<16 | uint32(i%100)}}
		raw := binary.BigEndian.AppendUint32([]byte{0x40, 1, 1, 0, 0xff}, uint32(i))
		s.attrs = append(s.attrs, t.Intern(bgp.IPv4Unicast, raw, &a, nil))
	}
	return s
}

// sessionsUp records an established session (both families) for each
// of the synth's members (named as the writer names members it has no
// configuration for): what is exported to a member counts only while it
// has one.
func (s *synth) sessionsUp(rec *history.Recorder) {
	for _, src := range s.srcs {
		rec.SessionUp(fmt.Sprintf("member-%d", src.Member), src.Addr.String(), &session.Negotiated{Families: [bgp.NumFamilies]bool{true, true}})
	}
}

func benchPrefix(i int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(11<<24)+uint32(i)<<8)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// event i of a churn over pool prefixes: round 0 announces every prefix,
// round 1 replaces the attributes, round 2 withdraws, and so on.
func (s *synth) emit(rec *history.Recorder, i, pool int) {
	p := i % pool
	round := i / pool
	src := s.srcs[p%len(s.srcs)]
	pfx := benchPrefix(p)
	ev := rib.RouteEvent{Source: src, Family: bgp.IPv4Unicast, Prefix: pfx, Cause: "update"}
	switch round % 3 {
	case 0, 1:
		ev.Attrs = s.attrs[(p*7+round)%len(s.attrs)]
		if p%50 == 0 {
			ev.Verdict.Filtered = ev.Verdict.Filtered.Add(policy.ReasonNextHop)
		}
	case 2:
		ev.Cause = "withdraw"
	}
	rec.RouteEvent(&ev)
	var exp []rib.Exposure
	if ev.Attrs != nil && ev.Verdict.Accepted() {
		var set policy.Bitset
		for m := range s.srcs {
			if m != src.Member && (m+round)%7 != 0 {
				set = set.Set(m)
			}
		}
		exp = []rib.Exposure{{Source: src, Members: set}}
	}
	rec.PrefixExposure(bgp.IPv4Unicast, pfx, exp)
}

// BenchmarkWriter measures sustained route events per second into SQLite:
// each route event comes with the exposure event the RIB sends after it
// (in the same queue slot), a churn of announce / replace /
// withdraw over 100,000 prefixes from 20 members. The producer waits when
// the queue is half full, so nothing is dropped and the figure is what the
// writer sustains (write-behind off: the producer never pauses for it).
func BenchmarkWriter(b *testing.B) {
	for _, exports := range []bool{true, false} {
		b.Run(fmt.Sprintf("exports=%v", exports), func(b *testing.B) {
			s := newSynth(20, 5000)
			rec, err := history.Open(filepath.Join(b.TempDir(), "h.db"), history.Options{Exports: exports, Queue: 1 << 17, WriteBehind: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer rec.Close()
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if i%1024 == 0 {
					for rec.Stats().Queue > 1<<16 {
						// Backpressure of the load generator, not a wait: it pauses while
						// the queue is over half full, so that no event is dropped.
						time.Sleep(200 * time.Microsecond)
					}
				}
				s.emit(rec, i, 100000)
			}
			if err := rec.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			el := time.Since(start)
			b.StopTimer()
			st := rec.Stats()
			if st.Dropped != 0 {
				b.Fatalf("%d events dropped", st.Dropped)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "route-events/s")
			b.ReportMetric(float64(st.DBSize)/float64(b.N), "db-B/event")
		})
	}
}

// BenchmarkJournal is BenchmarkWriter while the route server is busy:
// the writer journals the events (resolved to ids, packed, one row per
// batch) instead of inserting route versions, which is all that recording
// costs during a table load; it applies them later, once idle.
func BenchmarkJournal(b *testing.B) {
	s := newSynth(20, 5000)
	rec, err := history.Open(filepath.Join(b.TempDir(), "h.db"), history.Options{Exports: true, Queue: 1 << 17, WriteBehind: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	rec.SetBusy(func() bool { return true })
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			for rec.Stats().Queue > 1<<16 {
				// Backpressure of the load generator, not a wait: it pauses while
				// the queue is over half full, so that no event is dropped.
				time.Sleep(200 * time.Microsecond)
			}
		}
		s.emit(rec, i, 100000)
	}
	for st := rec.Stats(); st.Journaled < int64(b.N) && st.Dropped == 0; st = rec.Stats() {
		// Part of the measured time: polled every 200 µs so that the poll
		// does not blur the figure (rstest.Until polls every 5 ms).
		time.Sleep(200 * time.Microsecond)
	}
	el := time.Since(start)
	b.StopTimer()
	if st := rec.Stats(); st.Dropped != 0 {
		b.Fatalf("%d events dropped", st.Dropped)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "route-events/s")
}

// BenchmarkPrefixHistory10M answers "the history of one prefix" from a
// database of 10 million route versions (1,000,000 prefixes × 10 versions
// each, with their exposure intervals, from 20 members). The database is
// built once through the recorder (a few minutes) and kept in the
// temporary directory for later runs; FEDRS_BENCH_REBUILD=1 rebuilds it.
// Run: go test -run x -bench PrefixHistory10M -benchtime 2000x ./routeserver/history/
func BenchmarkPrefixHistory10M(b *testing.B) {
	const pool, events = 1_000_000, 10_000_000
	path := filepath.Join(os.TempDir(), fmt.Sprintf("fedrs-bench-history-10M-v%d.db", history.SchemaVersion))
	if _, err := os.Stat(path); err != nil || os.Getenv("FEDRS_BENCH_REBUILD") != "" {
		b.Logf("building %s (%d route events)", path, events)
		tmp := path + ".tmp"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		s := newSynth(20, 5000)
		rec, err := history.Open(tmp, history.Options{Exports: true, Queue: 1 << 17, WriteBehind: -1})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < events; i++ {
			if i%1024 == 0 {
				for rec.Stats().Queue > 1<<16 {
					// Backpressure of the load generator, not a wait: it pauses while
					// the queue is over half full, so that no event is dropped.
					time.Sleep(200 * time.Microsecond)
				}
			}
			s.emit(rec, i, pool)
		}
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	rd, err := history.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	ctx := context.Background()
	info, err := rd.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if info.Routes < events*2/3 {
		b.Fatalf("%s holds %d route versions, want about %d: rebuild it", path, info.Routes, events*2/3)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	versions := 0
	for i := 0; i < b.N; i++ {
		vs, err := rd.Versions(ctx, history.Query{Prefix: benchPrefix(rng.IntN(pool))})
		if err != nil {
			b.Fatal(err)
		}
		if len(vs) == 0 {
			b.Fatal("no versions")
		}
		versions += len(vs)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
	b.ReportMetric(float64(versions)/float64(b.N), "versions/query")
	b.ReportMetric(float64(info.Routes), "route-versions")
}

// BenchmarkRecorderHooks is the cost the history adds to the RIB's
// critical path: one route event and its prefix's exposure queued (the
// writer holds them back, as during a table load).
// Run: go test -run x -bench RecorderHooks ./routeserver/history/
func BenchmarkRecorderHooks(b *testing.B) {
	s := newSynth(20, 5000)
	rec, err := history.Open(filepath.Join(b.TempDir(), "h.db"), history.Options{Exports: true, Queue: 1 << 22, WriteBehind: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	rec.SetBusy(func() bool { return true })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.emit(rec, i%(1<<21), 1<<21)
	}
	b.StopTimer()
	if st := rec.Stats(); st.Dropped != 0 {
		b.Fatalf("%d events dropped", st.Dropped)
	}
}
