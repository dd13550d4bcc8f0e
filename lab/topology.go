package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Daemon kinds. The route server may be KindFedrs, KindBIRD, KindOpenBGPD
// or KindGoBGP; a member may be any kind except KindFedrs.
const (
	KindFedrs    = "fedrs"
	KindBIRD     = "bird"
	KindFRR      = "frr"
	KindOpenBGPD = "openbgpd"
	KindGoBGP    = "gobgp"
	KindExaBGP   = "exabgp"
)

// RouteServerKinds and MemberKinds list the kinds each role accepts.
var (
	RouteServerKinds = []string{KindFedrs, KindBIRD, KindOpenBGPD, KindGoBGP}
	MemberKinds      = []string{KindBIRD, KindFRR, KindOpenBGPD, KindGoBGP, KindExaBGP}
)

// BGP roles (RFC 9234) as the topology file spells them.
const (
	RoleNone     = "none"
	RoleRSClient = "rs-client"
	RoleRS       = "rs"
	RoleProvider = "provider"
	RoleCustomer = "customer"
	RolePeer     = "peer"
)

// Address families.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// Defaults.
var (
	// DefaultLANv4 is the IPv4 peering LAN: RFC 2544 benchmarking space,
	// which no member will originate.
	DefaultLANv4 = netip.MustParsePrefix("198.18.0.0/16")
	// DefaultLANv6 is the IPv6 peering LAN, from the documentation range.
	DefaultLANv6 = netip.MustParsePrefix("2001:db8:ffff::/64")
)

const (
	// rsHostOffset is the route server's host number on the LAN (.1, ::1).
	rsHostOffset = 1
	// memberHostOffset is the first member's host number (.11, ::11); the
	// n-th member (from 0) gets memberHostOffset+n.
	memberHostOffset = 11
)

// Topology is one topology file: a route server and its members on one
// peering LAN.
type Topology struct {
	// Name names the lab; it prefixes every namespace ("fl-NAME-...").
	// Lower-case letters, digits and '_', at most 16. Default: the file
	// name without extension.
	Name string `toml:"name" json:"name"`
	// LANv4 and LANv6 are the peering LAN prefixes.
	LANv4 netip.Prefix `toml:"lan_v4" json:"lan_v4"`
	LANv6 netip.Prefix `toml:"lan_v6" json:"lan_v6"`

	RouteServer RouteServer `toml:"route_server" json:"route_server"`
	Members     []Member    `toml:"member" json:"members"`

	// File is where the topology was read from ("" when built in code).
	File string `toml:"-" json:"file,omitempty"`
}

// RouteServer is the [route_server] table.
type RouteServer struct {
	// Kind is fedrs, bird, openbgpd or gobgp. Default fedrs.
	Kind string `toml:"kind" json:"kind"`
	ASN  uint32 `toml:"asn" json:"asn"`
	// IPv4 and IPv6 are its LAN addresses; default the LAN's .1 / ::1.
	IPv4     netip.Addr `toml:"ipv4" json:"ipv4"`
	IPv6     netip.Addr `toml:"ipv6" json:"ipv6"`
	RouterID netip.Addr `toml:"router_id" json:"router_id"`
	// SingleTable (bird only) puts every member in one table: fast, but a
	// route filtered for one member can hide the next-best route from it.
	// The default is a table per member joined by pipes (path-hiding safe).
	SingleTable bool `toml:"single_table" json:"single_table,omitempty"`
	// FedrsExtra (fedrs only) is TOML appended verbatim to the generated
	// fedrs.toml: [policy], [rpki], [[group]] tables for a scenario.
	FedrsExtra string `toml:"fedrs_extra" json:"fedrs_extra,omitempty"`
	// Files are written into the route server's directory before it
	// starts, name → content (plain file names): a VRP JSON file that
	// fedrs_extra's [rpki] files names, a prefix list. Relative paths in
	// fedrs.toml are relative to that directory.
	Files map[string]string `toml:"files" json:"files,omitempty"`
}

// Member is one [[member]]: a member's edge router.
type Member struct {
	// Name is lower-case letters, digits and '-', at most 24; not "rs" or
	// "lan".
	Name string `toml:"name" json:"name"`
	// Daemon is bird, frr, openbgpd, gobgp or exabgp.
	Daemon string `toml:"daemon" json:"daemon"`
	ASN    uint32 `toml:"asn" json:"asn"`
	// IPv4 and IPv6 are the member's LAN addresses; default the LAN's
	// host 11+n (n the member's position from 0), e.g. .11 and ::11.
	IPv4     netip.Addr `toml:"ipv4" json:"ipv4"`
	IPv6     netip.Addr `toml:"ipv6" json:"ipv6"`
	RouterID netip.Addr `toml:"router_id" json:"router_id"`
	// Families are the sessions to open ("ipv4", "ipv6"); default both.
	Families []string `toml:"families" json:"families"`
	// MD5Password enables TCP-MD5 on both ends of the member's sessions.
	MD5Password string `toml:"md5_password" json:"md5_password,omitempty"`
	// RSMD5Password, when set, is the password the route server uses for
	// this member instead of MD5Password: a different value tests a
	// mismatch (the sessions must not come up).
	RSMD5Password string `toml:"rs_md5_password" json:"rs_md5_password,omitempty"`
	// GTSM turns on the Generalized TTL Security Mechanism (RFC 5082) on
	// both ends of the member's sessions: TTL 255 sent, 255 required.
	// Not for exabgp members.
	GTSM bool `toml:"gtsm" json:"gtsm,omitempty"`
	// ExpectDown says the member's sessions are meant not to establish (a
	// wrong password or role): Up does not wait for them, and nothing is
	// expected to pass through them.
	ExpectDown bool `toml:"expect_down" json:"expect_down,omitempty"`
	// Role is the BGP role the member announces (RFC 9234): "rs-client"
	// (default where the daemon supports it), "none", or a wrong role
	// ("rs", "provider", "customer", "peer") to test mismatches.
	Role string `toml:"role" json:"role"`
	// RoleStrict makes the member require the route server's role
	// capability.
	RoleStrict bool `toml:"role_strict" json:"role_strict,omitempty"`
	// Groups are fedrs groups the member belongs to (fedrs only).
	Groups []string `toml:"groups" json:"groups,omitempty"`
	// BlackholeReceive (fedrs only): the member receives other members'
	// BLACKHOLE routes.
	BlackholeReceive bool `toml:"blackhole_receive" json:"blackhole_receive,omitempty"`
	// TransitFor (fedrs only) names members whose routes this member may
	// carry (exempt from the member-leak rule).
	TransitFor []string `toml:"transit_for" json:"transit_for,omitempty"`
	// FedrsExtra (fedrs only) is TOML appended to the member's [[member]]
	// table in fedrs.toml: keys the lab does not generate (origin_asns,
	// next_hops, role_strict, max_prefixes, ...) and then, if needed, a
	// [member.policy] table.
	FedrsExtra string `toml:"fedrs_extra" json:"fedrs_extra,omitempty"`
	// Registered adds entries to the member's fedrs prefix registry
	// ("PREFIX [ge N] [le N] [shared]") beyond the announced prefixes it
	// registers by default (see Prefix.Register).
	Registered []string `toml:"registered" json:"registered,omitempty"`
	// Prefixes is shorthand for announcements without attributes.
	Prefixes []netip.Prefix `toml:"prefixes" json:"-"`
	// Announce lists the member's announcements, [[member.prefix]].
	Announce []Prefix `toml:"prefix" json:"announce"`
}

// Prefix is one announcement.
type Prefix struct {
	Prefix           netip.Prefix     `toml:"prefix" json:"prefix"`
	Communities      []Community      `toml:"communities" json:"communities,omitempty"`
	LargeCommunities []LargeCommunity `toml:"large_communities" json:"large_communities,omitempty"`
	// Prepend adds the member's own ASN this many extra times.
	Prepend int `toml:"prepend" json:"prepend,omitempty"`
	// MED sets the MULTI_EXIT_DISC attribute on the announcement.
	MED *uint32 `toml:"med" json:"med,omitempty"`
	// ASPath is a fake path after the member's own ASN (for leak and
	// hijack scenarios): the route is received as
	// member-ASN × (1+Prepend), then ASPath. Not supported by openbgpd.
	ASPath []uint32 `toml:"as_path" json:"as_path,omitempty"`
	// OTC sets the Only-To-Customer attribute (RFC 9234) on the
	// announcement, to play a route leak. bird and exabgp only; a bird
	// member must then have role = "none" (with a role, BIRD itself refuses
	// to send an OTC route to a route server).
	OTC uint32 `toml:"otc" json:"otc,omitempty"`
	// Register says whether the prefix goes in the member's fedrs prefix
	// registry. Default: true when ASPath is empty (the member originates
	// it), false otherwise. Set false for a hijack.
	Register *bool `toml:"register" json:"register,omitempty"`
}

// Family is "ipv4" or "ipv6".
func (p Prefix) Family() string { return familyOf(p.Prefix.Addr()) }

// WireASPath is the AS_PATH the route server receives for this
// announcement from member asn: asn × (1+Prepend), then ASPath.
func (p Prefix) WireASPath(asn uint32) []uint32 {
	out := make([]uint32, 0, 1+p.Prepend+len(p.ASPath))
	for i := 0; i <= p.Prepend; i++ {
		out = append(out, asn)
	}
	return append(out, p.ASPath...)
}

// Registered reports whether the prefix belongs in the member's registry.
func (p Prefix) Registered() bool {
	if p.Register != nil {
		return *p.Register
	}
	return len(p.ASPath) == 0
}

// HasFamily reports whether the member opens a session of family f.
func (m *Member) HasFamily(f string) bool { return slices.Contains(m.Families, f) }

// Member returns the member called name, or nil.
func (t *Topology) Member(name string) *Member {
	for i := range t.Members {
		if t.Members[i].Name == name {
			return &t.Members[i]
		}
	}
	return nil
}

// ReadTopology reads and validates a topology file.
func ReadTopology(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return ParseTopology(b, path)
}

// ParseTopology decodes and validates a topology; file names it in errors
// and supplies the default lab name.
func ParseTopology(data []byte, file string) (*Topology, error) {
	var t Topology
	md, err := toml.Decode(string(data), &t)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("topology %s:%d: %s", file, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("topology %s: %w", file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("topology %s: unknown keys: %s", file, strings.Join(keys, ", "))
	}
	if err := t.finish(file); err != nil {
		return nil, err
	}
	return &t, nil
}

// finish sets the file, the default name, and normalises.
func (t *Topology) finish(file string) error {
	t.File = file
	if t.Name == "" && file != "" {
		base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Name = strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToLower(base))
	}
	if err := t.Normalize(); err != nil {
		if file != "" {
			return fmt.Errorf("topology %s: %w", file, err)
		}
		return err
	}
	return nil
}

var (
	labNameRE    = regexp.MustCompile(`^[a-z0-9_]{1,16}$`)
	memberNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,23}$`)
	passwordRE   = regexp.MustCompile(`^[A-Za-z0-9._~+=@%^,:!#-]{1,80}$`)
	fileNameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// Normalize fills defaults (kind, LANs, addresses, router IDs, families,
// roles) and validates the topology. It is idempotent.
func (t *Topology) Normalize() error {
	if !labNameRE.MatchString(t.Name) {
		return fmt.Errorf("name %q: want 1-16 lower-case letters, digits or '_' (it prefixes namespace names)", t.Name)
	}
	if !t.LANv4.IsValid() {
		t.LANv4 = DefaultLANv4
	}
	if !t.LANv6.IsValid() {
		t.LANv6 = DefaultLANv6
	}
	t.LANv4, t.LANv6 = t.LANv4.Masked(), t.LANv6.Masked()
	if !t.LANv4.Addr().Is4() || t.LANv4.Bits() > 28 {
		return fmt.Errorf("lan_v4 %s: want an IPv4 prefix of /28 or shorter", t.LANv4)
	}
	if !t.LANv6.Addr().Is6() || t.LANv6.Addr().Is4In6() || t.LANv6.Bits() > 120 {
		return fmt.Errorf("lan_v6 %s: want an IPv6 prefix of /120 or shorter", t.LANv6)
	}

	rs := &t.RouteServer
	if rs.Kind == "" {
		rs.Kind = KindFedrs
	}
	if !slices.Contains(RouteServerKinds, rs.Kind) {
		return fmt.Errorf("route_server.kind %q: want one of %s", rs.Kind, strings.Join(RouteServerKinds, ", "))
	}
	if rs.ASN == 0 {
		return errors.New("route_server.asn is required")
	}
	if rs.SingleTable && rs.Kind != KindBIRD {
		return fmt.Errorf("route_server.single_table applies to kind bird only, not %s", rs.Kind)
	}
	if rs.FedrsExtra != "" && rs.Kind != KindFedrs {
		return fmt.Errorf("route_server.fedrs_extra applies to kind fedrs only, not %s", rs.Kind)
	}
	for name := range rs.Files {
		if !fileNameRE.MatchString(name) || name == "." || name == ".." {
			return fmt.Errorf("route_server.files: %q: want a plain file name (letters, digits, '.', '_', '-')", name)
		}
	}
	var err error
	if rs.IPv4, err = t.defaultAddr(rs.IPv4, t.LANv4, rsHostOffset, "route_server.ipv4"); err != nil {
		return err
	}
	if rs.IPv6, err = t.defaultAddr(rs.IPv6, t.LANv6, rsHostOffset, "route_server.ipv6"); err != nil {
		return err
	}
	if !rs.RouterID.IsValid() {
		rs.RouterID = rs.IPv4
	}
	if !rs.RouterID.Is4() {
		return fmt.Errorf("route_server.router_id %s: want an IPv4 address", rs.RouterID)
	}

	if len(t.Members) == 0 {
		return errors.New("no [[member]]: a lab needs at least one member")
	}
	used := map[netip.Addr]string{rs.IPv4: "the route server", rs.IPv6: "the route server"}
	names := map[string]bool{}
	for i := range t.Members {
		m := &t.Members[i]
		where := fmt.Sprintf("member %d", i+1)
		if m.Name != "" {
			where = fmt.Sprintf("member %q", m.Name)
		}
		if err := t.normalizeMember(m, i, used); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if names[m.Name] {
			return fmt.Errorf("%s: name used twice", where)
		}
		names[m.Name] = true
	}
	for _, m := range t.Members {
		for _, other := range m.TransitFor {
			if !names[other] || other == m.Name {
				return fmt.Errorf("member %q: transit_for: %q is not another member of the topology", m.Name, other)
			}
		}
	}
	return nil
}

func (t *Topology) normalizeMember(m *Member, idx int, used map[netip.Addr]string) error {
	if !memberNameRE.MatchString(m.Name) {
		return fmt.Errorf("name %q: want 1-24 lower-case letters, digits or '-', starting with a letter or digit", m.Name)
	}
	if m.Name == rsNode || m.Name == lanNode {
		return fmt.Errorf("name %q is reserved", m.Name)
	}
	if !slices.Contains(MemberKinds, m.Daemon) {
		return fmt.Errorf("daemon %q: want one of %s", m.Daemon, strings.Join(MemberKinds, ", "))
	}
	if m.ASN == 0 {
		return errors.New("asn is required")
	}
	if m.ASN == t.RouteServer.ASN {
		return fmt.Errorf("asn %d is the route server's ASN", m.ASN)
	}
	if len(m.Families) == 0 {
		m.Families = []string{FamilyIPv4, FamilyIPv6}
	}
	for _, f := range m.Families {
		if f != FamilyIPv4 && f != FamilyIPv6 {
			return fmt.Errorf("families: %q is not ipv4 or ipv6", f)
		}
	}
	var err error
	if m.IPv4, err = t.defaultAddr(m.IPv4, t.LANv4, memberHostOffset+idx, "ipv4"); err != nil {
		return err
	}
	if m.IPv6, err = t.defaultAddr(m.IPv6, t.LANv6, memberHostOffset+idx, "ipv6"); err != nil {
		return err
	}
	for _, a := range []netip.Addr{m.IPv4, m.IPv6} {
		if other, ok := used[a]; ok && other != m.Name {
			return fmt.Errorf("address %s is already used by %s", a, other)
		}
		used[a] = m.Name
	}
	if !m.RouterID.IsValid() {
		m.RouterID = m.IPv4
	}
	if !m.RouterID.Is4() {
		return fmt.Errorf("router_id %s: want an IPv4 address", m.RouterID)
	}
	if m.MD5Password != "" && !passwordRE.MatchString(m.MD5Password) {
		return errors.New("md5_password: use 1-80 characters from letters, digits and ._~+=@%^,:!#- (every daemon's config syntax must carry it unquoted)")
	}
	if m.GTSM && m.Daemon == KindExaBGP {
		return errors.New("gtsm: the lab cannot configure it on exabgp members; use bird, frr, openbgpd or gobgp")
	}
	if m.RSMD5Password != "" && !passwordRE.MatchString(m.RSMD5Password) {
		return errors.New("rs_md5_password: use 1-80 characters from letters, digits and ._~+=@%^,:!#- (every daemon's config syntax must carry it unquoted)")
	}
	caps := kindCaps[m.Daemon]
	switch m.Role {
	case "":
		if caps.role {
			m.Role = RoleRSClient
		} else {
			m.Role = RoleNone
		}
	case RoleNone:
	case RoleRSClient, RoleRS, RoleProvider, RoleCustomer, RolePeer:
		if !caps.role {
			return fmt.Errorf("role %q: %s does not support the BGP role capability (RFC 9234); use role = \"none\" or another daemon", m.Role, m.Daemon)
		}
	default:
		return fmt.Errorf("role %q: want rs-client, none, rs, provider, customer or peer", m.Role)
	}
	if m.RoleStrict && m.Role == RoleNone {
		return errors.New("role_strict needs a role")
	}
	if t.RouteServer.Kind != KindFedrs {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"groups", len(m.Groups) > 0}, {"blackhole_receive", m.BlackholeReceive},
			{"transit_for", len(m.TransitFor) > 0}, {"fedrs_extra", m.FedrsExtra != ""},
		} {
			if f.set {
				return fmt.Errorf("%s applies to a fedrs route server only, not %s", f.key, t.RouteServer.Kind)
			}
		}
	}
	for _, p := range m.Prefixes {
		m.Announce = append(m.Announce, Prefix{Prefix: p})
	}
	m.Prefixes = nil
	seen := map[netip.Prefix]bool{}
	for i := range m.Announce {
		p := &m.Announce[i]
		if !p.Prefix.IsValid() {
			return fmt.Errorf("prefix %d: missing or invalid prefix", i+1)
		}
		if p.Prefix != p.Prefix.Masked() {
			return fmt.Errorf("prefix %s has host bits set (did you mean %s?)", p.Prefix, p.Prefix.Masked())
		}
		if seen[p.Prefix] {
			return fmt.Errorf("prefix %s announced twice", p.Prefix)
		}
		seen[p.Prefix] = true
		if !m.HasFamily(p.Family()) {
			return fmt.Errorf("prefix %s: the member has no %s session (families)", p.Prefix, p.Family())
		}
		if p.Prepend < 0 || p.Prepend > 10 {
			return fmt.Errorf("prefix %s: prepend %d: want 0-10", p.Prefix, p.Prepend)
		}
		if len(p.ASPath) > 0 && !caps.fakePath {
			return fmt.Errorf("prefix %s: %s cannot originate a route with an arbitrary as_path (only prepend); use bird, frr, gobgp or exabgp for this member", p.Prefix, m.Daemon)
		}
		if p.OTC != 0 {
			if m.Daemon != KindBIRD && m.Daemon != KindExaBGP {
				return fmt.Errorf("prefix %s: otc: only bird and exabgp members can originate a route with OTC", p.Prefix)
			}
			if m.Daemon == KindBIRD && m.Role != RoleNone {
				return fmt.Errorf("prefix %s: otc on a bird member needs role = \"none\" (with a role BIRD will not send an OTC route to a route server)", p.Prefix)
			}
		}
		for _, a := range p.ASPath {
			if a == 0 {
				return fmt.Errorf("prefix %s: as_path contains AS 0", p.Prefix)
			}
		}
	}
	return nil
}

// defaultAddr returns a, checked to lie in lan, or the LAN's host number
// host when a is unset. IPv6 hosts reuse the decimal digits of the number
// (host 11 is ::11) so that v4 and v6 addresses read alike.
func (t *Topology) defaultAddr(a netip.Addr, lan netip.Prefix, host int, field string) (netip.Addr, error) {
	if a.IsValid() {
		if !lan.Contains(a) {
			return a, fmt.Errorf("%s %s is not in the peering LAN %s", field, a, lan)
		}
		return a, nil
	}
	n := uint64(host)
	if lan.Addr().Is6() {
		n, _ = strconv.ParseUint(strconv.Itoa(host), 16, 64)
	}
	hostBits := lan.Addr().BitLen() - lan.Bits()
	if hostBits < 64 && n >= (uint64(1)<<hostBits)-1 {
		return a, fmt.Errorf("%s: the peering LAN %s is too small for host %d; set lan_v4/lan_v6 to a larger prefix", field, lan, host)
	}
	b := lan.Addr().AsSlice()
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		s := uint64(b[i]) + n&0xff
		b[i] = byte(s)
		n = n>>8 + s>>8
	}
	out, _ := netip.AddrFromSlice(b)
	return out, nil
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}
