package routeserver

import (
	"fmt"
	"net/netip"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/rpki"
)

// VerdictChange is a held route whose fate a new configuration would
// change.
type VerdictChange struct {
	// Route is the route as held now, with its current verdict; Member
	// names its member.
	Route  rib.Route
	Member string
	// After is the verdict under the new configuration (zero when
	// Withdrawn).
	After policy.Verdict
	// Withdrawn: the new configuration drops the route's neighbour (or
	// its whole member), so the route would leave the RIB.
	Withdrawn bool
}

// DryRunResult is what a reload to a configuration would do to the routes
// held now, computed without changing anything.
type DryRunResult struct {
	// Running is the configuration compared with; Changes the difference
	// a reload would apply; Deferred the settings that would wait for a
	// restart.
	Running  *conf.Config
	Changes  conf.Changes
	Deferred []string
	// Checked counts the routes whose import policy was re-run.
	Checked int
	// Filter lists accepted routes the new configuration would filter;
	// Accept filtered routes it would accept; Reasons routes that stay
	// filtered for other reasons; Withdraw routes of neighbours it
	// removes. Each list holds at most the limit given to DryRun; the
	// Num fields count them all.
	Filter, Accept, Reasons, Withdraw             []VerdictChange
	NumFilter, NumAccept, NumReasons, NumWithdraw int
	// RPKINotes say what of the new RPKI data could not be predicted.
	RPKINotes []string
}

// DryRun re-runs the import policy of newCfg over the Adj-RIBs-In, as a
// reload would, and reports the routes whose verdict would change. It
// changes nothing: no session, route, export or configuration is
// touched. Lists are cut at limit entries each (0: no limit).
//
// It validates with the RPKI data the reload would put in force: the new
// configuration's registry and [rpki] sources over the data held now
// (files not read yet are read; an RTR cache not connected yet cannot be
// predicted, which RPKINotes says). Maximum-prefix filtering is kept as it
// stands (the RIB, not the policy, counts prefixes). Sessions the reload would reset are
// listed in Changes; their routes are judged as if re-sent unchanged.
func (s *Server) DryRun(newCfg *conf.Config, limit int) (DryRunResult, error) {
	var res DryRunResult
	if err := conf.Validate(newCfg); err != nil {
		return res, fmt.Errorf("configuration refused: %w", err)
	}
	running, nbrs := s.ConfigAndNeighbors()
	res.Running = running
	cfg, deferred := keepProcessSettings(running, newCfg)
	res.Deferred = deferred
	res.Changes = conf.Diff(running, cfg)
	// The RPKI data the reload would put in force: the new registry and
	// [rpki] sources over the data held now (rpki.Manager.Preview); the
	// running data is not touched.
	var rp policy.RPKI
	if m := s.opts.RPKI; m != nil && rpki.Configured(cfg) {
		snap, notes := m.Preview(cfg)
		rp = rpkiAdapter{fixedSnapshot{snap}}
		res.RPKINotes = notes
	}
	eng, err := policy.New(cfg, rp)
	if err != nil {
		return res, fmt.Errorf("configuration refused: policy: %w", err)
	}
	wanted := map[netip.Addr]int{} // neighbour -> member index in cfg
	for i, m := range cfg.Members {
		for _, a := range m.Neighbors {
			wanted[a] = i
		}
	}
	add := func(list *[]VerdictChange, n *int, c VerdictChange) {
		*n++
		if limit == 0 || len(*list) < limit {
			*list = append(*list, c)
		}
	}
	for _, n := range nbrs {
		if n.Member < 0 || n.Member >= len(running.Members) {
			continue
		}
		name := running.Members[n.Member].Name
		mi, ok := wanted[n.Source.Addr]
		gone := !ok || cfg.Members[mi].Name != name
		routes, _ := s.rib.Routes(rib.Filter{Source: n.Source, Member: -1}, 0, 0)
		for _, r := range routes {
			res.Checked++
			c := VerdictChange{Route: r, Member: name}
			if gone {
				c.Withdrawn = true
				add(&res.Withdraw, &res.NumWithdraw, c)
				continue
			}
			v := eng.Import(mi, r.Prefix, &r.Attrs.Attrs)
			if r.Verdict.Filtered.Has(policy.ReasonMaxPrefix) {
				v.Filtered = v.Filtered.Add(policy.ReasonMaxPrefix)
			}
			c.After = v
			switch was, is := r.Verdict.Accepted(), v.Accepted(); {
			case was && !is:
				add(&res.Filter, &res.NumFilter, c)
			case !was && is:
				add(&res.Accept, &res.NumAccept, c)
			case !was && !is && v.Filtered != r.Verdict.Filtered:
				add(&res.Reasons, &res.NumReasons, c)
			}
		}
	}
	return res, nil
}
