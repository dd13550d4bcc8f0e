package history

import (
	"database/sql"
	"fmt"
	"strings"
)

// The writer buffers the rows of a transaction and writes them with
// multi-row statements: SQLite's cost per statement, not per row, is what
// bounds the event rate. A version opened and closed within one buffer
// is written once, already closed.

type routeRow struct {
	id         int64
	family     int
	start, end []byte
	plen       int
	pathID     uint32
	src        int32
	attrs      int32
	verdict    int32
	filtered   int
	from       int64
	fromCause  int32
	to         int64 // 0: open
	toCause    int32
	set        int32 // the export set from the start (0: none recorded here)
}

type routeClose struct {
	id    int64
	to    int64
	cause int32
}

type expKey struct{ route, from int64 }

type expRow struct {
	expKey
	set int32
	to  int64 // 0: open
}

type expClose struct {
	expKey
	to int64
}

// flushAt is the buffer size that triggers a flush within a batch.
const flushAt = 512

// chunk sizes of the multi-row statements.
var chunkSizes = [...]int{64, 8, 1}

type buffers struct {
	routes     []routeRow
	firstRoute int64 // id of routes[0]
	closes     []routeClose
	exps       []expRow
	expIdx     map[expKey]int
	expCloses  []expClose
	stmts      map[string]*sql.Stmt
}

func (w *writer) resetBuffers() {
	b := &w.buf
	b.routes = b.routes[:0]
	b.closes = b.closes[:0]
	b.exps = b.exps[:0]
	b.expCloses = b.expCloses[:0]
	if b.expIdx == nil {
		b.expIdx = map[expKey]int{}
	}
	clear(b.expIdx)
	b.stmts = map[string]*sql.Stmt{}
}

func (w *writer) addRoute(r routeRow) {
	b := &w.buf
	if len(b.routes) == 0 {
		b.firstRoute = r.id
	}
	b.routes = append(b.routes, r)
}

func (w *writer) closeRoute(id, at int64, cause int32) {
	b := &w.buf
	if i := id - b.firstRoute; len(b.routes) > 0 && i >= 0 && i < int64(len(b.routes)) {
		r := &b.routes[i]
		r.to, r.toCause = max(at, r.from), cause
		return
	}
	b.closes = append(b.closes, routeClose{id: id, to: at, cause: cause})
}

// rowExp records set as the export set of route version id from its
// start, when its row is still in the buffer and starts at at; it
// reports whether it could.
func (w *writer) rowExp(id, at int64, set int32) bool {
	b := &w.buf
	i := id - b.firstRoute
	if len(b.routes) == 0 || i < 0 || i >= int64(len(b.routes)) || b.routes[i].from != at {
		return false
	}
	b.routes[i].set = set
	return true
}

func (w *writer) addExp(route, from int64, set int32) {
	b := &w.buf
	k := expKey{route, from}
	if i, ok := b.expIdx[k]; ok {
		b.exps[i] = expRow{expKey: k, set: set} // replaces a zero-length one
		return
	}
	b.expIdx[k] = len(b.exps)
	b.exps = append(b.exps, expRow{expKey: k, set: set})
}

func (w *writer) closeExp(route, from, at int64) {
	b := &w.buf
	k := expKey{route, from}
	if i, ok := b.expIdx[k]; ok {
		b.exps[i].to = max(at, from)
		return
	}
	b.expCloses = append(b.expCloses, expClose{expKey: k, to: at})
}

func (w *writer) maybeFlush() error {
	b := &w.buf
	if len(b.routes)+len(b.closes)+len(b.exps)+len(b.expCloses) >= flushAt {
		return w.flush()
	}
	return nil
}

// flush writes the buffered rows.
func (w *writer) flush() error {
	b := &w.buf
	if err := writeChunks(w, "route", len(b.routes), 15, "INSERT INTO routes (id, family, pstart, pend, plen, path_id, source_id, attrs_id, verdict_id, filtered, valid_from, from_cause, valid_to, to_cause, set_id) VALUES ",
		"", func(args []any, i int) []any {
			r := &b.routes[i]
			var to, toCause, set any
			if r.to != 0 {
				to, toCause = r.to, r.toCause
			}
			if r.set != 0 {
				set = r.set
			}
			return append(args, r.id, r.family, r.start, r.end, r.plen, r.pathID, r.src, r.attrs, r.verdict, r.filtered, r.from, r.fromCause, to, toCause, set)
		}); err != nil {
		return fmt.Errorf("inserting route versions: %w", err)
	}
	if err := writeChunks(w, "close", len(b.closes), 3, "UPDATE routes SET valid_to = MAX(routes.valid_from, v.column2), to_cause = v.column3 FROM (VALUES ",
		") AS v WHERE routes.id = v.column1", func(args []any, i int) []any {
			c := &b.closes[i]
			return append(args, c.id, c.to, c.cause)
		}); err != nil {
		return fmt.Errorf("closing route versions: %w", err)
	}
	if err := writeChunks(w, "exp", len(b.exps), 4, "INSERT OR REPLACE INTO exposures (route_id, valid_from, set_id, valid_to) VALUES ",
		"", func(args []any, i int) []any {
			e := &b.exps[i]
			var to any
			if e.to != 0 {
				to = e.to
			}
			return append(args, e.route, e.from, e.set, to)
		}); err != nil {
		return fmt.Errorf("inserting exposures: %w", err)
	}
	if err := writeChunks(w, "expclose", len(b.expCloses), 3, "UPDATE exposures SET valid_to = MAX(exposures.valid_from, v.column3) FROM (VALUES ",
		") AS v WHERE exposures.route_id = v.column1 AND exposures.valid_from = v.column2", func(args []any, i int) []any {
			c := &b.expCloses[i]
			return append(args, c.route, c.from, c.to)
		}); err != nil {
		return fmt.Errorf("closing exposures: %w", err)
	}
	b.routes = b.routes[:0]
	b.closes = b.closes[:0]
	b.exps = b.exps[:0]
	b.expCloses = b.expCloses[:0]
	clear(b.expIdx)
	return nil
}

// writeChunks runs head + n value tuples of cols columns + tail in chunks
// of the prepared sizes.
func writeChunks(w *writer, name string, n, cols int, head, tail string, row func([]any, int) []any) error {
	args := w.args[:0]
	for i := 0; i < n; {
		size := 1
		for _, s := range chunkSizes {
			if n-i >= s {
				size = s
				break
			}
		}
		st, err := w.chunkStmt(name, size, cols, head, tail)
		if err != nil {
			return err
		}
		args = args[:0]
		for k := 0; k < size; k++ {
			args = row(args, i+k)
		}
		if _, err := st.ExecContext(w.ctx, args...); err != nil {
			return err
		}
		i += size
	}
	w.args = args[:0]
	return nil
}

func (w *writer) chunkStmt(name string, size, cols int, head, tail string) (*sql.Stmt, error) {
	key := fmt.Sprintf("%s/%d", name, size)
	if st, ok := w.buf.stmts[key]; ok {
		return st, nil
	}
	var sb strings.Builder
	sb.WriteString(head)
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	for i := 0; i < size; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
	}
	sb.WriteString(tail)
	st, err := w.tx.PrepareContext(w.ctx, sb.String())
	if err != nil {
		return nil, err
	}
	w.buf.stmts[key] = st
	return st, nil
}
