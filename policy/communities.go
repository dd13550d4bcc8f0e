package policy

// Large action communities: RS:Local1:Local2 with RS the route server's
// ASN. Local2 is a member ASN ("peer"), 0 for "everyone", or a group id.
const (
	ActDoNotAnnounce     = 0     // RS:0:peer, RS:0:0
	ActAnnounce          = 1     // RS:1:peer
	ActNotToGroup        = 10    // RS:10:gid
	ActToGroup           = 11    // RS:11:gid
	ActPrepend1          = 101   // RS:101:peer, RS:101:0
	ActPrepend2          = 102   // RS:102:peer, RS:102:0
	ActPrepend3          = 103   // RS:103:peer, RS:103:0
	ActNoExportToPeer    = 65281 // RS:65281:peer
	ActNoAdvertiseToPeer = 65282 // RS:65282:peer
)

// Standard (RFC 1997) action communities, accepted where the values fit
// 16 bits: 0:peer, 0:RS, RS:peer, 65501..65503:peer and 65501..65503:0,
// 65281:peer, 65282:peer.
const (
	StdPrepend1          = 65501 // 65501:peer, 65501:0
	StdPrepend2          = 65502
	StdPrepend3          = 65503
	StdNoExportToPeer    = 65281 // 65281:peer
	StdNoAdvertiseToPeer = 65282 // 65282:peer
)

// Informational large communities the route server adds on export when
// the announcing member's policy has informational = true. Every exported
// route carries one of each state community, and one origin-group
// community per group of the announcing member:
//
//	RS:1000:x  RPKI route origin validation (Euro-IX usage)
//	RS:1010:x  ASPA verification (fedrs)
//	RS:1011:x  federation registry (fedrs)
//	RS:1012:gid the announcing member is in group gid (fedrs)
//
// with x = 1 valid / owned, 2 not-found / unknown / unregistered, 3 not
// checked, 4 invalid / registered to another member (the Euro-IX RS:1000
// values). Invalid and conflict only appear on routes whose check is in
// "tag" mode: filtered routes are never exported. RS:1101:code is the
// Euro-IX filter reason (Reason.Info().Code), used by the looking glass
// for filtered routes. Members' own RS:x:y communities are stripped, so a
// member cannot forge these.
const (
	InfoROV         = 1000
	InfoASPA        = 1010
	InfoRegistry    = 1011
	InfoOriginGroup = 1012
	InfoFiltered    = 1101
)

// Values of the informational state communities.
const (
	InfoValid      = 1 // ROV valid, ASPA valid, registry owned
	InfoUnknown    = 2 // ROV not-found, ASPA unknown, registry unregistered
	InfoNotChecked = 3
	InfoInvalid    = 4 // ROV invalid, ASPA invalid, registry conflict
)

// infoValue maps a 2-bit state (not-checked, good, unknown, bad: the
// layout of ROVState, ASPAState and RegistryState) to its informational
// value.
func infoValue(state uint8) uint32 {
	return [4]uint32{InfoNotChecked, InfoValid, InfoUnknown, InfoInvalid}[state&3]
}
