package policy

import (
	"fmt"
	"strings"
)

// bogon_asn: no AS in the AS_PATH (AS_SET members included) is a bogon ASN.
func checkBogonASN(r *route) Reason {
	m := r.m
	bad := false
	for _, asn := range r.a.ASPath {
		if m.bogonASNs.has(asn) {
			bad = true
			break
		}
	}
	if !bad {
		if r.tr != nil {
			r.explain(fmt.Sprintf("no ASN in the AS_PATH is a bogon (bogon ASNs: %s)", m.bogonASNs))
		}
		return ReasonNone
	}
	if r.tr != nil {
		var list []string
		for _, asn := range r.a.ASPath {
			if m.bogonASNs.has(asn) {
				list = appendUniq(list, fmt.Sprint(asn))
			}
		}
		r.explain(fmt.Sprintf("AS_PATH contains the bogon ASN %s (bogon ASNs: %s)", strings.Join(list, ", "), m.bogonASNs))
	}
	return ReasonBogonASN
}

// as_path_length: the AS_PATH length as the decision process counts it is
// within the member's bounds (a maximum of 0: none).
func checkASPathLength(r *route) Reason {
	m := r.m
	switch n := r.a.PathLen; {
	case m.maxPath > 0 && n > m.maxPath:
		if r.tr != nil {
			r.explain(fmt.Sprintf("AS_PATH length %d is more than the maximum %d", n, m.maxPath))
		}
		return ReasonASPathTooLong
	case n < m.minPath:
		if r.tr != nil {
			r.explain(fmt.Sprintf("AS_PATH length %d is less than the minimum %d", n, m.minPath))
		}
		return ReasonASPathTooShort
	default:
		if r.tr != nil {
			r.explain(fmt.Sprintf("AS_PATH length %d is within %d-%d (an AS_SET counts as one)", n, m.minPath, m.maxPath))
		}
		return ReasonNone
	}
}

// as_set: the AS_PATH has no AS_SET.
func checkASSet(r *route) Reason {
	if !r.a.HasASSet {
		r.explain("AS_PATH has no AS_SET")
		return ReasonNone
	}
	if r.tr != nil {
		r.explain(fmt.Sprintf("AS_PATH %s contains an AS_SET (RFC 9774 deprecates them)", pathText(r.a)))
	}
	return ReasonASSet
}

// first_as: the AS_PATH starts with an AS_SEQUENCE whose first AS is the
// member's.
func checkFirstAS(r *route) Reason {
	m := r.m
	first, ok := r.a.FirstAS()
	if ok && first == m.asn {
		if r.tr != nil {
			r.explain(fmt.Sprintf("first AS %d is %s's", first, m.name))
		}
		return ReasonNone
	}
	if r.tr != nil {
		s := fmt.Sprintf("first AS %d is not %s's AS%d", first, m.name, m.asn)
		if !ok {
			s = fmt.Sprintf("AS_PATH %s does not start with an AS_SEQUENCE holding %s's AS%d", pathText(r.a), m.name, m.asn)
		}
		r.explain(s)
	}
	return ReasonFirstAS
}

// transit_free: no AS in the AS_PATH but the member's own is a
// transit-free ASN.
func checkTransitFree(r *route) Reason {
	m := r.m
	bad := false
	if len(m.transitFree) > 0 {
		for _, asn := range r.a.ASPath {
			if asn != m.asn && m.transitFree.has(asn) {
				bad = true
				break
			}
		}
	}
	if !bad {
		if r.tr != nil {
			r.explain(fmt.Sprintf("no transit-free ASN in the AS_PATH (transit-free ASNs: %s; the member's own ASN is exempt)", m.transitFree))
		}
		return ReasonNone
	}
	if r.tr != nil {
		var list []string
		for _, asn := range r.a.ASPath {
			if asn != m.asn && m.transitFree.has(asn) {
				list = appendUniq(list, fmt.Sprint(asn))
			}
		}
		r.explain(fmt.Sprintf("AS_PATH contains the transit-free ASN %s: a member does not get transit from them", strings.Join(list, ", ")))
	}
	return ReasonTransitFree
}
