package api

import (
	"net/http"
	"time"
)

// SetHTTPLimits shortens the HTTP listener's header timeout and
// concurrency cap, and sets hold, which runs while a request holds a slot.
// Before Serve.
func (a *API) SetHTTPLimits(readHeader time.Duration, maxConcurrent int, hold func(*http.Request)) {
	a.limits.ReadHeader, a.limits.MaxConcurrent, a.hold = readHeader, maxConcurrent, hold
}
