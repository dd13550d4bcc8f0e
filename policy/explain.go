package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RPKIExplainer may be implemented by an RPKI to add, in words, the data
// behind a ROV or ASPA outcome (the covering VRPs, the deciding hop) to
// explain traces. Only Explain calls it.
type RPKIExplainer interface {
	ExplainROV(prefix netip.Prefix, origin uint32, originKnown bool) string
	ExplainASPA(path []uint32, hasSet bool, neighbor uint32) string
}

// Outcome is the result of one step of a trace.
type Outcome string

// Outcomes. Import checks yield pass, filter, tag, off, skipped or mark (a
// check that marks the route, e.g. graceful shutdown, without filtering);
// export steps yield pass (no rule applies), allow, deny, skipped (decided
// by an earlier step) or modify (a variant or rewrite step).
const (
	OutcomePass    Outcome = "pass"
	OutcomeFilter  Outcome = "filter"
	OutcomeTag     Outcome = "tag"
	OutcomeOff     Outcome = "off"
	OutcomeSkipped Outcome = "skipped"
	OutcomeMark    Outcome = "mark"
	OutcomeAllow   Outcome = "allow"
	OutcomeDeny    Outcome = "deny"
	OutcomeModify  Outcome = "modify"
)

// Step is one check or export step of a trace.
type Step struct {
	// Check is the conf check name for import steps, or the export step
	// name: import, self, as_path_loop, blackhole_receive, peer_action,
	// group_action, all_action, variant, rewrite.
	Check string `json:"check"`
	// Action is the check's configured action (filter, tag, off).
	Action  string  `json:"action,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Reason and Code (RS:1101:code as "1101:N") when the step yields a
	// reason.
	Reason string `json:"reason,omitempty"`
	Code   string `json:"code,omitempty"`
	// Detail says what was checked against what, in words.
	Detail string `json:"detail"`
}

// ReasonText is a Reason for people and JSON.
type ReasonText struct {
	Name string `json:"name"`
	Code string `json:"code"` // "1101:13"
	Text string `json:"text"`
}

func reasonTexts(s ReasonSet) []ReasonText {
	var out []ReasonText
	for _, r := range s.Reasons() {
		info := r.Info()
		out = append(out, ReasonText{info.Name, reasonCode(info.Code), info.Text})
	}
	return out
}

// reasonCode is a reason's code as text: "1101:13".
func reasonCode(code uint32) string { return "1101:" + strconv.FormatUint(uint64(code), 10) }

// VerdictText is a Verdict for people and JSON.
type VerdictText struct {
	Accepted bool         `json:"accepted"`
	Filtered []ReasonText `json:"filtered,omitempty"`
	Tagged   []ReasonText `json:"tagged,omitempty"`
	// Marks lists "blackhole" and "graceful_shutdown" when set.
	Marks    []string `json:"marks,omitempty"`
	ROV      string   `json:"rov"`
	ASPA     string   `json:"aspa"`
	Registry string   `json:"registry"`
}

// NewVerdictText describes v.
func NewVerdictText(v Verdict) VerdictText {
	t := VerdictText{
		Accepted: v.Accepted(),
		Filtered: reasonTexts(v.Filtered),
		Tagged:   reasonTexts(v.Tagged),
		ROV:      v.Mods.ROV().String(),
		ASPA:     v.Mods.ASPA().String(),
		Registry: v.Mods.Registry().String(),
	}
	if v.Mods&ModBlackhole != 0 {
		t.Marks = append(t.Marks, "blackhole")
	}
	if v.Mods&ModGracefulShutdown != 0 {
		t.Marks = append(t.Marks, "graceful_shutdown")
	}
	return t
}

// RouteText is a route (or the route as a target receives it) in words.
type RouteText struct {
	Prefix      string   `json:"prefix"`
	ASPath      string   `json:"as_path"`
	NextHop     string   `json:"next_hop"`
	NextHopLL   string   `json:"next_hop_ll,omitempty"`
	Communities []string `json:"communities,omitempty"`
	Large       []string `json:"large_communities,omitempty"`
	ExtCount    int      `json:"ext_communities,omitempty"`
	OTC         string   `json:"otc,omitempty"`
}

// RouteTextOf describes prefix p with attributes a.
func RouteTextOf(p netip.Prefix, a *Attrs) RouteText { return routeText(p, a) }

func routeText(p netip.Prefix, a *Attrs) RouteText {
	t := RouteText{Prefix: p.String(), ASPath: pathText(a), ExtCount: a.ExtCount}
	if a.NextHop.IsValid() {
		t.NextHop = a.NextHop.String()
	}
	if a.NextHopLL.IsValid() {
		t.NextHopLL = a.NextHopLL.String()
	}
	for _, c := range a.Communities {
		t.Communities = append(t.Communities, CommunityString(c))
	}
	for _, l := range a.Large {
		t.Large = append(t.Large, l.String())
	}
	if a.HasOTC {
		t.OTC = strconv.FormatUint(uint64(a.OTC), 10)
	}
	return t
}

// CommunityString formats a standard community as "high:low".
func CommunityString(c uint32) string {
	return strconv.FormatUint(uint64(c>>16), 10) + ":" + strconv.FormatUint(uint64(c&0xffff), 10)
}

// Trace is the explanation of one route: every import check in order with
// its outcome and the data it used, the verdict (the same as Import's), and
// optionally the export steps toward one target member.
type Trace struct {
	Member    string    `json:"member"`
	MemberASN uint32    `json:"member_asn"`
	Route     RouteText `json:"route"`
	Import    []Step    `json:"import"`
	// Verdict is Import's verdict; Result is the same in words.
	Verdict Verdict      `json:"-"`
	Result  VerdictText  `json:"verdict"`
	Export  *ExportTrace `json:"export,omitempty"`
}

// ExportTrace is the export decision toward one target member.
type ExportTrace struct {
	Target    string `json:"target"`
	TargetASN uint32 `json:"target_asn"`
	Steps     []Step `json:"steps"`
	// Allowed is Profile(...).Allows(target) for an accepted route, false
	// for a filtered one.
	Allowed     bool    `json:"allowed"`
	Variant     Variant `json:"-"`
	Prepends    int     `json:"prepends,omitempty"`
	NoExport    bool    `json:"no_export,omitempty"`
	NoAdvertise bool    `json:"no_advertise,omitempty"`
	// Rewrite is the rewrite the export policy applies (nil when not
	// allowed); Sent is the route as the policy would send it, or, once
	// the route server has filled Delivery "sent", as it went on the wire.
	Rewrite *Rewrite   `json:"-"`
	Sent    *RouteText `json:"sent,omitempty"`
	// Delivery is what the route server did, filled in by it (the policy
	// engine only decides): DeliverySent, DeliveryPending or
	// DeliveryNotSent, with DeliveryDetail saying why.
	Delivery       string `json:"delivery,omitempty"`
	DeliveryDetail string `json:"delivery_detail,omitempty"`
}

// Deliveries of a route to a target (ExportTrace.Delivery).
const (
	// DeliverySent: the route was sent to the target on an established
	// session and neither withdrawn nor replaced since: the target holds it.
	DeliverySent = "sent"
	// DeliveryPending: a change of the prefix is queued for the target;
	// its writer has not sent it yet.
	DeliveryPending = "pending"
	// DeliveryNotSent: the target does not hold the route.
	DeliveryNotSent = "not sent"
)

// Explain evaluates the route exactly as Import does and returns the
// trace of every check. With target ≥ 0 it also explains the export
// decision toward that member (-1: none).
func (e *Engine) Explain(member int, p netip.Prefix, a *Attrs, target int) Trace {
	m := &e.members[member]
	r := e.newRoute(member, p, a)
	v, steps := r.explainChecks()
	t := Trace{
		Member:    m.name,
		MemberASN: m.asn,
		Route:     routeText(p, a),
		Import:    steps,
		Verdict:   v,
		Result:    NewVerdictText(v),
	}
	if target >= 0 && target < len(e.members) {
		t.Export = e.explainExport(member, p, a, v, target)
	}
	return t
}

func (e *Engine) explainExport(mi int, p netip.Prefix, a *Attrs, v Verdict, ti int) *ExportTrace {
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
		sent.Communities = append(sent.Communities, CommunityString(c))
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
func (e *Engine) rewriteText(a *Attrs, rw Rewrite) string {
	var parts []string
	var stripped, added []string
	for _, c := range a.Communities {
		if !slices.Contains(rw.Communities, c) {
			stripped = appendUniq(stripped, CommunityString(c))
		}
	}
	for _, l := range a.Large {
		if !slices.Contains(rw.Large, l) {
			stripped = appendUniq(stripped, l.String())
		}
	}
	for _, c := range rw.Communities {
		if !slices.Contains(a.Communities, c) {
			added = append(added, CommunityString(c))
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
func (e *Engine) matching(a *Attrs, arg int, kind actKind) []string {
	var out []string
	for _, c := range a.Communities {
		if act, own := e.stdAction(c); own && act.kind == kind && (arg < 0 || int(act.arg) == arg) {
			out = append(out, CommunityString(c))
		}
	}
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own && act.kind == kind && (arg < 0 || int(act.arg) == arg) {
			out = append(out, l.String())
		}
	}
	return out
}

func (e *Engine) matchingGroup(a *Attrs, g int, kind actKind) []string {
	var out []string
	for _, l := range a.Large {
		if act, own := e.largeAction(l); own && act.kind == kind && int(act.arg) == g {
			out = append(out, l.String())
		}
	}
	return out
}

// matchingPrepend names the community that set n prepends toward t.
func (e *Engine) matchingPrepend(a *Attrs, t int, n int) []string {
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
			collect(act, CommunityString(c))
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

// String renders the trace for the command line.
func (t Trace) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "route %s from %s (AS%d)\n", t.Route.Prefix, t.Member, t.MemberASN)
	writeRoute(&b, t.Route)
	b.WriteString("import checks:\n")
	writeSteps(&b, t.Import)
	if t.Result.Accepted {
		b.WriteString("verdict: accepted")
	} else {
		b.WriteString("verdict: FILTERED:")
		for _, r := range t.Result.Filtered {
			fmt.Fprintf(&b, " %s (%s)", r.Name, r.Code)
		}
	}
	b.WriteByte('\n')
	if len(t.Result.Tagged) > 0 {
		b.WriteString("  tagged:")
		for _, r := range t.Result.Tagged {
			fmt.Fprintf(&b, " %s (%s)", r.Name, r.Code)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  rpki %s, aspa %s, registry %s", t.Result.ROV, t.Result.ASPA, t.Result.Registry)
	if len(t.Result.Marks) > 0 {
		fmt.Fprintf(&b, "; marks: %s", strings.Join(t.Result.Marks, ", "))
	}
	b.WriteByte('\n')
	if x := t.Export; x != nil {
		verdict := "not allowed by the export policy"
		if x.Allowed {
			verdict = "allowed by the export policy"
		}
		fmt.Fprintf(&b, "export to %s (AS%d): %s\n", x.Target, x.TargetASN, verdict)
		writeSteps(&b, x.Steps)
		if x.Delivery != "" {
			fmt.Fprintf(&b, "delivery: %s", x.Delivery)
			if x.DeliveryDetail != "" {
				fmt.Fprintf(&b, " (%s)", x.DeliveryDetail)
			}
			b.WriteByte('\n')
		}
		if x.Sent != nil {
			if x.Delivery == DeliverySent {
				b.WriteString("  as " + x.Target + " received it:\n")
			} else {
				b.WriteString("  as the export policy would send it to " + x.Target + ":\n")
			}
			writeRoute(&b, *x.Sent)
		}
	}
	return b.String()
}

func writeRoute(b *strings.Builder, r RouteText) {
	fmt.Fprintf(b, "    AS_PATH %s, NEXT_HOP %s", r.ASPath, orNone(r.NextHop))
	if r.NextHopLL != "" {
		fmt.Fprintf(b, " (link-local %s)", r.NextHopLL)
	}
	if r.OTC != "" {
		fmt.Fprintf(b, ", OTC %s", r.OTC)
	}
	b.WriteByte('\n')
	if len(r.Communities) > 0 {
		fmt.Fprintf(b, "    communities %s\n", strings.Join(r.Communities, " "))
	}
	if len(r.Large) > 0 {
		fmt.Fprintf(b, "    large communities %s\n", strings.Join(r.Large, " "))
	}
	if r.ExtCount > 0 {
		fmt.Fprintf(b, "    %d extended communities\n", r.ExtCount)
	}
}

func writeSteps(b *strings.Builder, steps []Step) {
	for i, s := range steps {
		o := string(s.Outcome)
		if s.Outcome == OutcomeFilter || s.Outcome == OutcomeDeny {
			o = strings.ToUpper(o)
		}
		fmt.Fprintf(b, "  %2d. %-18s %-7s %s", i+1, s.Check, o, s.Detail)
		if s.Reason != "" {
			fmt.Fprintf(b, "  [%s %s]", s.Reason, s.Code)
		}
		b.WriteByte('\n')
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func appendUniq(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// pathText formats an AS_PATH with its segments: a sequence as plain
// numbers, an AS_SET as {a b}, a confederation sequence as (a b) and a
// confederation set as [a b].
func pathText(a *Attrs) string {
	if len(a.ASPath) == 0 {
		return "(empty)"
	}
	num := func(xs []uint32) string {
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = strconv.FormatUint(uint64(x), 10)
		}
		return strings.Join(parts, " ")
	}
	if a.Segments == nil {
		return num(a.ASPath)
	}
	var parts []string
	for _, s := range a.Segments {
		if s.Start < 0 || s.End > len(a.ASPath) || s.Start > s.End {
			continue
		}
		x := num(a.ASPath[s.Start:s.End])
		switch s.Type {
		case SegSet:
			x = "{" + x + "}"
		case SegConfedSeq:
			x = "(" + x + ")"
		case SegConfedSet:
			x = "[" + x + "]"
		}
		parts = append(parts, x)
	}
	return strings.Join(parts, " ")
}
