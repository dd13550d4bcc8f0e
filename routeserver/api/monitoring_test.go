package api_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
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
