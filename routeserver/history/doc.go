// Package history is the route server's audit trail: a SQLite database
// (modernc.org/sqlite, pure Go) of every route version received, with its
// attributes, verdict and reasons, from when to when; what each version
// was exported to, as intervals of interned member sets; sessions; config
// loads; RPKI changes; gaps; and the writer's runs, so that a crash is
// recovered and marked. The schema is in schema.go and README.md.
//
// # Data flow
//
//	route server hooks ─► Recorder ─► queue ─► writer goroutine ─► SQLite
//	                                             │ idle: applied in transactions
//	                                             ╰ busy: journal rows, applied later
//	fedrs history ─► Reader (read-only, WAL) ─► Version, Session, Notice
//
// Recorder (recorder.go) implements routeserver.Recorder. Its hooks run
// on the route server's goroutines, some with the RIB locked: each copies
// what it needs into the queue and returns. Open creates or migrates the
// database, recovers what a previous run left open and starts the writer.
//
// The queue (queue.go) is bounded and made of fixed-size blocks of small
// events (one pointer each, sources and causes numbered); the hooks never
// wait on the writer. When it is full, events are dropped, counted, and
// later recorded as a gap (gap.go).
//
// The writer (writer.go: its state) is one goroutine, the only one that
// writes the database. Its loop (schedule.go) takes batches from the queue and
// decides how they reach the tables: while the route server is idle,
// applied directly; while it is busy (holdState: a table load, a burst),
// route events are journaled at least every journalEvery and applied once
// it is idle again or write_behind has passed. Session, configuration and
// RPKI events are committed at once either way. The loop also heartbeats
// (the run's last_seen) and prunes what is older than the retention
// (retain.go).
//
// A batch is one transaction (txn.go): each event is resolved to database
// ids (resolve.go), interning attribute sets, verdicts, causes, sources
// and member sets (intern.go, with their text forms in attrtext.go), then
// either applied to the route tables as version and exposure intervals
// (apply.go, rows buffered and written by multi-row statements in
// batch.go) or appended to a journal row. Session, configuration, RPKI
// and stop events go to their tables (events.go). A transaction that
// fails is rolled back; its events become a gap, what was open is closed
// and the writer's caches are reset.
//
// The journal (journal.go) bounds what a crash loses without making a
// table load pay for the history's indexes: a row is a compact blob of
// resolved events (encode.go) and the attribute sets not interned yet,
// applied to the tables a row per transaction and deleted with it. After
// a crash the next Open (recover.go) applies what the dead run journaled
// on top of the versions it left open, then closes every interval still
// open at the dead run's last heartbeat, marked recovered, and logs it
// once.
//
// Reader (reader.go) opens the database read-only while a route server
// writes it and answers `fedrs history`: route versions by prefix, member,
// time or filter reason, the RIB at an instant and what was exported to
// a member (versions.go); the exposure intervals of a version, intersected
// with the member's established sessions (exposure.go); sessions
// (sessions.go); the periods the history is incomplete (notices.go);
// tables for text and CSV output (format.go); times and prefixes given on
// the command line (parse.go). Prefixes are stored as a family and a
// range of addresses (prefix.go).
package history
