package policy

import (
	"net/netip"
	"unsafe"

	"github.com/fedrs/fedrs/conf"
)

// importCheck is one row of the import policy: a named check, the reasons
// it can yield, what it checks in a few words, and the function that
// checks it.
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
	// run checks one route: it returns the reason the route fails with
	// (ReasonNone when it passes), sets r.mods when the check records a
	// state or marks the route, and, when r.tr is set, says in words what
	// it compared (r.explain, r.skip, r.mark). It does not allocate unless
	// r.tr is set.
	run func(r *route) Reason
}

// importChecks is the import policy: every check, in evaluation order.
// Import and Explain run it, Explain's steps are its rows, and the tests
// hold the documentation (policy/README.md, conf/README.md) and
// conf.CheckNames to it. Adding a check is adding a row, its function and
// its test: see doc.go.
var importChecks = [...]importCheck{
	{conf.CheckPrefixLength, []Reason{ReasonPrefixTooLong, ReasonPrefixTooShort}, "prefix length within min_length_v4/v6 and max_length_v4/v6", checkPrefixLength},
	{conf.CheckBogonPrefix, []Reason{ReasonBogonPrefix}, "prefix not in the bogon prefix list", checkBogonPrefix},
	{conf.CheckBogonASN, []Reason{ReasonBogonASN}, "no bogon AS in the AS_PATH", checkBogonASN},
	{conf.CheckASPathLength, []Reason{ReasonASPathTooLong, ReasonASPathTooShort}, "AS_PATH length within min_as_path and max_as_path", checkASPathLength},
	{conf.CheckASSet, []Reason{ReasonASSet}, "no AS_SET in the AS_PATH", checkASSet},
	{conf.CheckFirstAS, []Reason{ReasonFirstAS}, "the first AS is the member's", checkFirstAS},
	{conf.CheckNextHop, []Reason{ReasonNextHop}, "NEXT_HOP is one of the member's neighbours or next_hops", checkNextHop},
	{conf.CheckPrefixAllowed, []Reason{ReasonPrefixNotAllowed}, "the prefix is in the member's prefixes or prefix list", checkPrefixAllowed},
	{conf.CheckOriginAllowed, []Reason{ReasonOriginNotAllowed}, "the origin AS is in the member's origin_asns", checkOriginAllowed},
	{conf.CheckRegistry, []Reason{ReasonRegistryConflict}, "the prefix is not registered to another member (hijack)", checkRegistry},
	{conf.CheckOTCLeak, []Reason{ReasonOTCLeak}, "no OTC attribute on a route from an RS-Client (RFC 9234)", checkOTCLeak},
	{conf.CheckMemberLeak, []Reason{ReasonMemberLeak}, "no other member's AS behind the first hop, unless transit_for allows it", checkMemberLeak},
	{conf.CheckTransitFree, []Reason{ReasonTransitFree}, "no AS of transit_free_asns in the path", checkTransitFree},
	{conf.CheckRPKI, []Reason{ReasonRPKIInvalid}, "RPKI origin validation is not Invalid", checkROV},
	{conf.CheckASPA, []Reason{ReasonASPAInvalid}, "ASPA upstream verification, with the member's AS as the neighbour, is not Invalid (recorded only by default: ASPA is still a draft)", checkASPA},
	{conf.CheckCommunities, []Reason{ReasonTooManyCommunities}, "at most max_communities communities", checkCommunities},
	{conf.CheckMaxPrefix, []Reason{ReasonMaxPrefix}, "the member's max_prefixes (the action is set there)", checkMaxPrefix},
	{conf.CheckBlackhole, []Reason{ReasonBlackholeNotAllowed}, "BLACKHOLE routes: only for the member's own prefixes, propagated only to members with blackhole_receive", checkBlackhole},
	{conf.CheckGracefulShutOff, nil, "GRACEFUL_SHUTDOWN routes get the lowest preference; off ignores the community", checkGracefulShutdown},
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
	a  *Attrs
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
	// tr is the explain trace, nil in Import.
	tr *tracer
}

// init derives the route's state for member mi's route p with attributes
// a.
func (r *route) init(e *Engine, mi int, p netip.Prefix, a *Attrs, tr *tracer) {
	m := &e.members[mi]
	p = p.Masked()
	*r = route{e: e, mi: mi, m: m, a: a, p: p, k: keyOf(p), fam: family(p), bits: p.Bits(), famMax: p.Addr().BitLen(), tr: tr}
	// One pass over the standard communities for the ones import acts on.
	hasBH := false
	for _, c := range a.Communities {
		switch c {
		case CommBlackhole:
			hasBH = true
		case CommGracefulShutdown:
			r.hasGS = true
		}
	}
	r.allow = &m.allowed.fam[r.fam]
	r.allowNode = r.allow.deepest(r.k)
	r.bhReq = hasBH && m.blackholeOn
	r.blackhole = r.bhReq && r.allowNode >= 0
	r.origin, r.originOK = a.OriginAS()
}

// explain says, for the trace, what the check compared. A check that
// formats the text tests r.tr != nil first: Import must not allocate.
func (r *route) explain(detail string) {
	if r.tr != nil {
		r.tr.detail = detail
	}
}

// skip says that the check could not check the route, and why.
func (r *route) skip(detail string) {
	if r.tr != nil {
		r.tr.detail, r.tr.outcome = detail, OutcomeSkipped
	}
}

// mark says that the check marked the route (r.mods) without a reason.
func (r *route) mark(detail string) {
	if r.tr != nil {
		r.tr.detail, r.tr.outcome = detail, OutcomeMark
	}
}

// Import evaluates the import policy of a route that member announced:
// every check except max-prefix (the RIB counts accepted routes and adds
// ReasonMaxPrefix itself). It does not allocate and is safe for
// concurrent use. member must be a valid member index.
func (e *Engine) Import(member int, p netip.Prefix, a *Attrs) Verdict {
	return e.eval(member, p, a, nil)
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

// eval runs importChecks in order. With tr non-nil it also records every
// step in words; the verdict is the same either way (Import and Explain
// share this code).
func (e *Engine) eval(mi int, p netip.Prefix, a *Attrs, tr *tracer) Verdict {
	var rv route
	rv.init(e, mi, p, a, tr)
	r := noescape(&rv) // from here on only through r: see noescape
	var v Verdict
	for i := range importChecks {
		act := r.m.act[i]
		if act == actOff {
			tr.off(i)
			continue
		}
		reason := importChecks[i].run(r)
		if reason != ReasonNone {
			v.hit(act, reason)
		}
		tr.done(i, act, reason)
	}
	v.Mods = r.mods
	return v
}

// noescape returns p, hidden from escape analysis. The checks are called
// through the table, and the compiler assumes that a function called
// through a value keeps its arguments, so the route would move to the
// heap: one allocation per route. No check keeps the pointer past its
// call, which makes this sound, as the runtime's noescape is. It must not
// be inlined: inlined, the compiler may keep only the uintptr across the
// checks' calls and re-derive the pointer from it, which a stack move
// (the goroutine's stack growing inside a check) leaves pointing at the
// old stack; returned, the pointer is a pointer, which a stack move
// adjusts. TestImportNoAlloc and TestConcurrent guard both.
//
//go:noinline
//go:nosplit
func noescape(p *route) *route {
	u := uintptr(unsafe.Pointer(p))
	return *(**route)(unsafe.Pointer(&u))
}
