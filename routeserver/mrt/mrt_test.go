package mrt_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/routeserver/rib"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func u32(v uint32) *uint32 { return &v }

// startFed runs the three-member federation with a few routes: two
// candidates for one prefix, a filtered route, IPv6.
func startFed(t *testing.T) *rstest.Fed {
	t.Helper()
	specs := rstest.Three()
	specs[1].Extra = `next_hops = ["2001:db8:ffff::12"]`
	fed := rstest.Start(t, specs, "", routeserver.Options{})
	ctx := rstest.Ctx(t)
	a, b := fed.Members["nhs-a"], fed.Members["nhs-b"]
	for _, x := range []struct {
		r  *member.Router
		rt member.Route
	}{
		{a, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65010}, MED: u32(70), Communities: []string{"65010:1"}}},
		{b, member.Route{Prefix: pfx("10.1.0.0/16"), ASPath: []uint32{65020, 65021}}},
		{a, member.Route{Prefix: pfx("172.16.0.0/16")}}, // not the member's: filtered
		{b, member.Route{Prefix: pfx("2001:db8:b::/48"), NextHop: netip.MustParseAddr("2001:db8:ffff::12")}},
	} {
		if err := x.r.Announce(ctx, x.rt); err != nil {
			t.Fatal(err)
		}
	}
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		if n := heldRoutes(fed); n != 4 {
			return fmt.Errorf("RIB holds %d routes, want 4", n)
		}
		return nil
	}, "the RIB to hold the 4 routes")
	return fed
}

// TestBgpdump: bgpdump reads the dump and lists every route held, with
// its peer, AS_PATH and next hop.
func TestBgpdump(t *testing.T) {
	interop.Require(t, false, "bgpdump")
	fed := startFed(t)
	file := filepath.Join(t.TempDir(), mrt.FileName(time.Now()))
	st, err := mrt.WriteFile(file, fed.Srv, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Peers != 3 || st.Prefixes != 3 || st.Routes != 4 {
		t.Errorf("stats %+v, want 3 peers, 3 prefixes, 4 routes", st)
	}
	bin, _ := interop.LookPath("bgpdump")
	cmd := exec.Command(bin, "-m", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.Contains(stderr.String(), "rror") {
		t.Fatalf("bgpdump: %v\n%s%s", err, out, stderr.String())
	}
	t.Logf("bgpdump -m:\n%s", out)
	// TABLE_DUMP2|time|B|peer|peer AS|prefix|AS_PATH|origin|next hop|local pref|MED|communities|...
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		if len(f) < 12 || f[0] != "TABLE_DUMP2" {
			t.Fatalf("bgpdump line %q", l)
		}
		got = append(got, strings.Join([]string{f[3], f[4], f[5], f[6], f[8], f[10], f[11]}, "|"))
	}
	var want []string
	rs, _ := fed.Srv.RIB().Routes(rib.Filter{Member: -1}, 0, 0)
	for _, r := range rs {
		a := r.Attrs
		path := make([]string, len(a.ASPath))
		for i, as := range a.ASPath {
			path[i] = fmt.Sprint(as)
		}
		med := "0"
		if a.HasMED {
			med = fmt.Sprint(a.MED)
		}
		var comms []string
		for _, c := range a.Communities {
			comms = append(comms, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
		}
		asn := fed.Config.Members[r.Source.Member].ASN
		want = append(want, strings.Join([]string{r.Source.Addr.String(), fmt.Sprint(asn), r.Prefix.String(), strings.Join(path, " "), a.NextHop.String(), med, strings.Join(comms, " ")}, "|"))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("bgpdump -m lists\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, w := range []string{"127.0.0.11|4200000001|10.1.0.0/16|4200000001 65010|127.0.0.11|70|65010:1", "127.0.0.11|4200000001|172.16.0.0/16|4200000001|127.0.0.11|0|",
		"127.0.0.12|4200000002|2001:db8:b::/48|4200000002|2001:db8:ffff::12|0|"} {
		if !slices.Contains(got, w) {
			t.Errorf("bgpdump lacks %s", w)
		}
	}
}

// TestPeriodicKeep: dumps land in the directory under their time's name;
// the oldest beyond keep are removed.
func TestPeriodicKeep(t *testing.T) {
	fed := startFed(t)
	dir := filepath.Join(t.TempDir(), "mrt") // created on the first dump
	p := mrt.NewPeriodic(fed.Srv, dir, time.Hour, 2, rstest.Log)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := p.DumpNow(t0.Add(time.Duration(i) * time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"rib.20250301.1100.mrt", "rib.20250301.1200.mrt"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	st := p.Status()
	if st.Dumps != 3 || st.Failures != 0 || st.Last == nil || st.Last.Routes != 4 || st.LastFile != filepath.Join(dir, "rib.20250301.1200.mrt") {
		t.Errorf("status %+v", st)
	}
	// A directory that cannot be created: an error, counted, nothing else.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	bad := mrt.NewPeriodic(fed.Srv, filepath.Join(blocker, "mrt"), time.Hour, 0, slog.New(slog.DiscardHandler))
	if _, err := bad.DumpNow(t0); err == nil || bad.Status().Failures != 1 || !strings.Contains(bad.Status().LastError, "not a directory") {
		t.Errorf("dump into a path under a file: %v, status %+v", err, bad.Status())
	}
}

// heldRoutes counts the routes in the RIB.
func heldRoutes(fed *rstest.Fed) int {
	_, n := fed.Srv.RIB().Routes(rib.Filter{Member: -1}, 0, 1)
	return n
}
