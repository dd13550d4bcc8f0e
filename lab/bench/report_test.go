package bench

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	rep := &Report{Date: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Timeout: "5m0s", Seed: 1,
		Versions: map[string]string{Fedrs: "fedrs devel", BIRD: "BIRD version 2.0.12"}}
	add := func(size string, routes int, c, status string, conv, cpu float64, rss int64) {
		rep.Results = append(rep.Results, Result{Size: size, Routes: routes, Contender: c, Status: status,
			ConvergenceSeconds: conv, CPUSeconds: cpu, PeakRSSBytes: rss, Processes: 1, Expected: 100, Held: 40})
	}
	add("20x5000", 120000, Fedrs, StatusConverged, 1.5, 2.0, 100<<20)
	add("20x5000", 120000, BIRD, StatusConverged, 3.0, 2.5, 200<<20)
	add("20x5000", 120000, GoBGP, StatusTimeout, 0, 300, 400<<20)
	add("50x10000", 600000, Fedrs, StatusConverged, 9, 12, 300<<20)
	add("50x10000", 600000, BIRD, StatusConverged, 18, 20, 2<<30)
	rep.Results = append(rep.Results, Result{Size: "50x10000", Routes: 600000, Contender: OpenBGPD, Status: StatusSkipped,
		Reason: "missing bgpd (Debian package openbgpd)"})
	return rep
}

// The markdown has a row per result with fedrs's ratios, says why a
// contender did not converge, and the chart is a PNG with a line per
// contender.
func TestReport(t *testing.T) {
	rep := sampleReport()
	md := Markdown(rep)
	for _, want := range []string{
		"| 20x5000 | 120,000 | bird | converged | 3.00 s | 2.50 s | 200 MiB | 0.50 | 0.80 | 0.50 |",
		"| 20x5000 | 120,000 | gobgp | timeout | > 5m (40% delivered) | 300.00 s | 400 MiB | — | — | 0.25 |",
		"| 50x10000 | 600,000 | openbgpd | skipped | — | — | — | — | — | — |",
		"50x10000 openbgpd: skipped: missing bgpd (Debian package openbgpd)",
		"bird: BIRD version 2.0.12",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := WriteOutputs(rep, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Fatalf("JSON does not read back: %v", err)
	}
	b, err = os.ReadFile(filepath.Join(dir, ChartFile))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			for name, c := range palette {
				if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(b>>8) == c.B {
					counts[name]++
				}
			}
		}
	}
	for _, name := range []string{Fedrs, BIRD, GoBGP} {
		if counts[name] < 50 {
			t.Errorf("chart: %d pixels of %s's colour", counts[name], name)
		}
	}
	if counts[OpenBGPD] != 0 {
		t.Errorf("chart draws the skipped openbgpd")
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ v, step, top float64 }{
		{600000, 200000, 800000}, {8.35, 2, 10}, {0.07, 0.02, 0.08}, {0, 1, 5}, {100, 20, 120},
	} {
		step, top := niceScale(c.v)
		if step != c.step || top != c.top {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.v, step, top, c.step, c.top)
		}
	}
}
