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
// Import and Explain run the same check functions in the same order, so a
// trace's Verdict is always the verdict Import gives; Explain's export
// steps use the same decision as Profile. README.md documents the checks,
// their defaults and reasons, the action and informational communities,
// and how to read a trace.
//
// # Import checks
//
// The import policy is one ordered table, importChecks (checks.go): a row
// per check with its name in [policy.checks], the reasons it yields (each
// with its RS:1101 code, reasons.go), what it checks in a few words, a
// check function that decides and an explain function that says why in
// words. The functions live in a file named for what they check
// (check_prefix.go: prefix length and bogon prefixes; check_aspath.go:
// bogon ASNs, AS_PATH length, AS_SET, first AS, transit-free ASNs;
// check_nexthop.go; check_allowed.go: prefix list and origin;
// check_registry.go; check_leaks.go: OTC and member leaks; check_rov.go;
// check_aspa.go; check_communities.go: count, BLACKHOLE,
// GRACEFUL_SHUTDOWN; check_maxprefix.go), each with its test file.
// Explain walks the table; Import runs import_gen.go, generated from the
// table, which calls the check functions directly so that the compiler
// inlines them (Import runs once per received route).
//
// To add a check:
//
//  1. conf: its name (conf.Check*, in conf.CheckNames at its place in the
//     order) and, if not "filter", its default (conf.DefaultCheckAction).
//  2. reasons.go: its reasons (a new Reason, before numReasons, with its
//     name, Euro-IX code or a fedrs code 100-199, and text).
//  3. checks.go: its row in importChecks, at its place in the order
//     (numChecks grows by one).
//  4. check_WHAT.go: func checkX(r *route) Reason — the decision from
//     what route holds (member, attributes, derived prefix data); no
//     allocation and no text, small enough to inline where it can; it may
//     record a state or mark in r.mods — and func explainX(r *route, res
//     Reason) string, the step's detail in words.
//  5. check_WHAT_test.go: addCheckTests with at least a passing case and a
//     case for each of its reasons (TestImportChecks fails otherwise).
//  6. go generate ./policy (rewrites import_gen.go; TestImportGenerated
//     fails until it is done). Removing a check: when import_gen.go no
//     longer builds, delete its block there first.
//  7. The tables of policy/README.md, conf/README.md and the top README's
//     reasons (TestPolicyREADMEChecks, TestConfREADMEChecks,
//     TestREADMEReasons fail until they follow), and a CHANGELOG line.
package policy
