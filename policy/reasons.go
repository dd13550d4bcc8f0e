package policy

// Reason is why a route was filtered or tagged. Each has a name, the check
// (conf.Check*) that yields it (its row of importChecks lists it), and a
// code: the Euro-IX route-server filtering code (large community
// RS:1101:code) where one exists, else a fedrs code in the range
// 1101:100-199.
type Reason uint8

// Reasons. The numeric values are internal; Code is what goes on the wire.
const (
	ReasonNone Reason = iota
	ReasonPrefixTooLong
	ReasonPrefixTooShort
	ReasonBogonPrefix
	ReasonBogonASN
	ReasonASPathTooLong
	ReasonASPathTooShort
	ReasonFirstAS
	ReasonNextHop
	ReasonPrefixNotAllowed
	ReasonOriginNotAllowed
	ReasonRPKIInvalid
	ReasonTransitFree
	ReasonASSet
	ReasonOTCLeak
	ReasonMemberLeak
	ReasonRegistryConflict
	ReasonASPAInvalid
	ReasonMaxPrefix
	ReasonTooManyCommunities
	ReasonBlackholeNotAllowed
	numReasons
)

// ReasonInfo describes a Reason.
type ReasonInfo struct {
	Name  string // stable identifier, e.g. "prefix_too_long"
	Check string // the conf check that yields it
	Code  uint32 // RS:1101:Code
	Text  string // one line for humans
}

// reasonTable holds each reason's name, code and text; the check that
// yields it comes from importChecks (reasonChecks).
var reasonTable = [numReasons]struct {
	name string
	code uint32
	text string
}{
	ReasonNone:                {"none", 0, "no reason"},
	ReasonPrefixTooLong:       {"prefix_too_long", 1, "prefix is longer than allowed"},
	ReasonPrefixTooShort:      {"prefix_too_short", 2, "prefix is shorter than allowed"},
	ReasonBogonPrefix:         {"bogon_prefix", 3, "prefix is a bogon"},
	ReasonBogonASN:            {"bogon_asn", 4, "AS_PATH contains a bogon ASN"},
	ReasonASPathTooLong:       {"as_path_too_long", 5, "AS_PATH is longer than allowed"},
	ReasonASPathTooShort:      {"as_path_too_short", 6, "AS_PATH is shorter than allowed"},
	ReasonFirstAS:             {"first_as", 7, "first AS in AS_PATH is not the member's"},
	ReasonNextHop:             {"next_hop", 8, "NEXT_HOP is not the member's"},
	ReasonPrefixNotAllowed:    {"prefix_not_allowed", 9, "prefix is not allowed for the member"},
	ReasonOriginNotAllowed:    {"origin_not_allowed", 10, "origin AS is not allowed for the member"},
	ReasonRPKIInvalid:         {"rpki_invalid", 13, "RPKI origin validation state is Invalid"},
	ReasonTransitFree:         {"transit_free_asn", 14, "AS_PATH contains a transit-free or forbidden ASN"},
	ReasonASSet:               {"as_set", 100, "AS_PATH contains an AS_SET"},
	ReasonOTCLeak:             {"otc_leak", 101, "route from an RS-Client carries OTC: a route leak (RFC 9234)"},
	ReasonMemberLeak:          {"member_leak", 102, "AS_PATH carries another federation member behind the first hop: a leak"},
	ReasonRegistryConflict:    {"registry_conflict", 103, "prefix is registered to another member: a hijack"},
	ReasonASPAInvalid:         {"aspa_invalid", 104, "ASPA verification state is Invalid"},
	ReasonMaxPrefix:           {"max_prefix", 105, "member exceeded its maximum number of prefixes"},
	ReasonTooManyCommunities:  {"too_many_communities", 15, "route carries too many communities"},
	ReasonBlackholeNotAllowed: {"blackhole_not_allowed", 107, "BLACKHOLE request for a prefix the member may not blackhole"},
}

// reasonChecks names the check of each reason, from the rows of
// importChecks.
var reasonChecks = func() (c [numReasons]string) {
	for i := range importChecks {
		for _, r := range importChecks[i].reasons {
			c[r] = importChecks[i].name
		}
	}
	return c
}()

// Info returns the description of r.
func (r Reason) Info() ReasonInfo {
	if r < numReasons {
		t := &reasonTable[r]
		return ReasonInfo{Name: t.name, Check: reasonChecks[r], Code: t.code, Text: t.text}
	}
	return ReasonInfo{Name: "unknown", Text: "unknown reason"}
}

func (r Reason) String() string { return r.Info().Name }

// AllReasons lists every reason except ReasonNone, in order.
func AllReasons() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// ReasonByName finds a reason by name or by its code ("13", "1101:13").
func ReasonByName(s string) (Reason, bool) {
	for r := ReasonNone + 1; r < numReasons; r++ {
		info := &reasonTable[r]
		if s == info.name || s == itoa(info.code) || s == "1101:"+itoa(info.code) {
			return r, true
		}
	}
	return 0, false
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
