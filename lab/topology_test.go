package lab

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/interop"
)

func TestTopologyDefaults(t *testing.T) {
	topo, err := ParseTopology([]byte(`
[route_server]
asn = 64500
[[member]]
name = "trust-a"
daemon = "bird"
asn = 65001
prefixes = ["10.1.0.0/24"]
[[member]]
name = "council-b"
daemon = "gobgp"
asn = 4200000002
families = ["ipv6"]
ipv6 = "2001:db8:ffff::beef"
  [[member.prefix]]
  prefix = "2001:db8:2::/48"
  as_path = [65100]
`), "/some/where/My-Lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	if topo.Name != "my_lab" {
		t.Errorf("name from file: %q", topo.Name)
	}
	rs := topo.RouteServer
	if rs.Kind != KindFedrs || rs.IPv4.String() != "198.18.0.1" || rs.IPv6.String() != "2001:db8:ffff::1" || rs.RouterID != rs.IPv4 {
		t.Errorf("route server defaults: %+v", rs)
	}
	a, b := topo.Members[0], topo.Members[1]
	if a.IPv4.String() != "198.18.0.11" || a.IPv6.String() != "2001:db8:ffff::11" || a.RouterID != a.IPv4 {
		t.Errorf("member a addresses: %s %s %s", a.IPv4, a.IPv6, a.RouterID)
	}
	if a.Role != RoleRSClient || !slices.Equal(a.Families, []string{"ipv4", "ipv6"}) {
		t.Errorf("member a role %q families %v", a.Role, a.Families)
	}
	if len(a.Announce) != 1 || a.Announce[0].Prefix.String() != "10.1.0.0/24" || !a.Announce[0].Registered() {
		t.Errorf("member a announcements: %+v", a.Announce)
	}
	if b.IPv4.String() != "198.18.0.12" || b.IPv6.String() != "2001:db8:ffff::beef" || b.Role != RoleNone {
		t.Errorf("member b: %s %s role %q", b.IPv4, b.IPv6, b.Role)
	}
	if got := b.Announce[0].WireASPath(b.ASN); !slices.Equal(got, []uint32{4200000002, 65100}) {
		t.Errorf("wire path %v", got)
	}
	if b.Announce[0].Registered() {
		t.Error("a fake-path announcement registers by default")
	}
	if err := topo.Normalize(); err != nil {
		t.Errorf("normalize twice: %v", err)
	}
}

func TestTopologyErrors(t *testing.T) {
	base := `
name = "t"
[route_server]
asn = 64500
`
	member := func(extra string) string {
		return base + "[[member]]\nname = \"m\"\ndaemon = \"bird\"\nasn = 65001\n" + extra
	}
	for _, tc := range []struct{ in, want string }{
		{base, "no [[member]]"},
		{`name = "bad-name"` + "\n[route_server]\nasn=1\n", "want 1-16 lower-case letters"},
		{member("bogus = 1\n"), "unknown keys: member.bogus"},
		{member("prefixes = [\"10.1.0.1/24\"]\n"), "host bits set"},
		{member("families = [\"ipv4\"]\nprefixes = [\"2001:db8::/32\"]\n"), "no ipv6 session"},
		{member("ipv4 = \"10.9.9.9\"\n"), "not in the peering LAN"},
		{member("role = \"rs-client\"\n[[member]]\nname = \"g\"\ndaemon = \"gobgp\"\nasn = 2\nrole = \"rs-client\"\n"), "gobgp does not support the BGP role"},
		{base + "[[member]]\nname = \"o\"\ndaemon = \"openbgpd\"\nasn = 65001\n[[member.prefix]]\nprefix = \"10.0.0.0/8\"\nas_path = [1]\n", "openbgpd cannot originate"},
		{member("md5_password = \"with space\"\n"), "md5_password"},
		{member("[[member]]\nname = \"m\"\ndaemon = \"frr\"\nasn = 2\n"), "name used twice"},
		{base + "[[member]]\nname = \"rs\"\ndaemon = \"bird\"\nasn = 2\n", "reserved"},
		{base + "[[member]]\nname = \"m\"\ndaemon = \"fedrs\"\nasn = 2\n", "daemon \"fedrs\""},
		{base + "[[member]]\nname = \"m\"\ndaemon = \"bird\"\nasn = 64500\n", "route server's ASN"},
		{member("ipv4 = \"198.18.0.1\"\n"), "already used by the route server"},
		{"name = \"t\"\n[route_server]\nasn = 1\nkind = \"frr\"\n", "route_server.kind \"frr\""},
		{"name = \"t\"\n[route_server]\nasn = \n", "topology x.toml:3"},
	} {
		_, err := ParseTopology([]byte(tc.in), "x.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestDefaultAddrLargeLAN(t *testing.T) {
	topo := &Topology{LANv4: netip.MustParsePrefix("198.18.0.0/16"), LANv6: DefaultLANv6}
	a, err := topo.defaultAddr(netip.Addr{}, topo.LANv4, 300, "x")
	if err != nil || a.String() != "198.18.1.44" {
		t.Errorf("host 300: %s %v", a, err)
	}
	a, err = topo.defaultAddr(netip.Addr{}, topo.LANv6, 300, "x")
	if err != nil || a.String() != "2001:db8:ffff::300" {
		t.Errorf("v6 host 300: %s %v", a, err)
	}
	if _, err := topo.defaultAddr(netip.Addr{}, netip.MustParsePrefix("10.0.0.0/28"), 20, "x"); err == nil {
		t.Error("host 20 fits a /28?")
	}
}

// TestFedrsConfigLoads checks the generated fedrs.toml against the conf
// package's own loader.
func TestFedrsConfigLoads(t *testing.T) {
	topo, err := ReadTopology("testdata/harness.toml")
	if err != nil {
		t.Fatal(err)
	}
	topo.RouteServer.Kind = KindFedrs
	topo.Members[0].Groups = []string{"nhs"}
	topo.RouteServer.FedrsExtra = "[[group]]\nname = \"nhs\"\nid = 1\n"
	topo.Members[1].Registered = []string{"10.2.0.0/16 le 24"}
	if err := topo.Normalize(); err != nil {
		t.Fatal(err)
	}
	b, err := FedrsConfig(topo, "/run/fedrs-lab/harness/rs")
	if err != nil {
		t.Fatal(err)
	}
	c, err := conf.Parse(b, "fedrs.toml")
	if err != nil {
		t.Fatalf("generated config does not load: %v\n%s", err, b)
	}
	if c.Server.ASN != 64500 || c.Server.RouterID.String() != "198.18.0.1" || len(c.Members) != 5 {
		t.Errorf("server %+v, %d members", c.Server, len(c.Members))
	}
	if !slices.Equal(c.Server.Listen, []string{"198.18.0.1:179", "[2001:db8:ffff::1]:179"}) || c.Server.Control != "/run/fedrs-lab/harness/rs/fedrs.sock" {
		t.Errorf("listen %v control %s", c.Server.Listen, c.Server.Control)
	}
	m := c.Member("m-frr")
	if m == nil {
		t.Fatal("no member m-frr")
	}
	if m.ASN != 65002 || len(m.Neighbors) != 2 || m.MD5Password != "frr-secret" || m.LocalAddressV4.String() != "198.18.0.1" {
		t.Errorf("m-frr: %+v", m)
	}
	// 10.2.0.0/24 has a fake path so it is not registered; the extra range is.
	var prefixes []string
	for _, p := range m.Prefixes {
		prefixes = append(prefixes, p.Prefix.String())
	}
	if !slices.Equal(prefixes, []string{"2001:db8:2::/48", "10.2.0.0/16"}) {
		t.Errorf("m-frr registry %v", prefixes)
	}
	if g := c.Member("m-bird").Groups; !slices.Equal(g, []string{"nhs"}) {
		t.Errorf("groups %v", g)
	}

	topo.RouteServer.FedrsExtra = "[policy\n"
	if _, err := FedrsConfig(topo, "/x"); err == nil || !strings.Contains(err.Error(), "fedrs_extra") {
		t.Errorf("broken extra: %v", err)
	}
}

// TestDaemonConfigsCheck writes every daemon's config for the harness
// topology (members, and each route-server kind) and runs the daemon's
// own configuration check on it.
func TestDaemonConfigsCheck(t *testing.T) {
	interop.Require(t, false, "bird", "bgpd", "gobgpd", "exabgp")
	if _, err := os.Stat(frrBgpd); err != nil {
		interop.Require(t, false, "vtysh") // names the frr package
	}
	for _, rsKind := range []string{KindBIRD, KindOpenBGPD, KindGoBGP} {
		topo, err := ReadTopology("testdata/harness.toml")
		if err != nil {
			t.Fatal(err)
		}
		topo.RouteServer.Kind = rsKind
		dir := runRoot(t)
		for _, n := range buildNodes(topo, dir, &Options{}) {
			if n.IsRS || rsKind == KindBIRD { // members once
				checkConfig(t, n)
			}
		}
	}
}

func checkConfig(t *testing.T, n *node) {
	t.Helper()
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d, _ := daemonFor(n.Kind)
	if err := d.configure(n); err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	var argv []string
	var env []string
	switch n.Kind {
	case KindBIRD:
		argv = []string{"bird", "-p", "-c", n.path("bird.conf")}
	case KindOpenBGPD:
		argv = []string{"bgpd", "-n", "-f", n.path("bgpd.conf")}
	case KindFRR:
		argv = []string{frrBgpd, "-C", "-f", n.path("bgpd.conf"), "-S", "-u", "root", "-g", "root", "-Z"}
	case KindGoBGP:
		argv = []string{"gobgpd", "-d", "-f", n.path("gobgpd.toml"), "-t", "toml"}
	case KindExaBGP:
		argv = []string{"exabgp", "--validate", n.path("exabgp.conf")}
		env = []string{"exabgp.daemon.user=root"}
	}
	bin, err := findBinary(argv[0])
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = n.Dir
	out, err := cmd.CombinedOutput()
	if err == nil && n.Kind == KindFRR && strings.Contains(string(out), "No such command") {
		err = errors.New("FRR reported unknown commands (its dry run exits 0 anyway)")
	}
	if err != nil {
		cfg, _ := os.ReadFile(filepath.Join(n.Dir, configFile(n.Kind)))
		t.Errorf("%s (%s) config rejected by %s: %v\n%s\n--- config:\n%s", n.Name, n.Kind, argv[0], err, out, cfg)
	}
}

func configFile(kind string) string {
	switch kind {
	case KindBIRD:
		return "bird.conf"
	case KindGoBGP:
		return "gobgpd.toml"
	case KindExaBGP:
		return "exabgp.conf"
	}
	return "bgpd.conf"
}

func TestExampleTopology(t *testing.T) {
	topo, err := ReadTopology("topologies/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if topo.Name != "example" || len(topo.Members) != 4 {
		t.Errorf("example: %s, %d members", topo.Name, len(topo.Members))
	}
	d := topo.Member("council-d")
	if d == nil || d.Announce[0].Registered() || !slices.Equal(d.Announce[0].WireASPath(d.ASN), []uint32{65004, 65001}) {
		t.Errorf("council-d: %+v", d)
	}
}

func TestScenarioFiles(t *testing.T) {
	for _, f := range []string{"testdata/scenario-transparent.toml", "scenarios/federation.toml"} {
		sc, err := ReadScenario(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(sc.Expect) == 0 || len(sc.Members) == 0 {
			t.Errorf("%s: %d expectations, %d members", f, len(sc.Expect), len(sc.Members))
		}
		if sc.RouteServer.Kind == KindFedrs {
			// As Up writes them: route_server.files next to fedrs.toml,
			// which names them by relative paths.
			dir := t.TempDir()
			b, err := FedrsConfig(&sc.Topology, dir)
			if err != nil {
				t.Errorf("%s: fedrs.toml: %v", f, err)
				continue
			}
			if err := writeFiles(dir, sc.RouteServer.Files); err != nil {
				t.Fatal(err)
			}
			cf := filepath.Join(dir, "fedrs.toml")
			if err := os.WriteFile(cf, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := conf.Load(cf); err != nil {
				t.Errorf("%s: generated fedrs.toml does not load: %v", f, err)
			}
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	base := "name = \"s\"\n[route_server]\nasn = 1\n[[member]]\nname = \"a\"\ndaemon = \"bird\"\nasn = 2\n"
	for _, tc := range []struct{ in, want string }{
		{base, "no [[expect]]"},
		{base + "[[expect]]\nmember = \"zz\"\nprefix = \"10.0.0.0/8\"\n", `member "zz" is not in the topology`},
		{base + "[[expect]]\nmember = \"a\"\nprefix = \"10.0.0.0/8\"\nfrom = \"q\"\n", `from "q"`},
		{base + "[[expect]]\nmember = \"a\"\n", "prefix is required"},
		{base + "[[expect]]\nmember = \"a\"\nprefix = \"10.0.0.0/8\"\nreceives = false\nas_path = [1]\n", "takes no attributes"},
		{base + "[[expect]]\nmember = \"a\"\nprefix = \"10.0.0.0/8\"\nbogus = 1\n", "unknown keys: expect.bogus"},
		{"settle = \"soon\"\n" + base + "[[expect]]\nmember = \"a\"\nprefix = \"10.0.0.0/8\"\n", "settle \"soon\": want a duration"},
		{"name = \"s\"\nsettle = \"1s\"\n[route_server]\nasn = 1\n[[member]]\nname = \"a\"\ndaemon = \"frr\"\nasn = 2\n[[member.prefix]]\nprefix = \"10.0.0.0/8\"\notc = 5\n[[expect]]\nmember = \"a\"\nprefix = \"10.0.0.0/8\"\n", "only bird and exabgp"},
	} {
		_, err := ParseScenario([]byte(tc.in), "s.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant error containing %q", tc.in, err, tc.want)
		}
	}
}
