package routeserver

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
)

// ErrNotFound is returned for unknown members and routes.
var ErrNotFound = errors.New("not found")

// ErrUnknownMember is returned for a member name that is not in the
// running configuration; it is an ErrNotFound.
var ErrUnknownMember error = unknownMember{}

type unknownMember struct{}

func (unknownMember) Error() string        { return ErrNotFound.Error() }
func (unknownMember) Is(target error) bool { return target == ErrNotFound }

// ErrWrongState is returned for an operation the route server's current
// state does not allow (a soft clear of a member with no established
// session, maintenance started twice).
var ErrWrongState = errors.New("not possible now")

// Started returns when Run started.
func (s *Server) Started() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.started
}

// LastReload is when a configuration reload last succeeded; zero when
// none has since the start.
func (s *Server) LastReload() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.reloaded
}

func (s *Server) noteReload() {
	s.mu.Lock()
	s.reloaded = time.Now()
	s.mu.Unlock()
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
	return -1, fmt.Errorf("member %q: %w (members are named in the configuration, e.g. %q)", name, ErrUnknownMember, s.exampleMember())
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
		// Before and after: maintenance closing the sessions meanwhile
		// must not count this one as its own (stop would bring it back).
		s.forgetMaintenance(n.src.Addr)
		n.peer.Shutdown(msg)
		s.forgetMaintenance(n.src.Addr)
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
		// An operator's enable takes the session out of maintenance's
		// closed set: maintenance status no longer lists it as closed.
		s.forgetMaintenance(n.src.Addr)
		n.peer.Enable()
	}
	return nil
}

// ClearSession is what a soft clear did on one of a member's sessions.
type ClearSession struct {
	Neighbor string // the neighbour's address
	State    string // its FSM state
	// Families are those the clear was done for: ROUTE-REFRESH sent
	// (in) or the Adj-RIB-Out resent (out).
	Families []string
	// Notes say what was not done and why.
	Notes []string
}

// Done reports whether anything was done on the session.
func (c ClearSession) Done() bool { return len(c.Families) > 0 }

// ClearMember does a soft clear of the member's established sessions,
// for the families each negotiated: "in" asks the member's router to
// resend its routes (ROUTE-REFRESH, where it announced route refresh),
// "out" resends the route server's routes to it. Neither resets a
// session. It reports per session what was done; when nothing could be
// done on any session the error (ErrWrongState) says why.
func (s *Server) ClearMember(name, direction string) ([]ClearSession, error) {
	if direction != "in" && direction != "out" {
		return nil, fmt.Errorf("direction %q: want in or out", direction)
	}
	i, err := s.MemberIndex(name)
	if err != nil {
		return nil, err
	}
	var out []ClearSession
	var notes []string
	for _, n := range s.neighborsOf(i) {
		cs := s.clearNeighbor(n, direction)
		out = append(out, cs)
		if !cs.Done() {
			notes = append(notes, cs.Neighbor+": "+strings.Join(cs.Notes, "; "))
		}
	}
	slices.SortFunc(out, func(a, b ClearSession) int { return strings.Compare(a.Neighbor, b.Neighbor) })
	if !slices.ContainsFunc(out, ClearSession.Done) {
		return out, fmt.Errorf("%s: nothing cleared: %s: %w", name, strings.Join(notes, "; "), ErrWrongState)
	}
	return out, nil
}

func (s *Server) clearNeighbor(n *neighbor, direction string) ClearSession {
	info := n.peer.Info()
	cs := ClearSession{Neighbor: n.src.Addr.String(), State: info.State.String()}
	neg := info.Negotiated
	if info.State != session.Established || neg == nil {
		cs.Notes = append(cs.Notes, "session not established")
		return cs
	}
	if direction == "in" && !neg.RouteRefresh {
		cs.Notes = append(cs.Notes, "the member's router did not announce route refresh, so it cannot be asked to resend (only a session reset would)")
		return cs
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if !neg.Families[f] {
			if n.cfg.Families[f] {
				cs.Notes = append(cs.Notes, f.String()+" not negotiated")
			}
			continue
		}
		if direction == "out" {
			s.rib.Refresh(n.src, f)
			cs.Families = append(cs.Families, f.String())
			continue
		}
		if err := n.peer.SendRouteRefresh(f); err != nil {
			cs.Notes = append(cs.Notes, fmt.Sprintf("%s: ROUTE-REFRESH not sent: %v", f, err))
			continue
		}
		cs.Families = append(cs.Families, f.String())
	}
	return cs
}

// ReloadFile reloads the configuration from the file it was loaded from.
func (s *Server) ReloadFile() (res ReloadResult, err error) {
	if o := s.opts.Reloads; o != nil {
		o.Reloading()
		defer func() { o.Reloaded(res, err) }()
	}
	return s.reloadFile()
}

func (s *Server) reloadFile() (ReloadResult, error) {
	file := s.Config().File
	if file == "" {
		return ReloadResult{}, errors.New("the running configuration was not loaded from a file")
	}
	cfg, err := conf.Load(file)
	if err != nil {
		s.reloads.count(err)
		return ReloadResult{}, fmt.Errorf("configuration refused, the running one stays: %w", err)
	}
	return s.Reload(cfg)
}

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
