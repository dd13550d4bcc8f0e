package history

import "github.com/fedrs/fedrs/routeserver/rib"

// Journal record operations.
const (
	recRoute      = 1 // a route version starts or ends (with the prefix's exposure when hasExp)
	recExposure   = 2 // a prefix's exposure changes
	recSourceEnd  = 3 // every route of a source in a family ends (session down)
	recExportsOff = 4 // exposures stop being recorded ([history] exports = false)
)

// rec is one route-table event resolved to database ids: what the
// journal stores, and what applyRec writes.
type rec struct {
	op     uint8
	at     int64
	k      prefixKey
	pathID uint32
	src    int32
	// attrs is the attribute set's id; 0: the route went away; -n in a
	// journal row: the row's n-th attribute set, interned when the row is
	// applied (interning a table load's many sets is what would cost).
	attrs    int32
	verdict  int32
	filtered bool
	hasExp   bool
	cause    int32
	exps     []expRef
}

// expRef is one exposure entry resolved: the route (source, path id) and
// its member set.
type expRef struct {
	pathID   uint32
	src, set int32
}

// resolve turns a queued route, exposure or source-end event into r,
// interning what it refers to; ok is false for events that are not for
// the route tables (or exposures while they are not recorded).
func (w *writer) resolve(ev *item, r *rec) (ok bool, err error) {
	*r = rec{at: ev.at, exps: r.exps[:0]}
	switch ev.kind {
	case evRoute:
		r.op, r.k, r.pathID = recRoute, ev.key(), ev.pathID
		if r.src, err = w.source(ev.src); err != nil {
			return false, err
		}
		if ev.attrs != nil {
			if w.journaling {
				r.attrs = w.jbuf.attr(ev.attrs, w.attrPtr)
			} else if r.attrs, err = w.attrSet(ev.attrs); err != nil {
				return false, err
			}
			if r.verdict, err = w.verdict(ev.verdict); err != nil {
				return false, err
			}
			r.filtered = !ev.verdict.Accepted()
		}
		if r.cause, err = w.cause(ev.cause); err != nil {
			return false, err
		}
		if ev.hasExp && w.exports {
			r.hasExp = true
			err = w.resolveExps(ev, r)
		}
		return true, err
	case evExposure:
		if !w.exports {
			return false, nil
		}
		r.op, r.k, r.hasExp = recExposure, ev.key(), true
		return true, w.resolveExps(ev, r)
	case evSourceEnd:
		r.op, r.k = recSourceEnd, prefixKey{fam: uint8(ev.fam)}
		if r.src, err = w.source(ev.src); err != nil {
			return false, err
		}
		r.cause, err = w.cause(ev.cause)
		return true, err
	}
	return false, nil
}

func (w *writer) resolveExps(ev *item, r *rec) error {
	var one [1]rib.Exposure
	for _, e := range ev.exposures(w.taken, &one) {
		src, err := w.source(e.Source)
		if err != nil {
			return err
		}
		set, err := w.memberSet(e.Members)
		if err != nil {
			return err
		}
		r.exps = append(r.exps, expRef{pathID: e.PathID, src: src, set: set})
	}
	return nil
}
