package policy

import "fmt"

// communities: standard, large and extended communities number at most
// the member's maximum.
func checkCommunities(r *route) Reason {
	if len(r.a.Communities)+len(r.a.Large)+r.a.ExtCount > r.m.maxComm {
		return ReasonTooManyCommunities
	}
	return ReasonNone
}

func explainCommunities(r *route, res Reason) string {
	m, a := r.m, r.a
	n := len(a.Communities) + len(a.Large) + a.ExtCount
	if res == ReasonNone {
		return fmt.Sprintf("%d communities (%d standard, %d large, %d extended), at most %d", n, len(a.Communities), len(a.Large), a.ExtCount, m.maxComm)
	}
	return fmt.Sprintf("%d communities (%d standard, %d large, %d extended) are more than the maximum %d", n, len(a.Communities), len(a.Large), a.ExtCount, m.maxComm)
}

// blackhole: a route with BLACKHOLE (RFC 7999) lies inside a prefix the
// member may announce; it is then an accepted blackhole route
// (ModBlackhole), else an ordinary route that fails. route.init decides it,
// because an accepted blackhole relaxes prefix_length and prefix_allowed,
// which run before.
func checkBlackhole(r *route) Reason {
	switch {
	case r.bhReq && !r.blackhole:
		return ReasonBlackholeNotAllowed
	case r.blackhole:
		r.mods |= ModBlackhole
	}
	return ReasonNone
}

func explainBlackhole(r *route, res Reason) string {
	switch {
	case res != ReasonNone:
		return fmt.Sprintf("BLACKHOLE (65535:666) for %s, which is not inside any prefix %s may announce; the route is treated as an ordinary route", r.p, r.m.name)
	case r.blackhole:
		return r.marked(fmt.Sprintf("BLACKHOLE (65535:666) for %s inside %s's %s: accepted as a blackhole route, sent only to members with blackhole_receive, with NO_EXPORT", r.p, r.m.name, allowRanges(r.e, r.allow, r.allowNode, r.fam)))
	}
	return "no BLACKHOLE community"
}

// graceful_shutdown: a route with GRACEFUL_SHUTDOWN (RFC 8326) gets the
// lowest preference inside the route server (ModGracefulShutdown). It
// never fails.
func checkGracefulShutdown(r *route) Reason {
	if r.hasGS {
		r.mods |= ModGracefulShutdown
	}
	return ReasonNone
}

func explainGracefulShutdown(r *route, _ Reason) string {
	if r.hasGS {
		return r.marked("GRACEFUL_SHUTDOWN (65535:0): the route gets the lowest preference inside the route server (RFC 8326); the community is passed on")
	}
	return "no GRACEFUL_SHUTDOWN community"
}
