// Package bgp holds the BGP domain types that the codec (routeserver/wire),
// the policy engine (policy), the sessions (routeserver/session) and the
// RIB share: address families, decoded path attributes with the one
// canonical AS_PATH text form, communities, the attribute rewrite applied on
// export, BGP roles, message types and sizes, and NOTIFICATION codes and
// subcodes with their names.
//
// It is a leaf: it imports the standard library only, and nothing of fedrs
// may be imported here. Values of this package carry no behaviour of the
// route server (no policy, no session state); they are what the protocol
// defines.
package bgp
