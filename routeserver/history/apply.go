package history

import (
	"fmt"
	"slices"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// openRoute is an open route version and its open exposure interval.
type openRoute struct {
	src     int32
	attrs   int32
	verdict int32
	expSet  int32
	pathID  uint32
	row     int64
	expFrom int64 // valid_from of the open exposure row (0: none)
	inRow   bool  // the first export set is in the route row (routes.set_id)
}

// applyRec writes a resolved event to the route tables.
func (w *writer) applyRec(r *rec) error {
	switch r.op {
	case recRoute:
		if err := w.applyRoute(r); err != nil {
			return err
		}
		if r.hasExp {
			return w.applyExposure(r)
		}
		return nil
	case recExposure:
		return w.applyExposure(r)
	case recSourceEnd:
		return w.applySourceEnd(r)
	case recExportsOff:
		return w.closeAllExposures(r.at)
	}
	return fmt.Errorf("journal: unknown operation %d", r.op)
}

func (w *writer) applyRoute(r *rec) error {
	list := w.open[r.k]
	idx := -1
	for i := range list {
		if list[i].src == r.src && list[i].pathID == r.pathID {
			idx = i
			break
		}
	}
	if r.attrs != 0 && idx >= 0 && list[idx].attrs == r.attrs && list[idx].verdict == r.verdict {
		return nil // the same version again (a repeated UPDATE)
	}
	if idx >= 0 {
		// Its open exposure, if any, ends with it: an exposure left open
		// lasts until its route version's end (see the schema), which
		// saves a write per route change.
		w.closeRoute(list[idx].row, r.at, r.cause)
		list = slices.Delete(list, idx, idx+1)
	}
	if r.attrs != 0 {
		row := w.nextRoute
		w.nextRoute++
		pfx := r.k.prefix()
		start, end := prefixRange(pfx)
		filtered := 0
		if r.filtered {
			filtered = 1
		}
		w.addRoute(routeRow{id: row, family: familyNumber(bgp.Family(r.k.fam)), start: start, end: end, plen: pfx.Bits(), pathID: r.pathID,
			src: r.src, attrs: r.attrs, verdict: r.verdict, filtered: filtered, from: r.at, fromCause: r.cause})
		list = append(list, openRoute{src: r.src, attrs: r.attrs, verdict: r.verdict, pathID: r.pathID, row: row})
	}
	if len(list) == 0 {
		delete(w.open, r.k)
	} else {
		w.open[r.k] = list
	}
	return w.maybeFlush()
}

func (w *writer) applyExposure(r *rec) error {
	list := w.open[r.k]
	for i := range list {
		o := &list[i]
		var set int32
		for _, e := range r.exps {
			if e.pathID == o.pathID && e.src == o.src {
				set = e.set
				break
			}
		}
		w.setExposure(o, set, r.at)
	}
	return w.maybeFlush()
}

// applySourceEnd closes every open route version of a source in a family
// (its session went down).
func (w *writer) applySourceEnd(r *rec) error {
	for k, list := range w.open {
		if k.fam != r.k.fam {
			continue
		}
		kept := list[:0]
		for _, o := range list {
			if o.src == r.src {
				w.closeRoute(o.row, r.at, r.cause)
			} else {
				kept = append(kept, o)
			}
		}
		switch {
		case len(kept) == 0:
			delete(w.open, k)
		case len(kept) < len(list):
			clear(list[len(kept):])
			w.open[k] = kept
		}
		if err := w.maybeFlush(); err != nil {
			return err
		}
	}
	return nil
}

// setExposure records that route version o is exported to set from at.
// The first set, when it starts with the version and its row is not
// written yet, goes into the row: one insert fewer for most versions.
func (w *writer) setExposure(o *openRoute, set int32, at int64) {
	if set == o.expSet {
		return
	}
	if !o.inRow && o.expFrom == 0 && o.expSet == 0 && w.rowExp(o.row, at, set) {
		o.inRow, o.expSet = true, set
		return
	}
	if o.expFrom != 0 {
		w.closeExp(o.row, o.expFrom, at)
		o.expFrom = 0
	}
	// After a set in the row, even "nobody" needs a row to end it.
	if set != 0 || o.inRow {
		w.addExp(o.row, at, set)
		o.expFrom = at
	}
	o.expSet = set
}

// closeAllExposures ends every open exposure (exports turned off).
func (w *writer) closeAllExposures(at int64) error {
	for _, list := range w.open {
		for i := range list {
			w.setExposure(&list[i], 0, at)
		}
	}
	return w.flush()
}
