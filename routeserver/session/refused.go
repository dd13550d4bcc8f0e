package session

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a connection is refused before it reaches a session, the label
// of fedrs_connections_refused_total.
const (
	RefusedUnconfigured = "unconfigured" // the remote address is no configured neighbour
	RefusedTTL          = "ttl"          // its SYN's TTL is below the member's GTSM bound
	RefusedLimit        = "limit"        // the neighbour already has the connections collision detection needs
)

// refusedWhat describes each reason in the summary line.
var refusedWhat = map[string]string{
	RefusedUnconfigured: "from addresses that are not configured neighbours",
	RefusedTTL:          "with a TTL below the member's GTSM minimum",
	RefusedLimit:        "beyond the limit per neighbour",
}

// Rate limits of the refusal log.
const (
	refusedPerAddr  = time.Minute      // one line per address and reason in this time
	refusedSummary  = 10 * time.Second // the rest are counted and summarised this often
	refusedMaxAddrs = 4096             // addresses remembered; beyond, the oldest are forgotten
)

// refusals counts refused connections and logs them without letting a
// flood flood the log: the first from each address (per reason) in a
// minute is logged, the others are counted and summarised in one line
// every ten seconds.
type refusals struct {
	log    *slog.Logger
	counts map[string]*atomic.Uint64

	mu      sync.Mutex
	seen    map[refusedKey]time.Time
	quiet   map[string]uint64 // not logged since the last summary, by reason
	since   time.Time         // start of the summary period
	timer   *time.Timer
	stopped bool
}

type refusedKey struct {
	addr   netip.Addr
	reason string
}

func newRefusals(log *slog.Logger) *refusals {
	r := &refusals{log: log, counts: map[string]*atomic.Uint64{}, seen: map[refusedKey]time.Time{}, quiet: map[string]uint64{}}
	for reason := range refusedWhat {
		r.counts[reason] = new(atomic.Uint64)
	}
	return r
}

// refused counts a refused connection and logs msg with args unless a
// line for the same address and reason was logged in the last minute.
func (r *refusals) refused(addr netip.Addr, reason, msg string, args ...any) {
	r.counts[reason].Add(1)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := refusedKey{addr, reason}
	if t, ok := r.seen[k]; ok && now.Sub(t) < refusedPerAddr {
		if len(r.quiet) == 0 {
			r.since = now
		}
		r.quiet[reason]++
		if r.timer == nil && !r.stopped {
			r.timer = time.AfterFunc(refusedSummary, r.flush)
		}
		return
	}
	if len(r.seen) >= refusedMaxAddrs {
		r.prune(now)
	}
	r.seen[k] = now
	r.log.Warn(msg, append(args, "remote", addr.String(), "note", "further refusals from this address are summarised for a minute")...)
}

// prune forgets the addresses last logged more than a minute ago, or,
// if that is not enough, all of them.
func (r *refusals) prune(now time.Time) {
	for k, t := range r.seen {
		if now.Sub(t) >= refusedPerAddr {
			delete(r.seen, k)
		}
	}
	if len(r.seen) >= refusedMaxAddrs {
		clear(r.seen)
	}
}

// flush logs the summary of the connections refused without a line.
func (r *refusals) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	reasons := make([]string, 0, len(r.quiet))
	for reason := range r.quiet {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	secs := time.Since(r.since).Seconds()
	for _, reason := range reasons {
		r.log.Warn(fmt.Sprintf("%d connections %s refused in the last %.0f s", r.quiet[reason], refusedWhat[reason], max(secs, 1)),
			"reason", reason, "refused", r.quiet[reason])
	}
	clear(r.quiet)
	r.prune(time.Now())
}

// stop logs what is pending and stops the summary timer.
func (r *refusals) stop() {
	r.mu.Lock()
	r.stopped = true
	t := r.timer
	r.mu.Unlock()
	if t != nil && t.Stop() {
		r.flush()
	}
}

// Refused returns the connections refused since the listener started,
// by reason (RefusedUnconfigured, RefusedTTL).
func (l *Listener) Refused() map[string]uint64 {
	out := map[string]uint64{}
	for reason, c := range l.refused.counts {
		if reason != RefusedLimit {
			out[reason] = c.Load()
		}
	}
	return out
}
