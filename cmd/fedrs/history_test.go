package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
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
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if err := rec.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if out, _ := runCLI(t, "history", "filtered", "--db", db, "--json"); !strings.Contains(out, "10.2.0.0/16") {
			return fmt.Errorf("history filtered: %s", out)
		}
		return nil
	}, "the filtered route to reach the history")

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

	// Bad input names what and where, in one line, with exit status 2
	// for usage errors and 1 for failures.
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte("hello"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"history", "prefix", "10.1.0.0/33", "--db", db}, "10.1.0.0/33", 2},
		{[]string{"history", "prefix", "10.1.0.1/16", "--db", db}, "host bits", 2},
		{[]string{"history", "prefix", "not-a-prefix", "--db", db}, "not-a-prefix", 2},
		{[]string{"history", "at", "yesterday-ish", "--db", db}, "yesterday-ish", 2},
		{[]string{"history", "prefix", "10.1.0.0/16", "--since", "2026-13-01", "--db", db}, "2026-13-01", 2},
		{[]string{"history", "sessions", "--until", "soon", "--db", db}, "soon", 2},
		{[]string{"history", "member", "nhs-a", "--since", "-1h", "--until", "-2h", "--db", db}, "not after", 2},
		{[]string{"history", "at", "now", "--since", "-1h", "--db", db}, "one instant", 2},
		{[]string{"history", "member", "nhs-a", "--limit", "0", "--db", db}, "--limit", 2},
		{[]string{"history", "sessions", "--limit", "many", "--db", db}, "many", 2},
		{[]string{"history", "filtered", "--reason", "bogus_reason", "--db", db}, "bogus_reason", 2},
		{[]string{"history", "member", "nobody", "--db", db}, `"nobody"`, 2},
		{[]string{"history", "at", "now", "--exported-to", "nobody", "--db", db}, `"nobody"`, 2},
		{[]string{"history", "sessions", "--member", "nobody", "--db", db}, `"nobody"`, 2},
		{[]string{"history", "sessions", "--db", notDB}, "not a SQLite database", 1},
		{[]string{"history", "sessions", "--db", filepath.Join(dir, "missing.db")}, "no such file", 1},
	} {
		out, err := runCLI(t, tc.args...)
		if err == nil {
			t.Errorf("%v succeeded:\n%s", tc.args, out)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(out, "goroutine") {
			t.Errorf("%v: error %q (output %q); want one line naming %q", tc.args, msg, out, tc.want)
		}
		if exitCode(err) != tc.code {
			t.Errorf("%v: exit status %d, want %d (%v)", tc.args, exitCode(err), tc.code, err)
		}
	}
}

// TestHistoryListings: every fedrs history listing takes --limit (with a
// note, or "truncated" in JSON, when more rows match), --since and
// --until where they apply, and its --json output is plain JSON: no JSON
// text inside a JSON string (a session's negotiated capabilities are an
// object).
func TestHistoryListings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	rec, err := history.Open(db, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fed := rstest.Start(t, rstest.Three(), "", routeserver.Options{History: rec})
	t.Cleanup(func() { fed.Stop(); rec.Close() })
	ctx := rstest.Ctx(t)
	a, c := fed.Members["nhs-a"], fed.Members["council-c"]
	pfx := netip.MustParsePrefix
	// Before mid: 10.1/16 and 10.2/16 held, 10.9/16 announced and
	// withdrawn. After mid: 10.3/16.
	for _, p := range []string{"10.1.0.0/16", "10.2.0.0/16", "10.9.0.0/16"} {
		if err := a.Announce(ctx, member.Route{Prefix: pfx(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitFor(ctx, "three routes", func(rs []member.Route) bool { return len(rs) == 3 }); err != nil {
		t.Fatal(err)
	}
	if err := a.Withdraw(ctx, pfx("10.9.0.0/16")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitFor(ctx, "10.9.0.0/16 withdrawn", rstest.HasNot(pfx("10.9.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	if err := rec.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	mid := time.Now().UTC().Format(time.RFC3339Nano)
	if err := a.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitFor(ctx, "10.3.0.0/16", rstest.Has(pfx("10.3.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	if err := rec.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	// rows runs a listing with --json and returns the prefixes (or
	// members, for sessions) it lists, and whether it says it was cut.
	rows := func(args ...string) ([]string, bool) {
		t.Helper()
		out, err := runCLI(t, append(append([]string{"history"}, args...), "--db", db, "--json")...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, out)
		}
		if s, ok := jsonInString(doc); ok {
			t.Errorf("%v: JSON text inside a JSON string: %.80s", args, s)
		}
		var got []string
		for _, key := range []string{"versions", "routes", "sessions"} {
			list, _ := doc[key].([]any)
			for _, x := range list {
				o := x.(map[string]any)
				if p, ok := o["prefix"].(string); ok {
					got = append(got, p)
				} else {
					got = append(got, o["member"].(string))
				}
			}
		}
		cut, _ := doc["truncated"].(bool)
		return got, cut
	}
	for _, tc := range []struct {
		args []string
		want string
		cut  bool
	}{
		{[]string{"member", "nhs-a"}, "10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 10.9.0.0/16", false},
		{[]string{"member", "nhs-a", "--limit", "2"}, "10.1.0.0/16 10.2.0.0/16", true},
		{[]string{"member", "nhs-a", "--limit", "4"}, "10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 10.9.0.0/16", false},
		{[]string{"member", "nhs-a", "--until", mid}, "10.1.0.0/16 10.2.0.0/16 10.9.0.0/16", false},
		{[]string{"member", "nhs-a", "--since", mid}, "10.1.0.0/16 10.2.0.0/16 10.3.0.0/16", false},
		{[]string{"prefix", "10.9.0.0/16", "--since", mid}, "", false},
		{[]string{"prefix", "10.9.0.0/16", "--until", mid}, "10.9.0.0/16", false},
		{[]string{"prefix", "10.0.0.0/8", "--more-specifics", "--limit", "1"}, "10.1.0.0/16", true},
		{[]string{"at", mid}, "10.1.0.0/16 10.2.0.0/16", false},
		{[]string{"at", mid, "--limit", "1"}, "10.1.0.0/16", true},
		{[]string{"at", "now", "--exported-to", "council-c", "--limit", "2"}, "10.1.0.0/16 10.2.0.0/16", true},
		{[]string{"at", "now", "--exported-to", "council-c", "--limit", "3"}, "10.1.0.0/16 10.2.0.0/16 10.3.0.0/16", false},
		{[]string{"filtered", "--until", mid}, "", false},
		{[]string{"sessions"}, "council-c nhs-a nhs-b", false}, // sorted here: sessions are listed in the order they came up
		{[]string{"sessions", "--limit", "2"}, "(2 rows)", true},
		{[]string{"sessions", "--until", "-1h"}, "", false},
		{[]string{"sessions", "--member", "nhs-b", "--since", mid}, "nhs-b", false},
	} {
		got, cut := rows(tc.args...)
		if tc.args[0] == "sessions" {
			slices.Sort(got)
		}
		if strings.HasPrefix(tc.want, "(") {
			got = []string{fmt.Sprintf("(%d rows)", len(got))}
		}
		if strings.Join(got, " ") != tc.want || cut != tc.cut {
			t.Errorf("history %s: %v (truncated %v); want %q (truncated %v)", strings.Join(tc.args, " "), got, cut, tc.want, tc.cut)
		}
	}
	// The table says when rows were left out.
	out, err := runCLI(t, "history", "member", "nhs-a", "--limit", "1", "--db", db)
	if err != nil || !strings.Contains(out, "only the first 1 rows") {
		t.Errorf("--limit 1 table: %v\n%s", err, out)
	}
	// Sessions: negotiated is an object, the families sent and the end
	// of the initial transfer are listed.
	out, err = runCLI(t, "history", "sessions", "--member", "council-c", "--db", db, "--json")
	var doc struct {
		Sessions []struct {
			Negotiated struct {
				Families []string `json:"families"`
			} `json:"negotiated"`
			Families []string             `json:"families"`
			Synced   map[string]time.Time `json:"synced"`
		} `json:"sessions"`
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Sessions) != 1 || len(doc.Sessions[0].Negotiated.Families) != 2 ||
		len(doc.Sessions[0].Families) != 2 || len(doc.Sessions[0].Synced) != 2 {
		t.Errorf("sessions --json: %v\n%s", err, out)
	}
}

// jsonInString finds a string value in a decoded JSON document that is
// itself a JSON object or array.
func jsonInString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		t := strings.TrimSpace(x)
		if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			return x, true
		}
	case []any:
		for _, e := range x {
			if s, ok := jsonInString(e); ok {
				return s, true
			}
		}
	case map[string]any:
		for _, e := range x {
			if s, ok := jsonInString(e); ok {
				return s, true
			}
		}
	}
	return "", false
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
	rstest.EventuallyErr(t, 15*time.Second, func() error {
		if out, _ := runCLI(t, "history", "prefix", "10.7.0.0/16", "--db", db); !strings.Contains(out, "nhs-a") || !strings.Contains(out, "council-c") {
			return fmt.Errorf("history prefix:\n%s", out)
		}
		return nil
	}, "10.7.0.0/16 in the history of fedrs run")
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
