package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
)

// buildFedrs builds the fedrs binary into dir.
func buildFedrs(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: not inside the fedrs module (%v)", err)
	}
	bin := filepath.Join(dir, "fedrs")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/fedrs/fedrs/cmd/fedrs")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build fedrs: %v\n%s", err, out)
	}
	return bin
}

// A small benchmark end to end: fedrs and BIRD in namespaces, every one
// converges (and so filters the probes and the RPKI invalid routes), the
// outputs are written, nothing is left behind.
func TestBenchEndToEnd(t *testing.T) {
	interop.Require(t, true, "ip", "bird")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := buildFedrs(t, dir)
	sizes, err := ParseSizes("3x50", DefaultV6Ratio)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var progress strings.Builder
	name := fmt.Sprintf("t%d", os.Getpid()%100000)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Sizes: sizes, Contenders: []string{Fedrs, BIRD}, Timeout: time.Minute, OutDir: out,
		FedrsBinary: bin, Seed: 1, ChurnRate: 100, ChurnFor: time.Second, Name: name, Progress: &progress,
		SockRoot: filepath.Join(dir, "s")})
	t.Log("\n" + progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("%d results, want 2", len(rep.Results))
	}
	for _, r := range rep.Results {
		if !r.Converged() {
			t.Errorf("%s: %s: %s", r.Contender, r.Status, r.Reason)
			continue
		}
		if r.Held != r.Expected || r.Extra != 0 || r.Expected == 0 {
			t.Errorf("%s: held %d of %d, %d unexpected", r.Contender, r.Held, r.Expected, r.Extra)
		}
		if r.CPUSeconds < 0 || r.PeakRSSBytes <= 0 || r.Processes < 1 {
			t.Errorf("%s: no resource figures: %+v", r.Contender, r)
		}
		if r.Churn == nil || r.Churn.Ops == 0 || r.Churn.Samples == 0 {
			t.Errorf("%s: no churn measured: %+v", r.Contender, r.Churn)
		}
		if _, err := os.Stat(filepath.Join(r.Dir, r.Contender+".log")); err != nil {
			t.Errorf("%s: no log: %v", r.Contender, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Results) != 2 {
		t.Fatalf("%s: %v", JSONFile, err)
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil || !strings.Contains(string(md), "| 3x50 | 180 | bird | converged |") {
		t.Fatalf("%s: %v\n%s", MarkdownFile, err, md)
	}
	f, err := os.Open(filepath.Join(out, ChartFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("%s: %v", ChartFile, err)
	}
	left, err := Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range left {
		if strings.HasPrefix(ns, NamespacePrefix+name+"-") {
			t.Errorf("namespace %s left behind", ns)
		}
	}
}

// A contender whose daemon is not installed is skipped with the reason.
func TestBenchMissingDaemon(t *testing.T) {
	interop.Require(t, true, "ip")
	c, err := contenderByName(Fedrs)
	if err != nil {
		t.Fatal(err)
	}
	if msg := c.missing(&Env{FedrsBinary: "/nonexistent/fedrs"}); !strings.Contains(msg, "/nonexistent/fedrs") {
		t.Fatalf("missing: %q", msg)
	}
	c.binaries = []string{"no-such-bgpd"}
	c.name = "other"
	if msg := c.missing(&Env{}); !strings.Contains(msg, "no-such-bgpd") {
		t.Fatalf("missing: %q", msg)
	}
	dir := t.TempDir()
	rep, err := Run(context.Background(), Options{Sizes: []Size{{2, 10, 0}}, Contenders: []string{Fedrs}, OutDir: dir,
		FedrsBinary: "/nonexistent/fedrs", Name: "tmiss", SockRoot: filepath.Join(dir, "s")})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Status != StatusSkipped || !strings.Contains(r.Reason, "missing") {
		t.Fatalf("result %+v", r)
	}
	if _, err := Run(context.Background(), Options{Contenders: []string{"quagga"}, OutDir: dir}); err == nil ||
		!errors.Is(err, err) || !strings.Contains(err.Error(), "unknown contender") {
		t.Fatalf("unknown contender: %v", err)
	}
}
