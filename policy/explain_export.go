package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// explainExport explains the export decision of the route toward target
// member ti: the same decision as Profile, step by step, and the rewrite.
func (e *Engine) explainExport(mi int, p netip.Prefix, a *bgp.Attrs, v Verdict, ti int) *ExportTrace {
	tm := &e.members[ti]
	x := &ExportTrace{Target: tm.name, TargetASN: tm.asn}
	add := func(check string, o Outcome, detail string) {
		x.Steps = append(x.Steps, Step{Check: check, Outcome: o, Detail: detail})
	}
	if !v.Accepted() {
		var names []string
		for _, r := range v.Filtered.Reasons() {
			names = append(names, r.String())
		}
		add("import", OutcomeDeny, "the route is filtered on import ("+strings.Join(names, ", ")+") and is sent to nobody")
		return x
	}
	add("import", OutcomePass, "the route is accepted on import")
	s := e.actions(a, v.Mods)
	ok, variant, r := e.decide(mi, ti, &s)
	mname := e.members[mi].name

	// Invariants.
	type inv struct {
		name  string
		r     rule
		deny  string
		pass  string
		apply bool
	}
	invs := []inv{
		{"self", ruleSelf, fmt.Sprintf("%s announced the route: a route is never sent back to its announcer", tm.name), fmt.Sprintf("%s is not the announcing member (%s)", tm.name, mname), true},
		{"as_path_loop", ruleLoop, fmt.Sprintf("%s's AS%d is in the AS_PATH %s: it would reject the route as a loop", tm.name, tm.asn, pathText(a)), fmt.Sprintf("AS%d is not in the AS_PATH", tm.asn), true},
		{"blackhole_receive", ruleBlackhole, fmt.Sprintf("a blackhole route, and %s has not opted in (blackhole_receive = false)", tm.name), fmt.Sprintf("a blackhole route, and %s has opted in (blackhole_receive = true)", tm.name), s.blackhole},
	}
	decided := false
	for _, c := range invs {
		if !c.apply {
			continue
		}
		switch {
		case decided:
			add(c.name, OutcomeSkipped, "decided by an earlier step")
		case r == c.r:
			add(c.name, OutcomeDeny, c.deny)
			decided = true
		default:
			add(c.name, OutcomePass, c.pass)
		}
	}

	// Action community levels.
	peerDeny := e.matching(a, ti, akDenyPeer)
	peerAllow := e.matching(a, ti, akAllowPeer)
	var groupDeny, groupAllow []string
	for _, g := range tm.groups {
		groupDeny = append(groupDeny, e.matchingGroup(a, int(g), akDenyGroup)...)
		groupAllow = append(groupAllow, e.matchingGroup(a, int(g), akAllowGroup)...)
	}
	denyAll := e.matching(a, -1, akDenyAll)
	levels := []struct {
		name        string
		deny, allow rule
		denyText    string
		allowText   string
		none        string
	}{
		{"peer_action", rulePeerDeny, rulePeerAllow,
			fmt.Sprintf("%s: do not announce to %s (at the peer level \"do not announce\" beats \"announce\")", strings.Join(peerDeny, " "), tm.name),
			fmt.Sprintf("%s: announce to %s", strings.Join(peerAllow, " "), tm.name),
			fmt.Sprintf("no action community names %s (AS%d)", tm.name, tm.asn)},
		{"group_action", ruleGroupDeny, ruleGroupAllow,
			fmt.Sprintf("%s: do not announce to a group %s is in (%s)", strings.Join(groupDeny, " "), tm.name, e.groupNames(tm)),
			fmt.Sprintf("%s: announce to a group %s is in (%s)", strings.Join(groupAllow, " "), tm.name, e.groupNames(tm)),
			fmt.Sprintf("no action community names a group of %s (%s)", tm.name, e.groupNames(tm))},
		{"all_action", ruleDenyAll, ruleDefault,
			fmt.Sprintf("%s: do not announce to anyone (not overridden for %s by a peer or group community)", strings.Join(denyAll, " "), tm.name),
			"",
			"no \"do not announce to anyone\" community: announce"},
	}
	for _, l := range levels {
		switch {
		case decided:
			add(l.name, OutcomeSkipped, "decided by an earlier step")
		case r == l.deny:
			add(l.name, OutcomeDeny, l.denyText)
			decided = true
		case r == l.allow && r != ruleDefault:
			t := l.allowText
			var over []string
			if r == rulePeerAllow {
				over = append(over, groupDeny...)
			}
			over = append(over, denyAll...)
			if len(over) > 0 {
				t += fmt.Sprintf(" (more specific than %s)", strings.Join(over, " "))
			}
			add(l.name, OutcomeAllow, t)
			decided = true
		case l.name == "all_action":
			add(l.name, OutcomeAllow, l.none)
			decided = true
		default:
			add(l.name, OutcomePass, l.none)
		}
	}

	x.Allowed = ok
	if !ok {
		return x
	}
	x.Variant = variant
	x.Prepends = variant.Prepends()
	x.NoExport = variant&VariantNoExport != 0
	x.NoAdvertise = variant&VariantNoAdvertise != 0
	var parts []string
	if n := variant.Prepends(); n > 0 {
		src := e.matchingPrepend(a, ti, n)
		parts = append(parts, fmt.Sprintf("prepend AS%d %d× (%s)", e.members[mi].asn, n, strings.Join(src, " ")))
	}
	if x.NoExport {
		parts = append(parts, fmt.Sprintf("add NO_EXPORT (%s)", strings.Join(e.matching(a, ti, akNoExportPeer), " ")))
	}
	if x.NoAdvertise {
		parts = append(parts, fmt.Sprintf("add NO_ADVERTISE (%s)", strings.Join(e.matching(a, ti, akNoAdvertisePeer), " ")))
	}
	if len(parts) == 0 {
		add("variant", OutcomePass, "no prepend, NO_EXPORT or NO_ADVERTISE action for "+tm.name)
	} else {
		add("variant", OutcomeModify, strings.Join(parts, "; "))
	}

	rw := e.Rewrite(mi, a, v.Mods, variant)
	x.Rewrite = &rw
	sent := routeText(p, a)
	sent.Communities, sent.Large = nil, nil
	for _, c := range rw.Communities {
		sent.Communities = append(sent.Communities, bgp.CommunityString(c))
	}
	for _, l := range rw.Large {
		sent.Large = append(sent.Large, l.String())
	}
	if rw.PrependN > 0 {
		pre := make([]string, rw.PrependN)
		for i := range pre {
			pre[i] = strconv.FormatUint(uint64(rw.PrependAS), 10)
		}
		sent.ASPath = strings.Join(pre, " ") + " " + sent.ASPath
	}
	if rw.SetOTC {
		sent.OTC = strconv.FormatUint(uint64(rw.OTC), 10)
	}
	if rw.NextHop.IsValid() {
		sent.NextHop, sent.NextHopLL = rw.NextHop.String(), ""
	}
	x.Sent = &sent
	add("rewrite", OutcomeModify, e.rewriteText(a, rw))
	return x
}

// rewriteText describes what Rewrite changed.
func (e *Engine) rewriteText(a *bgp.Attrs, rw bgp.Rewrite) string {
	var parts []string
	var stripped, added []string
	for _, c := range a.Communities {
		if !slices.Contains(rw.Communities, c) {
			stripped = appendUniq(stripped, bgp.CommunityString(c))
		}
	}
	for _, l := range a.Large {
		if !slices.Contains(rw.Large, l) {
			stripped = appendUniq(stripped, l.String())
		}
	}
	for _, c := range rw.Communities {
		if !slices.Contains(a.Communities, c) {
			added = append(added, bgp.CommunityString(c))
		}
	}
	for _, l := range rw.Large {
		if !slices.Contains(a.Large, l) {
			added = append(added, l.String())
		}
	}
	if len(stripped) > 0 {
		parts = append(parts, "strip the route server's communities "+strings.Join(stripped, " "))
	}
	if len(added) > 0 {
		parts = append(parts, "add "+strings.Join(added, " "))
	}
	if rw.PrependN > 0 {
		parts = append(parts, fmt.Sprintf("prepend AS%d %d×", rw.PrependAS, rw.PrependN))
	}
	if rw.SetOTC {
		parts = append(parts, fmt.Sprintf("add OTC %d (RFC 9234: egress to an RS-Client)", rw.OTC))
	} else if a.HasOTC {
		parts = append(parts, fmt.Sprintf("keep OTC %d", a.OTC))
	}
	if rw.NextHop.IsValid() {
		parts = append(parts, fmt.Sprintf("set NEXT_HOP %s (blackhole next hop)", rw.NextHop))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// matching lists the communities of a that parse to kind with argument
// arg (a member index, or -1 to ignore the argument).
func (e *Engine) matching(a *bgp.Attrs, arg int, kind actKind) []string {
	var out []string
	for _, c := range a.Communities {
		if act, own := e.stdAction(c); own && act.kind == kind && (arg < 0 || int(act.arg) == arg) {
			out = append(out, bgp.CommunityString(c))
		}
	}
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own && act.kind == kind && (arg < 0 || int(act.arg) == arg) {
			out = append(out, l.String())
		}
	}
	return out
}

func (e *Engine) matchingGroup(a *bgp.Attrs, g int, kind actKind) []string {
	var out []string
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own && act.kind == kind && int(act.arg) == g {
			out = append(out, l.String())
		}
	}
	return out
}

// matchingPrepend names the community that set n prepends toward t.
func (e *Engine) matchingPrepend(a *bgp.Attrs, t int, n int) []string {
	var peer, all []string
	collect := func(act action, text string) {
		if int(act.n) != n {
			return
		}
		switch {
		case act.kind == akPrependPeer && int(act.arg) == t:
			peer = append(peer, text)
		case act.kind == akPrependAll:
			all = append(all, text)
		}
	}
	for _, c := range a.Communities {
		if act, own := e.stdAction(c); own {
			collect(act, bgp.CommunityString(c))
		}
	}
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own {
			collect(act, l.String())
		}
	}
	if len(peer) > 0 {
		return peer
	}
	return all
}

func (e *Engine) groupNames(m *member) string {
	if len(m.groups) == 0 {
		return "no groups"
	}
	var out []string
	for _, g := range m.groups {
		out = append(out, fmt.Sprintf("%s id %d", e.groups[g].name, e.groups[g].id))
	}
	return strings.Join(out, ", ")
}
