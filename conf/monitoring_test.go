package conf

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMonitoringDefaults(t *testing.T) {
	c, err := Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[bmp]]
address = "bmp.example.net:1790"

[[bmp]]
name = "openbmp"
address = "[2001:db8::9]:5000"
views = ["loc-rib"]
queue = 1000
connect_retry = "30s"

[mrt]
dump_dir = "mrt"
`), testFile)
	if err != nil {
		t.Fatal(err)
	}
	b := c.BMP[0]
	if b.Name != "bmp.example.net:1790" || !slices.Equal(b.Views, BMPViews) || b.Queue != DefaultBMPQueue || b.ConnectRetry.Duration != DefaultBMPConnectRetry {
		t.Errorf("defaults: %+v", b)
	}
	b = c.BMP[1]
	if b.Name != "openbmp" || !b.HasView(BMPViewLocRIB) || b.HasView(BMPViewPrePolicy) || b.Queue != 1000 || b.ConnectRetry.Duration != 30*time.Second {
		t.Errorf("set: %+v", b)
	}
	if c.MRT.Interval.Duration != DefaultMRTInterval || c.MRT.Keep != 0 || c.Path(c.MRT.DumpDir) != "testdata/mrt" {
		t.Errorf("mrt: %+v (path %s)", c.MRT, c.Path(c.MRT.DumpDir))
	}
}

func TestMonitoringBroken(t *testing.T) {
	_, err := Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[bmp]]
name = "Collector A"
address = "bmp.example.net"
views = ["pre-policy", "locrib", "pre-policy"]
queue = 0
connect_retry = "100ms"

[[bmp]]
address = "192.0.2.9:1790"

[[bmp]]
address = "192.0.2.9:1790"
views = []

[mrt]
interval = "1h"
`), testFile)
	if err == nil {
		t.Fatal("no error")
	}
	want := `
testdata/fedrs.toml:6: bmp[1] (Collector A).name: "Collector A" is not a valid name; use lowercase letters, digits and '-' (at most 63), e.g. "collector-a"
testdata/fedrs.toml:7: bmp[1] (Collector A).address: "bmp.example.net" is not address:port; write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179" (the collector's host and port, e.g. "bmp.example.net:1790")
testdata/fedrs.toml:8: bmp[1] (Collector A).views[2]: "locrib" is not valid; did you mean "loc-rib"? (use "pre-policy", "post-policy" or "loc-rib")
testdata/fedrs.toml:8: bmp[1] (Collector A).views[3]: "pre-policy" is listed twice
testdata/fedrs.toml:9: bmp[1] (Collector A).queue: 0 is too small; use a number of events, at least 1 (default 65536)
testdata/fedrs.toml:10: bmp[1] (Collector A).connect_retry: 100ms is too short; use 1s or more (default 5s)
testdata/fedrs.toml:16: bmp[3] (192.0.2.9:1790).address: "192.0.2.9:1790" is also bmp[2]
testdata/fedrs.toml:17: bmp[3] (192.0.2.9:1790).views: no views: nothing would be sent; use some of "pre-policy", "post-policy" or "loc-rib", or leave views out for all
testdata/fedrs.toml:20: mrt.interval: has no effect without dump_dir; set dump_dir = "/var/lib/fedrs/mrt" or remove it
`
	if got := err.Error(); got != strings.Trim(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Trim(want, "\n"))
	}

	_, err = Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[mrt]
dump_dir = "/var/lib/fedrs/mrt"
interval = "30s"
keep = -1
`), testFile)
	want = `
testdata/fedrs.toml:7: mrt.interval: 30s is too short; use 1m0s or more (default 2h0m0s)
testdata/fedrs.toml:8: mrt.keep: -1 is negative; use the number of dumps to keep, or 0 to keep every dump
`
	if err == nil || err.Error() != strings.Trim(want, "\n") {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Trim(want, "\n"))
	}
}

func TestMonitoringDiffNeedsRestart(t *testing.T) {
	base, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	c := *base
	c.BMP = []BMPCollector{{Name: "pmacct", Address: "192.0.2.50:1790", Views: BMPViews, Queue: DefaultBMPQueue, ConnectRetry: Duration{DefaultBMPConnectRetry}}}
	c.MRT = MRT{DumpDir: "/var/lib/fedrs/mrt", Interval: Duration{time.Hour}}
	ch := Diff(base, &c)
	var fields []string
	for _, f := range ch.Restart {
		fields = append(fields, f.Field)
	}
	if !slices.Equal(fields, []string{"bmp", "mrt.dump_dir", "mrt.interval"}) || ch.PolicyRerun() {
		t.Errorf("restart %v (policy re-run %v); want bmp, mrt.dump_dir, mrt.interval and no re-run:\n%s", fields, ch.PolicyRerun(), ch)
	}
}
