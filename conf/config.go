package conf

import (
	"net/netip"
)

// Config is one fedrs.toml. Load fills the defaults and validates it; a
// Config obtained any other way should be passed through Validate.
type Config struct {
	Server  Server   `toml:"server"`
	History History  `toml:"history"`
	RPKI    RPKI     `toml:"rpki"`
	Policy  Policy   `toml:"policy"`
	Groups  []Group  `toml:"group"`
	Members []Member `toml:"member"`
	// BMP lists the BMP collectors the route server streams to; MRT sets
	// the periodic MRT RIB dumps (monitoring.go).
	BMP []BMPCollector `toml:"bmp"`
	MRT MRT            `toml:"mrt"`
	// HTTP is the read-only HTTP listener (http.go).
	HTTP HTTP `toml:"http"`

	// File is the path the configuration was loaded from ("" when built in
	// code). Hash is the SHA-256 of its bytes, hex encoded.
	File string `toml:"-"`
	Hash string `toml:"-"`
	// Warnings are what Load found questionable but not wrong (a token
	// file others can read), each with file and line; fedrs check prints
	// them and fedrs run logs them.
	Warnings []Issue `toml:"-"`
}

// Server is the [server] table.
type Server struct {
	// ASN is the route server's own AS number (4-octet allowed).
	ASN uint32 `toml:"asn"`
	// RouterID is the BGP identifier, an IPv4 address.
	RouterID netip.Addr `toml:"router_id"`
	// Listen lists "address:port" pairs to accept BGP connections on.
	// Default ["0.0.0.0:179", "[::]:179"].
	Listen []string `toml:"listen"`
	// Control is the unix socket path of the control API (mode 0600).
	// Default "/run/fedrs/fedrs.sock".
	Control string `toml:"control"`
	// ControlTCP optionally adds a read-only TCP listener ("127.0.0.1:8179")
	// that requires a bearer token (ControlToken or ControlTokenFile) and
	// serves TLS when ControlTLSCert and ControlTLSKey are set. Deprecated:
	// the old name of [http] (Config.HTTPListener maps it).
	ControlTCP       string `toml:"control_tcp"`
	ControlToken     string `toml:"control_token"`
	ControlTokenFile string `toml:"control_token_file"`
	ControlTLSCert   string `toml:"control_tls_cert"`
	ControlTLSKey    string `toml:"control_tls_key"`
	// ControlTokenSecret is the bearer token in effect: ControlToken, or
	// the content of ControlTokenFile (read by Load, trailing newline
	// removed). Not a TOML key.
	ControlTokenSecret string `toml:"-"`
	// History is the SQLite history database path; "" disables history.
	History string `toml:"history"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `toml:"log_level"`
	// User, when set, is the user fedrs run started as root drops to once
	// it has bound its listeners and opened its files (without a service
	// manager that starts it as that user). Group is its group (default:
	// the user's primary group).
	User  string `toml:"user"`
	Group string `toml:"group"`
	// HoldTime is the hold time offered to members (0, or 3s and more).
	// Default 90s. Members may override it.
	HoldTime Duration `toml:"hold_time"`
	// ConnectRetry is the initial back-off between active connection
	// attempts; it doubles up to 8× on repeated failure. Default 30s.
	ConnectRetry Duration `toml:"connect_retry"`
}

// History is the [history] table.
type History struct {
	// Retain is how long history is kept ("400d"). Default 400d; 0 keeps
	// everything.
	Retain Duration `toml:"retain"`
	// Exports records what was exported to each member, not only what was
	// received. Default true.
	Exports *bool `toml:"exports"`
	// Queue is the bound of the queue between the RIB and the writer, in
	// events. Default 1048576.
	Queue int `toml:"queue"`
	// WriteBehind is how long the writer may hold events in memory while
	// the route server is busy (a table load, a burst of changes), so that
	// recording does not compete with routing for CPU. Default 30s; "0s"
	// writes at once.
	WriteBehind *Duration `toml:"write_behind"`
	// Durable: a route is not exported to any member before its history
	// event is committed (group commit). Default false: exports never
	// wait for the disk, and a crash loses at most about the last 200 ms
	// of events.
	Durable bool `toml:"durable"`
}

// RPKI is the [rpki] table.
type RPKI struct {
	// Caches are RTR caches, used in order of Preference (lower first).
	Caches []RTRCache `toml:"cache"`
	// Files are VRP/ASPA JSON files as rpki-client and routinator export
	// them, reloaded when they change.
	Files []string `toml:"files"`
	// SLURM are RFC 8416 files of filters and local assertions.
	SLURM []string `toml:"slurm"`
	// Registry adds the federation ownership registry (the members'
	// prefixes) as local assertions. Default true.
	Registry *bool `toml:"registry"`
	// Server, when set ("[::]:3323"), serves the merged set over RTR to
	// members' routers.
	Server string `toml:"server"`
}

// RTRCache is one [[rpki.cache]].
type RTRCache struct {
	Address    string `toml:"address"`
	Preference int    `toml:"preference"`
}

// Group is one [[group]]: a named set of members that action communities
// RS:10:id and RS:11:id address.
type Group struct {
	Name        string `toml:"name"`
	ID          uint32 `toml:"id"`
	Description string `toml:"description"`
}

// Check names, as used in [policy.checks].
const (
	CheckPrefixLength    = "prefix_length"
	CheckBogonPrefix     = "bogon_prefix"
	CheckBogonASN        = "bogon_asn"
	CheckASPathLength    = "as_path_length"
	CheckASSet           = "as_set"
	CheckFirstAS         = "first_as"
	CheckNextHop         = "next_hop"
	CheckPrefixAllowed   = "prefix_allowed"
	CheckOriginAllowed   = "origin_allowed"
	CheckRegistry        = "registry"
	CheckOTCLeak         = "otc_leak"
	CheckMemberLeak      = "member_leak"
	CheckTransitFree     = "transit_free"
	CheckRPKI            = "rpki"
	CheckASPA            = "aspa"
	CheckCommunities     = "communities"
	CheckMaxPrefix       = "max_prefix"
	CheckBlackhole       = "blackhole"
	CheckGracefulShutOff = "graceful_shutdown"
)

// CheckNames lists every check in evaluation order: the order of the
// policy engine's table of import checks (policy's importChecks, which a
// policy test holds this list to).
var CheckNames = []string{
	CheckPrefixLength, CheckBogonPrefix, CheckBogonASN, CheckASPathLength,
	CheckASSet, CheckFirstAS, CheckNextHop, CheckPrefixAllowed,
	CheckOriginAllowed, CheckRegistry, CheckOTCLeak, CheckMemberLeak,
	CheckTransitFree, CheckRPKI, CheckASPA, CheckCommunities, CheckMaxPrefix,
	CheckBlackhole, CheckGracefulShutOff,
}

// Check actions.
const (
	ActionFilter = "filter" // the route is filtered (kept, visible, not exported)
	ActionTag    = "tag"    // the reason is recorded, the route stays accepted
	ActionOff    = "off"    // the check does not run
)

// Policy is the [policy] table, and [member.policy] overlays it per member:
// a key set in [member.policy] replaces the global value for that member.
//
// After Load (or ApplyDefaults), Config.Policy and every Member.Effective
// are resolved: keys set nowhere hold the defaults of the preset,
// BogonPrefixes, BogonASNs and TransitFreeASNs hold the complete lists in
// force (the preset's, or the configured ones plus BogonPrefixesFile's
// entries), Informational is non-nil and Checks holds every check.
type Policy struct {
	// Preset chooses the default bogon lists: "federation" (RFC 1918,
	// CGNAT and private ASNs are normal; default routes rejected) or "ixp"
	// (they are bogons). Default "federation".
	Preset string `toml:"preset"`
	// BogonPrefixes and BogonASNs replace the preset's lists when set.
	// ASN entries are "N" or "N-M".
	BogonPrefixes     []netip.Prefix `toml:"bogon_prefixes"`
	BogonPrefixesFile string         `toml:"bogon_prefixes_file"`
	BogonASNs         []ASNRange     `toml:"bogon_asns"`
	// Prefix length bounds per family (inclusive).
	MinLengthV4 int `toml:"min_length_v4"`
	MaxLengthV4 int `toml:"max_length_v4"`
	MinLengthV6 int `toml:"min_length_v6"`
	MaxLengthV6 int `toml:"max_length_v6"`
	// AS_PATH length bounds, counted as the decision process counts
	// (AS_SET as one).
	MinASPath int `toml:"min_as_path"`
	MaxASPath int `toml:"max_as_path"`
	// MaxCommunities bounds standard + large + extended communities.
	MaxCommunities int `toml:"max_communities"`
	// TransitFreeASNs may not appear anywhere in a member's AS_PATH.
	TransitFreeASNs []ASNRange `toml:"transit_free_asns"`
	// Informational adds the route server's informational communities
	// (RPKI state, registry state, origin group) on export.
	Informational *bool `toml:"informational"`
	// BlackholeNextHopV4/V6, when set, replace the NEXT_HOP of accepted
	// BLACKHOLE routes.
	BlackholeNextHopV4 netip.Addr `toml:"blackhole_next_hop_v4"`
	BlackholeNextHopV6 netip.Addr `toml:"blackhole_next_hop_v6"`
	// Checks sets each check to "filter", "tag" or "off". Missing checks
	// take their default (filter, except as documented).
	Checks map[string]string `toml:"checks"`
}

// Member is one [[member]].
type Member struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	ASN         uint32 `toml:"asn"`
	// Neighbors are the member router's addresses on the peering LAN (v4
	// and/or v6); one BGP session each.
	Neighbors []netip.Addr `toml:"neighbors"`
	// Port is the member's BGP port for active connections. Default 179.
	Port int `toml:"port"`
	// LocalAddress is the source address for active connections to the
	// member's IPv4 / IPv6 neighbours (optional).
	LocalAddressV4 netip.Addr `toml:"local_address_v4"`
	LocalAddressV6 netip.Addr `toml:"local_address_v6"`
	Groups         []string   `toml:"groups"`
	// Prefixes the member owns and may announce; they form the federation
	// ownership registry. Syntax "PREFIX [ge N] [le N] [shared]".
	Prefixes []PrefixRange `toml:"prefixes"`
	// PrefixListFile adds prefixes the member may announce without owning
	// them (bgpq4 JSON output, or one "PREFIX [ge N] [le N]" per line).
	PrefixListFile string `toml:"prefix_list_file"`
	// PrefixList is PrefixListFile parsed (by Load). Not a TOML key.
	PrefixList PrefixList `toml:"-"`
	// OriginASNs may originate the member's routes. Default: the member's
	// own ASN.
	OriginASNs []ASNRange `toml:"origin_asns"`
	// TransitFor names other members whose routes this member may carry
	// (a known transit relationship, exempt from the member-leak rule).
	TransitFor  []string     `toml:"transit_for"`
	MaxPrefixes MaxPrefixes  `toml:"max_prefixes"`
	NextHops    []netip.Addr `toml:"next_hops"`
	// MD5Password or MD5PasswordFile enable TCP-MD5 (RFC 2385).
	MD5Password     string `toml:"md5_password"`
	MD5PasswordFile string `toml:"md5_password_file"`
	// MD5Secret is the TCP-MD5 password in effect: MD5Password, or the
	// content of MD5PasswordFile (read by Load, trailing newline removed).
	// "" disables TCP-MD5. Not a TOML key.
	MD5Secret string `toml:"-"`
	// Passive: only accept connections, never connect out. Default false
	// (both: the route server also connects, with back-off).
	Passive bool `toml:"passive"`
	// GTSM enables RFC 5082 (TTL 255 sent, at least 255 - GTSMHops + 1
	// required). GTSMHops default 1.
	GTSM     bool `toml:"gtsm"`
	GTSMHops int  `toml:"gtsm_hops"`
	// RoleStrict requires the member to send the BGP Role capability
	// (RFC 9234) with role RS-Client.
	RoleStrict bool `toml:"role_strict"`
	// HoldTime overrides [server] hold_time.
	HoldTime *Duration `toml:"hold_time"`
	// Families enabled: "ipv4", "ipv6". Default both.
	Families []string `toml:"families"`
	// AddPath: "off", "receive" (the member may send several paths per
	// prefix), "send" (the route server sends every exportable path),
	// "both". Default "receive".
	AddPath string `toml:"add_path"`
	// GracefulRestart enables the helper (RFC 4724). Default true.
	GracefulRestart *bool `toml:"graceful_restart"`
	// BlackholeReceive opts the member in to receiving BLACKHOLE routes.
	BlackholeReceive bool `toml:"blackhole_receive"`
	// Shutdown keeps the member administratively down.
	Shutdown bool `toml:"shutdown"`
	// WebTokenFile holds the member's own token for the [http] listener
	// (webtoken.go): with it, the member's network team sees its own
	// routes, reasons and exposure and what the route server exports to
	// it, and nothing else about other members.
	WebTokenFile string `toml:"web_token_file"`
	// WebToken is the content of WebTokenFile, trimmed (read by Load).
	// Not a TOML key.
	WebToken string `toml:"-"`
	// Policy overlays [policy] for this member (see Policy).
	Policy *Policy `toml:"policy"`
	// Effective is the policy that applies to this member, resolved by
	// Load (or ApplyDefaults): [policy] overlaid key by key with the keys
	// [member.policy] sets, then every key set nowhere given the default
	// of the effective preset, bogon lists resolved, Checks holding every
	// check. The policy engine reads this, not Policy. Not a TOML key.
	Effective Policy `toml:"-"`
}

// MaxPrefixes is [member.max_prefixes].
type MaxPrefixes struct {
	IPv4 int `toml:"ipv4"` // 0: no limit
	IPv6 int `toml:"ipv6"`
	// Action is "teardown" (Cease 1, stay down for Restart; 0 means until
	// an operator enables the member), "warn" (log and keep going) or
	// "filter" (routes past the limit are filtered with reason max-prefix).
	// Default "teardown".
	Action  string   `toml:"action"`
	Restart Duration `toml:"restart"`
}

// PrefixRange is a prefix with optional ge/le bounds, and whether the
// member shares its ownership with others.
type PrefixRange struct {
	Prefix netip.Prefix
	GE, LE int // 0 when not given; Contains applies the defaults
	Shared bool
}

// ASNRange is an inclusive range of AS numbers; a single ASN has Min == Max.
type ASNRange struct {
	Min, Max uint32
}
