package bgp

import "fmt"

// BGP roles (RFC 9234 §4.1).
const (
	RoleProvider = 0
	RoleRS       = 1
	RoleRSClient = 2
	RoleCustomer = 3
	RolePeer     = 4
)

// RoleName names a role value.
func RoleName(r uint8) string {
	switch r {
	case RoleProvider:
		return "provider"
	case RoleRS:
		return "rs"
	case RoleRSClient:
		return "rs-client"
	case RoleCustomer:
		return "customer"
	case RolePeer:
		return "peer"
	}
	return fmt.Sprintf("role %d", r)
}
