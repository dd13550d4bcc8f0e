package history

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

const recoveredCause = "recovered: the previous run ended without a clean stop (crash, kill or power loss); closed at its last heartbeat"

// startRun closes what an unclean previous run left open and records this
// run: it refuses a database another live process writes, applies what
// the dead runs journaled (replayDead), closes their open intervals
// (closeUnclean) and inserts this run's row.
func (w *writer) startRun() error {
	ctx, path := w.ctx, w.r.path
	host, _ := os.Hostname()
	prevs, err := w.uncleanRuns()
	if err != nil {
		return err
	}
	nowUS := now()
	var lastSeen int64
	for _, p := range prevs {
		if p.host == host && int(p.pid) != os.Getpid() && processAlive(int(p.pid)) &&
			nowUS-p.lastSeen < int64(6*w.r.opts.Heartbeat/time.Microsecond)+30e6 {
			return fmt.Errorf("%s: another fedrs process (pid %d) is writing this history database (last seen %s); stop it first",
				path, p.pid, time.UnixMicro(p.lastSeen).Format(time.RFC3339))
		}
		lastSeen = max(lastSeen, p.lastSeen)
	}
	if err := w.replayDead(); err != nil {
		return err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer tx.Rollback()
	if len(prevs) > 0 {
		if err := w.closeUnclean(tx, len(prevs), lastSeen, nowUS); err != nil {
			return err
		}
	}
	if err := tx.QueryRowContext(ctx, "INSERT INTO runs (started_at, last_seen, pid, host, version) VALUES (?, ?, ?, ?, ?) RETURNING id",
		nowUS, nowUS, os.Getpid(), host, w.r.opts.Version).Scan(&w.runID); err != nil {
		return fmt.Errorf("%s: recording the run: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if rep := w.r.recovered; rep.Runs > 0 {
		w.r.log.Warn("history: previous run did not stop cleanly; its open intervals were closed at its last heartbeat and marked recovered",
			"db", path, "last_seen", rep.LastSeen, "routes", rep.Routes, "exposures", rep.Exposures, "sessions", rep.Sessions)
	}
	return nil
}

// uncleanRun is a run the database records as not stopped: dead, or
// another process writing.
type uncleanRun struct {
	id, lastSeen, pid int64
	host              string
}

// uncleanRuns reads the runs that have not recorded a stop.
func (w *writer) uncleanRuns() ([]uncleanRun, error) {
	var prevs []uncleanRun
	rows, err := w.db.QueryContext(w.ctx, "SELECT id, last_seen, pid, host FROM runs WHERE stopped_at IS NULL")
	if err != nil {
		return nil, fmt.Errorf("%s: reading runs: %w", w.r.path, err)
	}
	for rows.Next() {
		var p uncleanRun
		if err := rows.Scan(&p.id, &p.lastSeen, &p.pid, &p.host); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: reading runs: %w", w.r.path, err)
		}
		prevs = append(prevs, p)
	}
	rows.Close()
	return prevs, nil
}

// closeUnclean closes, in tx, what the unclean runs (runs of them, the
// newest seen at lastSeen) left open, at lastSeen, marked recovered, and
// marks the runs stopped; it fills the recovery report.
func (w *writer) closeUnclean(tx *sql.Tx, runs int, lastSeen, nowUS int64) error {
	ctx, path := w.ctx, w.r.path
	var causeID int64
	if err := tx.QueryRowContext(ctx, "INSERT INTO causes (text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text = excluded.text RETURNING id",
		recoveredCause).Scan(&causeID); err != nil {
		return fmt.Errorf("%s: recovery: %w", path, err)
	}
	rep := &w.r.recovered
	rep.Runs, rep.LastSeen = runs, time.UnixMicro(lastSeen)
	exec := func(n *int64, q string, args ...any) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: recovery: %w", path, err)
		}
		*n, _ = res.RowsAffected()
		return nil
	}
	if err := exec(&rep.Exposures, openExposures("valid_to = MAX(valid_from, ?), recovered = 1"), lastSeen); err != nil {
		return err
	}
	if err := exec(&rep.Routes, "UPDATE routes SET valid_to = MAX(valid_from, ?), to_cause = ?, recovered = 1 WHERE valid_to IS NULL", lastSeen, causeID); err != nil {
		return err
	}
	if err := exec(&rep.Sessions, "UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ?, recovered = 1 WHERE down_at IS NULL", lastSeen, recoveredCause); err != nil {
		return err
	}
	var n int64
	return exec(&n, "UPDATE runs SET stopped_at = last_seen, clean = 0, recovered_at = ?, recovered_routes = ?, recovered_exposures = ?, recovered_sessions = ? WHERE stopped_at IS NULL",
		nowUS, rep.Routes, rep.Exposures, rep.Sessions)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// openExposures is an UPDATE of the open exposures (those of open route
// versions) with the given SET clause.
func openExposures(set string) string {
	return "UPDATE exposures SET " + set + " WHERE valid_to IS NULL AND route_id IN (SELECT id FROM routes WHERE valid_to IS NULL)"
}

// replayDead applies what runs that did not stop cleanly journaled but
// did not apply, on top of the route versions they left open.
func (w *writer) replayDead() error {
	if err := w.readJournalState(); err != nil {
		return fmt.Errorf("%s: reading the journal: %w", w.r.path, err)
	}
	if w.jrows == 0 {
		return nil
	}
	start, events := time.Now(), w.jevents
	if err := w.loadOpen(); err != nil {
		return fmt.Errorf("%s: reading the open route versions: %w", w.r.path, err)
	}
	if !w.drainJournal() {
		return fmt.Errorf("%s: the previous run's journal could not be applied (see the log); nothing was changed", w.r.path)
	}
	clear(w.open)
	w.r.recovered.Journaled = int64(events)
	w.r.log.Info("history: applied the events the previous run had journaled", "db", w.r.path, "events", events, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loadOpen reads the open route versions (and their open exposures) into
// the writer's state: a start after a crash needs them to apply what the
// dead run journaled.
func (w *writer) loadOpen() error {
	// The version's exposure is its last exposure row while that is
	// open; a closed last row ended it (the set went to nobody, and the
	// first set was not in the route row): no row to close then.
	rows, err := w.db.QueryContext(w.ctx, `SELECT r.id, r.family, r.pstart, r.plen, r.path_id, r.source_id, r.attrs_id, r.verdict_id, r.set_id,
		(SELECT e.valid_from FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1),
		(SELECT e.set_id FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1),
		(SELECT e.valid_to IS NULL FROM exposures e WHERE e.route_id = r.id ORDER BY e.valid_from DESC LIMIT 1)
		FROM routes r WHERE r.valid_to IS NULL ORDER BY r.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o openRoute
		var fam, plen int
		var start []byte
		var set, expFrom, expSet, expOpen sql.NullInt64
		if err := rows.Scan(&o.row, &fam, &start, &plen, &o.pathID, &o.src, &o.attrs, &o.verdict, &set, &expFrom, &expSet, &expOpen); err != nil {
			return err
		}
		f := bgp.IPv4Unicast
		if fam == 6 {
			f = bgp.IPv6Unicast
		}
		var k prefixKey
		k.fam, k.bits = uint8(f), uint8(plen)
		if f == bgp.IPv4Unicast {
			k.addr = [16]byte{10: 0xff, 11: 0xff}
			copy(k.addr[12:], start)
		} else {
			copy(k.addr[:], start)
		}
		o.inRow, o.expSet = set.Valid, int32(set.Int64)
		switch {
		case expFrom.Valid && expOpen.Int64 == 1:
			o.expFrom, o.expSet = expFrom.Int64, int32(expSet.Int64)
		case expFrom.Valid:
			o.expSet = 0 // ended: exported to nobody since
		}
		w.open[k] = append(w.open[k], o)
	}
	return rows.Err()
}
