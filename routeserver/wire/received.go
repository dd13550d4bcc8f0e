package wire

import "github.com/fedrs/fedrs/routeserver/bgp"

// Received returns the template of a as the member sent it: every
// attribute passed on (AS_PATH in 4-octet form), the communities
// unchanged, NEXT_HOP for IPv4 and the MP_REACH_NLRI head for IPv6. BMP
// route monitoring and MRT RIB dumps carry routes in this form.
func Received(a *AttrSet) *Template {
	return Encode(a, &bgp.Rewrite{Communities: a.Communities, Large: a.Large}, true)
}
