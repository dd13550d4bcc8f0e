package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ApplicationID is written to the SQLite header (PRAGMA application_id) of
// every history database: "fedr". It tells a fedrs database from any other
// SQLite file.
const ApplicationID = 0x66656472

// SchemaVersion is the schema this code writes and reads. Older databases
// are migrated forward on open; newer ones are refused.
const SchemaVersion = 5

// migration returns the DDL that brings a database from version v to
// v+1. Never edit a released migration: add a new one.
func migration(v int) string {
	switch v {
	case 0:
		return schemaV1
	case 1:
		return schemaV2
	case 2:
		return schemaV3
	case 3:
		return schemaV4
	case 4:
		return schemaV5
	}
	return ""
}

// schemaV1 is the first schema. Times are microseconds since the Unix
// epoch (UTC). Intervals are half-open [valid_from, valid_to); valid_to
// NULL means still open.
const schemaV1 = `
CREATE TABLE schema_version (
	version    INTEGER NOT NULL,
	applied_at INTEGER NOT NULL,
	by         TEXT NOT NULL
);

-- One row per start of a writer (a route server run). last_seen is updated
-- with every commit and every heartbeat; a run that ended without a clean
-- stop is closed by the next start at last_seen ("recovered").
CREATE TABLE runs (
	id           INTEGER PRIMARY KEY,
	started_at   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL,
	stopped_at   INTEGER,
	clean        INTEGER NOT NULL DEFAULT 0,
	pid          INTEGER NOT NULL,
	host         TEXT NOT NULL,
	version      TEXT NOT NULL,
	recovered_at INTEGER,          -- when a later run closed this one's intervals
	recovered_routes    INTEGER,   -- how many route versions it closed
	recovered_exposures INTEGER,
	recovered_sessions  INTEGER
);

CREATE TABLE members (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	asn  INTEGER NOT NULL
);

-- A neighbour address of a member (one BGP session slot).
CREATE TABLE sources (
	id        INTEGER PRIMARY KEY,
	member_id INTEGER NOT NULL REFERENCES members(id),
	addr      TEXT NOT NULL,
	UNIQUE (member_id, addr)
);

-- Interned path attribute sets, keyed by a hash of their canonical wire
-- form. Lists are space separated; med and otc are NULL when absent.
CREATE TABLE attr_sets (
	id          INTEGER PRIMARY KEY,
	hash        BLOB NOT NULL UNIQUE,
	origin      TEXT NOT NULL,       -- igp, egp, incomplete
	as_path     TEXT NOT NULL,       -- "4200000001 65010", AS_SETs as {a b}
	origin_as   INTEGER,             -- RFC 6811 origin, NULL for none
	next_hop    TEXT NOT NULL,
	next_hop_ll TEXT NOT NULL,       -- IPv6 link-local next hop or ""
	med         INTEGER,
	communities TEXT NOT NULL,       -- "65000:1 65535:666"
	large       TEXT NOT NULL,       -- "4200000000:0:4200000003"
	ext_count   INTEGER NOT NULL,    -- extended communities (counted only)
	otc         INTEGER,
	discarded   TEXT NOT NULL        -- attribute types dropped (RFC 7606)
);

-- Interned import verdicts. filtered/tagged list reason names.
CREATE TABLE verdicts (
	id        INTEGER PRIMARY KEY,
	key       TEXT NOT NULL UNIQUE,
	accepted  INTEGER NOT NULL,
	filtered  TEXT NOT NULL,
	tagged    TEXT NOT NULL,
	rov       TEXT NOT NULL,
	aspa      TEXT NOT NULL,
	registry  TEXT NOT NULL,
	blackhole INTEGER NOT NULL,
	graceful_shutdown INTEGER NOT NULL
);

-- The reasons of each verdict, one row each, for "filtered by reason".
CREATE TABLE verdict_reasons (
	verdict_id INTEGER NOT NULL REFERENCES verdicts(id),
	kind       TEXT NOT NULL,    -- filtered or tagged
	reason     TEXT NOT NULL,    -- name, e.g. next_hop
	code       INTEGER NOT NULL, -- Euro-IX / fedrs code (RS:1101:code)
	PRIMARY KEY (reason, kind, verdict_id)
) WITHOUT ROWID;

-- Why a version started or ended: "update", "withdraw", "session down: ...",
-- "stale purge: ...", "rpki", "policy", "stopped", "recovered: ...".
CREATE TABLE causes (
	id   INTEGER PRIMARY KEY,
	text TEXT NOT NULL UNIQUE
);

-- Interned sets of members (what a route was exported to).
CREATE TABLE member_sets (
	id      INTEGER PRIMARY KEY,
	key     TEXT NOT NULL UNIQUE, -- sorted member ids, space separated
	members TEXT NOT NULL,        -- member names, space separated
	size    INTEGER NOT NULL
);
CREATE TABLE member_set_members (
	member_id INTEGER NOT NULL,
	set_id    INTEGER NOT NULL,
	PRIMARY KEY (member_id, set_id)
) WITHOUT ROWID;

-- Route versions: one row per (neighbour, prefix, path id) and per change
-- of its attributes or verdict. The prefix is family (4 or 6), the first
-- and last address (big-endian bytes) and the length, so that covering and
-- more-specific prefixes are range queries.
CREATE TABLE routes (
	id         INTEGER PRIMARY KEY,
	family     INTEGER NOT NULL,
	pstart     BLOB NOT NULL,
	pend       BLOB NOT NULL,
	plen       INTEGER NOT NULL,
	path_id    INTEGER NOT NULL,
	source_id  INTEGER NOT NULL REFERENCES sources(id),
	attrs_id   INTEGER NOT NULL REFERENCES attr_sets(id),
	verdict_id INTEGER NOT NULL REFERENCES verdicts(id),
	filtered   INTEGER NOT NULL,  -- 1 when the verdict filters the route
	valid_from INTEGER NOT NULL,
	valid_to   INTEGER,
	from_cause INTEGER NOT NULL REFERENCES causes(id),
	to_cause   INTEGER REFERENCES causes(id),
	recovered  INTEGER NOT NULL DEFAULT 0 -- closed by crash recovery
);
CREATE INDEX routes_prefix   ON routes(family, pstart, plen, valid_from);
CREATE INDEX routes_source   ON routes(source_id, valid_from);
CREATE INDEX routes_to       ON routes(valid_to);
CREATE INDEX routes_filtered ON routes(verdict_id, valid_from) WHERE filtered = 1;

-- Exposure intervals: route version route_id was exported to the members
-- of set_id (computed over every member, session up or not) from
-- valid_from to valid_to. "Could member X reach P at T" is: X had a
-- session up at T and X is in the set of an exposure of P open at T.
-- An exposure lies within its route version's interval: they are found
-- (and pruned) through their route.
CREATE TABLE exposures (
	route_id   INTEGER NOT NULL REFERENCES routes(id),
	valid_from INTEGER NOT NULL,
	set_id     INTEGER NOT NULL REFERENCES member_sets(id),
	valid_to   INTEGER,
	recovered  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (route_id, valid_from)
) WITHOUT ROWID;
CREATE INDEX exposures_to    ON exposures(valid_to);

-- BGP sessions as intervals, with what was negotiated and how they ended.
CREATE TABLE sessions (
	id          INTEGER PRIMARY KEY,
	member_id   INTEGER NOT NULL REFERENCES members(id),
	neighbor    TEXT NOT NULL,
	up_at       INTEGER,          -- NULL: the up event was not recorded
	down_at     INTEGER,
	peer_asn    INTEGER,
	peer_id     TEXT,
	local_addr  TEXT,
	remote_addr TEXT,
	hold_time   INTEGER,          -- seconds
	negotiated  TEXT,             -- JSON: families, capabilities, role, GR
	down_reason TEXT,
	sent_code   INTEGER, sent_subcode INTEGER, sent_message TEXT,
	recv_code   INTEGER, recv_subcode INTEGER, recv_message TEXT,
	graceful_restart INTEGER,     -- routes kept as stale (RFC 4724)
	recovered   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_member ON sessions(member_id, up_at);
CREATE INDEX sessions_down   ON sessions(down_at);

CREATE TABLE configs (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	run_id  INTEGER NOT NULL,
	file    TEXT NOT NULL,
	sha256  TEXT NOT NULL,
	members INTEGER NOT NULL,
	changes TEXT NOT NULL         -- "" for the first load of a run
);
CREATE INDEX configs_at ON configs(at);

CREATE TABLE rpki_changes (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	serial  INTEGER NOT NULL,
	vrps    INTEGER NOT NULL,
	aspas   INTEGER NOT NULL,
	verdicts_changed INTEGER NOT NULL
);
CREATE INDEX rpki_changes_at ON rpki_changes(at);

-- Events the writer could not record (queue overflow or a failed write):
-- history between first_at and last_at is incomplete.
CREATE TABLE gaps (
	id          INTEGER PRIMARY KEY,
	first_at    INTEGER NOT NULL,
	last_at     INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	route_events    INTEGER NOT NULL,
	exposure_events INTEGER NOT NULL,
	other_events    INTEGER NOT NULL,
	reason      TEXT NOT NULL
);
CREATE INDEX gaps_last ON gaps(last_at);
`

// schemaV2 records a route version's first export set in its row and
// lets exposure rows stay open until their version ends:
//
//   - routes.set_id: the members a version is exported to from its start,
//     until its first exposure row (a row with set_id 0 means "to nobody
//     from then on") or, without one, until the version ends; one insert
//     fewer for most versions. NULL in rows written by version 1.
//   - An exposure row whose valid_to is NULL lasts until its version ends
//     (version 1 closed them explicitly, which stays valid).
//   - routes_to indexes closed rows only; exposures_to is gone (open rows
//     are found through their route).
const schemaV2 = `
ALTER TABLE routes ADD COLUMN set_id INTEGER;
DROP INDEX routes_to;
CREATE INDEX routes_to ON routes(valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX exposures_to;
`

// schemaV3 records what the reader needs to tell what a member actually
// received (a route version counts as exported to a member only while
// one of the member's sessions that carries the route's family is
// established):
//
//   - sessions.families: the families the route server sends on the
//     session ("4 6"), NULL in rows written before version 3 (the reader
//     then takes them from negotiated);
//   - session_syncs: when the route server sent End-of-RIB for a family
//     on a session, i.e. when its initial transfer of the whole table
//     after the session came up was complete. A session of version 3 or
//     later without a row for a family never completed it.
//
// and bounds what a crash loses:
//
//   - journal: route events committed in a compact form while the route
//     server is busy, applied to routes and exposures (and deleted) once
//     it is idle, or by the next start after a crash (journal.go).
const schemaV3 = `
ALTER TABLE sessions ADD COLUMN families TEXT;
CREATE TABLE session_syncs (
	session_id INTEGER NOT NULL REFERENCES sessions(id),
	family     INTEGER NOT NULL,
	synced_at  INTEGER NOT NULL,
	PRIMARY KEY (session_id, family)
) WITHOUT ROWID;
CREATE TABLE journal (
	id       INTEGER PRIMARY KEY,
	run_id   INTEGER NOT NULL,
	first_at INTEGER NOT NULL,
	last_at  INTEGER NOT NULL,
	events   INTEGER NOT NULL,
	data     BLOB NOT NULL
);
`

// schemaV5 records the state-changing requests on the control sockets
// (reload, member clear/shutdown/enable, maintenance, check) and the
// refused ones, with the caller's credentials (SO_PEERCRED; NULL where
// unknown): the audit of who changed what.
const schemaV5 = `
CREATE TABLE control_requests (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	run_id  INTEGER NOT NULL,
	command TEXT NOT NULL,        -- "POST /v1/reload"
	uid     INTEGER,
	gid     INTEGER,
	pid     INTEGER,
	status  INTEGER NOT NULL,     -- the HTTP status of the answer
	result  TEXT NOT NULL,        -- "ok", or the error the caller was given
	readonly INTEGER NOT NULL     -- 1: sent to the read-only socket (and refused)
);
CREATE INDEX control_requests_at ON control_requests(at);
`

// schemaV4 adds the indexes the event list reads in time order (events_read.go):
//
//   - routes_filtered_at: filter decisions (filtered route versions) by
//     the time they began; routes_filtered_source: the same per source
//     (a member's);
//   - sessions_up: session ups by time (downs have sessions_down);
//   - gaps_first: history gaps by their start.
const schemaV4 = `
CREATE INDEX routes_filtered_at ON routes(valid_from) WHERE filtered = 1;
CREATE INDEX routes_filtered_source ON routes(source_id, valid_from) WHERE filtered = 1;
CREATE INDEX sessions_up ON sessions(up_at);
CREATE INDEX gaps_first ON gaps(first_at);
`

// Error kinds callers can test with errors.Is.
var (
	// ErrNotHistory: the file is not a fedrs history database.
	ErrNotHistory = errors.New("not a fedrs history database")
	// ErrNewerSchema: the database was written by a newer fedrs.
	ErrNewerSchema = errors.New("history database schema is newer than this fedrs")
	// ErrUnknownMember: a member name the history has never recorded.
	ErrUnknownMember = errors.New("no such member in the history")
)

// checkIdentity tells a fedrs history database from other files; empty
// is true for a new, empty database.
func checkIdentity(ctx context.Context, q querier, path string) (version int, empty bool, err error) {
	var appID int64
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, false, describeOpenError(path, err)
	}
	var tables []string
	rows, err := q.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return 0, false, describeOpenError(path, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, false, describeOpenError(path, err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, describeOpenError(path, err)
	}
	if appID == 0 && len(tables) == 0 {
		return 0, true, nil
	}
	if appID != ApplicationID {
		shown := tables
		if len(shown) > 8 {
			shown = append(shown[:8:8], "...")
		}
		return 0, false, fmt.Errorf("%s: %w: it is a SQLite database of another application (application_id %#x, tables: %s)",
			path, ErrNotHistory, appID, strings.Join(shown, ", "))
	}
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&version); err != nil {
		return 0, false, fmt.Errorf("%s: %w: it carries the fedrs application id but its schema_version table is unreadable: %v", path, ErrNotHistory, err)
	}
	if version > SchemaVersion {
		return version, false, fmt.Errorf("%s: %w: schema version %d, this fedrs reads up to %d; use a newer fedrs", path, ErrNewerSchema, version, SchemaVersion)
	}
	return version, false, nil
}

// migrate brings the database to SchemaVersion in one transaction.
func migrate(ctx context.Context, db *sql.DB, path string, from int, by string) error {
	if from >= SchemaVersion {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: migrating the history schema: %w", path, err)
	}
	defer tx.Rollback()
	for v := from; v < SchemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migration(v)); err != nil {
			return fmt.Errorf("%s: migrating the history schema from version %d to %d: %w", path, v, v+1, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at, by) VALUES (?, ?, ?)",
			v+1, time.Now().UnixMicro(), by); err != nil {
			return fmt.Errorf("%s: recording schema version %d: %w", path, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
		return fmt.Errorf("%s: setting the application id: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migrating the history schema: %w", path, err)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// describeOpenError turns SQLite's terse errors into ones that name the
// file and the problem.
func describeOpenError(path string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "file is not a database") || strings.Contains(msg, "(26)"):
		return fmt.Errorf("%s: %w: the file is not a SQLite database (%v)", path, ErrNotHistory, err)
	case strings.Contains(msg, "malformed") || strings.Contains(msg, "(11)"):
		return fmt.Errorf("%s: the history database is corrupt (%v); restore it from a backup, or move it aside to start a new one", path, err)
	case strings.Contains(msg, "unable to open") || strings.Contains(msg, "(14)"):
		return fmt.Errorf("%s: cannot open the history database (%v)", path, err)
	case strings.Contains(msg, "readonly") || strings.Contains(msg, "(8)"):
		return fmt.Errorf("%s: the history database is read-only (%v)", path, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}
