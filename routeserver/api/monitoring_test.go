package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/rpki"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// scrape returns the metric families of the route server's /metrics.
func scrape(t *testing.T, e *env) map[string]*dto.MetricFamily {
	t.Helper()
	var body string
	if err := e.cl.Get(context.Background(), "/metrics", nil, &body); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// series returns the values of a metric family by its labels, written
// "k=v,k=v" in the family's label order.
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		v := m.GetGauge().GetValue()
		if m.GetCounter() != nil {
			v = m.GetCounter().GetValue()
		}
		out[strings.Join(ls, ",")] = v
	}
	return out
}

func sameSeries(got, want map[string]float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return fmt.Errorf("got %v, want %v", got, want)
		}
	}
	return nil
}

// TestDeploymentMetrics: the metrics the shipped alerting rules need
// agree with what happened. fedrs_max_prefixes is the running
// configuration's limit (and follows a reload); fedrs_reloads_total
// counts the reloads applied and refused through the API;
// fedrs_session_admin_down is 1 for a member an operator shut down and
// 0 for one torn down by its max_prefixes (which the session-down alert
// must catch).
func TestDeploymentMetrics(t *testing.T) {
	specs := rstest.Three()
	specs[0].Extra = "max_prefixes = { ipv4 = 10, ipv6 = 5 }"
	specs[1].Extra = "max_prefixes = { ipv4 = 1, action = \"teardown\" }"
	e := startWith(t, rstest.Config(specs, ""), specs)
	ctx := rstest.Ctx(t)

	check := func(what string, want map[string]map[string]float64) {
		t.Helper()
		rstest.EventuallyErr(t, 15*time.Second, func() error {
			fams := scrape(t, e)
			for name, w := range want {
				if err := sameSeries(series(fams, name), w); err != nil {
					return fmt.Errorf("%s: %v", name, err)
				}
			}
			return nil
		}, what)
	}
	check("the metrics at the start", map[string]map[string]float64{
		"fedrs_max_prefixes":  {"family=ipv4,member=nhs-a": 10, "family=ipv6,member=nhs-a": 5, "family=ipv4,member=nhs-b": 1},
		"fedrs_reloads_total": {"result=applied": 0, "result=refused": 0},
		"fedrs_session_admin_down": {"member=nhs-a,neighbor=127.0.0.11": 0, "member=nhs-b,neighbor=127.0.0.12": 0,
			"member=council-c,neighbor=127.0.0.13": 0},
	})

	// A good reload raises nhs-a's limit; a broken file is refused (twice)
	// and changes nothing.
	specs[0].Extra = "max_prefixes = { ipv4 = 20, ipv6 = 5 }"
	if err := os.WriteFile(e.file, []byte(rstest.Config(specs, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	var res api.ReloadResult
	if err := e.cl.Post(ctx, "/v1/reload", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.file, []byte("[server]\nasn = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.cl.Post(ctx, "/v1/reload", nil, nil, &res); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("reload of a broken file: %v, want refused", err)
		}
	}
	check("the metrics after one applied and two refused reloads", map[string]map[string]float64{
		"fedrs_max_prefixes":  {"family=ipv4,member=nhs-a": 20, "family=ipv6,member=nhs-a": 5, "family=ipv4,member=nhs-b": 1},
		"fedrs_reloads_total": {"result=applied": 1, "result=refused": 2},
	})

	// An operator shuts council-c down; nhs-b passes its limit of one
	// route and is torn down (kept down until an operator enables it).
	if err := e.cl.Post(ctx, "/v1/members/council-c/shutdown", nil, map[string]string{"message": "maintenance window"}, nil); err != nil {
		t.Fatal(err)
	}
	b := e.fed.Members["nhs-b"]
	for _, p := range []string{"10.21.0.0/16", "10.22.0.0/16"} {
		if err := b.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix(p)}); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, e.fed.Members["council-c"], false)
	waitState(t, b, false)
	check("the session metrics after a shutdown and a max_prefixes teardown", map[string]map[string]float64{
		"fedrs_session_established": {"member=nhs-a,neighbor=127.0.0.11": 1, "member=nhs-b,neighbor=127.0.0.12": 0,
			"member=council-c,neighbor=127.0.0.13": 0},
		"fedrs_session_admin_down": {"member=nhs-a,neighbor=127.0.0.11": 0, "member=nhs-b,neighbor=127.0.0.12": 0,
			"member=council-c,neighbor=127.0.0.13": 1},
	})
	// nhs-b is down by its max_prefixes, not by an operator (the API's
	// admin_down says it waits for one).
	var ns []api.Neighbor
	if err := e.cl.Get(ctx, "/v1/neighbors", nil, &ns); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Member == "nhs-b" && (!n.AdminDown || !strings.Contains(n.LastError, "maximum number")) {
			t.Errorf("nhs-b after passing its max_prefixes: admin_down %v, last error %q", n.AdminDown, n.LastError)
		}
	}
}

// monitoringDir holds the shipped dashboard and alerting rules.
const monitoringDir = "../../packaging/monitoring"

// TestAlertRules: the shipped alerting rules pass `promtool check rules`
// and their unit tests (fedrs-alerts_test.yml: each alert fires when it
// should, with its annotations, and stays silent when it should not).
func TestAlertRules(t *testing.T) {
	interop.Require(t, false, "promtool")
	promtool, err := interop.LookPath("promtool")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "fedrs-alerts.yml"}, {"test", "rules", "fedrs-alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = monitoringDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert of the rules is exercised by the unit tests, firing
	// at least once and silent at least once.
	rules, tests := readYAML(t, "fedrs-alerts.yml"), readYAML(t, "fedrs-alerts_test.yml")
	fired, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests["tests"].([]any) {
		for _, at := range tc.(map[string]any)["alert_rule_test"].([]any) {
			at := at.(map[string]any)
			name := at["alertname"].(string)
			if exp, _ := at["exp_alerts"].([]any); len(exp) > 0 {
				fired[name] = true
			} else {
				silent[name] = true
			}
		}
	}
	n := 0
	for _, g := range rules["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			r := r.(map[string]any)
			name, _ := r["alert"].(string)
			n++
			if !fired[name] || !silent[name] {
				t.Errorf("alert %s: the unit tests check it firing: %v, silent: %v; want both", name, fired[name], silent[name])
			}
			ann, _ := r["annotations"].(map[string]any)
			for _, k := range []string{"summary", "description", "runbook"} {
				if s, _ := ann[k].(string); s == "" {
					t.Errorf("alert %s has no %s annotation", name, k)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("%d rules in fedrs-alerts.yml", n)
	}
}

func readYAML(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// monitored is a route server with everything that exports metrics.
type monitored struct {
	cl   *api.Client
	fed  *rstest.Fed
	file string // its configuration file
	http string // the [http] listener's address (token monitorToken)
}

const monitorToken = "monitor-token-0123456789"

// startMonitored runs a route server with everything that exports
// metrics: members (nhs-a with a max_prefixes), history, RPKI from a
// file, a BMP collector (that reads and discards), and a periodic MRT
// dump written once; the API serves /metrics on its control socket and
// an [http] listener.
func startMonitored(t *testing.T) *monitored {
	t.Helper()
	dir := t.TempDir()
	col, err := net.Listen("tcp", "127.0.0.56:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := col.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { col.Close() })
	vrps := filepath.Join(dir, "vrps.json")
	if err := os.WriteFile(vrps, []byte(`{"roas":[{"prefix":"10.0.0.0/8","maxLength":24,"asn":"AS4200000001"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := rstest.Three()
	specs[0].Extra = "max_prefixes = { ipv4 = 100, ipv6 = 10 }"
	text := rstest.Config(specs, fmt.Sprintf("history = %q\n\n[rpki]\nfiles = [%q]\n\n[[bmp]]\nname = \"monitor\"\naddress = %q\nconnect_retry = \"1s\"\n",
		filepath.Join(dir, "history.db"), vrps, col.Addr().String()))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	rec, err := history.Open(cfg.Server.History, history.Options{CommitDelay: 5 * time.Millisecond, Log: rstest.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	mgr := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: rstest.Log, FilePoll: time.Hour})
	wg.Add(1)
	go func() { defer wg.Done(); mgr.Run(ctx) }()
	<-mgr.Ready()
	streamer := bmp.New(cfg, bmp.Options{Log: rstest.Log, SysName: "fedrs-test"})
	fed := rstest.StartConfig(t, cfg, specs, routeserver.Options{History: rec, RPKI: mgr, Monitors: []routeserver.Monitor{streamer}})
	streamer.Attach(fed.Srv)
	wg.Add(1)
	go func() { defer wg.Done(); streamer.Run(ctx) }()
	dumps := mrt.NewPeriodic(fed.Srv, filepath.Join(dir, "mrt"), time.Hour, 2, rstest.Log)
	if _, err := dumps.DumpNow(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := fed.Members["nhs-a"].Announce(rstest.Ctx(t), member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "fedrs.sock")
	a := api.New(fed.Srv, api.Options{Version: "test", RPKI: mgr, History: history.Status{Recorder: rec}, BMP: streamer, MRT: dumps, Log: rstest.Log})
	wg.Add(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := ln.Addr().String()
	ln.Close()
	go func() { defer wg.Done(); a.Serve(ctx, sock, conf.HTTP{Listen: httpAddr, Token: monitorToken}) }()
	cl := api.NewClient(sock)
	rstest.EventuallyErr(t, 5*time.Second, func() error {
		var st api.Status
		return cl.Get(context.Background(), "/v1/status", nil, &st)
	}, "the control API to answer")
	return &monitored{cl: cl, fed: fed, file: file, http: httpAddr}
}

// metricName finds the fedrs metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\bfedrs_[a-z0-9_]+`)

// TestMonitoringMetricsExist: every fedrs metric the shipped alerting
// rules and dashboard name is exported by a running route server (a
// renamed metric would leave an alert that never fires or an empty panel).
func TestMonitoringMetricsExist(t *testing.T) {
	cl := startMonitored(t).cl
	used := map[string][]string{} // metric -> where
	rules := readYAML(t, "fedrs-alerts.yml")
	for _, g := range rules["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			r := r.(map[string]any)
			for _, n := range metricName.FindAllString(r["expr"].(string), -1) {
				used[n] = append(used[n], "alert "+r["alert"].(string))
			}
		}
	}
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				used[n] = append(used[n], "panel "+p.Title)
			}
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			for _, n := range metricName.FindAllString(fmt.Sprint(q["query"]), -1) {
				used[n] = append(used[n], "variable "+v.Name)
			}
		}
	}
	if len(used) < 40 {
		t.Errorf("only %d metric names found in the rules and the dashboard: %v", len(used), used)
	}
	var fams map[string]*dto.MetricFamily
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		var body string
		if err := cl.Get(context.Background(), "/metrics", nil, &body); err != nil {
			return err
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if fams, err = parser.TextToMetricFamilies(strings.NewReader(body)); err != nil {
			return err
		}
		for _, want := range []string{"fedrs_history_events_committed_total", "fedrs_rpki_age_seconds", "fedrs_bmp_up", "fedrs_mrt_last_dump_timestamp_seconds", "fedrs_max_prefixes"} {
			if len(fams[want].GetMetric()) == 0 {
				return fmt.Errorf("no %s yet", want)
			}
		}
		return nil
	}, "every part of the route server to export its metrics")
	for name, where := range used {
		if fams[name] != nil {
			continue
		}
		// A histogram's or summary's series.
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suf)
		}
		if mf := fams[base]; base != name && mf != nil && (mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY) {
			continue
		}
		slices.Sort(where)
		t.Errorf("%s (used by %s) is not exported by the route server", name, strings.Join(slices.Compact(where), ", "))
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Inputs []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

type dashPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "grafana-fedrs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana-fedrs.json: %v", err)
	}
	// Rows' collapsed panels count too.
	var all []dashPanel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	d.Panels = all
	return d
}

// TestDashboard: the shipped Grafana dashboard is valid JSON with a uid
// and a templated Prometheus data source (so it imports anywhere), every
// panel has a title and queries on that data source, and every query
// is valid PromQL (promtool, with Grafana's variables substituted).
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both must be set", d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want the one Prometheus data source DS_PROMETHEUS", d.Inputs)
	}
	const ds = "${DS_PROMETHEUS}"
	ids := map[int]bool{}
	var exprs []string
	n := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		n++
		if p.Datasource == nil || p.Datasource.UID != ds {
			t.Errorf("panel %q: data source %+v, want %s", p.Title, p.Datasource, ds)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: query %q with refId %q (empty or repeated)", p.Title, tg.Expr, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != ds {
				t.Errorf("panel %q: a query's data source is %+v, want %s", p.Title, tg.Datasource, ds)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	if n < 25 {
		t.Errorf("%d panels", n)
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, _ := q["query"].(string); strings.HasPrefix(s, "label_values(") {
				// label_values(SELECTOR, label): the selector is PromQL.
				exprs = append(exprs, strings.TrimSpace(s[len("label_values("):strings.LastIndex(s, ",")]))
			}
		}
	}

	// PromQL syntax: promtool checks the queries as recording rules.
	interop.Require(t, false, "promtool")
	promtool, err := interop.LookPath("promtool")
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer(`$instance`, `.*`, `$member`, `.*`, `$__rate_interval`, `5m`)
	var rules []map[string]string
	for i, e := range exprs {
		rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard:query_%d", i), "expr": vars.Replace(e)})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("the dashboard's queries are not valid PromQL: %v\n%s\n%s", err, out, b)
	}
}

// TestAlertsOnLivePrometheus: a real Prometheus scrapes a running route
// server over its [http] listener with the token (the README's scrape
// configuration) and evaluates the shipped rules: every rule evaluates
// without error; a member whose router stopped gets a pending
// FedrsSessionDown, a member an operator shut down does not; a refused
// reload fires FedrsReloadRefused; nothing else alerts.
func TestAlertsOnLivePrometheus(t *testing.T) {
	interop.Require(t, false, "prometheus")
	bin, err := interop.LookPath("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	m := startMonitored(t)
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join(monitoringDir, "fedrs-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "fedrs-http-token")
	if err := os.WriteFile(tokenFile, []byte(monitorToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: fedrs
    authorization:
      credentials_file: %s
    static_configs:
      - targets: [%q]
`, rules, tokenFile, m.http)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(promCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := ln.Addr().String()
	ln.Close()
	var log bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	get := func(path string, v any) error {
		resp, err := http.Get("http://" + web + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var env struct {
			Status string          `json:"status"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			return err
		}
		if env.Status != "success" {
			return fmt.Errorf("%s: status %s", path, env.Status)
		}
		return json.Unmarshal(env.Data, v)
	}
	type alert struct {
		Labels map[string]string `json:"labels"`
		State  string            `json:"state"`
	}
	type rule struct {
		Name      string  `json:"name"`
		Health    string  `json:"health"`
		LastError string  `json:"lastError"`
		Alerts    []alert `json:"alerts"`
	}
	rulesNow := func() ([]rule, error) {
		var d struct {
			Groups []struct {
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		if err := get("/api/v1/rules", &d); err != nil {
			return nil, err
		}
		var out []rule
		for _, g := range d.Groups {
			out = append(out, g.Rules...)
		}
		return out, nil
	}
	// Scraped, and every rule evaluated without error.
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		var up struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		}
		if err := get("/api/v1/query?query="+url.QueryEscape(`up{job="fedrs"}`), &up); err != nil {
			return err
		}
		if len(up.Result) != 1 || up.Result[0].Value[1] != "1" {
			return fmt.Errorf("up{job=\"fedrs\"}: %+v", up.Result)
		}
		rs, err := rulesNow()
		if err != nil {
			return err
		}
		if len(rs) != 13 {
			return fmt.Errorf("%d rules loaded", len(rs))
		}
		for _, r := range rs {
			if r.Health != "ok" {
				return fmt.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
			}
		}
		return nil
	}, "Prometheus to scrape the route server and evaluate every rule")

	// nhs-b's router goes away; council-c is shut down by an operator;
	// a broken configuration is refused.
	ctx := rstest.Ctx(t)
	m.fed.Members["nhs-b"].Stop()
	if err := m.cl.Post(ctx, "/v1/members/council-c/shutdown", nil, map[string]string{"message": "planned works"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.file, []byte("[server]\nasn = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.cl.Post(ctx, "/v1/reload", nil, nil, nil); err == nil {
		t.Fatal("a broken configuration was reloaded")
	}
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		rs, err := rulesNow()
		if err != nil {
			return err
		}
		got := map[string][]string{}
		for _, r := range rs {
			if r.Health != "ok" {
				return fmt.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
			}
			for _, a := range r.Alerts {
				got[r.Name] = append(got[r.Name], a.State+" "+a.Labels["member"])
			}
		}
		want := map[string][]string{"FedrsSessionDown": {"pending nhs-b"}, "FedrsReloadRefused": {"firing "}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("alerts %v, want %v", got, want)
		}
		return nil
	}, "Prometheus's alerts to follow the route server")
}
