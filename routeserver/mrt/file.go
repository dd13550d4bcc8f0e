package mrt

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fedrs/fedrs/routeserver"
)

// FileName is the name of the dump taken at t, as RouteViews and RIPE RIS
// name theirs: rib.YYYYMMDD.HHMM.mrt, UTC.
func FileName(t time.Time) string { return "rib." + t.UTC().Format("20060102.1504") + ".mrt" }

// WriteFile writes a dump to path: into a temporary file in the same
// directory, renamed into place when complete, so readers never see half
// a dump.
func WriteFile(path string, srv *routeserver.Server, at time.Time) (Stats, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return Stats{}, fmt.Errorf("MRT dump: %w", err)
	}
	tmp := f.Name()
	st, err := Dump(f, srv, at)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return st, fmt.Errorf("MRT dump to %s: %w", path, err)
	}
	return st, nil
}

// Periodic writes a dump into a directory at every multiple of an
// interval (UTC; with 2h: 00:00, 02:00, ...) and keeps the newest few.
type Periodic struct {
	srv      *routeserver.Server
	dir      string
	interval time.Duration
	keep     int
	log      *slog.Logger

	mu sync.Mutex
	st PeriodicStatus
}

// PeriodicStatus is the state of periodic dumps for the control API.
type PeriodicStatus struct {
	Dir      string    `json:"dir"`
	Interval string    `json:"interval"`
	Keep     int       `json:"keep"`
	Next     time.Time `json:"next"`
	Dumps    uint64    `json:"dumps"`
	Failures uint64    `json:"failures"`
	// Last is the last successful dump.
	Last         *Stats  `json:"last,omitempty"`
	LastFile     string  `json:"last_file,omitempty"`
	LastDuration float64 `json:"last_duration_seconds,omitempty"`
	LastError    string  `json:"last_error,omitempty"`
}

// NewPeriodic returns periodic dumps of srv into dir (created if
// missing); keep 0 keeps every dump.
func NewPeriodic(srv *routeserver.Server, dir string, interval time.Duration, keep int, log *slog.Logger) *Periodic {
	if log == nil {
		log = slog.Default()
	}
	return &Periodic{srv: srv, dir: dir, interval: interval, keep: keep, log: log.With("component", "mrt"),
		st: PeriodicStatus{Dir: dir, Interval: interval.String(), Keep: keep}}
}

// Status returns the state of the periodic dumps.
func (p *Periodic) Status() PeriodicStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Run dumps until ctx ends.
func (p *Periodic) Run(ctx context.Context) {
	for {
		next := time.Now().Truncate(p.interval).Add(p.interval)
		p.mu.Lock()
		p.st.Next = next
		p.mu.Unlock()
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		p.DumpNow(next)
	}
}

// DumpNow writes one dump stamped at (its file name says when) and
// prunes old ones.
func (p *Periodic) DumpNow(at time.Time) (string, error) {
	start := time.Now()
	path := filepath.Join(p.dir, FileName(at))
	err := os.MkdirAll(p.dir, 0o755)
	var st Stats
	if err == nil {
		st, err = WriteFile(path, p.srv, at)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.st.Failures++
		p.st.LastError = err.Error()
		p.log.Error("MRT dump failed", "err", err)
		return "", err
	}
	p.st.Dumps++
	p.st.Last, p.st.LastFile, p.st.LastDuration, p.st.LastError = &st, path, time.Since(start).Seconds(), ""
	p.log.Info("MRT dump written", "file", path, "prefixes", st.Prefixes, "routes", st.Routes, "bytes", st.Bytes, "duration", time.Since(start).Round(time.Millisecond))
	if p.keep > 0 {
		p.prune()
	}
	return path, nil
}

// prune removes the oldest dumps beyond keep.
func (p *Periodic) prune() {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		p.log.Warn("MRT dump directory", "err", err)
		return
	}
	var dumps []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, "rib.") && strings.HasSuffix(n, ".mrt") {
			dumps = append(dumps, n)
		}
	}
	slices.Sort(dumps) // the names sort by time
	for len(dumps) > p.keep {
		if err := os.Remove(filepath.Join(p.dir, dumps[0])); err != nil {
			p.log.Warn("removing an old MRT dump", "err", err)
		}
		dumps = dumps[1:]
	}
}
