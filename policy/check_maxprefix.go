package policy

// max_prefix is stateful: the RIB counts the member's accepted routes and
// adds ReasonMaxPrefix itself (see the session's max_prefixes), so the
// per-route check passes every route and only says so in a trace.
func checkMaxPrefix(r *route) Reason { return ReasonNone }

func explainMaxPrefix(r *route, _ Reason) string {
	return r.skipped("counted by the RIB over the member's accepted routes, not per route (see the session's max_prefixes)")
}
