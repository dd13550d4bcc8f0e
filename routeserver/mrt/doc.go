// Package mrt writes the route server's RIB as an MRT TABLE_DUMP_V2 dump
// (RFC 6396), the format bgpdump, bgpreader (libBGPStream), pybgpstream,
// RIPE RIS and RouteViews tooling read.
//
// A dump holds a PEER_INDEX_TABLE (one entry per configured neighbour of
// every member, in member order) and, per prefix, a RIB_IPV4_UNICAST or
// RIB_IPV6_UNICAST record with every member's candidate route: accepted
// and filtered alike, with the attributes as the member sent them (AS_PATH
// in 4-octet form, IPv6 next hops in the abbreviated MP_REACH_NLRI of RFC
// 6396 §4.3.4). Prefixes that carry ADD-PATH path identifiers use the
// RIB_*_UNICAST_ADDPATH records of RFC 8050. The verdict is not part of
// the format: the looking glass and the history have it.
//
// Records are framed with gobgp's pkg/packet/mrt.
package mrt
