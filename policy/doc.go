// Package policy is the fedrs policy engine: the import checks that give each
// received route a verdict and its reasons, the export actions driven by
// action communities, the community scheme, and the explain trace that says
// why a route was accepted, filtered, or sent to a member.
//
// Routes come in as the BGP domain types of routeserver/bgp (a
// *bgp.Attrs) and the export rewrite goes out as a bgp.Rewrite, which the
// codec applies.
//
// New compiles a loaded configuration into an Engine (immutable, safe for
// concurrent use; a reload builds a new one). Member indices are positions
// in conf.Config.Members.
//
//	e, err := policy.New(cfg, rpkiSource) // rpkiSource may be nil
//	v := e.Import(member, prefix, attrs)  // no allocation; all checks but max-prefix
//	if v.Accepted() {
//		p := e.Profile(member, attrs, v.Mods) // interned; depends on mods&ProfileMods
//		for t := range e.NumMembers() {
//			if p.Allows(t) {
//				rw := e.Rewrite(member, attrs, v.Mods, p.VariantFor(t))
//				_ = rw // encode the UPDATE with rw applied
//			}
//		}
//	}
//	tr := e.Explain(member, prefix, attrs, target) // target -1: import only
//	fmt.Print(tr) // or json.Marshal(tr)
//
// Import and Explain run the same code, so a trace's Verdict is always the
// verdict Import gives; Explain's export steps use the same decision as
// Profile. README.md documents the checks, their defaults and reasons, the
// action and informational communities, and how to read a trace.
package policy
