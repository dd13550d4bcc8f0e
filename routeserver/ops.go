package routeserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
)

// ErrNotFound is returned for unknown members and routes.
var ErrNotFound = errors.New("not found")

// Started returns when Run started.
func (s *Server) Started() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.started
}

// MemberIndex returns the index of the named member in the running
// configuration.
func (s *Server) MemberIndex(name string) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, m := range s.cfg.Members {
		if m.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("member %q: %w (members are named in the configuration, e.g. %q)", name, ErrNotFound, s.exampleMember())
}

func (s *Server) exampleMember() string {
	if len(s.cfg.Members) > 0 {
		return s.cfg.Members[0].Name
	}
	return "nhs-coastal"
}

// MemberName returns the name of member i.
func (s *Server) MemberName(i int) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i >= 0 && i < len(s.cfg.Members) {
		return s.cfg.Members[i].Name
	}
	return ""
}

// neighborsOf returns the member's neighbours.
func (s *Server) neighborsOf(member int) []*neighbor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*neighbor
	for _, n := range s.nbrs {
		if n.member == member {
			out = append(out, n)
		}
	}
	return out
}

// ShutdownMember closes the member's sessions with Cease "Administrative
// Shutdown" and the RFC 9003 message, and keeps them down until
// EnableMember.
func (s *Server) ShutdownMember(name, msg string) error {
	i, err := s.MemberIndex(name)
	if err != nil {
		return err
	}
	for _, n := range s.neighborsOf(i) {
		n.peer.Shutdown(msg)
	}
	return nil
}

// EnableMember lifts an administrative shutdown or a maximum-prefix idle
// hold of the member's sessions.
func (s *Server) EnableMember(name string) error {
	i, err := s.MemberIndex(name)
	if err != nil {
		return err
	}
	for _, n := range s.neighborsOf(i) {
		n.peer.Enable()
	}
	return nil
}

// ClearMember does a soft clear: "in" asks the member's routers to resend
// their routes (ROUTE-REFRESH), "out" resends the route server's routes to
// them. Neither resets a session.
func (s *Server) ClearMember(name, direction string) error {
	i, err := s.MemberIndex(name)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range s.neighborsOf(i) {
		if n.peer.State() != session.Established {
			continue
		}
		for f := session.Family(0); f < session.NumFamilies; f++ {
			if !n.cfg.Families[f] {
				continue
			}
			switch direction {
			case "in":
				if err := n.peer.SendRouteRefresh(f); err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %w", n.name, f, err))
				}
			case "out":
				s.rib.Refresh(n.src, f)
			default:
				return fmt.Errorf("direction %q: want in or out", direction)
			}
		}
	}
	return errors.Join(errs...)
}

// ReloadFile reloads the configuration from the file it was loaded from.
func (s *Server) ReloadFile() (ReloadResult, error) {
	file := s.Config().File
	if file == "" {
		return ReloadResult{}, errors.New("the running configuration was not loaded from a file")
	}
	cfg, err := conf.Load(file)
	if err != nil {
		return ReloadResult{}, fmt.Errorf("configuration refused, the running one stays: %w", err)
	}
	return s.Reload(cfg)
}

// Maintenance starts route-server maintenance (RFC 8326): every route sent
// is tagged GRACEFUL_SHUTDOWN so members move traffic away; after wait,
// every session is closed with Cease "Administrative Shutdown" and msg.
// It returns once the tags are queued; the close happens in the
// background (or not at all if ctx ends first).
func (s *Server) Maintenance(ctx context.Context, msg string, wait time.Duration) {
	s.maintenance.Store(true)
	s.rib.Regenerate()
	s.log.Warn("maintenance: every route now carries GRACEFUL_SHUTDOWN; sessions close after the wait", "wait", wait, "message", msg)
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Shutdown(msg)
	}()
}

// InMaintenance reports whether maintenance is on.
func (s *Server) InMaintenance() bool { return s.maintenance.Load() }

// Explain returns the policy trace of a member's route for prefix
// (optionally the one with pathID), toward target ("" for none).
func (s *Server) Explain(member string, p netip.Prefix, pathID *uint32, target string) (policy.Trace, error) {
	mi, err := s.MemberIndex(member)
	if err != nil {
		return policy.Trace{}, err
	}
	ti := -1
	if target != "" {
		if ti, err = s.MemberIndex(target); err != nil {
			return policy.Trace{}, err
		}
	}
	r, err := s.memberRoute(mi, p, pathID)
	if err != nil {
		return policy.Trace{}, err
	}
	tr := s.Engine().Explain(mi, p, &r.Attrs.Attrs, ti)
	if r.Verdict.Filtered.Has(policy.ReasonMaxPrefix) {
		tr.Import = append(tr.Import, policy.Step{Check: conf.CheckMaxPrefix, Action: "filter", Outcome: policy.OutcomeFilter,
			Reason: policy.ReasonMaxPrefix.String(), Code: fmt.Sprintf("1101:%d", policy.ReasonMaxPrefix.Info().Code), Detail: "the member had reached its maximum number of prefixes when this route arrived"})
		tr.Result = policy.NewVerdictText(r.Verdict)
	}
	if tr.Export != nil {
		s.explainDelivery(r, ti, tr.Export)
	}
	return tr, nil
}

// memberRoute finds a member's route for exactly p.
func (s *Server) memberRoute(mi int, p netip.Prefix, pathID *uint32) (rib.Route, error) {
	for _, r := range s.rib.Lookup(p, rib.Exact) {
		if r.Source.Member == mi && (pathID == nil || *pathID == r.PathID) {
			return r, nil
		}
	}
	return rib.Route{}, fmt.Errorf("%s has no route for %s: %w", s.MemberName(mi), p, ErrNotFound)
}
