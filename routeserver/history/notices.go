package history

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Notice is a period in which the history is incomplete: events dropped
// (a gap), a crash (between the last heartbeat and the next start), or no
// writer running.
type Notice struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Text string    `json:"text"`
}

// Notices returns the periods overlapping [since, until) in which the
// history is incomplete (zero times: unbounded).
func (r *Reader) Notices(ctx context.Context, since, until time.Time) ([]Notice, error) {
	lo, hi := int64(0), int64(1<<62)
	if !since.IsZero() {
		lo = since.UnixMicro()
	}
	if !until.IsZero() {
		hi = until.UnixMicro()
	}
	var out []Notice
	rows, err := r.db.QueryContext(ctx, `SELECT first_at, last_at, route_events, exposure_events, other_events, reason FROM gaps
		WHERE last_at >= ? AND first_at < ? ORDER BY first_at`, lo, hi)
	if err != nil {
		return nil, r.wrap(err)
	}
	for rows.Next() {
		var first, last, re, ee, oe int64
		var reason string
		if err := rows.Scan(&first, &last, &re, &ee, &oe, &reason); err != nil {
			rows.Close()
			return nil, r.wrap(err)
		}
		out = append(out, Notice{From: time.UnixMicro(first), To: time.UnixMicro(last),
			Text: fmt.Sprintf("history incomplete: %d route, %d export and %d other events not recorded (%s)", re, ee, oe, reason)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, r.wrap(err)
	}
	// Route events journaled while the route server was busy and not yet
	// applied to the tables (or left by a crash for the next start).
	var jfirst, jlast, jevents sql.NullInt64
	if err := r.db.QueryRowContext(ctx, "SELECT MIN(first_at), MAX(last_at), SUM(events) FROM journal WHERE last_at >= ? AND first_at < ?",
		lo, hi).Scan(&jfirst, &jlast, &jevents); err != nil {
		return nil, r.wrap(err)
	}
	if jevents.Int64 > 0 {
		out = append(out, Notice{From: time.UnixMicro(jfirst.Int64), To: time.UnixMicro(jlast.Int64),
			Text: fmt.Sprintf("%d route events of this time are recorded in the journal but not yet in the tables (the route server was busy; they are applied once it is idle, or by the next start)", jevents.Int64)})
	}
	// Runs: a crash window (last heartbeat to the next start) and the
	// time no writer ran.
	rows, err = r.db.QueryContext(ctx, "SELECT started_at, COALESCE(stopped_at, last_seen), clean, stopped_at IS NULL FROM runs ORDER BY started_at")
	if err != nil {
		return nil, r.wrap(err)
	}
	type run struct {
		start, end  int64
		clean, open bool
	}
	var runs []run
	for rows.Next() {
		var x run
		if err := rows.Scan(&x.start, &x.end, &x.clean, &x.open); err != nil {
			rows.Close()
			return nil, r.wrap(err)
		}
		runs = append(runs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, r.wrap(err)
	}
	for i := 0; i+1 < len(runs); i++ {
		a, b := runs[i].end, runs[i+1].start
		if b <= lo || a >= hi || b <= a {
			continue
		}
		text := "no route server was recording (stopped cleanly, then started again)"
		if !runs[i].clean {
			text = "the route server stopped without a clean shutdown (crash or kill): intervals open then were closed at its last heartbeat and marked recovered; nothing is known until the next start"
		}
		out = append(out, Notice{From: time.UnixMicro(a), To: time.UnixMicro(b), Text: text})
	}
	if n := len(runs); n > 0 && !runs[n-1].open && runs[n-1].end < hi {
		out = append(out, Notice{From: time.UnixMicro(runs[n-1].end), To: time.UnixMicro(max(hi, runs[n-1].end)),
			Text: "no route server has recorded since this time"})
	}
	slices.SortFunc(out, func(a, b Notice) int { return a.From.Compare(b.From) })
	return out, nil
}
