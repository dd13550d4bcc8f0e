package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// pollInterval is how often waits re-read the daemons.
const pollInterval = 300 * time.Millisecond

func waitBudget(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return DefaultWaitTimeout
}

// WaitEstablished waits until every configured session is Established as
// seen from every node whose daemon can report sessions (all members, and
// the route server unless it is fedrs), polling until ctx's deadline (or
// DefaultWaitTimeout without one). A daemon that exits ends the wait at
// once with the end of its log.
func (l *Lab) WaitEstablished(ctx context.Context) error {
	var last string
	return Poll(ctx, "waiting for sessions", waitBudget(ctx), pollInterval, func(ctx context.Context) (bool, string, error) {
		if err := l.checkAlive(); err != nil {
			return false, "", err
		}
		var missing []string
		for _, n := range l.nodes {
			sess, err := l.Sessions(ctx, n.Name)
			if errors.Is(err, ErrNotSupported) {
				continue
			}
			if err != nil {
				missing = append(missing, err.Error())
				continue
			}
			for _, p := range n.Peers {
				if p.Member != nil && p.Member.ExpectDown {
					continue // meant to stay down: checked by the caller
				}
				state := "absent"
				for _, s := range sess {
					if s.Peer == p.Remote {
						state = s.State
						if s.Established {
							state = ""
						}
						break
					}
				}
				if state != "" {
					missing = append(missing, fmt.Sprintf("%s→%s %s (%s)", n.Name, p.Node, p.Remote, state))
				}
			}
		}
		if len(missing) == 0 {
			return true, "", nil
		}
		status := "not established: " + strings.Join(missing, "; ")
		if status != last {
			l.log.Debug("waiting for sessions", "status", status)
			last = status
		}
		return false, status, nil
	})
}

// ExpectedPrefixes is what each member should receive through a
// transparent route server without policy: every other member's
// announcements, except those whose AS_PATH contains the receiver's ASN
// (its own loop check drops them), and nothing to or from a member whose
// sessions are meant to stay down (ExpectDown).
func (l *Lab) ExpectedPrefixes() map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	for _, recv := range l.Topology.Members {
		var want []netip.Prefix
		for _, from := range l.Topology.Members {
			if from.Name == recv.Name || from.ExpectDown || recv.ExpectDown {
				continue
			}
			for _, p := range from.Announce {
				if !recv.HasFamily(p.Family()) || slices.Contains(p.WireASPath(from.ASN), recv.ASN) {
					continue
				}
				if !slices.Contains(want, p.Prefix) {
					want = append(want, p.Prefix)
				}
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i].String() < want[j].String() })
		out[recv.Name] = want
	}
	return out
}

// WaitRoutes waits until each named member has received at least the
// given prefixes (polling until ctx's deadline, or DefaultWaitTimeout).
// On timeout the error lists what each member still lacks.
func (l *Lab) WaitRoutes(ctx context.Context, want map[string][]netip.Prefix) error {
	names := make([]string, 0, len(want))
	for name := range want {
		if l.node(name) == nil {
			return fmt.Errorf("wait for routes: lab %s has no node %q", l.Name(), name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return Poll(ctx, "waiting for routes", waitBudget(ctx), pollInterval, func(ctx context.Context) (bool, string, error) {
		if err := l.checkAlive(); err != nil {
			return false, "", err
		}
		var missing []string
		for _, name := range names {
			routes, err := l.Routes(ctx, name)
			if err != nil {
				missing = append(missing, err.Error())
				continue
			}
			have := map[netip.Prefix]bool{}
			for _, r := range routes {
				have[r.Prefix] = true
			}
			var lack []string
			for _, p := range want[name] {
				if !have[p] {
					lack = append(lack, p.String())
				}
			}
			if len(lack) > 0 {
				missing = append(missing, fmt.Sprintf("%s lacks %s", name, strings.Join(lack, " ")))
			}
		}
		if len(missing) == 0 {
			return true, "", nil
		}
		return false, strings.Join(missing, "; "), nil
	})
}

// WaitConverged waits until every member holds ExpectedPrefixes.
func (l *Lab) WaitConverged(ctx context.Context) error {
	return l.WaitRoutes(ctx, l.ExpectedPrefixes())
}
