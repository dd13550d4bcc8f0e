package api_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
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
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
)

const (
	operatorToken = "operator-token-0123456789abcdef"
	tokenA        = "nhs-a-web-token-0123456789abcdef"
	tokenB        = "nhs-b-web-token-0123456789abcdef"
)

// tokensEnv is the usual three members, nhs-a and nhs-b with web
// tokens, the [http] listener with the operator's token, and routes:
//
//	nhs-a:     10.1.0.0/16 accepted, 10.2.0.0/16 filtered (next hop not its own)
//	nhs-b:     10.3.0.0/16 accepted, 10.4.0.0/16 filtered (next hop not its own),
//	           10.5.0.0/16 accepted, not to be announced to nhs-a (RS:0:nhs-a)
//	council-c: 10.6.0.0/16 accepted
type tokensEnv struct {
	fed  *rstest.Fed
	base string
	// text is the configuration; tokenFile the members' token files.
	text      string
	tokenFile map[string]string
}

func startTokens(t *testing.T) *tokensEnv {
	t.Helper()
	dir := t.TempDir()
	e := &tokensEnv{tokenFile: map[string]string{}}
	specs := rstest.Three()
	for i, tok := range []string{tokenA, tokenB} {
		f := filepath.Join(dir, specs[i].Name+".token")
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.tokenFile[specs[i].Name] = f
		specs[i].Extra = `web_token_file = "` + f + `"`
	}
	e.text = rstest.Config(specs, "")
	e.fed = rstest.Start(t, specs, "", routeserver.Options{})
	e.base = serveHTTP(t, e.fed, conf.HTTP{TokenSecret: operatorToken}, nil)

	ctx := rstest.Ctx(t)
	bad := netip.MustParseAddr("127.0.0.99")
	for name, rs := range map[string][]member.Route{
		"nhs-a":     {{Prefix: pfx("10.1.0.0/16")}, {Prefix: pfx("10.2.0.0/16"), NextHop: bad}},
		"nhs-b":     {{Prefix: pfx("10.3.0.0/16")}, {Prefix: pfx("10.4.0.0/16"), NextHop: bad}, {Prefix: pfx("10.5.0.0/16"), Large: []string{"4200000000:0:4200000001"}}},
		"council-c": {{Prefix: pfx("10.6.0.0/16"), MED: ptr(uint32(50))}},
	} {
		for _, r := range rs {
			if err := e.fed.Members[name].Announce(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return e.fed.Srv.RIB().Totals().Routes == 6 }, "the route server to hold the six routes")
	for name, want := range map[string][]string{"nhs-a": {"10.3.0.0/16", "10.6.0.0/16"}, "nhs-b": {"10.1.0.0/16", "10.6.0.0/16"}, "council-c": {"10.1.0.0/16", "10.3.0.0/16", "10.5.0.0/16"}} {
		for _, p := range want {
			if _, err := e.fed.Members[name].WaitFor(ctx, p, rstest.Has(pfx(p))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

func ptr[T any](v T) *T { return &v }

// as does one GET with a bearer token ("" for none) and decodes a 200
// answer into v (when not nil); it returns the status and the error text.
func (e *tokensEnv) as(t *testing.T, token, path string, v any) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", e.base+strings.TrimPrefix(path, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var ae api.Error
		json.Unmarshal(body, &ae)
		return resp.StatusCode, ae.Error
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode, ""
}

// routeKey is the wire form of a route the API shows (wireKey).
func routeKey(x api.Route) string {
	nh := x.NextHop
	if a, err := netip.ParseAddr(nh); err == nil {
		nh = a.Unmap().String()
	}
	return wireKey(x.Prefix, x.ASPath, nh, x.MED, x.Communities, x.LargeCommunities, x.OTC)
}

func prefixes(rs []api.Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Prefix)
	}
	slices.Sort(out)
	return out
}

// TestMemberViewAPI: with nhs-a's token, nhs-a sees its received and
// filtered routes with reasons, whom its routes went to, and the routes
// exported to it exactly as its own router holds them; everything about
// nhs-b beyond that is 403 or left out; operator-only routes are 403; the
// operator's token sees everything; a wrong token is 401.
func TestMemberViewAPI(t *testing.T) {
	e := startTokens(t)
	ctx := rstest.Ctx(t)

	// Its own routes, with the reasons of the filtered one.
	var rl api.RouteList
	if code, msg := e.as(t, tokenA, "v1/members/nhs-a/routes", &rl); code != 200 || !slices.Equal(prefixes(rl.Routes), []string{"10.1.0.0/16", "10.2.0.0/16"}) {
		t.Fatalf("nhs-a's received routes: %d %s %v", code, msg, prefixes(rl.Routes))
	}
	e.as(t, tokenA, "v1/members/nhs-a/routes?view=filtered", &rl)
	if len(rl.Routes) != 1 || rl.Routes[0].Prefix != "10.2.0.0/16" || len(rl.Routes[0].FilteredReasons) == 0 || rl.Routes[0].FilteredReasons[0].Name != "next_hop" {
		t.Errorf("nhs-a's filtered routes: %+v", rl.Routes)
	}

	// What it holds: exactly what its router holds.
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		want, err := held(ctx, e.fed.Members["nhs-a"])
		if err != nil {
			return err
		}
		var ex api.RouteList
		if code, msg := e.as(t, tokenA, "v1/members/nhs-a/routes?view=exported", &ex); code != 200 {
			t.Fatalf("nhs-a's exported view: %d %s", code, msg)
		}
		var got []string
		for _, x := range ex.Routes {
			got = append(got, routeKey(x))
			if len(x.TaggedReasons) != 0 || len(x.FilteredReasons) != 0 || x.ExportedTo != nil {
				t.Errorf("exported view shows %s's reasons or receivers: %+v", x.Member, x)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) || len(want) != 2 {
			return fmt.Errorf("the API shows nhs-a holding %v; its router holds %v", got, want)
		}
		return nil
	}, "nhs-a's exported view to match its router")
	aHolds, err := e.fed.Members["nhs-a"].Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holds := map[string]string{}
	for _, x := range aHolds {
		holds[x.Prefix.String()] = wireKey(x.Prefix.String(), x.ASPath, x.NextHop.String(), x.MED, x.Communities, x.Large, x.OTC)
	}

	// Another member's routes and page: 403 naming it.
	for _, view := range []string{"received", "accepted", "filtered", "exported"} {
		if code, msg := e.as(t, tokenA, "v1/members/nhs-b/routes?view="+view, nil); code != 403 || !strings.Contains(msg, "nhs-b") || !strings.Contains(msg, "signed in as member nhs-a") {
			t.Errorf("nhs-a asking for nhs-b's %s routes: %d %q", view, code, msg)
		}
	}

	// Status and neighbours: its own only.
	var st, opSt api.Status
	e.as(t, tokenA, "v1/status", &st)
	e.as(t, operatorToken, "v1/status", &opSt)
	if st.Neighbors != 1 || st.SessionsUp != 1 || st.Routes != 2 || st.Accepted != 1 || st.Filtered != 1 || st.ConfigFile != "" {
		t.Errorf("nhs-a's status: %+v", st)
	}
	if opSt.Neighbors != 3 || opSt.Routes != 6 || opSt.Accepted != 4 || opSt.Filtered != 2 {
		t.Errorf("the operator's status: %+v", opSt)
	}
	var ns []api.Neighbor
	e.as(t, tokenA, "v1/neighbors", &ns)
	if len(ns) != 1 || ns[0].Member != "nhs-a" || ns[0].Received != 2 || ns[0].Filtered != 1 || ns[0].Exported != 2 {
		t.Errorf("nhs-a's neighbours: %+v", ns)
	}
	e.as(t, operatorToken, "v1/neighbors", &ns)
	if len(ns) != 3 {
		t.Errorf("the operator's neighbours: %d", len(ns))
	}

	// Lookup: its own routes (reasons included) and what it holds, as
	// its router holds it; not nhs-b's filtered route nor the one kept
	// from nhs-a.
	e.as(t, tokenA, "v1/lookup?prefix=10.0.0.0/8&mode=more-specifics", &rl)
	if got := prefixes(rl.Routes); !slices.Equal(got, []string{"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.6.0.0/16"}) {
		t.Errorf("nhs-a's lookup: %v", got)
	}
	for _, x := range rl.Routes {
		switch x.Member {
		case "nhs-a":
			if x.Prefix == "10.2.0.0/16" && len(x.FilteredReasons) == 0 {
				t.Errorf("nhs-a's lookup lacks the reason of its filtered route: %+v", x)
			}
		default:
			if k := routeKey(x); k != holds[x.Prefix] {
				t.Errorf("nhs-a's lookup shows %s; its router holds %s", k, holds[x.Prefix])
			}
			if len(x.TaggedReasons) != 0 || x.ExportedTo != nil {
				t.Errorf("nhs-a's lookup shows %s's reasons or receivers: %+v", x.Member, x)
			}
		}
	}
	var opRL api.RouteList
	e.as(t, operatorToken, "v1/lookup?prefix=10.0.0.0/8&mode=more-specifics", &opRL)
	if len(opRL.Routes) != 6 {
		t.Errorf("the operator's lookup: %v", prefixes(opRL.Routes))
	}

	// One route: its own with whom it went to; nhs-b's as sent to it
	// when it holds it, else 403.
	var r api.Route
	e.as(t, tokenA, "v1/route?member=nhs-a&prefix=10.1.0.0/16", &r)
	if slices.Sort(r.ExportedTo); !slices.Equal(r.ExportedTo, []string{"council-c", "nhs-b"}) {
		t.Errorf("nhs-a's route 10.1.0.0/16 exported to %v", r.ExportedTo)
	}
	r = api.Route{}
	if code, msg := e.as(t, tokenA, "v1/route?member=nhs-b&prefix=10.3.0.0/16", &r); code != 200 || routeKey(r) != holds["10.3.0.0/16"] || r.ExportedTo != nil {
		t.Errorf("nhs-b's route as nhs-a holds it: %d %s %s, router %s", code, msg, routeKey(r), holds["10.3.0.0/16"])
	}
	for _, p := range []string{"10.4.0.0/16", "10.5.0.0/16"} {
		if code, msg := e.as(t, tokenA, "v1/route?member=nhs-b&prefix="+p, nil); code != 403 || !strings.Contains(msg, "nhs-b") {
			t.Errorf("nhs-b's route %s asked by nhs-a: %d %q", p, code, msg)
		}
	}

	// Explain: its own in full; nhs-b's only toward itself, when sent,
	// without nhs-b's import checks.
	var tr policy.Trace
	e.as(t, tokenA, "v1/explain?member=nhs-a&prefix=10.2.0.0/16", &tr)
	if len(tr.Import) == 0 || tr.Result.Accepted || len(tr.Result.Filtered) == 0 {
		t.Errorf("nhs-a's own filtered route explained: %+v", tr)
	}
	tr = policy.Trace{}
	if code, msg := e.as(t, tokenA, "v1/explain?member=nhs-b&prefix=10.3.0.0/16&to=nhs-a", &tr); code != 200 || len(tr.Import) != 0 ||
		tr.Export == nil || tr.Export.Delivery != policy.DeliverySent {
		t.Errorf("nhs-b's route toward nhs-a explained to nhs-a: %d %s %+v", code, msg, tr)
	}
	for _, q := range []string{"member=nhs-b&prefix=10.3.0.0/16", "member=nhs-b&prefix=10.3.0.0/16&to=council-c",
		"member=nhs-b&prefix=10.4.0.0/16&to=nhs-a", "member=nhs-b&prefix=10.5.0.0/16&to=nhs-a"} {
		if code, msg := e.as(t, tokenA, "v1/explain?"+q, nil); code != 403 || !strings.Contains(msg, "nhs-b") {
			t.Errorf("explain %s asked by nhs-a: %d %q", q, code, msg)
		}
	}
	if code, _ := e.as(t, operatorToken, "v1/explain?member=nhs-b&prefix=10.4.0.0/16", &tr); code != 200 || len(tr.Import) == 0 {
		t.Errorf("the operator's explain of nhs-b's filtered route: %d %+v", code, tr)
	}

	// Operator-only routes: 403 for a member, before the handler.
	for _, p := range []string{"v1/mrt", "v1/maintenance", "metrics"} {
		if code, msg := e.as(t, tokenA, p, nil); code != 403 || !strings.Contains(msg, "operator") || !strings.Contains(msg, "nhs-a") {
			t.Errorf("nhs-a on /%s: %d %q", p, code, msg)
		}
		if code, _ := e.as(t, operatorToken, p, nil); code != 200 {
			t.Errorf("the operator on /%s: %d", p, code)
		}
	}
	// Public routes: the same for everyone signed in.
	for _, p := range []string{"v1/rpki", "v1/openapi.json"} {
		if code, _ := e.as(t, tokenA, p, nil); code != 200 {
			t.Errorf("nhs-a on /%s: %d", p, code)
		}
	}

	// nhs-b's token: the other way round.
	if code, _ := e.as(t, tokenB, "v1/members/nhs-a/routes", nil); code != 403 {
		t.Errorf("nhs-b asking for nhs-a's routes: %d", code)
	}
	if code, _ := e.as(t, tokenB, "v1/members/nhs-b/routes?view=filtered", &rl); code != 200 || len(rl.Routes) != 1 || rl.Routes[0].Prefix != "10.4.0.0/16" {
		t.Errorf("nhs-b's filtered routes: %d %v", code, prefixes(rl.Routes))
	}
	// The operator sees every member.
	if code, _ := e.as(t, operatorToken, "v1/members/nhs-b/routes?view=filtered", &rl); code != 200 || len(rl.Routes) != 1 {
		t.Errorf("the operator on nhs-b's filtered routes: %d", code)
	}
	// No token, a wrong one, council-c (which has none): 401.
	for _, tok := range []string{"", "nhs-a-web-token-0123456789abcdeX", "nhs-a-web-token"} {
		if code, _ := e.as(t, tok, "v1/status", nil); code != 401 {
			t.Errorf("token %q: %d, want 401", tok, code)
		}
	}
}

// noRedirect is a client with a cookie jar that does not follow
// redirects, so a test sees them.
func noRedirect(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends one request with headers and returns the response and body.
func do(t *testing.T, cl *http.Client, method, u string, form url.Values, headers map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "fedrs_session" {
			return c
		}
	}
	return nil
}

// TestMemberLogin: over real HTTP, a page without credentials leads to
// the sign-in form; the form's token starts a session (an HttpOnly,
// SameSite=Strict cookie that is not the token) in which the member sees
// its own page, "Signed in as", and 403 for another member's; a
// cross-site form post and a wrong token start nothing; logout ends the
// session on the server; a reload with a changed token file ends the
// sessions and bearer use of the old token.
func TestMemberLogin(t *testing.T) {
	e := startTokens(t)
	cl := noRedirect(t)
	origin := strings.TrimSuffix(e.base, "/")

	resp, _ := do(t, cl, "GET", e.base+"members/nhs-a?view=filtered", nil, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2Fmembers%2Fnhs-a%3Fview%3Dfiltered" {
		t.Fatalf("a page without credentials: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, cl, "GET", e.base+"login?next=%2Fmembers%2Fnhs-a%3Fview%3Dfiltered", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<form method="post" action="/login"`) || !strings.Contains(body, `value="/members/nhs-a?view=filtered"`) {
		t.Fatalf("sign-in form: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := do(t, cl, "GET", e.base+"static/style.css", nil, nil); resp.StatusCode != 200 {
		t.Errorf("the stylesheet without credentials: %d", resp.StatusCode)
	}

	// CSRF: a form posted from another site, by Origin or by
	// Sec-Fetch-Site, starts no session.
	for _, h := range []map[string]string{{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
		{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}, {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}} {
		resp, body := do(t, cl, "POST", e.base+"login", url.Values{"token": {tokenA}}, h)
		if resp.StatusCode != 403 || sessionCookie(resp) != nil || !strings.Contains(body, "refused") {
			t.Errorf("cross-site sign-in %v: %d %v", h, resp.StatusCode, resp.Cookies())
		}
	}
	// A wrong token.
	resp, body = do(t, cl, "POST", e.base+"login", url.Values{"token": {tokenA + "x"}}, map[string]string{"Origin": origin})
	if resp.StatusCode != 401 || sessionCookie(resp) != nil || !strings.Contains(body, "not valid") {
		t.Errorf("sign-in with a wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}

	// Sign in.
	resp, _ = do(t, cl, "POST", e.base+"login", url.Values{"token": {tokenA}, "next": {"/members/nhs-a?view=filtered"}},
		map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"})
	c := sessionCookie(resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/members/nhs-a?view=filtered" || c == nil {
		t.Fatalf("sign-in: %d %s %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || strings.Contains(c.Value, tokenA) || len(c.Value) < 32 || c.MaxAge <= 0 {
		t.Errorf("session cookie %+v", c)
	}
	resp, body = do(t, cl, "GET", e.base+"members/nhs-a?view=filtered", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Signed in as <strong>nhs-a</strong>") || !strings.Contains(body, `href="/logout"`) ||
		!strings.Contains(body, "10.2.0.0/16") || !strings.Contains(body, "next_hop") {
		t.Errorf("nhs-a's page signed in: %d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, cl, "GET", e.base+"members/nhs-b", nil, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "nhs-b") || !strings.Contains(body, "Signed in as") {
		t.Errorf("nhs-b's page signed in as nhs-a: %d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, cl, "GET", e.base, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/members/nhs-a"`) || strings.Contains(body, `href="/members/nhs-b"`) || strings.Contains(body, "council-c") {
		t.Errorf("overview signed in as nhs-a: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := do(t, cl, "GET", e.base+"v1/members/nhs-a/routes", nil, nil); resp.StatusCode != 200 {
		t.Errorf("the API in nhs-a's session: %d", resp.StatusCode)
	}
	if resp, _ := do(t, cl, "GET", e.base+"v1/mrt", nil, nil); resp.StatusCode != 403 {
		t.Errorf("/v1/mrt in nhs-a's session: %d", resp.StatusCode)
	}
	// Still read-only: the session does not open other POSTs.
	if resp, _ := do(t, cl, "POST", e.base+"v1/reload", url.Values{}, map[string]string{"Origin": origin}); resp.StatusCode != 403 {
		t.Errorf("POST /v1/reload in a session: %d", resp.StatusCode)
	}

	// Log out: the cookie goes and the session ends on the server (the
	// old cookie, sent again, signs nobody in).
	resp, _ = do(t, cl, "POST", e.base+"logout", url.Values{}, map[string]string{"Origin": origin})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" || sessionCookie(resp) == nil || sessionCookie(resp).MaxAge >= 0 {
		t.Errorf("logout: %d %s %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	stale := &http.Client{CheckRedirect: cl.CheckRedirect}
	resp, _ = do(t, stale, "GET", e.base+"members/nhs-a", nil, map[string]string{"Cookie": "fedrs_session=" + c.Value})
	if resp.StatusCode != 303 {
		t.Errorf("the cookie after logout: %d", resp.StatusCode)
	}

	// A changed token file, reloaded: the old token and its sessions stop
	// working, the new one works.
	resp, _ = do(t, cl, "POST", e.base+"login", url.Values{"token": {tokenA}}, map[string]string{"Origin": origin})
	if resp.StatusCode != 303 {
		t.Fatalf("sign-in again: %d", resp.StatusCode)
	}
	const newA = "nhs-a-web-token-changed-0123456789"
	if err := os.WriteFile(e.tokenFile["nhs-a"], []byte(newA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Parse([]byte(e.text), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.fed.Srv.Reload(cfg)
	if err != nil || res.SessionsReset != 0 {
		t.Fatalf("reload: %v %+v", err, res)
	}
	if resp, _ := do(t, cl, "GET", e.base+"members/nhs-a", nil, nil); resp.StatusCode != 303 {
		t.Errorf("a session of the old token after the reload: %d", resp.StatusCode)
	}
	if code, _ := e.as(t, tokenA, "v1/members/nhs-a/routes", nil); code != 401 {
		t.Errorf("the old token after the reload: %d", code)
	}
	if code, _ := e.as(t, newA, "v1/members/nhs-a/routes", nil); code != 200 {
		t.Errorf("the new token after the reload: %d", code)
	}
}

// TestMemberLoginTLS: over HTTPS the session cookie is Secure.
func TestMemberLoginTLS(t *testing.T) {
	certFile, keyFile, pool := testCert(t, t.TempDir())
	dir := t.TempDir()
	specs := rstest.Three()
	f := filepath.Join(dir, "a.token")
	if err := os.WriteFile(f, []byte(tokenA), 0o600); err != nil {
		t.Fatal(err)
	}
	specs[0].Extra = `web_token_file = "` + f + `"`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	base := serveHTTP(t, fed, conf.HTTP{Cert: certFile, Key: keyFile, TokenSecret: operatorToken}, nil)
	cl := noRedirect(t)
	cl.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer cl.CloseIdleConnections()
	resp, _ := do(t, cl, "POST", base+"login", url.Values{"token": {tokenA}}, map[string]string{"Origin": strings.TrimSuffix(base, "/")})
	if c := sessionCookie(resp); resp.StatusCode != 303 || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("sign-in over HTTPS: %d %+v", resp.StatusCode, c)
	}
	// The origin must name https.
	resp, _ = do(t, cl, "POST", base+"login", url.Values{"token": {tokenA}}, map[string]string{"Origin": "http://" + strings.TrimSuffix(strings.TrimPrefix(base, "https://"), "/")})
	if resp.StatusCode != 403 {
		t.Errorf("sign-in over HTTPS from the http origin: %d", resp.StatusCode)
	}
}

// TestMemberTokensWithoutOperatorAuth: with member tokens but no
// operator credentials, a visitor without a token is the operator (the
// documented, warned-about set-up), and a member's token still narrows.
func TestMemberTokensWithoutOperatorAuth(t *testing.T) {
	dir := t.TempDir()
	specs := rstest.Three()
	f := filepath.Join(dir, "a.token")
	if err := os.WriteFile(f, []byte(tokenA), 0o600); err != nil {
		t.Fatal(err)
	}
	specs[0].Extra = `web_token_file = "` + f + `"`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	e := &tokensEnv{fed: fed, base: serveHTTP(t, fed, conf.HTTP{}, nil)}
	var ns []api.Neighbor
	if code, _ := e.as(t, "", "v1/neighbors", &ns); code != 200 || len(ns) != 3 {
		t.Errorf("without a token: %d, %d neighbours", code, len(ns))
	}
	if code, _ := e.as(t, tokenA, "v1/neighbors", &ns); code != 200 || len(ns) != 1 {
		t.Errorf("nhs-a's token: %d, %d neighbours", code, len(ns))
	}
	if code, _ := e.as(t, "wrong-token-0123456789", "v1/neighbors", nil); code != 401 {
		t.Errorf("a wrong token: %d", code)
	}
}

// TestAccessRules: every route of the [http] listener has an access rule
// in the one table (access.go), and the routes that must be operator-only
// are.
func TestAccessRules(t *testing.T) {
	fed := rstest.Start(t, nil, "", routeserver.Options{})
	a := api.New(fed.Srv, api.Options{Log: rstest.Log})
	routes := api.HTTPRoutes(a, conf.HTTP{Listen: "127.0.0.1:0", Birdwatcher: true})
	for p, rule := range routes {
		if rule == "" {
			t.Errorf("route %q has no access rule: add one line to accessRules in routeserver/api/access.go", p)
		}
	}
	for _, e := range api.Endpoints() {
		if _, ok := routes[e.Method+" "+e.Path]; !ok && !e.Write {
			t.Errorf("endpoint %s %s is not on the [http] listener", e.Method, e.Path)
		}
	}
	for p, want := range map[string]string{
		"GET /v1/mrt": "operator-only", "GET /metrics": "operator-only", "GET /v1/maintenance": "operator-only", "/birdwatcher/": "operator-only",
		"GET /members/{member}": "member-scoped", "GET /v1/members/{member}/routes": "member-scoped", "GET /login": "open", "POST /login": "open",
	} {
		if routes[p] != want {
			t.Errorf("%s: %q, want %q", p, routes[p], want)
		}
	}
}

// TestMemberTokensWithBasicAuth: with the operator on basic
// authentication and member tokens, a browser without credentials goes
// to the sign-in form, whose operator link challenges for basic
// credentials; the operator's basic credentials see everything and a
// member's token its own.
func TestMemberTokensWithBasicAuth(t *testing.T) {
	const user, pass = "noc", "basic-password-0123456789"
	dir := t.TempDir()
	specs := rstest.Three()
	f := filepath.Join(dir, "a.token")
	if err := os.WriteFile(f, []byte(tokenA), 0o600); err != nil {
		t.Fatal(err)
	}
	specs[0].Extra = `web_token_file = "` + f + `"`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	base := serveHTTP(t, fed, conf.HTTP{BasicUser: user, BasicPassword: pass}, nil)
	cl := noRedirect(t)
	if resp, _ := do(t, cl, "GET", base, nil, nil); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("overview without credentials: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, cl, "GET", base+"login", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/login?basic=1&amp;next="`) {
		t.Errorf("sign-in form lacks the operator's link: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = do(t, cl, "GET", base+"login?basic=1&next=%2Fmembers%2Fnhs-b", nil, nil)
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("operator sign-in without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	resp, _ = do(t, cl, "GET", base+"login?basic=1&next=%2Fmembers%2Fnhs-b", nil, map[string]string{"Authorization": auth})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/members/nhs-b" {
		t.Errorf("operator sign-in with basic credentials: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, cl, "GET", base+"members/nhs-b", nil, map[string]string{"Authorization": auth}); resp.StatusCode != 200 {
		t.Errorf("nhs-b's page for the operator: %d", resp.StatusCode)
	}
	e := &tokensEnv{fed: fed, base: base}
	var ns []api.Neighbor
	if code, _ := e.as(t, tokenA, "v1/neighbors", &ns); code != 200 || len(ns) != 1 {
		t.Errorf("nhs-a's token: %d, %d neighbours", code, len(ns))
	}
	if code, _ := e.as(t, "", "v1/neighbors", nil); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
	// A form post with the basic password is not an operator sign-in.
	resp, _ = do(t, cl, "POST", base+"login", url.Values{"token": {pass}}, nil)
	if resp.StatusCode != 401 || sessionCookie(resp) != nil {
		t.Errorf("the basic password as a token: %d", resp.StatusCode)
	}
}

// TestMemberViewExplainOwnRoute: nhs-a's own route that nhs-b does not
// receive because it prefers council-c's: explained to nhs-a without
// naming council-c (the operator sees the name).
func TestMemberViewExplainOwnRoute(t *testing.T) {
	dir := t.TempDir()
	specs := rstest.Three()
	f := filepath.Join(dir, "a.token")
	if err := os.WriteFile(f, []byte(tokenA), 0o600); err != nil {
		t.Fatal(err)
	}
	specs[0].Extra = `web_token_file = "` + f + `"`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	e := &tokensEnv{fed: fed, base: serveHTTP(t, fed, conf.HTTP{TokenSecret: operatorToken}, nil)}
	ctx := rstest.Ctx(t)
	// nhs-a's path is longer: nhs-b receives council-c's route.
	if err := fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: pfx("10.9.0.0/16"), ASPath: []uint32{65001, 65002}}); err != nil {
		t.Fatal(err)
	}
	if err := fed.Members["council-c"].Announce(ctx, member.Route{Prefix: pfx("10.9.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool { return fed.Srv.RIB().Totals().Routes == 2 }, "both routes for 10.9.0.0/16")
	want := []uint32{4200000003}
	if _, err := fed.Members["nhs-b"].WaitFor(ctx, "council-c's route", func(rs []member.Route) bool {
		r, ok := member.Find(rs, pfx("10.9.0.0/16"))
		return ok && slices.Equal(r.ASPath, want)
	}); err != nil {
		t.Fatal(err)
	}
	const q = "v1/explain?member=nhs-a&prefix=10.9.0.0/16&to=nhs-b"
	var op, mine policy.Trace
	if code, msg := e.as(t, operatorToken, q, &op); code != 200 || op.Export == nil || !strings.Contains(op.Export.DeliveryDetail, "council-c") {
		t.Fatalf("the operator's explanation: %d %s %+v", code, msg, op.Export)
	}
	if code, msg := e.as(t, tokenA, q, &mine); code != 200 || mine.Export == nil || mine.Export.Delivery != policy.DeliveryNotSent ||
		strings.Contains(mine.Export.DeliveryDetail, "council-c") || !strings.Contains(mine.Export.DeliveryDetail, "another member's route") || len(mine.Import) == 0 {
		t.Errorf("nhs-a's explanation of its own route toward nhs-b: %d %s %+v", code, msg, mine.Export)
	}
}
