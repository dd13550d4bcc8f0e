package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/routeserver/bgp"
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
func RouteTextOf(p netip.Prefix, a *bgp.Attrs) RouteText { return routeText(p, a) }

func routeText(p netip.Prefix, a *bgp.Attrs) RouteText {
	t := RouteText{Prefix: p.String(), ASPath: pathText(a), ExtCount: a.ExtCount}
	if a.NextHop.IsValid() {
		t.NextHop = a.NextHop.String()
	}
	if a.NextHopLL.IsValid() {
		t.NextHopLL = a.NextHopLL.String()
	}
	for _, c := range a.Communities {
		t.Communities = append(t.Communities, bgp.CommunityString(c))
	}
	for _, l := range a.Large {
		t.Large = append(t.Large, l.String())
	}
	if a.HasOTC {
		t.OTC = strconv.FormatUint(uint64(a.OTC), 10)
	}
	return t
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
	Rewrite *bgp.Rewrite `json:"-"`
	Sent    *RouteText   `json:"sent,omitempty"`
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
func (e *Engine) Explain(member int, p netip.Prefix, a *bgp.Attrs, target int) Trace {
	m := &e.members[member]
	var r route
	r.init(e, member, p, a)
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

// pathText is the AS_PATH in its one text form (bgp.Attrs.PathString), or
// "(empty)".
func pathText(a *bgp.Attrs) string {
	if len(a.ASPath) == 0 {
		return "(empty)"
	}
	return a.PathString()
}
