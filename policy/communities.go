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
// [policy] informational is true (RS:Local1:Local2):
//
//	RS:1000:1 ROV valid      RS:1000:2 ROV not-found  RS:1000:3 ROV invalid
//	RS:1001:1 ASPA valid     RS:1001:2 ASPA unknown   RS:1001:3 ASPA invalid
//	RS:1002:1 registered to the announcing member (or a member it is transit for)
//	RS:1002:2 not registered RS:1002:3 registered to another member
//	RS:1003:gid              the announcing member is in group gid (one each)
//
// A state that was not checked adds nothing. RS:1101:code is reserved for
// the Euro-IX filter reason codes (Reason.Info().Code), used by the
// looking glass for filtered routes, which are never exported.
const (
	InfoROV         = 1000
	InfoASPA        = 1001
	InfoRegistry    = 1002
	InfoOriginGroup = 1003
	InfoFiltered    = 1101
)
