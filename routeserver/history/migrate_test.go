package history

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMigrateFromV1: a database written by schema version 1 (exposures
// closed explicitly, no routes.set_id) is migrated forward by Open and
// reads the same: the route version with its export interval.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", dsn(path, "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	stmts := []string{schemaV1,
		fmt.Sprintf("INSERT INTO schema_version VALUES (1, %d, 'fedrs test')", t0),
		fmt.Sprintf("PRAGMA application_id = %d", ApplicationID),
		fmt.Sprintf("INSERT INTO runs (id, started_at, last_seen, stopped_at, clean, pid, host, version) VALUES (1, %d, %d, %d, 1, 1, 'h', 'v1')", t0, t0+3e6, t0+3e6),
		"INSERT INTO members VALUES (1, 'nhs-a', 4200000001), (2, 'nhs-b', 4200000002)",
		"INSERT INTO sources VALUES (1, 1, '127.0.0.11')",
		"INSERT INTO attr_sets (id, hash, origin, as_path, origin_as, next_hop, next_hop_ll, med, communities, large, ext_count, otc, discarded) VALUES (1, x'01', 'igp', '4200000001', 4200000001, '127.0.0.11', '', NULL, '', '', 0, NULL, '')",
		"INSERT INTO verdicts VALUES (1, 'k', 1, '', '', 'not-checked', 'not-checked', 'owned', 0, 0)",
		"INSERT INTO causes VALUES (1, 'update'), (2, 'withdraw')",
		"INSERT INTO member_sets VALUES (1, '2', 'nhs-b', 1)",
		"INSERT INTO member_set_members VALUES (2, 1)",
		fmt.Sprintf("INSERT INTO routes (id, family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause, valid_to, to_cause) VALUES (1, 4, x'0a010000', x'0a01ffff', 16, 0, 1, 1, 1, 0, %d, 1, %d, 2)", t0, t0+2e6),
		fmt.Sprintf("INSERT INTO exposures VALUES (1, %d, 1, %d, 0)", t0, t0+2e6),
		fmt.Sprintf("INSERT INTO sessions (member_id, neighbor, up_at, down_at) VALUES (2, '127.0.0.12', %d, %d)", t0, t0+3e6),
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()

	if _, err := OpenReader(path); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("reader on a version 1 database: %v, want it told to migrate", err)
	}
	rec, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	rec.Close()
	rd, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx := context.Background()
	info, err := rd.Info(ctx)
	if err != nil || info.SchemaVersion != SchemaVersion || info.Routes != 1 {
		t.Fatalf("after migration: %+v, %v", info, err)
	}
	vs, err := rd.Versions(ctx, Query{})
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	v := vs[0]
	if len(v.Exports) != 1 || strings.Join(v.Exports[0].Members, " ") != "nhs-b" || v.Exports[0].To == nil || !v.Exports[0].To.Equal(*v.To) {
		t.Errorf("exports after migration: %+v", v.Exports)
	}
	mid := time.UnixMicro(t0 + 1e6)
	ex, up, err := rd.ExportedTo(ctx, mid, "nhs-b")
	if err != nil || !up || len(ex) != 1 || ex[0].Prefix.String() != "10.1.0.0/16" {
		t.Errorf("exported to nhs-b in the middle: %v %v %+v", err, up, ex)
	}
	if ex, _, _ := rd.ExportedTo(ctx, time.UnixMicro(t0+2500000), "nhs-b"); len(ex) != 0 {
		t.Errorf("exported to nhs-b after the withdrawal: %+v", ex)
	}
	at, err := rd.At(ctx, mid, "")
	if err != nil || len(at) != 1 || len(at[0].Exports) != 1 {
		t.Errorf("at: %v %+v", err, at)
	}
}

// TestMigrateFromV2: a database written by schema version 2 (sessions
// without families, no End-of-RIB record) is migrated forward by Open;
// the reader then takes each old session's families from its negotiated
// JSON, so a route of a family a member's session did not carry is not
// exported to it, and claims no initial transfer for those sessions.
func TestMigrateFromV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", dsn(path, "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	stmts := []string{schemaV1, schemaV2,
		fmt.Sprintf("INSERT INTO schema_version VALUES (1, %d, 'fedrs test'), (2, %d, 'fedrs test')", t0, t0),
		fmt.Sprintf("PRAGMA application_id = %d", ApplicationID),
		fmt.Sprintf("INSERT INTO runs (id, started_at, last_seen, stopped_at, clean, pid, host, version) VALUES (1, %d, %d, %d, 1, 1, 'h', 'v2')", t0, t0+9e6, t0+9e6),
		"INSERT INTO members VALUES (1, 'nhs-a', 4200000001), (2, 'nhs-b', 4200000002), (3, 'council-c', 4200000003)",
		"INSERT INTO sources VALUES (1, 1, '127.0.0.11')",
		"INSERT INTO attr_sets (id, hash, origin, as_path, origin_as, next_hop, next_hop_ll, med, communities, large, ext_count, otc, discarded) VALUES (1, x'01', 'igp', '4200000001', 4200000001, '127.0.0.11', '', NULL, '', '', 0, NULL, '')",
		"INSERT INTO verdicts VALUES (1, 'k', 1, '', '', 'not-checked', 'not-checked', 'owned', 0, 0)",
		"INSERT INTO causes VALUES (1, 'update')",
		"INSERT INTO member_sets VALUES (1, '2 3', 'council-c nhs-b', 2)",
		"INSERT INTO member_set_members VALUES (2, 1), (3, 1)",
		fmt.Sprintf("INSERT INTO routes (id, family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause, set_id) VALUES (1, 4, x'0a010000', x'0a01ffff', 16, 0, 1, 1, 1, 0, %d, 1, 1)", t0+1e6),
		fmt.Sprintf("INSERT INTO routes (id, family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause, set_id) VALUES (2, 6, x'20010db8000000000000000000000000', x'20010db8ffffffffffffffffffffffff', 32, 0, 1, 1, 1, 0, %d, 1, 1)", t0+1e6),
		fmt.Sprintf(`INSERT INTO sessions (member_id, neighbor, up_at, negotiated) VALUES (2, '127.0.0.12', %d, '{"families":["ipv4-unicast","ipv6-unicast"],"four_octet_as":true}')`, t0),
		fmt.Sprintf(`INSERT INTO sessions (member_id, neighbor, up_at, negotiated) VALUES (3, '127.0.0.13', %d, '{"families":["ipv4-unicast"],"four_octet_as":true}')`, t0),
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()

	rec, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	rec.Close() // a clean stop: the route versions end now
	rd, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx := context.Background()
	if info, err := rd.Info(ctx); err != nil || info.SchemaVersion != SchemaVersion {
		t.Fatalf("after migration: %+v, %v", info, err)
	}
	mid := time.UnixMicro(t0 + 2e6)
	for _, c := range []struct {
		member string
		want   string
	}{{"nhs-b", "10.1.0.0/16 2001:db8::/32"}, {"council-c", "10.1.0.0/16"}} {
		ex, up, err := rd.ExportedTo(ctx, mid, c.member)
		var got []string
		for _, v := range ex {
			got = append(got, v.Prefix.String())
		}
		if err != nil || !up || strings.Join(got, " ") != c.want {
			t.Errorf("exported to %s: %v %v %v; want %s", c.member, err, up, got, c.want)
		}
	}
	vs, err := rd.Versions(ctx, Query{})
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	for _, v := range vs {
		want := "council-c nhs-b"
		if v.Prefix.Addr().Is6() {
			want = "nhs-b"
		}
		if len(v.Exports) != 1 || strings.Join(v.Exports[0].Members, " ") != want || len(v.Exports[0].Transfers) != 0 {
			t.Errorf("%s exports %+v; want %s from the start, no initial transfer claimed", v.Prefix, v.Exports, want)
		}
	}
	ss, err := rd.Sessions(ctx, "", time.Time{}, time.Time{})
	if err != nil || len(ss) != 2 {
		t.Fatalf("sessions: %v %+v", err, ss)
	}
	for _, s := range ss {
		if len(s.Families) != 0 || s.Synced != nil || !strings.HasPrefix(string(s.Negotiated), `{"families"`) {
			t.Errorf("session of %s after migration: families %v, synced %v, negotiated %s", s.Member, s.Families, s.Synced, s.Negotiated)
		}
	}
}
