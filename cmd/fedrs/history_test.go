package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rstest"
)

// TestHistoryCLI: fedrs history answers from the database of a running
// route server (tables, --json, --csv), and bad arguments or files name
// the problem.
func TestHistoryCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	rec, err := history.Open(db, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fed := rstest.Start(t, rstest.Three(), "", routeserver.Options{History: rec})
	t.Cleanup(func() { fed.Stop(); rec.Close() })
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	if err := a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Members["council-c"].WaitFor(ctx, "route", rstest.Has(netip.MustParsePrefix("10.1.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	// Both routes committed (the filtered one included).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		out, _ := runCLI(t, "history", "filtered", "--db", db, "--json")
		if strings.Contains(out, "10.2.0.0/16") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the filtered route never reached the history: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"history", "prefix", "10.1.0.0/16", "--db", db}, []string{"10.1.0.0/16", "nhs-a", "accepted", "nhs-b", "council-c"}},
		{[]string{"history", "prefix", "10.1.2.3", "--covering", "--db", db}, []string{"10.1.0.0/16"}},
		{[]string{"history", "member", "nhs-a", "--db", db}, []string{"10.1.0.0/16", "10.2.0.0/16"}},
		{[]string{"history", "filtered", "--reason", "next_hop", "--db", db}, []string{"10.2.0.0/16", "next_hop"}},
		{[]string{"history", "at", "now", "--exported-to", "council-c", "--db", db}, []string{"10.1.0.0/16"}},
		{[]string{"history", "sessions", "--db", db}, []string{"nhs-a", "nhs-b", "council-c"}},
	} {
		out, err := runCLI(t, tc.args...)
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	// --json and --csv parse, and say the same thing.
	out, err := runCLI(t, "history", "prefix", "10.2.0.0/16", "--db", db, "--json")
	var doc struct{ Versions []history.Version }
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Versions) != 1 || doc.Versions[0].Accepted || doc.Versions[0].NextHop != "127.0.0.99" {
		t.Errorf("--json: %v %s", err, out)
	}
	out, err = runCLI(t, "history", "prefix", "10.2.0.0/16", "--db", db, "--csv")
	rows, cerr := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || cerr != nil || len(rows) != 2 || !strings.Contains(strings.Join(rows[1], ","), "10.2.0.0/16") {
		t.Errorf("--csv: %v %v %q", err, cerr, out)
	}
	// The exported-to view of a member excludes what it may not receive:
	// its own routes.
	out, _ = runCLI(t, "history", "at", "now", "--exported-to", "nhs-a", "--db", db)
	if strings.Contains(out, "10.1.0.0/16") {
		t.Errorf("nhs-a's own route shown as exported to it:\n%s", out)
	}

	// Bad input names what and where.
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte("hello"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"history", "prefix", "10.1.0.0/33", "--db", db}, "10.1.0.0/33"},
		{[]string{"history", "prefix", "10.1.0.1/16", "--db", db}, "host bits"},
		{[]string{"history", "at", "yesterday-ish", "--db", db}, "yesterday-ish"},
		{[]string{"history", "prefix", "10.1.0.0/16", "--since", "2026-13-01", "--db", db}, "2026-13-01"},
		{[]string{"history", "filtered", "--reason", "bogus_reason", "--db", db}, "bogus_reason"},
		{[]string{"history", "member", "nobody", "--db", db}, `"nobody"`},
		{[]string{"history", "sessions", "--db", notDB}, "not a SQLite database"},
		{[]string{"history", "sessions", "--db", filepath.Join(dir, "missing.db")}, "no such file"},
	} {
		out, err := runCLI(t, tc.args...)
		if err == nil {
			t.Errorf("%v succeeded:\n%s", tc.args, out)
			continue
		}
		if msg := err.Error() + out; !strings.Contains(msg, tc.want) {
			t.Errorf("%v: error %q does not name %q", tc.args, msg, tc.want)
		}
	}
}

// TestRunRecordsHistory: `fedrs run` with [server] history records what
// its members announce, shows the writer in `fedrs lg summary` and the
// metrics, and a clean stop closes every interval.
func TestRunRecordsHistory(t *testing.T) {
	f := startRun(t, `history = "history.db"`)
	dir, sock, routers, stop := f.dir, f.sock, f.routers, f.stop
	rctx := rstest.Ctx(t)
	if err := routers[0].Announce(rctx, member.Route{Prefix: netip.MustParsePrefix("10.7.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := routers[2].WaitFor(rctx, "10.7.0.0/16", rstest.Has(netip.MustParsePrefix("10.7.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "history.db")
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := runCLI(t, "history", "prefix", "10.7.0.0/16", "--db", db)
		if strings.Contains(out, "nhs-a") && strings.Contains(out, "council-c") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10.7.0.0/16 not in the history of fedrs run:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := runCLI(t, "lg", "summary", "--socket", sock)
	if err != nil || !regexp.MustCompile(`history \S+history\.db: [1-9]\d* events committed, queue \d+/1048576, 0 dropped in 0 gaps`).MatchString(out) {
		t.Errorf("lg summary: %v\n%s", err, out)
	}
	body := f.metrics(t)
	if !regexp.MustCompile(`(?m)^fedrs_history_events_committed_total [1-9]`).Match(body) || !strings.Contains(string(body), "fedrs_history_db_bytes") {
		t.Errorf("metrics lack the history writer:\n%s", body)
	}

	stop()
	rd, err := history.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Runs != 1 || info.Open != 0 || info.Sessions != 3 {
		t.Errorf("after a clean stop: %+v; want 1 run, no open version, 3 sessions", info)
	}
	ss, err := rd.Sessions(context.Background(), "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Down == nil || s.Recovered {
			t.Errorf("session %+v: want closed by the shutdown", s)
		}
	}
}
