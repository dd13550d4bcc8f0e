package history

import "time"

// gap accumulates what was dropped while the queue was full.
type gap struct {
	first, last               int64
	routes, exposures, others uint64
}

func (g *gap) total() uint64 { return g.routes + g.exposures + g.others }

func (g *gap) add(ev event) {
	if g.first == 0 || ev.at < g.first {
		g.first = ev.at
	}
	g.last = max(g.last, ev.at)
	switch ev.kind {
	case evRoute:
		g.routes++
		if ev.hasExp {
			g.exposures++
		}
	case evExposure:
		g.exposures++
	default:
		g.others++
	}
}

func (g *gap) merge(o gap) {
	if o.total() == 0 {
		return
	}
	if g.first == 0 || (o.first != 0 && o.first < g.first) {
		g.first = o.first
	}
	g.last = max(g.last, o.last)
	g.routes += o.routes
	g.exposures += o.exposures
	g.others += o.others
}

func (w *writer) insertGap(g gap, reason string) error {
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO gaps (first_at, last_at, recorded_at, route_events, exposure_events, other_events, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
		g.first, g.last, now(), g.routes, g.exposures, g.others, reason)
	if err == nil {
		w.r.log.Warn("history: events were dropped; gap recorded", "db", w.r.path, "from", time.UnixMicro(g.first), "to", time.UnixMicro(g.last),
			"route_events", g.routes, "exposure_events", g.exposures, "other_events", g.others, "reason", reason)
	}
	return err
}
