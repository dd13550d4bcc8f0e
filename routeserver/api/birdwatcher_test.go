package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// The Alice-LG oracle: decodes the /birdwatcher/ answers with the rules
// of Alice-LG 6.2's birdwatcher source (pkg/sources/birdwatcher/
// parsers.go, as ../shared/alice-lg-api.md describes them). Where Alice
// is strict (a type assertion that panics, a time it cannot parse) the
// oracle fails; where it is lenient (a wrong type becomes a zero value)
// the oracle fails too when information would be lost silently, since
// Alice would then show something wrong.

// aliceConfig is the Alice-LG source configuration the README documents.
var aliceConfig = struct{ servertime, short, ext string }{
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05", "Mon, 02 Jan 2006 15:04:05 -0700",
}

type aliceNeighbor struct {
	ID, Address, Description, State string
	ASN                             int
	Imported, Filtered              int
	Since                           time.Time
}

type aliceRoute struct {
	Network, Neighbor, Gateway, NextHop, Origin string
	ASPath                                      []int
	LocalPref, MED                              int
	Communities                                 [][2]int
	Large                                       [][3]int
	Primary                                     bool
	Age                                         time.Time
}

// fetchJSON GETs path and decodes it as a generic JSON object, as Alice
// does (it ignores the status code).
func fetchJSON(t *testing.T, base, path string) map[string]any {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v: %.200s", path, err, b)
	}
	return m
}

// aliceEnvelope checks the "api" block and the ttl: api.Version (string)
// and api.result_from_cache (bool) are type-asserted by Alice; the ttl is
// parsed with servertime (required on route endpoints; without one
// Alice's cache never hits).
func aliceEnvelope(path string, m map[string]any) error {
	apiBlock, ok := m["api"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no api object (error %v)", path, m["error"])
	}
	if _, ok := apiBlock["Version"].(string); !ok {
		return fmt.Errorf("%s: api.Version %v is not a string: Alice panics", path, apiBlock["Version"])
	}
	if _, ok := apiBlock["result_from_cache"].(bool); !ok {
		return fmt.Errorf("%s: api.result_from_cache %v is not a bool: Alice panics", path, apiBlock["result_from_cache"])
	}
	ttl, ok := m["ttl"].(string)
	if !ok || ttl == "" {
		return fmt.Errorf("%s: ttl %v is not a string: Alice fails route requests and never caches", path, m["ttl"])
	}
	at, err := time.ParseInLocation(aliceConfig.servertime, ttl, time.UTC)
	if err != nil {
		return fmt.Errorf("%s: ttl %q: %v", path, ttl, err)
	}
	if !at.After(time.Now()) {
		return fmt.Errorf("%s: ttl %s is not in the future", path, at)
	}
	return nil
}

func aliceTime(layout string, v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("time %v is not a string", v)
	}
	return time.ParseInLocation(layout, s, time.UTC)
}

// number is a JSON number as Alice asserts it (float64).
func number(v any, what string) (int, error) {
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%s %v (%T) is not a number", what, v, v)
	}
	return int(f), nil
}

// decodeStatus is Alice's status box.
func decodeStatus(m map[string]any) error {
	if err := aliceEnvelope("/status", m); err != nil {
		return err
	}
	st, ok := m["status"].(map[string]any)
	if !ok {
		return fmt.Errorf("/status: no status object")
	}
	for _, k := range []string{"router_id", "version", "message"} {
		if _, ok := st[k].(string); !ok {
			return fmt.Errorf("/status: status.%s %v is not a string", k, st[k])
		}
	}
	for k, layout := range map[string]string{"current_server": aliceConfig.short, "last_reboot": aliceConfig.short, "last_reconfig": aliceConfig.ext} {
		if _, err := aliceTime(layout, st[k]); err != nil {
			return fmt.Errorf("/status: status.%s: %v", k, err)
		}
	}
	return nil
}

// decodeProtocols is Alice's neighbour list: an object keyed by id.
func decodeProtocols(m map[string]any) ([]aliceNeighbor, error) {
	if err := aliceEnvelope("/protocols/bgp", m); err != nil {
		return nil, err
	}
	ps, ok := m["protocols"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("protocols %T is not an object keyed by protocol id", m["protocols"])
	}
	var out []aliceNeighbor
	for id, v := range ps {
		p, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("protocol %s is not an object", id)
		}
		routes, ok := p["routes"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("protocol %s: no routes object: Alice panics", id)
		}
		n := aliceNeighbor{ID: id}
		var err error
		if n.Imported, err = number(routes["imported"], id+" routes.imported"); err != nil {
			return nil, err
		}
		if n.Filtered, err = number(routes["filtered"], id+" routes.filtered"); err != nil {
			return nil, err
		}
		n.Address, _ = p["neighbor_address"].(string)
		n.Description, _ = p["description"].(string)
		if n.ASN, err = number(p["neighbor_as"], id+" neighbor_as"); err != nil {
			return nil, err
		}
		state, _ := p["state"].(string)
		n.State = strings.ToLower(state)
		if n.Since, err = aliceTime(aliceConfig.short, p["state_changed"]); err != nil {
			return nil, fmt.Errorf("protocol %s: state_changed: %v (Alice shows ~292 years of uptime)", id, err)
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b aliceNeighbor) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

// decodeRoutes is Alice's route list.
func decodeRoutes(path string, m map[string]any) ([]aliceRoute, error) {
	if err := aliceEnvelope(path, m); err != nil {
		return nil, err
	}
	list, ok := m["routes"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: routes %T is not an array", path, m["routes"])
	}
	var out []aliceRoute
	for i, v := range list {
		r, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: route %d is not an object", path, i)
		}
		var x aliceRoute
		x.Network, _ = r["network"].(string)
		x.Neighbor, _ = r["from_protocol"].(string)
		x.Gateway, _ = r["gateway"].(string)
		x.Primary, _ = r["primary"].(bool)
		if _, err := number(r["metric"], "metric"); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", path, x.Network, err)
		}
		var err error
		if x.Age, err = aliceTime(aliceConfig.short, r["age"]); err != nil {
			return nil, fmt.Errorf("%s: %s: age: %v", path, x.Network, err)
		}
		b, ok := r["bgp"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s: no bgp object", path, x.Network)
		}
		x.Origin, _ = b["origin"].(string)
		x.NextHop, _ = b["next_hop"].(string)
		asPath, _ := b["as_path"].([]any)
		for _, as := range asPath {
			s, ok := as.(string)
			if !ok {
				return nil, fmt.Errorf("%s: %s: as_path element %v is not a string: Alice drops it", path, x.Network, as)
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: as_path element %q", path, x.Network, s)
			}
			x.ASPath = append(x.ASPath, n)
		}
		for k, dst := range map[string]*int{"local_pref": &x.LocalPref, "med": &x.MED} {
			s, ok := b[k].(string)
			if !ok {
				return nil, fmt.Errorf("%s: %s: bgp.%s %v is not a string: Alice reads 0", path, x.Network, k, b[k])
			}
			if *dst, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("%s: %s: bgp.%s %q", path, x.Network, k, s)
			}
		}
		comms, err := numberTuples(b["communities"], 2)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: communities: %v", path, x.Network, err)
		}
		for _, c := range comms {
			x.Communities = append(x.Communities, [2]int{c[0], c[1]})
		}
		large, err := numberTuples(b["large_communities"], 3)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: large_communities: %v", path, x.Network, err)
		}
		for _, c := range large {
			x.Large = append(x.Large, [3]int{c[0], c[1], c[2]})
		}
		out = append(out, x)
	}
	return out, nil
}

// numberTuples reads [[a,b],...] with Alice's strict number assertions
// (a string panics). Missing is an empty list.
func numberTuples(v any, n int) ([][]int, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%T is not an array", v)
	}
	var out [][]int
	for _, e := range list {
		t, ok := e.([]any)
		if !ok || len(t) != n {
			return nil, fmt.Errorf("%v is not an array of %d", e, n)
		}
		var row []int
		for _, x := range t {
			f, ok := x.(float64)
			if !ok {
				return nil, fmt.Errorf("%v (%T) is not a number: Alice panics", x, x)
			}
			row = append(row, int(f))
		}
		out = append(out, row)
	}
	return out, nil
}

// wantAlice is the rib route as Alice should show it.
func wantAlice(r api.Route) string {
	return fmt.Sprintf("%s path=%v nh=%s large=%v", r.Prefix, r.ASPath, r.NextHop, slices.Sorted(slices.Values(r.LargeCommunities)))
}

func gotAlice(r aliceRoute) string {
	var large []string
	for _, l := range r.Large {
		large = append(large, fmt.Sprintf("%d:%d:%d", l[0], l[1], l[2]))
	}
	slices.Sort(large)
	if large == nil {
		large = []string{}
	}
	path := make([]uint32, 0, len(r.ASPath))
	for _, a := range r.ASPath {
		path = append(path, uint32(a))
	}
	return fmt.Sprintf("%s path=%v nh=%s large=%v", r.Network, path, r.NextHop, large)
}

func TestBirdwatcherAliceOracle(t *testing.T) {
	fed := rstest.Start(t, rstest.Three(), "", routeserver.Options{})
	a := api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log})
	ts := httptest.NewServer(a.HTTPHandler(conf.HTTP{Listen: "127.0.0.1:0", Birdwatcher: true}))
	t.Cleanup(ts.Close)
	base := ts.URL + "/birdwatcher"
	ctx := rstest.Ctx(t)
	m := fed.Members["nhs-a"]
	m.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}})
	m.Announce(ctx, member.Route{Prefix: pfx("2001:db8:1::/48"), ASPath: []uint32{65001}})
	// Filtered: the next hop is not nhs-a's (RS:1101:8).
	m.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})
	// Accepted, but not exported to nhs-b (RS:0:peer-AS).
	m.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16"), Large: []string{fmt.Sprintf("%d:0:4200000002", rstest.RSASN)}})
	rstest.Eventually(t, 10*time.Second, func() bool {
		return fed.Srv.RIB().Totals().Routes == 4
	}, "the route server to hold the four routes")
	for _, p := range []string{"10.1.0.0/16", "2001:db8:1::/48"} {
		if _, err := fed.Members["nhs-b"].WaitFor(ctx, p, rstest.Has(pfx(p))); err != nil {
			t.Fatal(err)
		}
	}

	if err := decodeStatus(fetchJSON(t, base, "/status")); err != nil {
		t.Error(err)
	}

	// Neighbours, compared with /v1/neighbors.
	ns, err := decodeProtocols(fetchJSON(t, base, "/protocols/bgp"))
	if err != nil {
		t.Fatal(err)
	}
	var v1 []api.Neighbor
	getV1(t, ts.URL, "/v1/neighbors", &v1)
	if len(ns) != len(v1) {
		t.Fatalf("%d protocols, /v1/neighbors has %d", len(ns), len(v1))
	}
	ids := map[string]string{}
	for _, want := range v1 {
		i := slices.IndexFunc(ns, func(n aliceNeighbor) bool { return n.Address == want.Neighbor })
		if i < 0 {
			t.Fatalf("no protocol for neighbour %s", want.Neighbor)
		}
		got := ns[i]
		up := strings.Contains(got.State, "up") || strings.Contains(got.State, "established")
		if got.ASN != int(want.ASN) || got.Imported != want.Accepted || got.Filtered != want.Filtered ||
			up != (want.State == "Established") || !got.Since.Equal(want.Since.UTC().Truncate(time.Second)) ||
			!strings.Contains(got.Description, want.Member) {
			t.Errorf("protocol %+v, /v1 neighbour %+v", got, want)
		}
		ids[want.Member] = got.ID
	}

	// Each member's received (accepted) and filtered routes, compared with
	// the /v1 views; a filtered route carries RS:1101:code per reason.
	for _, v1n := range v1 {
		for _, view := range []struct{ path, v1 string }{{"/routes/protocol/", "accepted"}, {"/routes/filtered/", "filtered"}} {
			path := view.path + ids[v1n.Member]
			rs, err := decodeRoutes(path, fetchJSON(t, base, path))
			if err != nil {
				t.Fatal(err)
			}
			var rl api.RouteList
			getV1(t, ts.URL, "/v1/members/"+v1n.Member+"/routes?limit=100000&view="+view.v1, &rl)
			var want, got []string
			for _, r := range rl.Routes {
				for _, reason := range r.FilteredReasons {
					l := fmt.Sprintf("%d:1101:%d", rstest.RSASN, reason.Code)
					if !slices.Contains(r.LargeCommunities, l) {
						r.LargeCommunities = append(r.LargeCommunities, l)
					}
				}
				want = append(want, wantAlice(r))
			}
			for _, r := range rs {
				if r.Neighbor != ids[v1n.Member] {
					t.Errorf("%s: %s from_protocol %q", path, r.Network, r.Neighbor)
				}
				got = append(got, gotAlice(r))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: Alice reads\n%q\nthe route server holds\n%q", path, got, want)
			}
		}
	}
	// The filtered route's reason: RS:1101:8 (next_hop), which the
	// README's [rejection_reasons] names.
	rs, err := decodeRoutes("filtered", fetchJSON(t, base, "/routes/filtered/"+ids["nhs-a"]))
	if err != nil || len(rs) != 1 || !slices.Contains(rs[0].Large, [3]int{int(rstest.RSASN), 1101, 8}) {
		t.Errorf("nhs-a's filtered routes %+v (%v): want 10.2.0.0/16 with %d:1101:8", rs, err, rstest.RSASN)
	}

	// Not exported: to nhs-b, the best routes of others that nhs-b's own
	// router does not hold (10.3.0.0/16); to nhs-a (its own routes are
	// no candidates), nothing.
	rs, err = decodeRoutes("noexport", fetchJSON(t, base, "/routes/noexport/"+ids["nhs-b"]))
	if err != nil {
		t.Fatal(err)
	}
	heldB, err := fed.Members["nhs-b"].Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wantNo, gotNo []string
	best, _ := fed.Srv.RIB().Routes(rib.Filter{Member: -1, Accepted: true}, 0, 0)
	for _, r := range best {
		if r.Best && fed.Srv.MemberName(r.Source.Member) != "nhs-b" &&
			!slices.ContainsFunc(heldB, func(h member.Route) bool { return h.Prefix == r.Prefix }) {
			wantNo = append(wantNo, r.Prefix.String())
		}
	}
	for _, r := range rs {
		gotNo = append(gotNo, r.Network)
	}
	if !slices.Equal(gotNo, wantNo) || len(gotNo) != 1 {
		t.Errorf("noexport for nhs-b: Alice reads %v; nhs-b's router lacks %v", gotNo, wantNo)
	}
	rs, err = decodeRoutes("noexport", fetchJSON(t, base, "/routes/noexport/"+ids["nhs-a"]))
	if err != nil || len(rs) != 0 {
		t.Errorf("noexport for nhs-a: %+v %v", rs, err)
	}

	// The global search dump, both families, against the RIB.
	for _, tc := range []struct {
		table    string
		filtered bool
	}{{"master4", false}, {"master6", false}, {"master4", true}, {"master6", true}, {"master", false}} {
		path := "/routes/table/" + tc.table
		if tc.filtered {
			path += "/filtered"
		}
		rs, err := decodeRoutes(path, fetchJSON(t, base, path))
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		all, _ := fed.Srv.RIB().Routes(rib.Filter{Member: -1, Accepted: !tc.filtered, Filtered: tc.filtered}, 0, 0)
		for _, r := range all {
			six := r.Prefix.Addr().Is6()
			if (tc.table == "master4" && six) || (tc.table == "master6" && !six) {
				continue
			}
			want = append(want, r.Prefix.String())
		}
		for _, r := range rs {
			if !slices.Contains(slices.Collect(maps.Values(ids)), r.Neighbor) {
				t.Errorf("%s: %s from_protocol %q is no protocol: Alice drops it from the search", path, r.Network, r.Neighbor)
			}
			got = append(got, r.Network)
		}
		if !slices.Equal(got, want) || (!tc.filtered && len(got) == 0) {
			t.Errorf("%s: Alice indexes %v, the RIB holds %v", path, got, want)
		}
	}

	// Off unless [http] birdwatcher.
	off := httptest.NewServer(a.HTTPHandler(conf.HTTP{Listen: "127.0.0.1:0"}))
	defer off.Close()
	if res, err := http.Get(off.URL + "/birdwatcher/status"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("without birdwatcher = true: %v %v, want 404", res, err)
	} else {
		res.Body.Close()
	}

	// Unknown protocol: Alice reads {"error":...} as zero routes.
	if m := fetchJSON(t, base, "/routes/protocol/nobody"); m["error"] == nil {
		t.Errorf("unknown protocol: %v", m)
	}
}

func getV1(t *testing.T, base, path string, v any) {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
