package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/lab"
)

// The contenders, in the order a run takes them by default.
const (
	Fedrs      = "fedrs"
	BIRD       = "bird"
	BIRDSingle = "bird-single"
	OpenBGPD   = "openbgpd"
	GoBGP      = "gobgp"
)

// AllContenders lists every contender.
var AllContenders = []string{Fedrs, BIRD, BIRDSingle, OpenBGPD, GoBGP}

// Env is what a contender's configuration and process need for one run.
type Env struct {
	Table *Table
	// Dir receives the configuration files and the log.
	Dir string
	// SockDir holds control sockets (a short path: unix socket names are
	// limited to 107 octets).
	SockDir string
	// Listen are the route server's addresses; Port its BGP port.
	Listen [2]netip.Addr
	Port   int
	// RTR is the RTR server with the VRPs (gobgpd reads them from it).
	RTR netip.AddrPort
	// Role: the route server announces role RS and the members RS-Client.
	Role bool
	// History turns on fedrs's SQLite history; HistoryDurable also sets
	// [history] durable.
	History, HistoryDurable bool
	// FedrsBinary is the fedrs executable.
	FedrsBinary string
}

// families returns the families the table has prefixes in.
func (e *Env) families() []Family {
	var out []Family
	for _, f := range []Family{IPv4, IPv6} {
		if e.Table.PerMember(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// contender is one route server implementation under test.
type contender struct {
	name string
	// what says what runs, for the report: "BIRD 2, a table per member".
	what     string
	binaries []string
	version  func(e *Env) string
	// configure writes the configuration into e.Dir.
	configure func(e *Env) error
	argv      func(e *Env) []string
	// ready reports, once the process listens, whether it has its VRPs.
	ready func(ctx context.Context, e *Env) (bool, string)
}

func contenderByName(name string) (*contender, error) {
	switch name {
	case Fedrs:
		return &contender{name: Fedrs, what: "fedrs", version: fedrsVersion, configure: fedrsConfigure,
			argv: func(e *Env) []string {
				return []string{e.FedrsBinary, "run", "-c", filepath.Join(e.Dir, "fedrs.toml")}
			}, ready: fedrsReady}, nil
	case BIRD, BIRDSingle:
		single := name == BIRDSingle
		what := "BIRD 2, a table per member (path-hiding safe)"
		if single {
			what = "BIRD 2, one table (not path-hiding safe)"
		}
		return &contender{name: name, what: what, binaries: []string{"bird"}, version: birdVersion,
			configure: func(e *Env) error { return birdConfigure(e, single) },
			argv: func(e *Env) []string {
				return []string{"bird", "-f", "-c", filepath.Join(e.Dir, "bird.conf"), "-s", filepath.Join(e.SockDir, "bird.ctl"),
					"-P", filepath.Join(e.Dir, "bird.pid")}
			}}, nil
	case OpenBGPD:
		return &contender{name: name, what: "OpenBGPD, route-server mode (rde evaluate all)", binaries: []string{"bgpd"},
			version: openbgpdVersion, configure: openbgpdConfigure,
			argv: func(e *Env) []string { return []string{"bgpd", "-d", "-f", filepath.Join(e.Dir, "bgpd.conf")} }}, nil
	case GoBGP:
		return &contender{name: name, what: "gobgpd, route-server clients", binaries: []string{"gobgpd", "gobgp"},
			version: gobgpVersion, configure: gobgpConfigure,
			argv: func(e *Env) []string {
				return []string{"gobgpd", "-f", filepath.Join(e.Dir, "gobgpd.toml"), "-t", "toml", "-l", "warn",
					"--api-hosts", "unix://" + filepath.Join(e.SockDir, "gobgp.sock"), "--pprof-disable"}
			}, ready: gobgpReady}, nil
	}
	return nil, fmt.Errorf("unknown contender %q (known: %s)", name, strings.Join(AllContenders, ", "))
}

// missing says which binaries of the contender are not installed, with
// the Debian package that has them; "" when none.
func (c *contender) missing(e *Env) string {
	var why []string
	bins := c.binaries
	if c.name == Fedrs {
		if e.FedrsBinary == "" {
			return "no fedrs binary given"
		}
		bins = []string{e.FedrsBinary}
	}
	for _, b := range bins {
		if _, err := lab.FindBinary(b); err != nil {
			p := lab.DebianPackage(b)
			if p == "" {
				p = b
			}
			why = append(why, fmt.Sprintf("%s (Debian package %s)", b, p))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "missing " + strings.Join(why, ", ")
}

func firstLine(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path, err := lab.FindBinary(argv[0])
	if err != nil {
		return ""
	}
	out, _ := exec.CommandContext(ctx, path, argv[1:]...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

func fedrsVersion(e *Env) string  { return firstLine(e.FedrsBinary, "version") }
func birdVersion(*Env) string     { return firstLine("bird", "--version") }
func openbgpdVersion(*Env) string { return firstLine("bgpd", "-V") }
func gobgpVersion(*Env) string    { return firstLine("gobgpd", "--version") }

// writeFile writes a generated file into the run directory.
func writeFile(e *Env, name, content string) error {
	return os.WriteFile(filepath.Join(e.Dir, name), []byte(content), 0o644)
}

// memberPrefixes writes member m's prefix list in family f — its
// prefixes and its next-hop probe — each followed by end, the last by
// last.
func memberPrefixes(b *strings.Builder, t *Table, f Family, m int, end, last string) {
	mf := &t.Members[m].Fam[f]
	for idx := mf.First; idx < mf.First+mf.Count; idx++ {
		b.WriteString(t.Prefix(f, idx).String())
		b.WriteString(end)
	}
	b.WriteString(Probe(f, m, ProbeNextHop).String())
	b.WriteString(last)
}

// WriteVRPs writes the table's VRPs as rpki-client JSON, the file fedrs
// loads and the RTR server serves.
func WriteVRPs(t *Table, path string) error {
	var b strings.Builder
	b.WriteString("{\"roas\":[\n")
	for i, v := range t.VRPs {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"prefix":%q,"maxLength":%d,"asn":%d}`, v.Prefix.String(), v.MaxLen, v.ASN)
	}
	b.WriteString("\n]}\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// FedrsConfig returns fedrs.toml for the run: [server] listening on the
// route server's addresses, the VRP file vrps.json (no registry
// assertions), and per member its neighbours (passive), families, the
// transit and origin ASes of its paths as origin_asns, and its prefix list
// file MEMBER.prefixes (written by fedrsConfigure).
func FedrsConfig(e *Env) string {
	t := e.Table
	var b strings.Builder
	b.WriteString("# fedrs lab bench: fedrs as the route server\n[server]\n")
	fmt.Fprintf(&b, "asn = %d\nrouter_id = %q\n", RSASN, e.Listen[IPv4].String())
	var listen []string
	for _, f := range e.families() {
		listen = append(listen, strconv.Quote(netip.AddrPortFrom(e.Listen[f], uint16(e.Port)).String()))
	}
	fmt.Fprintf(&b, "listen = [%s]\n", strings.Join(listen, ", "))
	fmt.Fprintf(&b, "control = %q\n", filepath.Join(e.SockDir, "fedrs.sock"))
	if e.History {
		fmt.Fprintf(&b, "history = %q\n", filepath.Join(e.Dir, "history.db"))
	}
	b.WriteString("log_level = \"info\"\nhold_time = \"180s\"\n\n")
	fmt.Fprintf(&b, "[rpki]\nfiles = [%q]\nregistry = false\n", filepath.Join(e.Dir, "vrps.json"))
	if e.History && e.HistoryDurable {
		b.WriteString("\n[history]\ndurable = true\n")
	}
	for i := range t.Members {
		m := &t.Members[i]
		fmt.Fprintf(&b, "\n[[member]]\nname = %q\nasn = %d\npassive = true\n", m.Name, m.ASN)
		var nbs, fams []string
		for _, f := range e.families() {
			nbs = append(nbs, strconv.Quote(m.Addr[f].String()))
			fams = append(fams, strconv.Quote(f.String()))
		}
		fmt.Fprintf(&b, "neighbors = [%s]\nfamilies = [%s]\n", strings.Join(nbs, ", "), strings.Join(fams, ", "))
		fmt.Fprintf(&b, "origin_asns = [%d, \"%d-%d\"]\n", m.ASN, MinPathASN, MaxPathASN-1)
		fmt.Fprintf(&b, "prefix_list_file = %q\n", m.Name+".prefixes")
	}
	return b.String()
}

func fedrsConfigure(e *Env) error {
	t := e.Table
	for i := range t.Members {
		var b strings.Builder
		for _, f := range e.families() {
			memberPrefixes(&b, t, f, i, "\n", "\n")
		}
		if err := writeFile(e, t.Members[i].Name+".prefixes", b.String()); err != nil {
			return err
		}
	}
	if err := WriteVRPs(t, filepath.Join(e.Dir, "vrps.json")); err != nil {
		return err
	}
	return writeFile(e, "fedrs.toml", FedrsConfig(e))
}

// fedrsReady asks the control API whether every VRP is loaded.
func fedrsReady(ctx context.Context, e *Env) (bool, string) {
	sock := filepath.Join(e.SockDir, "fedrs.sock")
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://fedrs/v1/status", nil)
	resp, err := c.Do(req)
	if err != nil {
		return false, "control API: " + err.Error()
	}
	defer resp.Body.Close()
	var st struct {
		RPKI *struct {
			VRPs int `json:"vrps"`
		} `json:"rpki"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return false, "control API: " + err.Error()
	}
	if st.RPKI == nil || st.RPKI.VRPs < len(e.Table.VRPs) {
		n := 0
		if st.RPKI != nil {
			n = st.RPKI.VRPs
		}
		return false, fmt.Sprintf("%d of %d VRPs loaded", n, len(e.Table.VRPs))
	}
	return true, ""
}

// birdConfigure writes bird.conf: static ROA tables, a prefix set and an
// import filter per member and family (first AS, next hop, prefix list,
// ROV), "rs client" sessions; a table per member joined to the master
// table by pipes, or, single, every session on the master tables.
func birdConfigure(e *Env, single bool) error {
	t := e.Table
	var b strings.Builder
	kind := "a table per member"
	if single {
		kind = "one table"
	}
	fmt.Fprintf(&b, "# fedrs lab bench: BIRD 2 as the route server, %s\n", kind)
	fmt.Fprintf(&b, "router id %s;\nlog stderr all;\nprotocol device {}\n\n", e.Listen[IPv4])
	for _, f := range e.families() {
		v := f.String()[2:] // "v4"
		fmt.Fprintf(&b, "roa%s table rpki%s;\nprotocol static roas%s {\n\troa%s { table rpki%s; };\n", v[1:], v[1:], v[1:], v[1:], v[1:])
		for _, r := range t.VRPs {
			if r.Prefix.Addr().Is4() == (f == IPv4) {
				fmt.Fprintf(&b, "\troute %s max %d as %d;\n", r.Prefix, r.MaxLen, r.ASN)
			}
		}
		b.WriteString("}\n\n")
	}
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			v := f.String()[2:]
			id := fmt.Sprintf("%s_%s", m.Name, v)
			fmt.Fprintf(&b, "define PFX_%s = [\n", id)
			memberPrefixes(&b, t, f, i, ",\n", "\n];\n")
			fmt.Fprintf(&b, "filter import_%s {\n\tif bgp_path.first != %d then reject;\n\tif bgp_next_hop != %s then reject;\n"+
				"\tif net !~ PFX_%s then reject;\n\tif roa_check(rpki%s, net, bgp_path.last) = ROA_INVALID then reject;\n\taccept;\n}\n",
				id, m.ASN, m.Addr[f], id, v[1:])
			table := "master" + v[1:]
			if !single {
				table = "t_" + id
				fmt.Fprintf(&b, "ip%s table %s;\nprotocol pipe p_%s {\n\ttable master%s;\n\tpeer table %s;\n\timport all;\n\texport all;\n}\n",
					v, table, id, v[1:], table)
			}
			fmt.Fprintf(&b, "protocol bgp %s {\n\tlocal %s as %d;\n\tneighbor %s as %d;\n\tpassive on;\n\trs client;\n\thold time 180;\n",
				id, e.Listen[f], RSASN, m.Addr[f], m.ASN)
			if e.Role {
				b.WriteString("\tlocal role rs_server;\n")
			}
			fmt.Fprintf(&b, "\tip%s {\n\t\ttable %s;\n\t\timport filter import_%s;\n\t\texport all;\n\t};\n}\n\n", v, table, id)
		}
	}
	return writeFile(e, "bird.conf", b.String())
}

// openbgpdConfigure writes bgpd.conf: route-server mode (transparent AS,
// rde evaluate all), the VRPs as roa-set, a prefix-set per member, first
// AS by "enforce neighbor-as" (the default), and filters: invalids
// denied, a member's routes allowed when in its prefix-set with itself as
// next hop.
func openbgpdConfigure(e *Env) error {
	t := e.Table
	var b strings.Builder
	b.WriteString("# fedrs lab bench: OpenBGPD as the route server\n")
	fmt.Fprintf(&b, "AS %d\nrouter-id %s\nfib-update no\nsocket %q\ntransparent-as yes\nrde evaluate all\nholdtime 180\n",
		RSASN, e.Listen[IPv4], filepath.Join(e.SockDir, "bgpd.sock"))
	for _, f := range e.families() {
		fmt.Fprintf(&b, "listen on %s\n", e.Listen[f])
	}
	b.WriteString("\nroa-set {\n")
	for _, r := range t.VRPs {
		fmt.Fprintf(&b, "\t%s maxlen %d source-as %d\n", r.Prefix, r.MaxLen, r.ASN)
	}
	b.WriteString("}\n\n")
	for i := range t.Members {
		fmt.Fprintf(&b, "prefix-set pfx_%s {\n", t.Members[i].Name)
		for _, f := range e.families() {
			memberPrefixes(&b, t, f, i, "\n", "\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("\n")
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			fmt.Fprintf(&b, "neighbor %s {\n\tremote-as %d\n\tdescr \"%s_%s\"\n\tlocal-address %s\n\tpassive\n",
				m.Addr[f], m.ASN, m.Name, f.String()[2:], e.Listen[f])
			if e.Role {
				b.WriteString("\tannounce policy rs\n")
			}
			b.WriteString("}\n")
		}
	}
	b.WriteString("\ndeny quick from any ovs invalid\ndeny from any\n")
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			fmt.Fprintf(&b, "allow from %s prefix-set pfx_%s nexthop neighbor\n", m.Addr[f], m.Name)
		}
	}
	b.WriteString("allow to any\n")
	// bgpd chroots to its user's home, compiled in as /run/openbgpd.
	if err := os.MkdirAll("/run/openbgpd", 0o755); err != nil {
		return fmt.Errorf("create /run/openbgpd (OpenBGPD's chroot): %w", err)
	}
	return writeFile(e, "bgpd.conf", b.String())
}

// gobgpConfigure writes gobgpd.toml: route-server clients (passive), the
// RTR server for the VRPs, and per member an import policy that rejects
// RPKI invalids and accepts only routes in the member's prefix set with
// the member's AS first and the member's address as next hop.
func gobgpConfigure(e *Env) error {
	t := e.Table
	var b strings.Builder
	b.WriteString("# fedrs lab bench: gobgpd as the route server\n")
	var las []string
	for _, f := range e.families() {
		las = append(las, strconv.Quote(e.Listen[f].String()))
	}
	fmt.Fprintf(&b, "[global.config]\n  as = %d\n  router-id = %q\n  port = %d\n  local-address-list = [%s]\n\n",
		RSASN, e.Listen[IPv4].String(), e.Port, strings.Join(las, ", "))
	fmt.Fprintf(&b, "[[rpki-servers]]\n  [rpki-servers.config]\n    address = %q\n    port = %d\n\n", e.RTR.Addr().String(), e.RTR.Port())
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			fmt.Fprintf(&b, "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"pfx_%s_%s\"\n", m.Name, f.String()[2:])
			mf := &m.Fam[f]
			for idx := mf.First; idx < mf.First+mf.Count; idx++ {
				fmt.Fprintf(&b, "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = %q\n", t.Prefix(f, idx).String())
			}
			fmt.Fprintf(&b, "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = %q\n", Probe(f, i, ProbeNextHop).String())
		}
		fmt.Fprintf(&b, "[[defined-sets.bgp-defined-sets.as-path-sets]]\n  as-path-set-name = \"first_%s\"\n  as-path-list = [\"^%d_\"]\n\n", m.Name, m.ASN)
	}
	b.WriteString("[[policy-definitions]]\n  name = \"rov\"\n  [[policy-definitions.statements]]\n    name = \"rov-invalid\"\n" +
		"    [policy-definitions.statements.conditions.bgp-conditions]\n      rpki-validation-result = \"invalid\"\n" +
		"    [policy-definitions.statements.actions]\n      route-disposition = \"reject-route\"\n\n")
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			id := m.Name + "_" + f.String()[2:]
			fmt.Fprintf(&b, "[[policy-definitions]]\n  name = \"import_%s\"\n  [[policy-definitions.statements]]\n    name = \"accept_%s\"\n"+
				"    [policy-definitions.statements.conditions.match-prefix-set]\n      prefix-set = \"pfx_%s\"\n      match-set-options = \"any\"\n"+
				"    [policy-definitions.statements.conditions.bgp-conditions]\n      next-hop-in-list = [%q]\n"+
				"      [policy-definitions.statements.conditions.bgp-conditions.match-as-path-set]\n        as-path-set = \"first_%s\"\n        match-set-options = \"any\"\n"+
				"    [policy-definitions.statements.actions]\n      route-disposition = \"accept-route\"\n\n",
				id, id, id, netip.PrefixFrom(m.Addr[f], m.Addr[f].BitLen()).String(), m.Name)
		}
	}
	for i := range t.Members {
		m := &t.Members[i]
		for _, f := range e.families() {
			fmt.Fprintf(&b, "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = %q\n    peer-as = %d\n    description = \"%s_%s\"\n",
				m.Addr[f].String(), m.ASN, m.Name, f.String()[2:])
			fmt.Fprintf(&b, "  [neighbors.transport.config]\n    local-address = %q\n    passive-mode = true\n", e.Listen[f].String())
			b.WriteString("  [neighbors.timers.config]\n    hold-time = 180\n    keepalive-interval = 60\n")
			b.WriteString("  [neighbors.route-server.config]\n    route-server-client = true\n")
			fmt.Fprintf(&b, "  [neighbors.apply-policy.config]\n    import-policy-list = [\"rov\", \"import_%s_%s\"]\n"+
				"    default-import-policy = \"reject-route\"\n    default-export-policy = \"accept-route\"\n", m.Name, f.String()[2:])
			fmt.Fprintf(&b, "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"%s-unicast\"\n\n", f)
		}
	}
	return writeFile(e, "gobgpd.toml", b.String())
}

// gobgpRecords matches "gobgp rpki server" output's record counts.
var gobgpRecords = regexp.MustCompile(`\s(\d+)/(\d+)\s*$`)

// gobgpReady waits for the RTR session to have delivered every VRP.
func gobgpReady(ctx context.Context, e *Env) (bool, string) {
	path, err := lab.FindBinary("gobgp")
	if err != nil {
		return false, err.Error()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, path, "--target", "unix://"+filepath.Join(e.SockDir, "gobgp.sock"), "rpki", "server").CombinedOutput()
	if err != nil {
		return false, fmt.Sprintf("gobgp rpki server: %v: %s", err, strings.TrimSpace(string(out)))
	}
	want4, want6 := 0, 0
	for _, v := range e.Table.VRPs {
		if v.Prefix.Addr().Is4() {
			want4++
		} else {
			want6++
		}
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := gobgpRecords.FindStringSubmatch(sc.Text()); m != nil {
			n4, _ := strconv.Atoi(m[1])
			n6, _ := strconv.Atoi(m[2])
			if n4 >= want4 && n6 >= want6 {
				return true, ""
			}
			return false, fmt.Sprintf("RTR: %d/%d of %d/%d VRPs", n4, n6, want4, want6)
		}
	}
	return false, "RTR session not up: " + strings.TrimSpace(string(out))
}
