package api_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/speaker"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// The 600,000-route federation of BenchmarkPages600k: pagesMembers
// members; prefix i (a /24 from 10.0.0.0 up) is announced by member
// i % pagesMembers and every third also by the next member: 450,000
// prefixes, 600,000 routes, judged by the route server's own import
// policy. Member m3 has a real BGP session (fedrs's speaker) and has
// received everything the route server exports to it.
const (
	pagesMembers  = 8
	pagesPrefixes = 450_000
	pagesMember   = "m3"
)

// pagesURLs are the pages and JSON the benchmark times (one line each; a
// deep page is page 600 of the received routes, 3000 of the exported;
// 13.169.131.0/24 is prefix 240,003: announced by m3 and m4).
var pagesURLs = []struct{ name, path string }{
	{"overview", "/"},
	{"member-received-deep", "/members/m3?view=received&page=600"},
	{"member-exported-deep", "/members/m3?view=exported&page=3000"},
	{"member-exported-first", "/members/m3?view=exported"},
	{"v1-routes-received-deep", "/v1/members/m3/routes?view=received&offset=60000&limit=100"},
	{"v1-routes-exported-deep", "/v1/members/m3/routes?view=exported&offset=300000&limit=100"},
	{"v1-lookup", "/v1/lookup?prefix=13.169.131.0/24"},
	{"v1-lookup-address", "/v1/lookup?prefix=13.169.131.7"},
	{"v1-route", "/v1/route?prefix=13.169.131.0/24&member=m3"},
	{"prefix-search", "/prefixes?q=13.169.131.0/24"},
	{"prefix-search-longest", "/prefixes?q=13.169.131.7&match=longest"},
	{"v1-prefixes", "/v1/prefixes?q=13.169.131.0/24"},
	{"explain-page", "/members/m3/routes/13.169.131.0/24?to=m1"},
	// The whole accepted IPv4 table as Alice-LG's search reads it,
	// streamed (about 170 MB of JSON): ttfb-ms is when it starts coming.
	{"birdwatcher-table-master4", "/birdwatcher/routes/table/master4"},
}

var (
	pagesOnce sync.Once
	pagesURL  string
	pagesErr  error
)

func pagesPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 0}), 24)
}

// pagesServer starts the federation once per process and returns the
// base URL of its HTTP listener (the real handler behind httptest).
func pagesServer(b *testing.B) string {
	pagesOnce.Do(func() { pagesURL, pagesErr = startPagesServer(b) })
	if pagesErr != nil {
		b.Fatal(pagesErr)
	}
	return pagesURL
}

func startPagesServer(b *testing.B) (string, error) {
	var specs []rstest.Member
	for i := 0; i < pagesMembers; i++ {
		specs = append(specs, rstest.Member{Name: fmt.Sprintf("m%d", i), ASN: 4200000100 + uint32(i), Addr: fmt.Sprintf("127.0.0.%d", 60+i), Raw: true,
			Prefixes: []string{"10.0.0.0/8 le 24 shared", "11.0.0.0/8 le 24 shared", "12.0.0.0/8 le 24 shared", "13.0.0.0/8 le 24 shared",
				"14.0.0.0/8 le 24 shared", "15.0.0.0/8 le 24 shared", "16.0.0.0/8 le 24 shared"}})
	}
	fed := rstest.Start(b, specs, "", routeserver.Options{Log: rstest.Log})
	srv := fed.Srv
	src := map[int]*rib.Source{}
	for _, n := range srv.Neighbors() {
		src[n.Member] = n.Source
	}
	eng := srv.Engine()
	tbl := srv.RIB().Attrs()
	// One attribute set per member and batch, as an UPDATE carries them.
	const batch = 1000
	for m := 0; m < pagesMembers; m++ {
		asn := 4200000100 + uint32(m)
		var ch []rib.Change
		flush := func() error {
			if len(ch) == 0 {
				return nil
			}
			path := []uint32{asn, 65000 + uint32(len(ch)%7)}
			var raw []byte
			raw = append(raw, wire.FlagTransitive, wire.AttrOrigin, 1, 0)
			seg := []byte{2, byte(len(path))}
			for _, as := range path {
				seg = binary.BigEndian.AppendUint32(seg, as)
			}
			raw = append(raw, wire.FlagTransitive, wire.AttrASPath, byte(len(seg)))
			raw = append(raw, seg...)
			a := bgp.Attrs{ASPath: path, PathLen: len(path), NextHop: netip.MustParseAddr(specs[m].Addr)}
			set := tbl.Intern(bgp.IPv4Unicast, raw, &a, nil)
			set.RetainN(int32(len(ch)) - 1)
			for i := range ch {
				ch[i].Attrs = set
				ch[i].Verdict = eng.Import(m, ch[i].Prefix, &set.Attrs)
				if ch[i].Verdict.Accepted() {
					ch[i].Profile = eng.Profile(m, &set.Attrs, ch[i].Verdict.Mods)
				}
			}
			srv.RIB().Apply(src[m], ch)
			ch = ch[:0]
			return nil
		}
		for i := 0; i < pagesPrefixes; i++ {
			if i%pagesMembers == m || (i%3 == 0 && (i+1)%pagesMembers == m) {
				ch = append(ch, rib.Change{Family: bgp.IPv4Unicast, Prefix: pagesPrefix(i)})
				if len(ch) == batch {
					flush()
				}
			}
		}
		flush()
	}
	if tot := srv.RIB().Totals(); tot.Routes < 590_000 {
		return "", fmt.Errorf("RIB has %d routes, want about 600,000", tot.Routes)
	}
	if _, acc := srv.RIB().Routes(rib.Filter{Member: -1, Accepted: true}, 0, 1); acc < 500_000 {
		return "", fmt.Errorf("the import policy accepted %d routes, want most of 600,000", acc)
	}
	// m3's router: a real session that receives the full table.
	sp, err := speaker.Start(speaker.Config{Name: pagesMember, ASN: 4200000103, LocalAddr: netip.MustParseAddr(specs[3].Addr),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: fed.Port, RSASN: rstest.RSASN})
	if err != nil {
		return "", err
	}
	b.Cleanup(sp.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sp.WaitEstablished(ctx); err != nil {
		return "", err
	}
	mi, _ := srv.MemberIndex(pagesMember)
	_, wantN := srv.RIB().Exportable(mi, 0, 1)
	if err := rstest.Until(10*time.Minute, func() bool {
		return srv.RIB().PendingOut() == 0 && len(sp.Received()) == wantN
	}); err != nil {
		return "", fmt.Errorf("m3 received %d of %d routes: %w", len(sp.Received()), wantN, err)
	}
	a := api.New(srv, api.Options{Version: "bench", Log: rstest.Log})
	hs := httptest.NewServer(a.HTTPHandler(conf.HTTP{Birdwatcher: true}))
	b.Cleanup(hs.Close)
	return hs.URL, nil
}

// BenchmarkPages600k times the member pages (received and exported, a
// deep page and the first), the /v1 JSON behind them and the prefix
// lookups, served by the real HTTP handler of a route server holding
// 600,000 routes: ttfb-ms is the time to the response's first byte
// (headers), render-ms to its last. Goal: under 100 ms server time each.
//
// Run: go test -run '^$' -bench 'Pages600k/[^b]' -benchtime 20x ./routeserver/api/
// and, for the birdwatcher table (8 s each on a 2-core VM), -bench
// Pages600k/birdwatcher -benchtime 2x.
func BenchmarkPages600k(b *testing.B) {
	base := pagesServer(b)
	for _, u := range pagesURLs {
		b.Run(u.name, func(b *testing.B) {
			var ttfb, render time.Duration
			var size int
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				resp, err := http.Get(base + u.path)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d %v\n%.300s", u.path, resp.StatusCode, err, body)
				}
				ttfb += t1.Sub(t0)
				render += time.Since(t0)
				size = len(body)
			}
			b.ReportMetric(float64(ttfb.Microseconds())/1e3/float64(b.N), "ttfb-ms")
			b.ReportMetric(float64(render.Microseconds())/1e3/float64(b.N), "render-ms")
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
