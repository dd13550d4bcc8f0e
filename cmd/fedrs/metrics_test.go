package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsLint scrapes /metrics of `fedrs run` with history, RPKI, BMP
// and MRT configured and requires promlint to find nothing: counters end
// in _total and are typed counter, units are base units, every metric
// has HELP.
func TestMetricsLint(t *testing.T) {
	col, err := net.Listen("tcp", "127.0.0.55:0") // a BMP collector that reads and discards
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
	vrps := filepath.Join(t.TempDir(), "vrps.json")
	if err := os.WriteFile(vrps, []byte(`{"roas":[{"prefix":"10.0.0.0/8","maxLength":24,"asn":4200000001}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("history = \"history.db\"\n\n[rpki]\nfiles = [%q]\n\n[[bmp]]\nname = \"lint\"\naddress = %q\n\n[mrt]\ndump_dir = \"mrt\"\ninterval = \"1h\"\n",
		vrps, col.Addr().String())
	f := startRun(t, extra)
	ctx := rstest.Ctx(t)
	if err := f.routers[0].Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.routers[1].WaitFor(ctx, "nhs-a's route", rstest.Has(netip.MustParsePrefix("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	body := f.metrics(t)

	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v\n%s", err, body)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The lint saw every part: sessions, RIB, RPKI, history, BMP, MRT.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fedrs_session_state", "fedrs_exported_prefixes", "fedrs_rib_routes", "fedrs_rpki_vrps",
		"fedrs_history_events_committed_total", "fedrs_history_behind_seconds", "fedrs_bmp_up", "fedrs_mrt_dumps_total"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for name, mf := range fams {
		if strings.HasPrefix(name, "fedrs_") && mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
	}
}
