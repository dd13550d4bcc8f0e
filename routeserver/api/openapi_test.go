package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/rpki"
)

// The OpenAPI description (openapi.json) is kept in step with the API by
// three tests: the endpoints, the component schemas against the Go types,
// and the answers of a live route server against the schemas.

type obj = map[string]any

// openapiSpec is openapi.json, parsed.
type openapiSpec struct{ doc obj }

func loadSpec(t *testing.T) openapiSpec {
	t.Helper()
	var doc obj
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi.json: openapi %q, want 3.x", v)
	}
	return openapiSpec{doc}
}

// get follows keys from the document's root (nil when absent).
func (s openapiSpec) get(keys ...string) obj {
	o := s.doc
	for _, k := range keys {
		o, _ = o[k].(obj)
	}
	return o
}

// resolve follows a $ref ("#/components/...").
func (s openapiSpec) resolve(o obj) obj {
	for o != nil {
		ref, ok := o["$ref"].(string)
		if !ok {
			return o
		}
		o = s.get(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
	}
	return o
}

// operation is the spec's operation for method and path (nil if none).
func (s openapiSpec) operation(method, path string) obj {
	return s.get("paths", path, strings.ToLower(method))
}

// params are the names of an operation's parameters by location
// ("query", "path").
func (s openapiSpec) params(op obj, in string) []string {
	var out []string
	for _, p := range asList(op["parameters"]) {
		p := s.resolve(p.(obj))
		if p["in"] == in {
			out = append(out, p["name"].(string))
		}
	}
	return out
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestOpenAPIEndpoints: every endpoint the mux serves is in the spec with
// the same method, and every operation of the spec is served.
func TestOpenAPIEndpoints(t *testing.T) {
	s := loadSpec(t)
	served := map[string]bool{}
	for _, e := range api.Endpoints() {
		key := e.Method + " " + e.Path
		served[key] = true
		op := s.operation(e.Method, e.Path)
		if op == nil {
			t.Errorf("%s is served but not in openapi.json (paths[%q].%s)", key, e.Path, strings.ToLower(e.Method))
			continue
		}
		var want []string
		for _, part := range strings.Split(e.Path, "/") {
			if strings.HasPrefix(part, "{") {
				want = append(want, strings.Trim(part, "{}"))
			}
		}
		if got := s.params(op, "path"); !slices.Equal(got, want) {
			t.Errorf("%s: openapi.json's path parameters %v, want %v", key, got, want)
		}
		resp := s.get("paths", e.Path, strings.ToLower(e.Method), "responses")
		if resp["200"] == nil {
			t.Errorf("%s: openapi.json has no 200 response", key)
		}
		// The TCP listener is read-only: a changing endpoint answers
		// 403 there, a reading one 401 without the token.
		if e.Write && resp["403"] == nil {
			t.Errorf("%s changes state: openapi.json should list the read-only listener's 403", key)
		}
		if !e.Write && resp["401"] == nil {
			t.Errorf("%s is on the read-only listener: openapi.json should list its 401", key)
		}
		if e.Write != (e.Method != http.MethodGet) {
			t.Errorf("%s: Write %v for method %s", key, e.Write, e.Method)
		}
	}
	for path := range s.get("paths") {
		for _, m := range httpMethods {
			if s.operation(m, path) != nil && !served[strings.ToUpper(m)+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the API does not serve (api.Endpoints)", strings.ToUpper(m), path)
			}
		}
	}
}

// schemaTypes ties the spec's component schemas to the Go types they
// describe.
var schemaTypes = map[string]any{
	"Status":                api.Status{},
	"RPKIStatus":            api.RPKIStatus{},
	"Neighbor":              api.Neighbor{},
	"Notification":          api.Notification{},
	"FamilyCnt":             api.FamilyCnt{},
	"Negotiated":            api.Negotiated{},
	"Reason":                api.Reason{},
	"Route":                 api.Route{},
	"RouteList":             api.RouteList{},
	"PrefixSearch":          api.PrefixSearch{},
	"PrefixTarget":          api.PrefixTarget{},
	"ReloadRequest":         api.ReloadRequest{},
	"ReloadResult":          api.ReloadResult{},
	"CheckRequest":          api.CheckRequest{},
	"CheckResult":           api.CheckResult{},
	"CheckTotals":           api.CheckTotals{},
	"CheckRoute":            api.CheckRoute{},
	"ClearResult":           api.ClearResult{},
	"ClearSession":          api.ClearSession{},
	"Maintenance":           api.Maintenance{},
	"RPKI":                  api.RPKI{},
	"RPKISource":            rpki.SourceStatus{},
	"BMPStatus":             bmp.Status{},
	"MRTPeriodicStatus":     mrt.PeriodicStatus{},
	"MRTStats":              mrt.Stats{},
	"Trace":                 policy.Trace{},
	"ExportTrace":           policy.ExportTrace{},
	"Step":                  policy.Step{},
	"RouteText":             policy.RouteText{},
	"VerdictText":           policy.VerdictText{},
	"ReasonText":            policy.ReasonText{},
	"Error":                 api.Error{},
	"EventPage":             history.EventPage{},
	"Event":                 history.Event{},
	"EventReason":           history.EventReason{},
	"SessionHistory":        api.SessionHistory{},
	"SessionInterval":       api.SessionInterval{},
	"FilteredCounts":        api.FilteredCounts{},
	"ReasonCount":           history.ReasonCount{},
	"PrefixHistory":         api.PrefixHistory{},
	"PrefixVersion":         api.PrefixVersion{},
	"MemberIntervals":       api.MemberIntervals{},
	"ExportInterval":        api.ExportInterval{},
	"HistoryAt":             api.HistoryAt{},
	"Reach":                 api.Reach{},
	"HistoryNotice":         history.Notice{},
	"HistoryTransfer":       history.Transfer{},
	"HistoryExport":         history.Export{},
	"HistoryVersion":        history.Version{},
	"HistoryVersions":       history.VersionsAnswer{},
	"HistoryRIB":            history.RIBAnswer{},
	"HistorySession":        history.Session{},
	"HistorySessionRecords": history.SessionsAnswer{},
	"RestartResult":         api.RestartResult{},
}

// jsonFields are the names encoding/json writes for struct type t
// (embedded structs without a tag flattened), and which of them it always
// writes (no omitempty or omitzero).
func jsonFields(t reflect.Type) (names, always []string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			n, a := jsonFields(f.Type)
			names, always = append(names, n...), append(always, a...)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	sort.Strings(names)
	sort.Strings(always)
	return names, always
}

func keys(o obj) []string {
	var out []string
	for k := range o {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// missing is what of want got lacks.
func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestOpenAPISchemas: each component schema tied to a Go type has its
// JSON fields as properties, and requires those always written.
func TestOpenAPISchemas(t *testing.T) {
	s := loadSpec(t)
	schemas := s.get("components", "schemas")
	for name := range schemas {
		if _, ok := schemaTypes[name]; !ok {
			t.Errorf("openapi.json schema %s is tied to no Go type: add it to schemaTypes", name)
		}
	}
	for name, v := range schemaTypes {
		typ := reflect.TypeOf(v)
		sch, _ := schemas[name].(obj)
		if sch == nil {
			t.Errorf("openapi.json has no schema %s (for %v)", name, typ)
			continue
		}
		props, _ := sch["properties"].(obj)
		got := keys(props)
		want, always := jsonFields(typ)
		if m := missing(want, got); len(m) > 0 {
			t.Errorf("openapi.json schema %s lacks properties %v of %v", name, m, typ)
		}
		if m := missing(got, want); len(m) > 0 {
			t.Errorf("openapi.json schema %s has properties %v that %v does not have", name, m, typ)
		}
		var req []string
		for _, r := range asList(sch["required"]) {
			req = append(req, r.(string))
		}
		sort.Strings(req)
		if !slices.Equal(req, always) {
			t.Errorf("openapi.json schema %s requires %v; %v always has %v (fields without omitempty)", name, req, typ, always)
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// jsonType is the JSON Schema type of a decoded JSON value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case obj:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// validate checks v against schema sch, structurally: types, object
// properties (no keys outside them when the schema lists them), required
// keys, array items, string enums, oneOf. It returns what does not fit,
// each named by its location in v.
func (s openapiSpec) validate(at string, sch obj, v any) []string {
	sch = s.resolve(sch)
	if sch == nil {
		return []string{at + ": no schema"}
	}
	if alts := asList(sch["oneOf"]); alts != nil {
		var all []string
		for _, a := range alts {
			errs := s.validate(at, a.(obj), v)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{fmt.Sprintf("%s: fits no alternative of oneOf (%s)", at, strings.Join(all, "; "))}
	}
	got := jsonType(v)
	if ty, ok := sch["type"]; ok {
		var types []string
		if l := asList(ty); l != nil {
			for _, x := range l {
				types = append(types, x.(string))
			}
		} else {
			types = []string{ty.(string)}
		}
		if !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
			return []string{fmt.Sprintf("%s: %s, want %v", at, got, types)}
		}
	}
	if enum := asList(sch["enum"]); enum != nil && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", at, v, enum)}
	}
	var errs []string
	switch v := v.(type) {
	case obj:
		props, _ := sch["properties"].(obj)
		for _, k := range keys(v) {
			if p, ok := props[k].(obj); ok {
				errs = append(errs, s.validate(at+"."+k, p, v[k])...)
			} else if props != nil && sch["additionalProperties"] != true {
				errs = append(errs, fmt.Sprintf("%s.%s: not a property of the schema", at, k))
			}
		}
		for _, r := range asList(sch["required"]) {
			if _, ok := v[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %s is absent", at, r))
			}
		}
	case []any:
		if items, ok := sch["items"].(obj); ok {
			for i, x := range v {
				errs = append(errs, s.validate(fmt.Sprintf("%s[%d]", at, i), items, x)...)
			}
		}
	}
	return errs
}

// TestOpenAPILive calls every GET endpoint of a route server with members
// and routes (a filtered one too) on the read-only TCP listener and checks
// each answer against the spec: status, content type, and for JSON the
// 200 schema. Then some errors against theirs, and every POST endpoint on
// the unix socket (bodies and answers).
func TestOpenAPILive(t *testing.T) {
	s := loadSpec(t)
	e := start(t)
	ctx := rstest.Ctx(t)
	a := e.fed.Members["nhs-a"]
	a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65001}})
	a.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")})
	if _, err := e.fed.Members["nhs-b"].WaitFor(ctx, "10.1.0.0/16", rstest.Has(pfx("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		var st api.Status
		if err := e.cl.Get(ctx, "/v1/status", nil, &st); err != nil {
			return err
		}
		if st.Routes != 2 {
			return fmt.Errorf("%d routes", st.Routes)
		}
		return nil
	}, "the route server to hold both routes")
	if err := e.rec.Sync(ctx); err != nil { // the history has them too
		t.Fatal(err)
	}

	do := func(path string, q url.Values, tok string) (*http.Response, []byte) {
		t.Helper()
		u := "http://" + e.tcp + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		return resp, b
	}
	// check calls GET path with q and checks the answer of status
	// against the spec's response for it.
	check := func(epath, path string, q url.Values, tok string, status int) {
		t.Helper()
		what := "GET " + path + "?" + q.Encode()
		op := s.operation("GET", epath)
		declared := s.params(op, "query")
		for k := range q {
			if !slices.Contains(declared, k) {
				t.Errorf("%s: query parameter %s is not in openapi.json (GET %s has %v)", what, k, epath, declared)
			}
		}
		resp, body := do(path, q, tok)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d: %.300s", what, resp.StatusCode, status, body)
			return
		}
		r := s.resolve(s.get("paths", epath, "get", "responses", fmt.Sprint(status)))
		if r == nil {
			t.Errorf("%s: status %d is not among openapi.json's responses of GET %s", what, status, epath)
			return
		}
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		media, _ := r["content"].(obj)[ct].(obj)
		if media == nil {
			t.Errorf("%s: content type %q is not in openapi.json's %d response (%v)", what, ct, status, keys(r["content"].(obj)))
			return
		}
		if ct != "application/json" {
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s: not JSON: %v", what, err)
			return
		}
		for _, msg := range s.validate("body", media["schema"].(obj), v) {
			t.Errorf("%s (status %d): %s", what, status, msg)
		}
	}
	type call struct {
		path string
		q    url.Values
	}
	mb := "nhs-a"
	calls := map[string][]call{
		"/v1/status":    {{}},
		"/v1/neighbors": {{}},
		"/v1/members/{member}/routes": {
			{q: url.Values{}},
			{q: url.Values{"view": {"accepted"}, "family": {"ipv4"}, "offset": {"0"}, "limit": {"10"}}},
			{q: url.Values{"view": {"filtered"}}},
			{q: url.Values{"view": {"exported"}}},
			{path: "/v1/members/nhs-b/routes", q: url.Values{"view": {"exported"}, "family": {"ipv4"}}},
			{path: "/v1/members/nhs-b/routes", q: url.Values{"view": {"exported"}, "family": {"ipv6"}}},
		},
		"/v1/lookup": {
			{q: url.Values{"prefix": {"10.1.0.0/16"}}},
			{q: url.Values{"prefix": {"10.0.0.0/8"}, "mode": {"more-specifics"}}},
		},
		"/v1/route": {
			{q: url.Values{"member": {mb}, "prefix": {"10.1.0.0/16"}}},
			{q: url.Values{"member": {mb}, "prefix": {"10.2.0.0/16"}}},
		},
		"/v1/explain": {
			{q: url.Values{"member": {mb}, "prefix": {"10.1.0.0/16"}, "to": {"nhs-b"}}},
			{q: url.Values{"member": {mb}, "prefix": {"10.2.0.0/16"}}},
			{q: url.Values{"member": {mb}, "prefix": {"10.1.0.0/16"}, "format": {"text"}}},
		},
		"/v1/history/events": {
			{q: url.Values{}},
			{q: url.Values{"member": {mb}, "kind": {"filtered", "session"}, "limit": {"5"}}},
			{q: url.Values{"prefix": {"10.0.0.0/8"}, "reason": {"next_hop"}, "since": {"2026-01-01T00:00:00Z"}, "until": {"2036-01-01T00:00:00Z"}}},
		},
		"/v1/history/sessions": {{q: url.Values{"member": {mb}}}, {q: url.Values{"since": {"2026-01-01T00:00:00Z"}, "until": {"2036-01-01T00:00:00Z"}, "limit": {"10"}}}},
		"/v1/history/filtered": {{}, {q: url.Values{"member": {mb}, "since": {"2026-01-01T00:00:00Z"}, "until": {"2036-01-01T00:00:00Z"}}}},
		"/v1/history/prefix": {
			{q: url.Values{"prefix": {"10.1.0.0/16"}}},
			{q: url.Values{"prefix": {"10.2.0.0/16"}, "from": {"-1h"}, "to": {"now"}}},
		},
		"/v1/history/at": {
			{q: url.Values{"prefix": {"10.1.0.0/16"}, "member": {"nhs-b"}}},
			{q: url.Values{"prefix": {"10.2.0.0/16"}, "t": {"now"}, "member": {"nhs-a"}}},
		},
		"/v1/history/versions": {
			{q: url.Values{"prefix": {"10.1.0.0/16"}}},
			{q: url.Values{"prefix": {"10.0.0.0/8"}, "more_specifics": {"true"}, "covering": {"true"}, "member": {mb}, "since": {"2026-01-01T00:00:00Z"}, "until": {"2036-01-01T00:00:00Z"}, "limit": {"1"}}},
			{q: url.Values{"filtered": {"true"}, "reason": {"next_hop"}}},
		},
		"/v1/history/rib": {
			{q: url.Values{"t": {time.Now().UTC().Format(time.RFC3339Nano)}}},
			{q: url.Values{"t": {time.Now().UTC().Format(time.RFC3339Nano)}, "exported_to": {"nhs-b"}, "limit": {"1"}}},
			{q: url.Values{"t": {time.Now().UTC().Format(time.RFC3339Nano)}, "member": {mb}}},
		},
		"/v1/history/session-records": {{}, {q: url.Values{"member": {mb}, "since": {"2026-01-01T00:00:00Z"}, "until": {"2036-01-01T00:00:00Z"}, "limit": {"1"}}}},
		"/v1/prefixes": {
			{q: url.Values{"q": {"10.1.0.0/16"}}},
			{q: url.Values{"q": {"10.2.3.4"}, "match": {"longest"}}},
		},
		"/v1/mrt":          {{}},
		"/v1/rpki":         {{}},
		"/v1/maintenance":  {{}},
		"/v1/openapi.json": {{}},
		"/metrics":         {{}},
	}
	for _, ep := range api.Endpoints() {
		if ep.Method != http.MethodGet {
			continue
		}
		cs, ok := calls[ep.Path]
		if !ok {
			t.Errorf("GET %s has no live check: add a call to TestOpenAPILive", ep.Path)
		}
		for _, c := range cs {
			path := c.path
			if path == "" {
				path = strings.ReplaceAll(ep.Path, "{member}", mb)
			}
			check(ep.Path, path, c.q, token, http.StatusOK)
		}
	}
	// Errors: their status is documented and their body is an Error.
	check("/v1/status", "/v1/status", nil, "", http.StatusUnauthorized)
	check("/v1/members/{member}/routes", "/v1/members/nobody/routes", nil, token, http.StatusNotFound)
	check("/v1/members/{member}/routes", "/v1/members/nhs-a/routes", url.Values{"view": {"weird"}}, token, http.StatusBadRequest)
	check("/v1/lookup", "/v1/lookup", url.Values{"prefix": {"banana"}}, token, http.StatusBadRequest)
	check("/v1/route", "/v1/route", url.Values{"member": {mb}, "prefix": {"10.9.0.0/16"}}, token, http.StatusNotFound)
	check("/v1/explain", "/v1/explain", url.Values{"member": {"nobody"}, "prefix": {"10.1.0.0/16"}}, token, http.StatusNotFound)
	check("/v1/history/events", "/v1/history/events", url.Values{"since": {"yesterday"}}, token, http.StatusBadRequest)
	check("/v1/history/events", "/v1/history/events", url.Values{"member": {"nobody"}}, token, http.StatusNotFound)
	check("/v1/history/sessions", "/v1/history/sessions", url.Values{"limit": {"5000"}}, token, http.StatusBadRequest)
	check("/v1/history/prefix", "/v1/history/prefix", url.Values{"prefix": {"10.1.0.0/16"}, "from": {"soon"}}, token, http.StatusBadRequest)
	check("/v1/history/prefix", "/v1/history/prefix", url.Values{"prefix": {"10.99.0.0/16"}}, token, http.StatusNotFound)
	check("/v1/history/at", "/v1/history/at", url.Values{"prefix": {"10.1.0.0/16"}, "member": {"nobody"}}, token, http.StatusNotFound)
	check("/v1/history/versions", "/v1/history/versions", url.Values{"member": {"nobody"}}, token, http.StatusNotFound)
	check("/v1/history/versions", "/v1/history/versions", url.Values{"reason": {"banana"}}, token, http.StatusBadRequest)
	check("/v1/history/rib", "/v1/history/rib", nil, token, http.StatusBadRequest)
	check("/v1/history/session-records", "/v1/history/session-records", url.Values{"since": {"yesterday"}}, token, http.StatusBadRequest)
	check("/v1/prefixes", "/v1/prefixes", url.Values{"q": {"banana"}}, token, http.StatusBadRequest)
	check("/v1/prefixes", "/v1/prefixes", url.Values{"q": {"10.9.0.0/16"}}, token, http.StatusNotFound)
	// The changing endpoints, on the unix socket: their request bodies
	// and answers against the spec.
	post := func(epath, path string, q url.Values, body any) {
		t.Helper()
		op := s.operation("POST", epath)
		if body != nil {
			var v any
			b, _ := json.Marshal(body)
			json.Unmarshal(b, &v)
			rb := s.resolve(op["requestBody"].(obj))
			for _, msg := range s.validate("request", rb["content"].(obj)["application/json"].(obj)["schema"].(obj), v) {
				t.Errorf("POST %s: %s", path, msg)
			}
		}
		declared := s.params(op, "query")
		for k := range q {
			if !slices.Contains(declared, k) {
				t.Errorf("POST %s: query parameter %s is not in openapi.json (it has %v)", path, k, declared)
			}
		}
		var v any
		if err := e.cl.Post(ctx, path, q, body, &v); err != nil {
			t.Errorf("POST %s: %v", path, err)
			return
		}
		r := s.resolve(s.get("paths", epath, "post", "responses", "200"))
		for _, msg := range s.validate("body", r["content"].(obj)["application/json"].(obj)["schema"].(obj), v) {
			t.Errorf("POST %s: %s", path, msg)
		}
	}
	posted := map[string]bool{}
	for _, c := range []struct {
		epath, path string
		q           url.Values
		body        any
	}{
		{"/v1/check", "", nil, api.CheckRequest{Config: e.file, Limit: 10}},
		{"/v1/reload", "", nil, api.ReloadRequest{Config: e.file}},
		{"/v1/restart", "", nil, nil},
		{"/v1/members/{member}/clear", "/v1/members/nhs-a/clear", url.Values{"direction": {"out"}}, nil},
		{"/v1/members/{member}/shutdown", "/v1/members/council-c/shutdown", nil, map[string]string{"message": "openapi test"}},
		{"/v1/members/{member}/enable", "/v1/members/council-c/enable", nil, nil},
		{"/v1/maintenance/start", "", nil, map[string]string{"message": "openapi test", "wait": "1h"}},
		{"/v1/maintenance/stop", "", nil, nil},
		{"/v1/maintenance", "", nil, map[string]string{"wait": "1h"}},
		{"/v1/maintenance/stop", "", nil, nil},
	} {
		if c.path == "" {
			c.path = c.epath
		}
		posted[c.epath] = true
		post(c.epath, c.path, c.q, c.body)
	}
	for _, ep := range api.Endpoints() {
		if ep.Method == http.MethodPost && !posted[ep.Path] {
			t.Errorf("POST %s has no live check: add a call to TestOpenAPILive", ep.Path)
		}
	}
	// The spec served is the file embedded.
	if _, body := do("/v1/openapi.json", nil, token); string(body) != string(api.OpenAPI) {
		t.Errorf("GET /v1/openapi.json is not openapi.json")
	}
}
