package main

import (
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/history"
)

// recordControl records the control API's state-changing requests (and
// those refused on the read-only socket) in the history, with their
// caller.
func recordControl(rec *history.Recorder) func(api.ControlRequest) {
	return func(cr api.ControlRequest) {
		hc := history.ControlRequest{Command: cr.Command(), Status: cr.Status, Result: cr.Result, ReadOnly: cr.ReadOnly}
		if c := cr.Caller; c.Known {
			hc.UID, hc.GID, hc.PID = &c.UID, &c.GID, &c.PID
		}
		rec.ControlRequested(hc)
	}
}

// sighupRecord is a reload by SIGHUP as the history records it: no
// caller (a signal does not say who sent it), 200 or 422 with the reason
// as the control API would answer.
func sighupRecord(err error) history.ControlRequest {
	if err != nil {
		return history.ControlRequest{Command: "SIGHUP reload", Status: 422, Result: err.Error()}
	}
	return history.ControlRequest{Command: "SIGHUP reload", Status: 200, Result: "ok"}
}
