package policy

import (
	"net/netip"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

//go:generate go test . -run TestImportGenerated -update

// importCheck is one row of the import policy: a named check, the reasons
// it can yield, what it checks in a few words, and its two functions.
type importCheck struct {
	// name is the check's name in [policy.checks] (conf.Check*).
	name string
	// reasons are the reasons it can yield, each with its Euro-IX code
	// (RS:1101:code) or a fedrs code in 1101:100-199 (reasons.go); none
	// for a check that only marks the route.
	reasons []Reason
	// text says what the check checks; conf/README.md's table of
	// [policy.checks] is checked against it.
	text string
	// check decides: it returns the reason the route fails with
	// (ReasonNone when it passes) and sets r.mods when the check records
	// a state or marks the route. It runs once per route on the hot path:
	// no allocation, no text.
	check func(r *route) Reason
	// explain says, for an explain trace, what check compared, given what
	// it returned (r.mods as check left it). It returns the step's detail;
	// r.skipped and r.marked set the outcome of a check that could not
	// check the route or that marked it.
	explain func(r *route, res Reason) string
}

// importChecks is the import policy: every check, in evaluation order.
// Import runs it (runChecks in import_gen.go is generated from it), Explain walks it,
// and the tests hold the documentation (policy/README.md,
// conf/README.md) and conf.CheckNames to it. Adding a check is adding a
// row, its functions and its test: see doc.go.
var importChecks = [...]importCheck{
	{conf.CheckPrefixLength, []Reason{ReasonPrefixTooLong, ReasonPrefixTooShort}, "prefix length within the min_length_* and max_length_* bounds", checkPrefixLength, explainPrefixLength},
	{conf.CheckBogonPrefix, []Reason{ReasonBogonPrefix}, "prefix not in the bogon prefix list", checkBogonPrefix, explainBogonPrefix},
	{conf.CheckBogonASN, []Reason{ReasonBogonASN}, "no bogon AS in the AS_PATH", checkBogonASN, explainBogonASN},
	{conf.CheckASPathLength, []Reason{ReasonASPathTooLong, ReasonASPathTooShort}, "AS_PATH length within min_as_path and max_as_path", checkASPathLength, explainASPathLength},
	{conf.CheckASSet, []Reason{ReasonASSet}, "no AS_SET in the AS_PATH", checkASSet, explainASSet},
	{conf.CheckFirstAS, []Reason{ReasonFirstAS}, "the first AS is the member's", checkFirstAS, explainFirstAS},
	{conf.CheckNextHop, []Reason{ReasonNextHop}, "NEXT_HOP is one of the member's neighbours or next_hops", checkNextHop, explainNextHop},
	{conf.CheckPrefixAllowed, []Reason{ReasonPrefixNotAllowed}, "the prefix is in the member's prefixes or prefix list", checkPrefixAllowed, explainPrefixAllowed},
	{conf.CheckOriginAllowed, []Reason{ReasonOriginNotAllowed}, "the origin AS is in the member's origin_asns", checkOriginAllowed, explainOriginAllowed},
	{conf.CheckRegistry, []Reason{ReasonRegistryConflict}, "the prefix is not registered to another member (hijack)", checkRegistry, explainRegistry},
	{conf.CheckOTCLeak, []Reason{ReasonOTCLeak}, "no OTC attribute on a route from an RS-Client (RFC 9234)", checkOTCLeak, explainOTCLeak},
	{conf.CheckMemberLeak, []Reason{ReasonMemberLeak}, "no other member's AS behind the first hop, unless transit_for allows it", checkMemberLeak, explainMemberLeak},
	{conf.CheckTransitFree, []Reason{ReasonTransitFree}, "no AS of transit_free_asns in the path", checkTransitFree, explainTransitFree},
	{conf.CheckRPKI, []Reason{ReasonRPKIInvalid}, "RPKI origin validation is not Invalid", checkROV, explainROV},
	{conf.CheckASPA, []Reason{ReasonASPAInvalid}, "ASPA upstream verification, with the member's AS as the neighbour, is not Invalid (recorded only by default: ASPA is still a draft)", checkASPA, explainASPA},
	{conf.CheckCommunities, []Reason{ReasonTooManyCommunities}, "at most max_communities communities", checkCommunities, explainCommunities},
	{conf.CheckMaxPrefix, []Reason{ReasonMaxPrefix}, "the member's max_prefixes (the action is set there)", checkMaxPrefix, explainMaxPrefix},
	{conf.CheckBlackhole, []Reason{ReasonBlackholeNotAllowed}, "BLACKHOLE routes: only for the member's own prefixes, propagated only to members with blackhole_receive", checkBlackhole, explainBlackhole},
	{conf.CheckGracefulShutOff, nil, "GRACEFUL_SHUTDOWN routes get the lowest preference; off ignores the community", checkGracefulShutdown, explainGracefulShutdown},
}

// numChecks is the number of rows of importChecks (the assignment below
// does not compile when they differ).
const numChecks = 19

var _ [numChecks]importCheck = importChecks

// checkIndex returns the row of the named check, or -1.
func checkIndex(name string) int {
	for i := range importChecks {
		if importChecks[i].name == name {
			return i
		}
	}
	return -1
}

// route is one route under evaluation: what the checks read, derived once
// per route, and what they record.
type route struct {
	e  *Engine
	mi int     // the announcing member's index
	m  *member // &e.members[mi]
	a  *bgp.Attrs
	p  netip.Prefix // masked
	k  pkey
	// fam is 0 for IPv4, 1 for IPv6; bits is p's length, famMax the
	// family's (32 or 128).
	fam, bits, famMax int
	// allow is the member's allowed prefixes of the family, allowNode the
	// deepest of them covering p (-1: none).
	allow     *ptable[allowPay]
	allowNode int32
	// origin is the origin AS when originOK (a.OriginAS).
	origin   uint32
	originOK bool
	// bhReq: the route carries BLACKHOLE and the blackhole check is on.
	// blackhole: it is an accepted BLACKHOLE route (bhReq, inside the
	// member's allowed prefixes), which relaxes the length bound and the
	// allowed-prefix lengths; the blackhole check reports it in its place.
	bhReq, blackhole bool
	hasGS            bool // the route carries GRACEFUL_SHUTDOWN
	// mods is what the checks record: validation states and marks.
	mods Mods
	// What a check records for its explain function. rovRelaxed: the ROV
	// state is Valid only because the route is an accepted blackhole
	// route. regNode: the registry entry deciding the registry state (-1:
	// none); regVia: its owner the member is transit for (-1: none).
	rovRelaxed      bool
	regNode, regVia int32
	// outcome is set by an explain function through skipped or marked.
	outcome Outcome
}

// init derives the state of member mi's route p with attributes a into
// r, the zero route.
func (r *route) init(e *Engine, mi int, p netip.Prefix, a *bgp.Attrs) {
	m := &e.members[mi]
	p = p.Masked()
	r.e, r.mi, r.m, r.a, r.p = e, mi, m, a, p
	r.k, r.fam, r.bits, r.famMax = keyOf(p), family(p), p.Bits(), p.Addr().BitLen()
	// One pass over the standard communities for the ones import acts on.
	hasBH := false
	for _, c := range a.Communities {
		switch c {
		case bgp.CommBlackhole:
			hasBH = true
		case bgp.CommGracefulShutdown:
			r.hasGS = true
		}
	}
	r.allow = &m.allowed.fam[r.fam]
	r.allowNode = r.allow.deepest(r.k)
	r.bhReq = hasBH && m.blackholeOn
	r.blackhole = r.bhReq && r.allowNode >= 0
	r.origin, r.originOK = a.OriginAS()
}

// skipped returns detail as the step of a check that could not check the
// route.
func (r *route) skipped(detail string) string {
	r.outcome = OutcomeSkipped
	return detail
}

// marked returns detail as the step of a check that marked the route
// (r.mods) without a reason.
func (r *route) marked(detail string) string {
	r.outcome = OutcomeMark
	return detail
}

// Import evaluates the import policy of a route that member announced:
// every check except max-prefix (the RIB counts accepted routes and adds
// ReasonMaxPrefix itself). It does not allocate and is safe for
// concurrent use. member must be a valid member index.
func (e *Engine) Import(member int, p netip.Prefix, a *bgp.Attrs) Verdict {
	var r route
	r.init(e, member, p, a)
	return r.runChecks()
}

// hit records reason r under the check's action.
func (v *Verdict) hit(act uint8, r Reason) {
	switch act {
	case actFilter:
		v.Filtered = v.Filtered.Add(r)
	case actTag:
		v.Tagged = v.Tagged.Add(r)
	}
}

// explainChecks runs importChecks in order as Import does, each check
// followed by its explain function, and returns the verdict (Import's:
// the same check functions in the same order, which TestImportGenerated
// keeps) and the steps.
func (r *route) explainChecks() (Verdict, []Step) {
	var v Verdict
	steps := make([]Step, 0, numChecks)
	for i := range importChecks {
		c := &importChecks[i]
		act := r.m.act[i]
		s := Step{Check: c.name, Action: actionNames[act]}
		if act == actOff {
			s.Outcome, s.Detail = OutcomeOff, "the check is off for this member"
			steps = append(steps, s)
			continue
		}
		res := c.check(r)
		r.outcome = ""
		s.Detail = c.explain(r, res)
		switch {
		case res != ReasonNone:
			v.hit(act, res)
			s.Outcome = OutcomeFilter
			if act == actTag {
				s.Outcome = OutcomeTag
			}
			info := res.Info()
			s.Reason, s.Code = info.Name, reasonCode(info.Code)
		case r.outcome != "":
			s.Outcome = r.outcome
		default:
			s.Outcome = OutcomePass
		}
		steps = append(steps, s)
	}
	v.Mods = r.mods
	return v, steps
}
