// Package policy is the fedrs policy engine: the import checks that give each
// received route a verdict and its reasons, the export actions driven by
// action communities, the community scheme, and the explain trace that says
// why a route was accepted, filtered, or sent to a member.
package policy
