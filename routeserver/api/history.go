package api

import (
	"errors"
	"fmt"
	"sync"

	"github.com/fedrs/fedrs/routeserver/history"
)

// ErrNoHistory is returned by the history endpoints and pages when the
// route server records no history ([server] history unset).
var ErrNoHistory = errors.New("no history is recorded")

// historyReaders keeps one read-only reader on the history database that
// the route server writes, opened on first use and again when a reload
// points [server] history elsewhere (which takes effect on restart, but
// the reader follows the configuration the server runs).
type historyReaders struct {
	mu   sync.Mutex
	path string
	r    *history.Reader
}

// historyReader is the reader on the running route server's history
// database. Its error wraps ErrNoHistory when none is configured, and
// names the file otherwise.
func (a *API) historyReader() (*history.Reader, error) {
	cfg := a.srv.Config()
	if cfg.Server.History == "" {
		return nil, fmt.Errorf("%w: [server] history is not set in %s", ErrNoHistory, cfg.File)
	}
	path := cfg.Path(cfg.Server.History)
	h := &a.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r != nil && h.path == path {
		return h.r, nil
	}
	r, err := history.OpenReader(path)
	if err != nil {
		return nil, err
	}
	if h.r != nil {
		h.r.Close()
	}
	h.r, h.path = r, path
	return r, nil
}

// closeHistory closes the history reader, if one is open.
func (a *API) closeHistory() {
	h := &a.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r != nil {
		h.r.Close()
		h.r = nil
	}
}
