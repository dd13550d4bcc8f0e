package routeserver

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// benchFed builds a server for members × prefixes without sockets: the
// UPDATE bodies each member would send, pre-encoded.
type benchFed struct {
	srv     *Server
	nbrs    []*neighbor
	updates [][][]byte // per member
	routes  int
}

func memberAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{192, 0, 2 + byte(i/250), byte(i%250 + 1)})
}

func newBenchFed(tb testing.TB, members, prefixes int, opts Options) *benchFed {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nasn = 4200000000\nrouter_id = \"10.255.255.254\"\ncontrol = \"\"\n")
	for i := 0; i < members; i++ {
		// Member i owns 10.i.0.0/16 … as many /16s as its prefixes need
		// (/24s), expressed as one aggregate with le 24.
		fmt.Fprintf(&b, "[[member]]\nname = \"m%d\"\nasn = %d\nneighbors = [\"%s\"]\npassive = true\n"+
			"prefixes = [\"%s le 24\"]\norigin_asns = [\"%d\", \"64600-64999\"]\n",
			i, 4200001000+i, memberAddr(i), memberBlock(i, prefixes), 4200001000+i)
	}
	cfg, err := conf.Parse([]byte(b.String()), "bench.toml")
	if err != nil {
		tb.Fatal(err)
	}
	opts.Log = discardLog()
	srv, err := New(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	f := &benchFed{srv: srv}
	for i := 0; i < members; i++ {
		n := srv.nbrs[memberAddr(i)]
		f.nbrs = append(f.nbrs, n)
		f.updates = append(f.updates, memberUpdates(i, prefixes, uint32(4200001000+i), memberAddr(i)))
	}
	f.routes = members * prefixes
	return f
}

// memberBlock is the aggregate holding member i's prefixes: /24s from
// 11.0.0.0/8 upward, prefixes/256 /16s per member (rounded up to a power
// of two).
func memberBlock(i, prefixes int) netip.Prefix {
	n16 := (prefixes + 255) / 256
	bits := 16
	for 1<<(16-bits) < n16 {
		bits--
	}
	base := uint32(11)<<24 + uint32(i)<<(32-bits)
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], base)
	return netip.PrefixFrom(netip.AddrFrom4(a), bits)
}

// memberUpdates encodes a member's table as a router sends it: groups of
// 1-16 consecutive /24s sharing an attribute set, AS_PATHs of the member
// plus 0-4 customer ASes (as in the public table), a MED on some.
func memberUpdates(i, prefixes int, asn uint32, nh netip.Addr) [][]byte {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	base := binary.BigEndian.Uint32(memberBlock(i, prefixes).Addr().AsSlice())
	var out [][]byte
	for p := 0; p < prefixes; {
		n := min(1+rng.IntN(16), prefixes-p)
		path := []uint32{asn}
		for k := rng.IntN(5); k > 0; k-- {
			path = append(path, 64600+uint32(rng.IntN(400)))
		}
		var attrs []byte
		attrs = append(attrs, wire.FlagTransitive, wire.AttrOrigin, 1, 0)
		seg := []byte{2, byte(len(path))}
		for _, as := range path {
			seg = binary.BigEndian.AppendUint32(seg, as)
		}
		attrs = append(attrs, wire.FlagTransitive, wire.AttrASPath, byte(len(seg)))
		attrs = append(attrs, seg...)
		nhb := nh.As4()
		attrs = append(attrs, wire.FlagTransitive, wire.AttrNextHop, 4)
		attrs = append(attrs, nhb[:]...)
		if rng.IntN(3) == 0 {
			attrs = append(attrs, wire.FlagOptional, wire.AttrMED, 4, 0, 0, 0, byte(rng.IntN(200)))
		}
		body := []byte{0, 0, byte(len(attrs) >> 8), byte(len(attrs))}
		body = append(body, attrs...)
		for k := 0; k < n; k++ {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], base+uint32(p+k)<<8)
			body = wire.AppendNLRI(body, netip.PrefixFrom(netip.AddrFrom4(a), 24), 0, false)
		}
		out = append(out, body)
		p += n
	}
	return out
}

// up brings every neighbour's session up in the RIB without sockets.
func (f *benchFed) up() {
	for i, n := range f.nbrs {
		neg := &session.Negotiated{PeerASN: n.cfg.PeerASN, PeerID: memberAddr(i), FourOctetAS: true,
			RemoteAddr: netip.AddrPortFrom(memberAddr(i), 179), Families: [bgp.NumFamilies]bool{true, true}}
		n.neg = neg
		n.dec = &wire.Decoder{FourOctetAS: true, Table: f.srv.attrs}
		n.sendFam = neg.Families
		f.srv.rib.SessionUp(n.src, neg, neg.Families, func() {})
	}
}

// ingest feeds every member's UPDATEs through decode, import policy and
// the RIB, interleaving members as concurrent sessions would.
func (f *benchFed) ingest(tb testing.TB) {
	idx := make([]int, len(f.nbrs))
	for more := true; more; {
		more = false
		for m, n := range f.nbrs {
			if idx[m] < len(f.updates[m]) {
				if err := n.Update(nil, f.updates[m][idx[m]]); err != nil {
					tb.Fatal(err)
				}
				idx[m]++
				more = true
			}
		}
	}
}

// drain runs every target's writer until it is idle; it returns the
// octets that would have gone on the wire.
func (f *benchFed) drain() (octets int) {
	buf := make([]byte, 0, 128<<10)
	for _, n := range f.nbrs {
		for {
			buf = f.srv.rib.Fill(n.src, buf[:0], 64<<10)
			if len(buf) == 0 {
				break
			}
			octets += len(buf)
		}
	}
	return octets
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRIB50x10000 ingests 50 members × 10,000 prefixes and computes
// every member's Adj-RIB-Out (490,000 routes each, encoded as UPDATEs).
// Run: go test -run x -bench RIB50x10000 -benchtime 3x ./routeserver/
func BenchmarkRIB50x10000(b *testing.B) { benchRIB(b, 50, 10000, false) }

// BenchmarkRIB20x5000 is the 100k-route size of the DESIGN.md table.
func BenchmarkRIB20x5000(b *testing.B) { benchRIB(b, 20, 5000, false) }

// BenchmarkRIB20x5000History is BenchmarkRIB20x5000 with the audit
// history recording (route versions and exposures) into SQLite: the time
// is still until every member's Adj-RIB-Out is computed (the recorder
// writes behind, on the other core), compared with history off.
func BenchmarkRIB20x5000History(b *testing.B) { benchRIB(b, 20, 5000, true) }

// BenchmarkRIB50x10000History is the 500k-route size with history on.
func BenchmarkRIB50x10000History(b *testing.B) { benchRIB(b, 50, 10000, true) }

func benchRIB(b *testing.B, members, prefixes int, withHistory bool) {
	b.ReportAllocs()
	var octets int
	var mem uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var opts Options
		var rec *history.Recorder
		if withHistory {
			var err error
			if rec, err = history.Open(filepath.Join(b.TempDir(), "history.db"), history.Options{Exports: true}); err != nil {
				b.Fatal(err)
			}
			opts.History = rec
		}
		f := newBenchFed(b, members, prefixes, opts)
		f.up()
		before := heapInUse()
		b.StartTimer()
		f.ingest(b)
		octets = f.drain()
		b.StopTimer()
		mem = heapInUse() - before
		if p := os.Getenv("FEDRS_BENCH_HEAPPROFILE"); p != "" {
			fh, _ := os.Create(p)
			pprof.WriteHeapProfile(fh)
			fh.Close()
		}
		if t := f.srv.rib.Totals(); t.Routes != f.routes {
			b.Fatalf("RIB holds %d routes, want %d", t.Routes, f.routes)
		}
		runtime.KeepAlive(f)
		if rec != nil {
			if st := rec.Stats(); st.Dropped != 0 {
				b.Logf("history dropped %d events (queue %d)", st.Dropped, st.QueueLimit)
			}
			rec.Close()
		}
		b.StartTimer()
	}
	routes := float64(members * prefixes)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/routes, "ns/route")
	b.ReportMetric(float64(mem)/routes, "heap-B/route")
	b.ReportMetric(float64(mem)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(octets)/(1<<20), "out-MiB")
	b.ReportMetric(routes*float64(members-1)/(float64(b.Elapsed().Seconds())/float64(b.N))/1e6, "M-exports/s")
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
