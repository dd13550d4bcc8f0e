package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

type env struct {
	fed  *rstest.Fed
	cl   *api.Client
	file string
	tcp  string
	// rec records the route server's history (in history.db beside
	// file, [server] history).
	rec *history.Recorder
}

const token = "test-token-0123456789"

// start runs a federation from a config file and the API on a socket in a
// temp dir, plus a read-only TCP listener.
func start(t *testing.T) *env {
	t.Helper()
	return startWith(t, rstest.Config(rstest.Three(), ""), rstest.Three())
}

// startWith is start with the configuration text and the member specs
// (Raw ones get no router).
func startWith(t *testing.T, text string, specs []rstest.Member) *env {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	// History on, for the /v1/history endpoints: closed after the route
	// server stops (cleanups run last first).
	cfg.Server.History = filepath.Join(dir, "history.db")
	rec, err := history.Open(cfg.Server.History, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: rstest.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	fed := rstest.StartConfig(t, cfg, specs, routeserver.Options{History: rec})
	sock := filepath.Join(dir, "fedrs.sock")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	tcp := ln.Addr().String()
	ln.Close()
	// The TCP listener through the deprecated [server] control_tcp keys,
	// which map onto [http].
	alias := *cfg
	alias.Server.ControlTCP, alias.Server.ControlTokenSecret = tcp, token
	ctx, cancel := context.WithCancel(context.Background())
	a := api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log})
	done := make(chan struct{})
	go func() { defer close(done); a.Serve(ctx, sock, alias.HTTPListener()) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{fed: fed, cl: api.NewClient(sock), file: file, tcp: tcp, rec: rec}
	rstest.EventuallyErr(t, 5*time.Second, func() error {
		var st api.Status
		return e.cl.Get(context.Background(), "/v1/status", nil, &st)
	}, "the control API to answer")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v, want 0600 (%v)", fi.Mode().Perm(), err)
	}
	return e
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestQueries(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	a := e.fed.Members["nhs-a"]
	a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}})
	// Filtered: the next hop is not nhs-a's.
	a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})
	if _, err := e.fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	// The filtered route reaches no member: wait for the route server to
	// hold it.
	var st api.Status
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if err := e.cl.Get(ctx, "/v1/status", nil, &st); err != nil {
			return err
		}
		if st.Routes != 2 {
			return fmt.Errorf("%d routes", st.Routes)
		}
		return nil
	}, "the route server to hold both routes")
	if st.SessionsUp != 3 || st.Members != 3 || st.Routes != 2 || st.Accepted != 1 || st.Filtered != 1 {
		t.Errorf("status %+v", st)
	}
	var ns []api.Neighbor
	if err := e.cl.Get(ctx, "/v1/neighbors", nil, &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 || ns[0].Member != "nhs-a" || ns[0].State != "Established" || ns[0].Received != 2 || ns[0].Filtered != 1 ||
		ns[0].Negotiated == nil || !ns[0].Negotiated.FourOctetAS {
		t.Errorf("neighbors %+v", ns[0])
	}
	var rl api.RouteList
	if err := e.cl.Get(ctx, "/v1/members/nhs-a/routes", url.Values{"view": {"filtered"}}, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Total != 1 || rl.Routes[0].Prefix != "10.2.0.0/16" || len(rl.Routes[0].FilteredReasons) != 1 ||
		rl.Routes[0].FilteredReasons[0].Name != "next_hop" || rl.Routes[0].FilteredReasons[0].Code != 8 {
		t.Errorf("filtered view %+v", rl)
	}
	if err := e.cl.Get(ctx, "/v1/members/nhs-b/routes", url.Values{"view": {"exported"}}, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Total != 1 || rl.Routes[0].Member != "nhs-a" || !slices.Equal(rl.Routes[0].ASPath, []uint32{4200000001, 65001}) {
		t.Errorf("exported to nhs-b %+v", rl)
	}
	// Paging.
	if err := e.cl.Get(ctx, "/v1/members/nhs-a/routes", url.Values{"offset": {"1"}, "limit": {"1"}}, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Total != 2 || len(rl.Routes) != 1 || rl.Routes[0].Prefix != "10.2.0.0/16" {
		t.Errorf("page 2 %+v", rl)
	}
	// Lookup: longest match of an address, covering.
	if err := e.cl.Get(ctx, "/v1/lookup", url.Values{"prefix": {"10.1.2.3"}}, &rl); err != nil {
		t.Fatal(err)
	}
	if len(rl.Routes) != 1 || rl.Routes[0].Prefix != "10.1.0.0/16" {
		t.Errorf("longest match %+v", rl)
	}
	if err := e.cl.Get(ctx, "/v1/lookup", url.Values{"prefix": {"10.0.0.0/8"}, "mode": {"more-specifics"}}, &rl); err != nil {
		t.Fatal(err)
	}
	if len(rl.Routes) != 2 {
		t.Errorf("more specifics %+v", rl)
	}
	var r api.Route
	if err := e.cl.Get(ctx, "/v1/route", url.Values{"member": {"nhs-a"}, "prefix": {"10.1.0.0/16"}}, &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.ExportedTo, []string{"nhs-b", "council-c"}) {
		t.Errorf("exported to %v", r.ExportedTo)
	}
	var text string
	if err := e.cl.Get(ctx, "/v1/explain", url.Values{"member": {"nhs-a"}, "prefix": {"10.2.0.0/16"}, "format": {"text"}}, &text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "127.0.0.99") || !strings.Contains(text, "next_hop") {
		t.Errorf("explain does not say why:\n%s", text)
	}
	var tr map[string]any
	if err := e.cl.Get(ctx, "/v1/explain", url.Values{"member": {"nhs-a"}, "prefix": {"10.1.0.0/16"}, "to": {"council-c"}}, &tr); err != nil {
		t.Fatal(err)
	}
	if tr["export"] == nil {
		t.Errorf("explain toward a member has no export part: %v", tr)
	}
}

func TestErrors(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	sock := e.cl.Socket
	get := func(path string) (int, string) {
		c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return net.Dial("unix", sock)
		}}}
		resp, err := c.Get("http://x" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var er api.Error
		if json.Unmarshal(b, &er) != nil || er.Error == "" {
			t.Errorf("%s: error answer is not JSON with a message: %s", path, b)
		}
		return resp.StatusCode, er.Error
	}
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/v1/members/nobody/routes", `member "nobody"`, 404},
		{"/v1/lookup?prefix=10.1.2.3/8", "did you mean 10.0.0.0/8", 400},
		{"/v1/lookup?prefix=banana", "not a prefix or an address", 400},
		{"/v1/members/nhs-a/routes?view=weird", "want received, accepted, filtered or exported", 400},
		{"/v1/members/nhs-a/routes?limit=0", "limit", 400},
		{"/v1/route?member=nhs-a&prefix=10.9.0.0/16", "has no route", 404},
		{"/v2/nothing", "no endpoint", 404},
	} {
		st, msg := get(tc.path)
		if st != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.path, st, msg, tc.status, tc.want)
		}
	}
	_ = ctx
}

func TestReadOnlyTCP(t *testing.T) {
	e := start(t)
	do := func(method, path, tok string) int {
		req, _ := http.NewRequest(method, "http://"+e.tcp+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := do("GET", "/v1/status", ""); st != 401 {
		t.Errorf("no token: %d, want 401", st)
	}
	if st := do("GET", "/v1/status", "wrong"); st != 401 {
		t.Errorf("wrong token: %d, want 401", st)
	}
	if st := do("GET", "/v1/status", token); st != 200 {
		t.Errorf("token: %d, want 200", st)
	}
	if st := do("POST", "/v1/reload", token); st != 403 {
		t.Errorf("POST on the read-only listener: %d, want 403", st)
	}
}

func TestMetrics(t *testing.T) {
	e := start(t)
	var body string
	if err := e.cl.Get(rstest.Ctx(t), "/metrics", nil, &body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`fedrs_session_established{member="nhs-a",neighbor="127.0.0.11"} 1`,
		`fedrs_prefixes{family="ipv4",member="council-c",neighbor="127.0.0.13",verdict="accepted"} 0`,
		`fedrs_rib_routes 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestMetricConnectionsRefused: connections from an address that is no
// neighbour are counted in fedrs_connections_refused_total.
func TestMetricConnectionsRefused(t *testing.T) {
	e := start(t)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.99")}}
	for i := 0; i < 5; i++ {
		nc, err := d.Dial("tcp", e.fed.Srv.Addrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	want := `fedrs_connections_refused_total{reason="unconfigured"} 5`
	var body string
	rstest.Eventually(t, 5*time.Second, func() bool {
		body = ""
		if err := e.cl.Get(rstest.Ctx(t), "/metrics", nil, &body); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(body, want)
	}, want)
	for _, r := range []string{"ttl", "limit"} {
		if w := `fedrs_connections_refused_total{reason="` + r + `"} 0`; !strings.Contains(body, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

func TestMemberAdmin(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	var res map[string]string
	if err := e.cl.Post(ctx, "/v1/members/council-c/shutdown", nil, map[string]string{"message": "changing the patch cable"}, &res); err != nil {
		t.Fatal(err)
	}
	// The shutdown has returned: the session is down on our side, with
	// the NOTIFICATION recorded (`member shutdown && lg neighbors` shows
	// the outcome, not the session still Established).
	if n := neighborOf(t, e, "council-c"); n.State == "Established" || !n.AdminDown ||
		!strings.Contains(n.LastSent, "changing the patch cable") {
		t.Errorf("after shutdown: %+v", n)
	}
	c := e.fed.Members["council-c"]
	waitState(t, c, false)
	if err := e.cl.Post(ctx, "/v1/members/council-c/enable", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, true)
	// Soft clear out resends the Adj-RIB-Out without a reset.
	e.fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: pfx("10.5.0.0/16")})
	if _, err := c.WaitFor(ctx, "route", rstest.Has(pfx("10.5.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	before := neighborOf(t, e, "council-c").UpdatesOut
	var cr api.ClearResult
	if err := e.cl.Post(ctx, "/v1/members/council-c/clear", url.Values{"direction": {"out"}}, nil, &cr); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 5*time.Second, func() bool {
		return neighborOf(t, e, "council-c").UpdatesOut > before
	}, "soft clear out to send UPDATEs to council-c")
	if err := e.cl.Post(ctx, "/v1/members/council-c/clear", url.Values{"direction": {"sideways"}}, nil, &cr); err == nil {
		t.Error("bad direction accepted")
	}
}

func neighborOf(t *testing.T, e *env, name string) api.Neighbor {
	var ns []api.Neighbor
	if err := e.cl.Get(context.Background(), "/v1/neighbors", nil, &ns); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Member == name {
			return n
		}
	}
	t.Fatalf("no neighbour %s", name)
	return api.Neighbor{}
}

func waitState(t *testing.T, m *member.Router, up bool) {
	t.Helper()
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		st, err := m.State(context.Background())
		if err == nil && (st == "ESTABLISHED") != up {
			err = fmt.Errorf("session state %s", st)
		}
		return err
	}, fmt.Sprintf("%s's session established=%v", m.Name(), up))
}

func TestReloadThroughAPI(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	p := pfx("10.7.0.0/16")
	e.fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: p})
	if _, err := e.fed.Members["nhs-b"].WaitFor(ctx, "route", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	// Broken file: refused with the error, running config stays.
	os.WriteFile(e.file, []byte("[server]\nasn = \"x\"\n"), 0o644)
	var res api.ReloadResult
	err := e.cl.Post(ctx, "/v1/reload", nil, nil, &res)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "asn") {
		t.Fatalf("broken reload: %v", err)
	}
	// A policy change: nhs-a's routes longer than /12 get filtered.
	specs := rstest.Three()
	specs[0].Extra = "[member.policy]\nmax_length_v4 = 12"
	os.WriteFile(e.file, []byte(rstest.Config(specs, "")), 0o644)
	if err := e.cl.Post(ctx, "/v1/reload", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Reevaluated != 1 || res.Reset != 0 {
		t.Errorf("reload result %+v", res)
	}
	if _, err := e.fed.Members["nhs-b"].WaitFor(ctx, "withdrawal after reload", rstest.HasNot(p)); err != nil {
		t.Fatal(err)
	}
}
