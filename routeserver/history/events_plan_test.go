package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// synthEvents writes a history database with n filtered route versions
// (one a second from t0, alternating between two members and two
// prefixes), session ups and downs, configuration loads, RPKI changes and
// a gap, and returns its path.
func synthEvents(t *testing.T, n int, t0 int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	rec, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	db, err := sql.Open("sqlite", dsn(path, "rw"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		"DELETE FROM configs", "DELETE FROM sessions",
		"INSERT OR IGNORE INTO members (id, name, asn) VALUES (101, 'nhs-a', 4200000001), (102, 'nhs-b', 4200000002)",
		"INSERT INTO sources (id, member_id, addr) VALUES (201, 101, '127.0.0.11'), (202, 102, '127.0.0.12')",
		"INSERT INTO attr_sets (id, hash, origin, as_path, origin_as, next_hop, next_hop_ll, med, communities, large, ext_count, otc, discarded) VALUES (301, x'01', 'igp', '4200000001', 4200000001, '127.0.0.99', '', NULL, '', '', 0, NULL, '')",
		"INSERT INTO verdicts (id, key, accepted, filtered, tagged, rov, aspa, registry, blackhole, graceful_shutdown) VALUES (401, 'f8', 0, 'next_hop', '', 'not-found', 'unknown', 'owned', 0, 0), (402, 'ok', 1, '', '', 'valid', 'unknown', 'owned', 0, 0), (403, 'f9', 0, 'prefix_not_allowed next_hop', '', 'not-found', 'unknown', 'owned', 0, 0)",
		"INSERT INTO verdict_reasons (verdict_id, kind, reason, code) VALUES (401, 'filtered', 'next_hop', 8), (403, 'filtered', 'prefix_not_allowed', 9), (403, 'filtered', 'next_hop', 8)",
		"INSERT OR IGNORE INTO causes (id, text) VALUES (501, 'update')",
	}
	for i := 0; i < n; i++ {
		src, verdict := 201+i%2, 401+2*(i%3/2)
		p := []string{"x'0a010000', x'0a01ffff', 16", "x'0a010100', x'0a0101ff', 24"}[i/2%2]
		stmts = append(stmts, fmt.Sprintf("INSERT INTO routes (family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause) VALUES (4, %s, 0, %d, 301, %d, %d, %d, 501)",
			p, src, verdict, 1, t0+int64(i)*1e6))
		// And an accepted version, never an event.
		stmts = append(stmts, fmt.Sprintf("INSERT INTO routes (family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause) VALUES (4, x'0a020000', x'0a02ffff', 16, 0, %d, 301, 402, 0, %d, 501)",
			src, t0+int64(i)*1e6))
	}
	// Sessions: nhs-b flaps at t0+10 s (down with a NOTIFICATION), up
	// again at the same instant as a filter decision (a tie in time).
	stmts = append(stmts,
		fmt.Sprintf("INSERT INTO sessions (id, member_id, neighbor, up_at, down_at, peer_asn, down_reason, recv_code, recv_subcode, recv_message) VALUES (1, 102, '127.0.0.12', %d, %d, 4200000002, 'NOTIFICATION received', 6, 2, 'maintenance')", t0-1e6, t0+10e6),
		fmt.Sprintf("INSERT INTO sessions (id, member_id, neighbor, up_at, peer_asn) VALUES (2, 102, '127.0.0.12', %d, 4200000002)", t0+11e6),
		fmt.Sprintf("INSERT INTO sessions (id, member_id, neighbor, up_at, peer_asn) VALUES (3, 101, '127.0.0.11', %d, 4200000001)", t0-1e6),
		fmt.Sprintf("INSERT INTO configs (id, at, run_id, file, sha256, members, changes) VALUES (1, %d, 1, 'f.toml', 'aa', 2, ''), (2, %d, 1, 'f.toml', 'bb', 2, 'member nhs-b: description')", t0-2e6, t0+5e6),
		fmt.Sprintf("INSERT INTO rpki_changes (at, serial, vrps, aspas, verdicts_changed) VALUES (%d, 7, 100, 3, 1)", t0+3e6),
		fmt.Sprintf("INSERT INTO gaps (first_at, last_at, recorded_at, route_events, exposure_events, other_events, reason) VALUES (%d, %d, %d, 5, 2, 0, 'queue full')", t0+7e6, t0+8e6, t0+9e6),
	)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	return path
}

// TestEventPagination walks the event list page by page, forward with
// next and back with prev, and compares it with the whole list read at
// once (newest first, every event once, ties in time in a stable order).
func TestEventPagination(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	rd, err := OpenReader(synthEvents(t, 30, t0))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx := context.Background()
	whole, err := rd.Events(ctx, EventQuery{Limit: MaxEventLimit})
	if err != nil {
		t.Fatal(err)
	}
	// 30 filter decisions, 3 ups and 1 down, 2 loads, 1 RPKI change, 1 gap.
	count := map[string]int{}
	for _, e := range whole.Events {
		count[e.Kind+e.State]++
	}
	if want := map[string]int{"filtered": 30, "sessionup": 3, "sessiondown": 1, "reload": 2, "rpki": 1, "gap": 1}; fmt.Sprint(count) != fmt.Sprint(want) {
		t.Fatalf("events by kind %v, want %v", count, want)
	}
	if whole.Truncated || whole.Next != "" || whole.Prev != "" {
		t.Errorf("the whole list: truncated %v next %q prev %q", whole.Truncated, whole.Next, whole.Prev)
	}
	for i := 1; i < len(whole.Events); i++ {
		if whole.Events[i].Time.After(whole.Events[i-1].Time) {
			t.Fatalf("not newest first at %d: %v after %v", i, whole.Events[i].Time, whole.Events[i-1].Time)
		}
	}
	ids := func(evs []Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	all := ids(whole.Events)
	var walked []string
	var pages []EventPage
	q := EventQuery{Limit: 7}
	for {
		p, err := rd.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		walked = append(walked, ids(p.Events)...)
		if (q.After == "") != (p.Prev == "") {
			t.Errorf("page %d: prev %q after cursor %q", len(pages), p.Prev, q.After)
		}
		if !p.Truncated {
			break
		}
		if p.Next != p.Events[len(p.Events)-1].ID {
			t.Fatalf("next %q is not the last event's id", p.Next)
		}
		q.After = p.Next
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("walking pages of 7:\n%v\nthe whole list:\n%v", walked, all)
	}
	if len(pages) != (len(all)+6)/7 {
		t.Errorf("%d pages for %d events", len(pages), len(all))
	}
	// Back from the last page with prev: the same pages.
	for i := len(pages) - 1; i > 0; i-- {
		p, err := rd.Events(ctx, EventQuery{Limit: 7, Before: pages[i].Prev})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(p.Events), ids(pages[i-1].Events)) || p.Next != pages[i-1].Next || p.Prev != pages[i-1].Prev {
			t.Errorf("page %d by prev: %v (prev %q next %q), forward it was %v (prev %q next %q)", i,
				ids(p.Events), p.Prev, p.Next, ids(pages[i-1].Events), pages[i-1].Prev, pages[i-1].Next)
		}
	}

	// Filters: a member keeps its own events and those of everyone.
	p, err := rd.Events(ctx, EventQuery{Member: "nhs-a", Limit: MaxEventLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Events {
		if e.Member != "" && e.Member != "nhs-a" {
			t.Errorf("member nhs-a: event of %s: %s", e.Member, e.Text)
		}
	}
	if len(p.Events) != 15+1+2+1+1 {
		t.Errorf("member nhs-a: %d events, want 15 filter decisions, 1 session up, 2 loads, 1 RPKI, 1 gap", len(p.Events))
	}
	// Kinds, time.
	p, err = rd.Events(ctx, EventQuery{Kinds: []string{EventSession}, Since: time.UnixMicro(t0), Limit: MaxEventLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 2 || p.Events[0].State != "up" || p.Events[1].State != "down" ||
		p.Events[1].Notification != `received Cease/Administrative Shutdown: "maintenance"` {
		t.Errorf("sessions since t0: %+v", p.Events)
	}
	// A prefix covers its more specifics; a reason by name or code.
	for _, c := range []struct {
		q    EventQuery
		want int
	}{
		{EventQuery{Prefix: netip.MustParsePrefix("10.1.0.0/16")}, 30},
		{EventQuery{Prefix: netip.MustParsePrefix("10.1.1.0/24")}, 14},
		{EventQuery{Prefix: netip.MustParsePrefix("10.2.0.0/16")}, 0},
		{EventQuery{Reason: "prefix_not_allowed"}, 10},
		{EventQuery{Reason: "1101:8"}, 30},
		{EventQuery{Reason: "9", Member: "nhs-b", Until: time.UnixMicro(t0 + 20e6)}, 3},
	} {
		c.q.Limit = MaxEventLimit
		p, err := rd.Events(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != c.want {
			t.Errorf("%+v: %d events, want %d", c.q, len(p.Events), c.want)
		}
		for _, e := range p.Events {
			if e.Kind != EventFiltered {
				t.Errorf("%+v: a %s event", c.q, e.Kind)
			}
		}
	}
	// Bad queries.
	for _, q := range []EventQuery{{Kinds: []string{"weird"}}, {Reason: "weird"}, {After: "1.x.2"}, {Before: "abc"}, {Limit: MaxEventLimit + 1}} {
		if _, err := rd.Events(ctx, q); !errors.Is(err, ErrBadEventQuery) {
			t.Errorf("%+v: %v, want ErrBadEventQuery", q, err)
		}
	}
	if _, err := rd.Events(ctx, EventQuery{Member: "nobody"}); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("unknown member: %v", err)
	}
	// Counts by reason.
	rc, err := rd.FilteredByReason(ctx, "", time.UnixMicro(t0), time.UnixMicro(t0+30e6))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rc) != "[{next_hop 8 NEXT_HOP is not the member's  30 4} {prefix_not_allowed 9 prefix is not allowed for the member  10 4}]" {
		t.Errorf("filtered by reason: %v", rc)
	}
}

// TestEventQueryPlans: every stream of the event list reads its table
// through an index, in time order (no full scan of routes or sessions, no
// sort of the table), with each filter.
func TestEventQueryPlans(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	rd, err := OpenReader(synthEvents(t, 4, t0))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	cur := &eventKey{at: t0, stream: streamFiltered, row: 3}
	for _, c := range []struct {
		name   string
		q      EventQuery
		member int64
		reason string
		cur    *eventKey
	}{
		{name: "all"},
		{name: "after a cursor", cur: cur},
		{name: "since", q: EventQuery{Since: time.UnixMicro(t0)}},
		{name: "member", member: 101, cur: cur},
		{name: "prefix", q: EventQuery{Prefix: netip.MustParsePrefix("10.1.0.0/16")}},
		{name: "reason", reason: "next_hop"},
	} {
		for stream, sq := range rd.eventQueries(c.q, c.member, c.reason, c.cur) {
			plan := explain(t, rd, sq.Query, sq.Args...)
			for _, line := range plan {
				if (strings.HasPrefix(line, "SCAN r") || strings.HasPrefix(line, "SCAN x")) && !strings.Contains(line, "INDEX") {
					t.Errorf("%s, stream %s: full scan %q\n%s", c.name, stream, line, strings.Join(plan, "\n"))
				}
				if strings.Contains(line, "SCAN routes") || strings.Contains(line, "SCAN sessions") {
					t.Errorf("%s, stream %s: full scan %q", c.name, stream, line)
				}
			}
			want := map[string]string{streamFiltered: "routes_filtered_at", streamSessionUp: "sessions_up", streamSessionDown: "sessions_down",
				streamReload: "configs_at", streamRPKI: "rpki_changes_at", streamGap: "gaps_first"}[stream]
			switch {
			case stream == streamFiltered && c.member != 0:
				want = "routes_filtered_source"
			case stream == streamFiltered && c.q.Prefix.IsValid():
				want = "routes_prefix"
			case stream == streamFiltered && c.reason != "":
				want = "INDEX routes_filtered" // by verdict or by time
			case (stream == streamSessionUp || stream == streamSessionDown) && c.member != 0:
				want = "sessions_member"
			}
			if !strings.Contains(strings.Join(plan, "\n"), want) {
				t.Errorf("%s, stream %s: plan does not use %s:\n%s", c.name, stream, want, strings.Join(plan, "\n"))
			}
			if c.member == 0 && c.reason == "" && !c.q.Prefix.IsValid() && strings.Contains(strings.Join(plan, "\n"), "TEMP B-TREE") {
				t.Errorf("%s, stream %s: sorts instead of reading in index order:\n%s", c.name, stream, strings.Join(plan, "\n"))
			}
		}
	}
	for _, c := range []struct {
		index string
		where []string
	}{
		{"routes_filtered_at", []string{"r.filtered = 1", "r.valid_from >= 1", "r.valid_from < 2"}},
		{"routes_filtered_source", []string{"r.filtered = 1", "r.valid_from >= 1", "r.valid_from < 2", "r.source_id IN (SELECT id FROM sources WHERE member_id = 101)"}},
	} {
		plan := strings.Join(explain(t, rd, filteredByReasonQuery(c.index, c.where)), "\n")
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "SCAN r\n") {
			t.Errorf("filtered by reason: plan\n%s", plan)
		}
	}
}

func explain(t *testing.T, rd *Reader, query string, args ...any) []string {
	t.Helper()
	rows, err := rd.db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

// TestMigrateFromV3: a database of schema version 3 gets the event
// list's indexes on open.
func TestMigrateFromV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := sql.Open("sqlite", dsn(path, "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	for _, q := range []string{schemaV1, schemaV2, schemaV3,
		fmt.Sprintf("INSERT INTO schema_version VALUES (1, %d, 't'), (2, %d, 't'), (3, %d, 't')", t0, t0, t0),
		fmt.Sprintf("PRAGMA application_id = %d", ApplicationID),
		"INSERT INTO members VALUES (1, 'nhs-a', 4200000001)",
		fmt.Sprintf("INSERT INTO sessions (member_id, neighbor, up_at, down_at, down_reason, sent_code, sent_subcode) VALUES (1, '127.0.0.11', %d, %d, 'hold timer expired', 4, 0)", t0, t0+1e6),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	rec, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	rd, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var n int
	if err := rd.db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('routes_filtered_at', 'routes_filtered_source', 'sessions_up', 'gaps_first')").Scan(&n); err != nil || n != 4 {
		t.Errorf("indexes after migration: %d, %v", n, err)
	}
	p, err := rd.Events(context.Background(), EventQuery{Kinds: []string{EventSession}})
	if err != nil || len(p.Events) != 2 || p.Events[0].Notification != "sent Hold Timer Expired" {
		t.Errorf("session events after migration: %v %+v", err, p.Events)
	}
}

// TestMigrateFromV4: a database of schema version 4 gets the table of
// control requests on open; its other events stay, and control requests
// are recorded after.
func TestMigrateFromV4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	db, err := sql.Open("sqlite", dsn(path, "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	for _, q := range []string{schemaV1, schemaV2, schemaV3, schemaV4,
		fmt.Sprintf("INSERT INTO schema_version VALUES (1, %d, 't'), (2, %d, 't'), (3, %d, 't'), (4, %d, 't')", t0, t0, t0, t0),
		fmt.Sprintf("PRAGMA application_id = %d", ApplicationID),
		"INSERT INTO members VALUES (1, 'nhs-a', 4200000001)",
		fmt.Sprintf("INSERT INTO sessions (member_id, neighbor, up_at, down_at, down_reason) VALUES (1, '127.0.0.11', %d, %d, 'hold timer expired')", t0, t0+1e6),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	rec, err := Open(path, Options{CommitDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec.ControlRequested(ControlRequest{Command: "POST /v1/reload", Status: 200, Result: "ok"})
	if err := rec.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.Close()
	rd, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	p, err := rd.Events(context.Background(), EventQuery{Kinds: []string{EventSession, EventControl}})
	if err != nil || len(p.Events) != 3 || p.Events[0].Kind != EventControl || p.Events[0].Text != "control request POST /v1/reload by an unknown caller done" {
		t.Errorf("events after migration: %v %+v", err, p.Events)
	}
}
