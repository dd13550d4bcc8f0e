package routeserver

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/routeserver/wire"
	"github.com/fedrs/fedrs/rpki"
)

// ReloadResult says what a reload did.
type ReloadResult struct {
	Changes conf.Changes
	// Deferred lists server settings that changed but take effect only at
	// the next restart (they keep their running values).
	Deferred []string
	// Reevaluated is the number of routes whose verdict changed.
	Reevaluated int
	// SessionsReset and SessionsAdded/Removed count neighbour sessions.
	SessionsReset, SessionsAdded, SessionsRemoved int
	// RPKIInUse: the new configuration validates with RPKI data; the
	// RPKI* figures are of the snapshot in force after the reload.
	RPKIInUse           bool
	RPKISerial          uint32
	RPKIVRPs, RPKIASPAs int
	// RPKIProblems name the configured RPKI files and SLURM files that
	// could not be read or parsed, and what that means for the data in
	// force (the reload goes on: a source's previous data, if any, stays).
	RPKIProblems []string
}

func (r ReloadResult) String() string {
	if r.Changes.Empty() {
		if len(r.Deferred) > 0 {
			// Only settings bound to the process changed.
			return "no changes applied; not applied until restart: " + strings.Join(r.Deferred, ", ")
		}
		return "no changes"
	}
	var b strings.Builder
	b.WriteString(r.Changes.String())
	fmt.Fprintf(&b, "\nsessions: %d added, %d removed, %d reset; %d routes changed verdict",
		r.SessionsAdded, r.SessionsRemoved, r.SessionsReset, r.Reevaluated)
	if r.RPKIInUse && (r.Changes.RPKI || r.Changes.Registry) {
		fmt.Fprintf(&b, "\nRPKI data in force: serial %d, %d VRPs, %d ASPAs", r.RPKISerial, r.RPKIVRPs, r.RPKIASPAs)
	} else if !r.RPKIInUse && r.Changes.RPKI {
		b.WriteString("\nRPKI: no data configured; routes are not validated (not-checked)")
	}
	for _, p := range r.RPKIProblems {
		b.WriteString("\nRPKI source not loaded: " + p)
	}
	if len(r.Deferred) > 0 {
		fmt.Fprintf(&b, "\nnot applied until restart: %s", strings.Join(r.Deferred, ", "))
	}
	return b.String()
}

// Reload applies a new configuration as a diff against the running one:
// unchanged members keep their sessions; members whose session settings
// changed are reset (Cease "Other Configuration Change"); removed members
// are closed (Cease "Peer De-configured") and their routes withdrawn; new
// members start; a policy change re-runs import policy on every route
// held (the Adj-RIBs-In) and exports the differences. A configuration
// that does not validate is refused and the running one stays.
func (s *Server) Reload(newCfg *conf.Config) (ReloadResult, error) {
	res, err := s.reload(newCfg)
	s.reloads.count(err)
	return res, err
}

func (s *Server) reload(newCfg *conf.Config) (ReloadResult, error) {
	var res ReloadResult
	if err := conf.Validate(newCfg); err != nil {
		return res, fmt.Errorf("configuration refused, the running one stays: %w", err)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.mu.RLock()
	old := s.cfg
	ctx := s.runCtx
	s.mu.RUnlock()

	cfg, deferred := keepProcessSettings(old, newCfg)
	res.Deferred = deferred
	ch := conf.Diff(old, cfg)
	res.Changes = ch
	if ch.Empty() {
		s.noteReload()
		if s.opts.History != nil && len(res.Deferred) > 0 {
			s.opts.History.ConfigLoaded(cfg, res.String())
		}
		return res, nil
	}
	eng, err := policy.New(cfg, rpkiFor(s.opts.RPKI, cfg))
	if err != nil {
		return res, fmt.Errorf("configuration refused, the running one stays: policy: %w", err)
	}

	// Which neighbours go, stay, change, or come.
	newIndex := map[string]int{}
	for i, m := range cfg.Members {
		newIndex[m.Name] = i
	}
	reset := map[string]bool{}
	for _, mc := range ch.MembersChanged {
		if mc.Reset {
			reset[mc.Name] = true
		}
	}
	wanted := map[netip.Addr]int{} // neighbour -> new member index
	for i, m := range cfg.Members {
		for _, a := range m.Neighbors {
			wanted[a] = i
		}
	}
	s.mu.Lock()
	var stop, restart []*neighbor
	for addr, n := range s.nbrs {
		name := n.memberName
		ni, ok := wanted[addr]
		switch {
		case !ok || cfg.Members[ni].Name != name:
			stop = append(stop, n)
			delete(s.nbrs, addr)
		case reset[name]:
			restart = append(restart, n)
		}
	}
	s.mu.Unlock()

	// Close removed neighbours first: their routes leave the RIB (under
	// the old policy), before indices change.
	for _, n := range stop {
		n.peer.CloseWith(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeasePeerDeconfigured}, "neighbour removed from the configuration")
		n.cancel()
		<-n.done
		s.rib.Retire(n.src)
		res.SessionsRemoved++
	}
	for _, n := range restart {
		n.peer.CloseWith(&bgp.Notification{Code: bgp.ErrCease, Subcode: bgp.CeaseConfigChange}, "session settings changed in the configuration")
		n.cancel()
		<-n.done
	}

	// Swap configuration and engine and renumber members in the RIB with
	// no UPDATE in flight, so no route is applied under the old policy
	// after the re-evaluation below.
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	s.mu.Lock()
	s.cfg = cfg
	s.engine = eng
	s.gen++
	for _, n := range s.nbrs {
		n.member = newIndex[n.memberName]
	}
	s.mu.Unlock()
	s.rib.Renumber(func(oldMember int) int {
		if oldMember < len(old.Members) {
			if i, ok := newIndex[old.Members[oldMember].Name]; ok {
				return i
			}
		}
		return -1
	}, len(cfg.Members))
	s.rib.SetLimits(limits(cfg))

	// The new [rpki] sources and registry (the members' prefixes): in
	// force before import policy is re-run below, published while no
	// UPDATE and no RPKI re-validation pass runs (both hold policyMu).
	if m := s.opts.RPKI; m != nil {
		snap := m.Configure(cfg)
		res.RPKISerial, res.RPKIVRPs, res.RPKIASPAs = snap.Serial, snap.VRPs.Len(), snap.ASPAs.Len()
		res.RPKIInUse = rpki.Configured(cfg)
		res.RPKIProblems = rpkiFileProblems(m)
	}

	// Restart reset neighbours with their new session settings.
	for _, n := range restart {
		s.mu.Lock()
		n.cfg = s.sessionConfig(n.member, n.src.Addr)
		n.peer = session.NewPeer(n.cfg, n, s.log.With("member", cfg.Members[n.member].Name))
		s.mu.Unlock()
		if s.ln != nil && n.cfg.MD5Key != "" {
			if err := s.ln.SetMD5(n.cfg.PeerAddr, n.cfg.MD5Key); err != nil {
				s.log.Error("TCP-MD5 on reload", "neighbor", n.name, "err", err)
			}
		}
		if ctx != nil {
			s.startNeighbor(ctx, n)
		}
		res.SessionsReset++
	}
	// New neighbours.
	for addr, mi := range wanted {
		s.mu.RLock()
		_, have := s.nbrs[addr]
		s.mu.RUnlock()
		if have {
			continue
		}
		n := s.addNeighbor(mi, addr) // not under s.mu: it locks the RIB
		if s.ln != nil && n.cfg.MD5Key != "" {
			if err := s.ln.SetMD5(n.cfg.PeerAddr, n.cfg.MD5Key); err != nil {
				s.log.Error("TCP-MD5 on reload", "neighbor", n.name, "err", err)
			}
		}
		if ctx != nil {
			s.startNeighbor(ctx, n)
		}
		res.SessionsAdded++
	}

	// Re-run import policy everywhere and re-encode exports.
	s.attrs.Each(func(a *wire.AttrSet) { a.DropCache() })
	res.Reevaluated = s.rib.Reevaluate(nil, s.evaluator(), true, "policy")

	// Administrative shutdown set or cleared in the configuration.
	for i, m := range cfg.Members {
		om := old.Member(m.Name)
		if om == nil || om.Shutdown == m.Shutdown {
			continue
		}
		for _, a := range m.Neighbors {
			s.mu.RLock()
			n := s.nbrs[a]
			s.mu.RUnlock()
			if n == nil || n.member != i {
				continue
			}
			if m.Shutdown {
				go n.peer.Shutdown("member administratively down in the configuration")
			} else {
				s.forgetMaintenance(n.src.Addr)
				go n.peer.Enable()
			}
		}
	}
	s.noteReload()
	s.log.Info("configuration reloaded", "file", cfg.File, "hash", cfg.Hash, "changes", strings.ReplaceAll(res.String(), "\n", "; "))
	if s.opts.History != nil {
		s.opts.History.ConfigLoaded(cfg, res.String())
		s.applyDurable(cfg)
	}
	return res, nil
}

// keepProcessSettings returns newCfg with the settings bound to the
// process (they change only at a restart) set to their running values in
// old, and those that differ, for the report.
func keepProcessSettings(old, newCfg *conf.Config) (*conf.Config, []string) {
	var deferred []string
	for _, fc := range conf.Diff(old, newCfg).Restart {
		deferred = append(deferred, fc.String())
	}
	nc := *newCfg
	nc.Server.ASN, nc.Server.RouterID, nc.Server.Listen = old.Server.ASN, old.Server.RouterID, old.Server.Listen
	nc.Server.Control, nc.Server.ControlTCP = old.Server.Control, old.Server.ControlTCP
	nc.Server.ControlToken, nc.Server.ControlTokenFile, nc.Server.ControlTokenSecret = old.Server.ControlToken, old.Server.ControlTokenFile, old.Server.ControlTokenSecret
	nc.Server.ControlTLSCert, nc.Server.ControlTLSKey = old.Server.ControlTLSCert, old.Server.ControlTLSKey
	nc.Server.History, nc.History.Queue = old.Server.History, old.History.Queue
	nc.Server.User, nc.Server.Group = old.Server.User, old.Server.Group
	nc.BMP, nc.MRT, nc.HTTP = old.BMP, old.MRT, old.HTTP
	nc.RPKI.Server = old.RPKI.Server
	return &nc, deferred
}

// rpkiFileProblems describes the RPKI and SLURM files of m that the last
// read could not load, with what that leaves in force.
func rpkiFileProblems(m *rpki.Manager) []string {
	var out []string
	for _, src := range m.Status().Sources {
		if (src.Kind != "file" && src.Kind != "slurm") || src.LastError == "" {
			continue
		}
		what := "it contributes nothing"
		if src.VRPs > 0 || src.ASPAs > 0 {
			what = "its previous data stays in force"
		}
		out = append(out, fmt.Sprintf("%s %s (%s: %s): %s", src.Kind, src.Name, src.State, src.LastError, what))
	}
	return out
}
