package policy

import (
	"fmt"
	"strings"
)

// bogon_asn: no AS in the AS_PATH (AS_SET members included) is a bogon ASN.
func checkBogonASN(r *route) Reason {
	for _, asn := range r.a.ASPath {
		if r.m.bogonASNs.has(asn) {
			return ReasonBogonASN
		}
	}
	return ReasonNone
}

func explainBogonASN(r *route, res Reason) string {
	m := r.m
	if res == ReasonNone {
		return fmt.Sprintf("no ASN in the AS_PATH is a bogon (bogon ASNs: %s)", m.bogonASNs)
	}
	var list []string
	for _, asn := range r.a.ASPath {
		if m.bogonASNs.has(asn) {
			list = appendUniq(list, fmt.Sprint(asn))
		}
	}
	return fmt.Sprintf("AS_PATH contains the bogon ASN %s (bogon ASNs: %s)", strings.Join(list, ", "), m.bogonASNs)
}

// as_path_length: the AS_PATH length as the decision process counts it is
// within the member's bounds (a maximum of 0: none).
func checkASPathLength(r *route) Reason {
	switch n := r.a.PathLen; {
	case r.m.maxPath > 0 && n > r.m.maxPath:
		return ReasonASPathTooLong
	case n < r.m.minPath:
		return ReasonASPathTooShort
	}
	return ReasonNone
}

func explainASPathLength(r *route, res Reason) string {
	m, n := r.m, r.a.PathLen
	switch res {
	case ReasonASPathTooLong:
		return fmt.Sprintf("AS_PATH length %d is more than the maximum %d", n, m.maxPath)
	case ReasonASPathTooShort:
		return fmt.Sprintf("AS_PATH length %d is less than the minimum %d", n, m.minPath)
	}
	return fmt.Sprintf("AS_PATH length %d is within %d-%d (an AS_SET counts as one)", n, m.minPath, m.maxPath)
}

// as_set: the AS_PATH has no AS_SET.
func checkASSet(r *route) Reason {
	if r.a.HasASSet {
		return ReasonASSet
	}
	return ReasonNone
}

func explainASSet(r *route, res Reason) string {
	if res == ReasonNone {
		return "AS_PATH has no AS_SET"
	}
	return fmt.Sprintf("AS_PATH %s contains an AS_SET (RFC 9774 deprecates them)", pathText(r.a))
}

// first_as: the AS_PATH starts with an AS_SEQUENCE whose first AS is the
// member's.
func checkFirstAS(r *route) Reason {
	if first, ok := r.a.FirstAS(); !ok || first != r.m.asn {
		return ReasonFirstAS
	}
	return ReasonNone
}

func explainFirstAS(r *route, res Reason) string {
	m := r.m
	first, ok := r.a.FirstAS()
	switch {
	case res == ReasonNone:
		return fmt.Sprintf("first AS %d is %s's", first, m.name)
	case !ok:
		return fmt.Sprintf("AS_PATH %s does not start with an AS_SEQUENCE holding %s's AS%d", pathText(r.a), m.name, m.asn)
	}
	return fmt.Sprintf("first AS %d is not %s's AS%d", first, m.name, m.asn)
}

// transit_free: no AS in the AS_PATH but the member's own is a
// transit-free ASN.
func checkTransitFree(r *route) Reason {
	m := r.m
	if len(m.transitFree) > 0 {
		for _, asn := range r.a.ASPath {
			if asn != m.asn && m.transitFree.has(asn) {
				return ReasonTransitFree
			}
		}
	}
	return ReasonNone
}

func explainTransitFree(r *route, res Reason) string {
	m := r.m
	if res == ReasonNone {
		return fmt.Sprintf("no transit-free ASN in the AS_PATH (transit-free ASNs: %s; the member's own ASN is exempt)", m.transitFree)
	}
	var list []string
	for _, asn := range r.a.ASPath {
		if asn != m.asn && m.transitFree.has(asn) {
			list = appendUniq(list, fmt.Sprint(asn))
		}
	}
	return fmt.Sprintf("AS_PATH contains the transit-free ASN %s: a member does not get transit from them", strings.Join(list, ", "))
}
