package api

import (
	"net/http"

	"github.com/fedrs/fedrs/rpki"
)

// RPKI is the answer of GET /v1/rpki: the RPKI data the running route
// server validates with (what `fedrs rpki status` shows).
type RPKI struct {
	// InUse: the running configuration asks for RPKI data
	// (rpki.Configured). When false the route server does not validate
	// (ROV and ASPA states not-checked) and the figures are of the empty
	// set it holds.
	InUse bool `json:"in_use"`
	// The published data (serial, last change, totals), every source with
	// its kind, address or path, state, serial, counts, last update and
	// age, and Time, the route server's clock the ages are relative to.
	rpki.Status
}

func (a *API) rpki(w http.ResponseWriter, r *http.Request) {
	m := a.opts.RPKI
	if m == nil {
		writeJSON(w, http.StatusOK, RPKI{Status: rpki.Status{Sources: []rpki.SourceStatus{}}})
		return
	}
	writeJSON(w, http.StatusOK, RPKI{InUse: rpki.Configured(a.srv.Config()), Status: m.Status()})
}
