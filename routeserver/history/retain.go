package history

import "time"

// prune deletes one small batch per table of rows whose interval ended
// before now-retain; it sets pruneMore when a table had more.
func (w *writer) prune() {
	w.pruneMore = false
	if w.retain <= 0 {
		return
	}
	cut := now() - int64(w.retain/time.Microsecond)
	n := w.r.opts.PruneBatch
	tx, err := w.db.BeginTx(w.ctx, nil)
	if err != nil {
		w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
		return
	}
	defer tx.Rollback()
	for _, q := range []string{
		"DELETE FROM exposures WHERE route_id IN (SELECT id FROM routes WHERE valid_to < ?1 ORDER BY valid_to LIMIT ?2)",
		"DELETE FROM routes WHERE id IN (SELECT id FROM routes WHERE valid_to < ?1 ORDER BY valid_to LIMIT ?2)",
		"DELETE FROM session_syncs WHERE session_id IN (SELECT id FROM sessions WHERE down_at < ?1 ORDER BY id LIMIT ?2)",
		"DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE down_at < ?1 ORDER BY id LIMIT ?2)",
		"DELETE FROM gaps WHERE id IN (SELECT id FROM gaps WHERE last_at < ?1 LIMIT ?2)",
		"DELETE FROM rpki_changes WHERE id IN (SELECT id FROM rpki_changes WHERE at < ?1 LIMIT ?2)",
		"DELETE FROM control_requests WHERE id IN (SELECT id FROM control_requests WHERE at < ?1 LIMIT ?2)",
		"DELETE FROM configs WHERE id IN (SELECT id FROM configs WHERE at < ?1 AND id <> (SELECT MAX(id) FROM configs) LIMIT ?2)",
		"DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE stopped_at < ?1 LIMIT ?2)",
	} {
		res, err := tx.ExecContext(w.ctx, q, cut, n)
		if err != nil {
			w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
			return
		}
		if k, _ := res.RowsAffected(); k >= int64(n) {
			w.pruneMore = true
		}
	}
	if err := tx.Commit(); err != nil {
		w.r.log.Warn("history: pruning failed", "db", w.r.path, "err", err)
	}
}
