package rpki

// The tests are in package rpki_test: they wait with rstest.Eventually,
// and rstest imports the route server, which imports rpki (an internal
// test may not import it). These give them the unexported parts they
// check.

var (
	NewVRPsChecked = newVRPsChecked
	Filtered       = filtered
)

// NumProviders is the number of providers a holds over all customers.
func NumProviders(a *ASPAs) int { return len(a.providers) }

// NewChange is a Change with added and removed and the index of the VRPs
// they change (what Affects looks up).
func NewChange(added, removed []VRP, changed *VRPs) Change {
	return Change{Added: added, Removed: removed, changed: changed}
}
