package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// fedrs as the route server: "fedrs run -c fedrs.toml" in the route
// server's namespace, with fedrs.toml generated from the topology (see
// FedrsConfig). The lab reads fedrs's own view — sessions, the routes it
// received with their verdicts and filter reasons, what it exports — with
// the fedrs binary's looking-glass client over the control socket in the
// route server's directory ("fedrs lg --socket DIR/fedrs.sock ... --json").
// Unix sockets are files, so the client runs on the host.
type fedrsDaemon struct{}

// fedrsSocket is the control socket's file name in the route server's
// directory.
const fedrsSocket = "fedrs.sock"

func (fedrsDaemon) binaries() []string { return nil }

// cli is the looking glass's summary command; the other "fedrs lg"
// commands take the same --socket.
func (fedrsDaemon) cli(n *node) []string {
	if n.opts == nil || n.opts.FedrsBinary == "" {
		return nil
	}
	return []string{n.opts.FedrsBinary, "lg", "summary", "--socket", n.path(fedrsSocket)}
}

func (fedrsDaemon) configure(n *node) error {
	if !n.IsRS {
		return errors.New("fedrs can only be the route server")
	}
	b, err := FedrsConfig(n.topo, n.Dir)
	if err != nil {
		return err
	}
	return n.writeFile("fedrs.toml", b, 0o644)
}

func (fedrsDaemon) processes(n *node) ([]procSpec, error) {
	if n.opts == nil || n.opts.FedrsBinary == "" {
		return nil, errors.New("route_server.kind is fedrs but no fedrs binary was given")
	}
	return []procSpec{{Name: "fedrs", Argv: []string{n.opts.FedrsBinary, "run", "-c", n.path("fedrs.toml")}}}, nil
}

func (fedrsDaemon) started(context.Context, *node) error { return nil }

// errNoLG says the fedrs binary has no looking-glass client.
func errNoLG(bin string) error {
	return fmt.Errorf("%w: %s has no \"lg\" command (the control API client), so the lab cannot read the route server's own view; use a fedrs build that has it", ErrNotSupported, bin)
}

// fedrsLG runs "fedrs lg SUBCOMMAND --socket SOCK ARGS..." and returns
// its stdout.
func fedrsLG(ctx context.Context, n *node, sub string, args ...string) ([]byte, error) {
	if n.opts == nil || n.opts.FedrsBinary == "" {
		return nil, fmt.Errorf("%w: no fedrs binary known for this lab", ErrNotSupported)
	}
	bin := n.opts.FedrsBinary
	argv := append([]string{bin, "lg", sub, "--socket", n.path(fedrsSocket)}, args...)
	out, err := runTool(ctx, argv...)
	if err != nil {
		if strings.Contains(err.Error(), "No help topic for 'lg'") || strings.Contains(string(out), "No help topic for 'lg'") {
			return nil, errNoLG(bin)
		}
		return nil, err
	}
	return out, nil
}

// FedrsNeighbor is one session as "fedrs lg neighbors --json" reports it.
type FedrsNeighbor struct {
	Member   string `json:"member"`
	Neighbor string `json:"neighbor"`
	State    string `json:"state"`
	ASN      uint32 `json:"asn"`
	Received int    `json:"received"`
	Accepted int    `json:"accepted"`
	Filtered int    `json:"filtered"`
	Exported int    `json:"exported"`
	// LastError and the last NOTIFICATIONs sent and received, when fedrs
	// reports them.
	LastError        string `json:"last_error,omitempty"`
	LastNotification string `json:"last_notification_sent,omitempty"`
}

// FedrsReason is a filter or tag reason of a route in fedrs.
type FedrsReason struct {
	Name string `json:"name"`
	Code int    `json:"code"`
	Text string `json:"text"`
}

// FedrsRoute is a route as "fedrs lg routes MEMBER --json" reports it.
type FedrsRoute struct {
	Prefix           string        `json:"prefix"`
	Member           string        `json:"member"`
	Neighbor         string        `json:"neighbor"`
	ASPath           []uint32      `json:"as_path"`
	NextHop          string        `json:"next_hop"`
	Communities      []string      `json:"communities"`
	LargeCommunities []string      `json:"large_communities"`
	Accepted         bool          `json:"accepted"`
	FilteredReasons  []FedrsReason `json:"filtered_reasons"`
	TaggedReasons    []FedrsReason `json:"tagged_reasons"`
	RPKI             string        `json:"rpki"`
	OTC              uint32        `json:"otc,omitempty"`
	MED              *uint32       `json:"med,omitempty"`
	// ExportedTo is "lg route"'s list of the members the route is
	// exported to.
	ExportedTo []string `json:"exported_to,omitempty"`
}

// HasReason reports whether the route was filtered with the reason named
// name (or with that numeric code).
func (r FedrsRoute) HasReason(name string) bool {
	for _, x := range r.FilteredReasons {
		if x.Name == name || fmt.Sprint(x.Code) == name {
			return true
		}
	}
	return false
}

// ReasonNames lists the route's filter reasons.
func (r FedrsRoute) ReasonNames() []string {
	var out []string
	for _, x := range r.FilteredReasons {
		out = append(out, x.Name)
	}
	return out
}

// Route converts the route to the lab's common form; Verdict says
// whether fedrs accepted it and why not.
func (r FedrsRoute) Route() Route {
	out := Route{ASPath: r.ASPath, OTC: r.OTC, MED: r.MED}
	out.Prefix, _ = netip.ParsePrefix(r.Prefix)
	out.NextHop, _ = netip.ParseAddr(r.NextHop)
	out.From = parseAddrMaybePort(r.Neighbor)
	for _, c := range r.Communities {
		if v, err := ParseCommunity(c); err == nil {
			out.Communities = append(out.Communities, v)
		}
	}
	for _, c := range r.LargeCommunities {
		if v, err := ParseLargeCommunity(c); err == nil {
			out.LargeCommunities = append(out.LargeCommunities, v)
		}
	}
	out.Verdict = "accepted"
	if !r.Accepted {
		out.Verdict = "filtered: " + strings.Join(r.ReasonNames(), " ")
	}
	return out
}

func parseAddrMaybePort(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func (fedrsDaemon) sessions(ctx context.Context, n *node) ([]Session, error) {
	nbs, err := fedrsNeighbors(ctx, n)
	if err != nil {
		return nil, err
	}
	var res []Session
	for _, nb := range nbs {
		a := parseAddrMaybePort(nb.Neighbor)
		if !a.IsValid() {
			continue
		}
		res = append(res, Session{Peer: a, PeerASN: nb.ASN, State: nb.State, Established: nb.State == "Established",
			Info: fmt.Sprintf("member %s: received %d, accepted %d, filtered %d, exported %d", nb.Member, nb.Received, nb.Accepted, nb.Filtered, nb.Exported)})
	}
	return res, nil
}

func fedrsNeighbors(ctx context.Context, n *node) ([]FedrsNeighbor, error) {
	out, err := fedrsLG(ctx, n, "neighbors", "--json")
	if err != nil {
		return nil, err
	}
	var nbs []FedrsNeighbor
	if err := json.Unmarshal(out, &nbs); err != nil {
		return nil, fmt.Errorf("decode fedrs lg neighbors --json: %w", err)
	}
	return nbs, nil
}

// fedrsRoutes runs "fedrs lg routes --VIEW --json MEMBER".
func fedrsRoutes(ctx context.Context, n *node, member, view string) ([]FedrsRoute, error) {
	out, err := fedrsLG(ctx, n, "routes", "--"+view, "--json", "--limit", "100000", member)
	if err != nil {
		return nil, err
	}
	var v struct {
		Total  int          `json:"total"`
		Routes []FedrsRoute `json:"routes"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("decode fedrs lg routes --%s --json %s: %w", view, member, err)
	}
	return v.Routes, nil
}

// routes lists every route fedrs received, from every member, with its
// verdict.
func (fedrsDaemon) routes(ctx context.Context, n *node) ([]Route, error) {
	var res []Route
	for _, m := range n.topo.Members {
		rs, err := fedrsRoutes(ctx, n, m.Name, "received")
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			res = append(res, r.Route())
		}
	}
	return res, nil
}

// FedrsRoutes reads the route server's view of a member's routes: view is
// "received" (everything the member sent, with verdicts), "accepted",
// "filtered", or "exported" (what the member is sent). The route server
// must be fedrs.
func (l *Lab) FedrsRoutes(ctx context.Context, member, view string) ([]FedrsRoute, error) {
	n := l.node(rsNode)
	if n == nil || n.Kind != KindFedrs {
		return nil, fmt.Errorf("lab %s: the route server is not fedrs: %w", l.Name(), ErrNotSupported)
	}
	if l.Topology.Member(member) == nil {
		return nil, fmt.Errorf("lab %s has no member %q", l.Name(), member)
	}
	switch view {
	case "received", "accepted", "filtered", "exported":
	default:
		return nil, fmt.Errorf("route view %q: want received, accepted, filtered or exported", view)
	}
	return fedrsRoutes(ctx, n, member, view)
}

// FedrsNeighbors reads the route server's sessions as fedrs reports them.
func (l *Lab) FedrsNeighbors(ctx context.Context) ([]FedrsNeighbor, error) {
	n := l.node(rsNode)
	if n == nil || n.Kind != KindFedrs {
		return nil, fmt.Errorf("lab %s: the route server is not fedrs: %w", l.Name(), ErrNotSupported)
	}
	return fedrsNeighbors(ctx, n)
}

// FedrsLG runs the fedrs looking glass against the lab's route server:
// args are the lg command and its arguments ("explain", "trust-a",
// "10.1.0.0/16"); the lab adds --socket after the command.
func (l *Lab) FedrsLG(ctx context.Context, args ...string) ([]byte, error) {
	n := l.node(rsNode)
	if n == nil || n.Kind != KindFedrs {
		return nil, fmt.Errorf("lab %s: the route server is not fedrs: %w", l.Name(), ErrNotSupported)
	}
	if len(args) == 0 {
		return nil, errors.New("fedrs lg: no command given")
	}
	return fedrsLG(ctx, n, args[0], args[1:]...)
}

// FedrsConfig returns the fedrs.toml that runs the topology's route
// server: [server] with the route server's ASN, router ID, listen
// addresses, and control socket and history database in dir; one
// [[member]] per member with its ASN, LAN addresses as neighbors, the
// route server's addresses as local addresses, families, groups, MD5
// password and prefix registry (the announcements that register, see
// Prefix.Register, plus Member.Registered). RouteServer.FedrsExtra is
// appended. Keys are those of the conf package's toml tags.
func FedrsConfig(t *Topology, dir string) ([]byte, error) {
	if err := t.Normalize(); err != nil {
		return nil, err
	}
	rs := t.RouteServer
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs.toml generated by fedrs lab for lab %q.\n\n", t.Name)
	b.WriteString("[server]\n")
	fmt.Fprintf(&b, "asn = %d\n", rs.ASN)
	fmt.Fprintf(&b, "router_id = %s\n", tomlString(rs.RouterID.String()))
	fmt.Fprintf(&b, "listen = [%s, %s]\n", tomlString(rs.IPv4.String()+":179"), tomlString("["+rs.IPv6.String()+"]:179"))
	fmt.Fprintf(&b, "control = %s\n", tomlString(filepath.Join(dir, fedrsSocket)))
	fmt.Fprintf(&b, "history = %s\n", tomlString(filepath.Join(dir, "history.db")))
	b.WriteString("log_level = \"debug\"\n")
	b.WriteString("connect_retry = \"5s\"\n")
	for _, m := range t.Members {
		b.WriteString("\n[[member]]\n")
		fmt.Fprintf(&b, "name = %s\n", tomlString(m.Name))
		fmt.Fprintf(&b, "description = %s\n", tomlString(m.Daemon+" in lab "+t.Name))
		fmt.Fprintf(&b, "asn = %d\n", m.ASN)
		var nbs, fams []string
		for _, f := range []string{FamilyIPv4, FamilyIPv6} {
			if !m.HasFamily(f) {
				continue
			}
			fams = append(fams, tomlString(f))
			if f == FamilyIPv4 {
				nbs = append(nbs, tomlString(m.IPv4.String()))
			} else {
				nbs = append(nbs, tomlString(m.IPv6.String()))
			}
		}
		fmt.Fprintf(&b, "neighbors = [%s]\n", strings.Join(nbs, ", "))
		fmt.Fprintf(&b, "families = [%s]\n", strings.Join(fams, ", "))
		if m.HasFamily(FamilyIPv4) {
			fmt.Fprintf(&b, "local_address_v4 = %s\n", tomlString(rs.IPv4.String()))
		}
		if m.HasFamily(FamilyIPv6) {
			fmt.Fprintf(&b, "local_address_v6 = %s\n", tomlString(rs.IPv6.String()))
		}
		if len(m.Groups) > 0 {
			fmt.Fprintf(&b, "groups = [%s]\n", tomlStrings(m.Groups))
		}
		var reg []string
		for _, p := range m.Announce {
			if p.Registered() {
				reg = append(reg, p.Prefix.String())
			}
		}
		reg = append(reg, m.Registered...)
		fmt.Fprintf(&b, "prefixes = [%s]\n", tomlStrings(reg))
		if len(m.TransitFor) > 0 {
			fmt.Fprintf(&b, "transit_for = [%s]\n", tomlStrings(m.TransitFor))
		}
		if m.BlackholeReceive {
			b.WriteString("blackhole_receive = true\n")
		}
		if m.GTSM {
			b.WriteString("gtsm = true\n")
		}
		md5 := m.MD5Password
		if m.RSMD5Password != "" {
			md5 = m.RSMD5Password
		}
		if md5 != "" {
			fmt.Fprintf(&b, "md5_password = %s\n", tomlString(md5))
		}
		if extra := strings.TrimSpace(m.FedrsExtra); extra != "" {
			fmt.Fprintf(&b, "# member %s's fedrs_extra from the topology:\n%s\n", m.Name, extra)
		}
	}
	if extra := strings.TrimSpace(rs.FedrsExtra); extra != "" {
		b.WriteString("\n# route_server.fedrs_extra from the topology:\n")
		b.WriteString(extra)
		b.WriteString("\n")
	}
	var check map[string]any
	if _, err := toml.Decode(b.String(), &check); err != nil {
		return nil, fmt.Errorf("generated fedrs.toml is not valid TOML (check route_server.fedrs_extra): %w", err)
	}
	return []byte(b.String()), nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = tomlString(s)
	}
	return strings.Join(q, ", ")
}
