package lab

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/interop"
	"gopkg.in/yaml.v3"
)

// clabFile is the part of a containerlab topology file the export writes.
type clabFile struct {
	Name     string `yaml:"name"`
	Topology struct {
		Nodes map[string]struct {
			Kind       string   `yaml:"kind"`
			Image      string   `yaml:"image"`
			Binds      []string `yaml:"binds"`
			Entrypoint string   `yaml:"entrypoint"`
			Cmd        string   `yaml:"cmd"`
		} `yaml:"nodes"`
		Links []struct {
			Endpoints []string `yaml:"endpoints"`
		} `yaml:"links"`
	} `yaml:"topology"`
}

// writeClab exports topo into a fresh directory and checks the result
// structurally; it returns the directory and the parsed topology file.
func writeClab(t *testing.T, topo *Topology, opts ClabOptions) (string, *clabFile) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	files, err := WriteClab(topo, dir, opts)
	if err != nil {
		t.Fatalf("WriteClab: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, topo.Name+".clab.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf clabFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("%s.clab.yml is not YAML: %v\n%s", topo.Name, err, b)
	}
	if cf.Name != topo.Name {
		t.Errorf("name %q, want %q", cf.Name, topo.Name)
	}

	// Every file written is listed, and every listed file exists.
	var onDisk []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			onDisk = append(onDisk, rel)
		}
		return err
	})
	slices.Sort(onDisk)
	listed := slices.Sorted(slices.Values(files))
	if !slices.Equal(onDisk, listed) {
		t.Errorf("files returned %v\nfiles on disk %v", listed, onDisk)
	}

	// Nodes: the route server, every member, the LAN.
	routers := []string{rsNode}
	kinds := map[string]string{rsNode: topo.RouteServer.Kind, ClabLAN: ClabLAN}
	addrs := map[string][]netip.Prefix{rsNode: {
		netip.PrefixFrom(topo.RouteServer.IPv4, topo.LANv4.Bits()), netip.PrefixFrom(topo.RouteServer.IPv6, topo.LANv6.Bits())}}
	for _, m := range topo.Members {
		routers = append(routers, m.Name)
		kinds[m.Name] = m.Daemon
		addrs[m.Name] = []netip.Prefix{netip.PrefixFrom(m.IPv4, topo.LANv4.Bits()), netip.PrefixFrom(m.IPv6, topo.LANv6.Bits())}
	}
	if len(cf.Topology.Nodes) != len(routers)+1 {
		t.Errorf("%d nodes, want %d (routers and lan)", len(cf.Topology.Nodes), len(routers)+1)
	}
	for _, name := range append(slices.Clone(routers), ClabLAN) {
		n, ok := cf.Topology.Nodes[name]
		if !ok {
			t.Errorf("no node %s", name)
			continue
		}
		if n.Kind != "linux" || n.Image != opts.image(kinds[name]) || n.Image == "" {
			t.Errorf("node %s: kind %q image %q, want linux, %q", name, n.Kind, n.Image, opts.image(kinds[name]))
		}
		if want := []string{"./" + name + ":/lab"}; !slices.Equal(n.Binds, want) {
			t.Errorf("node %s: binds %v, want %v", name, n.Binds, want)
		}
		if n.Entrypoint != "/bin/sh" || n.Cmd != "/lab/start.sh" {
			t.Errorf("node %s: entrypoint %q cmd %q", name, n.Entrypoint, n.Cmd)
		}
		for _, bind := range n.Binds {
			src, _, _ := strings.Cut(bind, ":")
			st, err := os.Stat(filepath.Join(dir, src))
			if err != nil || !st.IsDir() {
				t.Errorf("node %s: bind source %s: %v", name, src, err)
			}
			if st != nil && st.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
				t.Errorf("node %s: %s changed owner", name, src)
			}
		}
		st, err := os.Stat(filepath.Join(dir, name, "start.sh"))
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("node %s: start.sh missing or not executable: %v", name, err)
		}
	}

	// Links: one per router, from a distinct LAN port to the router's eth1.
	if len(cf.Topology.Links) != len(routers) {
		t.Errorf("%d links, want %d", len(cf.Topology.Links), len(routers))
	}
	seenPort, seenRouter := map[string]bool{}, map[string]bool{}
	for _, l := range cf.Topology.Links {
		if len(l.Endpoints) != 2 || !strings.HasPrefix(l.Endpoints[0], ClabLAN+":eth") || !strings.HasSuffix(l.Endpoints[1], ":eth1") {
			t.Errorf("link %v: want [lan:ethK, NODE:eth1]", l.Endpoints)
			continue
		}
		r := strings.TrimSuffix(l.Endpoints[1], ":eth1")
		if seenPort[l.Endpoints[0]] || seenRouter[r] || !slices.Contains(routers, r) {
			t.Errorf("link %v: port or router used twice, or not a router", l.Endpoints)
		}
		seenPort[l.Endpoints[0]], seenRouter[r] = true, true
	}

	lan, _ := os.ReadFile(filepath.Join(dir, ClabLAN, "start.sh"))
	for port := range seenPort {
		p := strings.TrimPrefix(port, ClabLAN+":")
		if !strings.Contains(string(lan), "ip link set "+p+" master br0") {
			t.Errorf("lan start.sh does not bridge %s", p)
		}
	}

	// Start scripts: the node's addresses; paths under /lab, never dir.
	for _, name := range routers {
		s, err := os.ReadFile(filepath.Join(dir, name, "start.sh"))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs[name] {
			if !strings.Contains(string(s), "addr replace "+a.String()+" dev eth1") {
				t.Errorf("%s/start.sh does not add %s to eth1", name, a)
			}
		}
		if !strings.Contains(string(s), "/lab/") || !strings.Contains(string(s), "\nexec ") && !strings.Contains(string(s), "\nwait ") {
			t.Errorf("%s/start.sh: no /lab path, or it does not keep a daemon in the foreground:\n%s", name, s)
		}
	}
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(b), dir) || strings.Contains(string(b), filepath.Dir(dir)) {
			t.Errorf("%s mentions the output directory %s", f, dir)
		}
		if strings.HasSuffix(f, ".sh") {
			if out, err := exec.Command("sh", "-n", filepath.Join(dir, f)).CombinedOutput(); err != nil {
				t.Errorf("%s: sh -n: %v\n%s", f, err, out)
			}
		}
	}
	return dir, &cf
}

// checkClabConfigs runs every daemon's own configuration check on the
// exported configs, with /lab (the mount point) replaced by the node's
// directory, and loads a fedrs.toml with the conf package.
func checkClabConfigs(t *testing.T, topo *Topology, dir string) {
	t.Helper()
	nodes := map[string]string{rsNode: topo.RouteServer.Kind}
	for _, m := range topo.Members {
		nodes[m.Name] = m.Daemon
	}
	for name, kind := range nodes {
		nodeDir := filepath.Join(dir, name)
		if kind == KindFedrs {
			b, err := os.ReadFile(filepath.Join(nodeDir, "fedrs.toml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `control = "/lab/fedrs.sock"`) {
				t.Errorf("fedrs.toml: control socket not under /lab:\n%s", b)
			}
			// Relative paths resolve against the file's directory, which
			// is mounted at /lab: the route server's files are there.
			c, err := conf.Load(filepath.Join(nodeDir, "fedrs.toml"))
			if err != nil {
				t.Errorf("fedrs.toml does not load: %v", err)
			} else if len(c.Members) != len(topo.Members) || c.Server.ASN != topo.RouteServer.ASN {
				t.Errorf("fedrs.toml: %d members, AS %d", len(c.Members), c.Server.ASN)
			}
			continue
		}
		t.Run(name+"-"+kind, func(t *testing.T) {
			var argv, env []string
			var cfg string
			switch kind {
			case KindBIRD:
				interop.Require(t, false, "bird")
				cfg = "bird.conf"
				argv = []string{"bird", "-p", "-c"}
			case KindOpenBGPD:
				interop.Require(t, false, "bgpd")
				cfg = "bgpd.conf"
				argv = []string{"bgpd", "-n", "-f"}
			case KindFRR:
				if _, err := os.Stat(frrBgpd); err != nil {
					interop.Require(t, false, "vtysh")
				}
				cfg = "bgpd.conf"
				argv = []string{frrBgpd, "-S", "-u", "root", "-g", "root", "-Z", "-C", "-f"}
			case KindGoBGP:
				interop.Require(t, false, "gobgpd")
				cfg = "gobgpd.toml"
				argv = []string{"gobgpd", "-d", "-t", "toml", "-f"}
			case KindExaBGP:
				interop.Require(t, false, "exabgp")
				cfg = "exabgp.conf"
				argv = []string{"exabgp", "--validate"}
				env = []string{"exabgp.daemon.user=root"}
			}
			b, err := os.ReadFile(filepath.Join(nodeDir, cfg))
			if err != nil {
				t.Fatal(err)
			}
			local := filepath.Join(t.TempDir(), cfg)
			if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(b), ClabMount+"/", nodeDir+"/")), 0o644); err != nil {
				t.Fatal(err)
			}
			bin, err := findBinary(argv[0])
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append(argv[1:], local)...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err == nil && kind == KindFRR && strings.Contains(string(out), "No such command") {
				err = errRejected
			}
			if err != nil {
				t.Errorf("%s (%s) config rejected by %s: %v\n%s\n--- config:\n%s", name, kind, argv[0], err, out, b)
			}
		})
	}
}

// errRejected says a checker reported errors but exited 0 (FRR's dry
// run does).
var errRejected = errors.New("the checker reported errors")

func TestClabExample(t *testing.T) {
	topo, err := ReadTopology("topologies/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := writeClab(t, topo, ClabOptions{})
	checkClabConfigs(t, topo, dir)

	// The gobgp member announces through the API once gobgpd answers.
	s, _ := os.ReadFile(filepath.Join(dir, "council-d", "start.sh"))
	cli := "gobgp --target unix:///lab/gobgp.sock"
	for _, want := range []string{"until " + cli + " global", cli + " global rib add -a ipv4 10.10.1.0/24 origin igp aspath 65001", "wait \"$pid\""} {
		if !strings.Contains(string(s), want) {
			t.Errorf("council-d/start.sh lacks %q:\n%s", want, s)
		}
	}
	// FRR: zebra first, bgpd once zebra's socket exists; the directory is
	// handed to frr in the container, not on the host.
	s, _ = os.ReadFile(filepath.Join(dir, "trust-b", "start.sh"))
	zebra := strings.Index(string(s), "/usr/lib/frr/zebra -f /lab/zebra.conf")
	ready := strings.Index(string(s), "until [ -e /lab/zserv.api ]")
	bgpd := strings.Index(string(s), "exec /usr/lib/frr/bgpd -f /lab/bgpd.conf")
	if zebra < 0 || ready < zebra || bgpd < ready || !strings.Contains(string(s), "chown frr:frr /lab") {
		t.Errorf("trust-b/start.sh: zebra %d, wait %d, bgpd %d:\n%s", zebra, ready, bgpd, s)
	}
	if s, _ := os.ReadFile(filepath.Join(dir, "council-c", "bgpd.conf")); !strings.Contains(string(s), `socket "/lab/bgpd.sock"`) {
		t.Errorf("council-c/bgpd.conf: control socket not under /lab:\n%s", s)
	}

	// A second export into the same directory lists the same files.
	again, err := WriteClab(topo, dir, ClabOptions{})
	if err != nil || len(again) != 13 {
		t.Errorf("second export: %d files, %v", len(again), err)
	}
}

func TestClabScenario(t *testing.T) {
	sc, err := ReadScenario("scenarios/federation.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir, cf := writeClab(t, &sc.Topology, ClabOptions{})
	checkClabConfigs(t, &sc.Topology, dir)
	if img := cf.Topology.Nodes[rsNode].Image; img != ClabFedrsImage {
		t.Errorf("route server image %s", img)
	}
	s, _ := os.ReadFile(filepath.Join(dir, rsNode, "start.sh"))
	if !strings.Contains(string(s), "exec fedrs run -c /lab/fedrs.toml >>/lab/fedrs.log 2>&1") {
		t.Errorf("rs/start.sh does not run fedrs:\n%s", s)
	}
	for name := range sc.RouteServer.Files {
		if _, err := os.Stat(filepath.Join(dir, rsNode, name)); err != nil {
			t.Errorf("route_server.files %s: %v", name, err)
		}
	}
	y, _ := os.ReadFile(filepath.Join(dir, "federation.clab.yml"))
	for _, want := range []string{clabBuild[ClabFedrsImage], clabBuild[ClabDaemonsImage], "containerlab deploy -t federation.clab.yml"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("federation.clab.yml does not say %q", want)
		}
	}
}

// TestClabEveryKind exports the harness topology (a member of every
// daemon kind) with each route-server kind and checks every config.
func TestClabEveryKind(t *testing.T) {
	for _, rs := range RouteServerKinds {
		t.Run(rs, func(t *testing.T) {
			topo, err := ReadTopology("testdata/harness.toml")
			if err != nil {
				t.Fatal(err)
			}
			topo.RouteServer.Kind = rs
			dir, _ := writeClab(t, topo, ClabOptions{})
			checkClabConfigs(t, topo, dir)
			s, _ := os.ReadFile(filepath.Join(dir, "m-exabgp", "start.sh"))
			if !strings.Contains(string(s), "exec env exabgp.daemon.user=root") {
				t.Errorf("m-exabgp/start.sh does not set exabgp's environment:\n%s", s)
			}
		})
	}
}

func TestClabImages(t *testing.T) {
	topo, err := ReadTopology("topologies/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	opts := ClabOptions{Images: map[string]string{KindBIRD: "example.org/bird:2.0.12", ClabLAN: "busybox:1.36"}}
	_, cf := writeClab(t, topo, opts)
	if cf.Topology.Nodes["trust-a"].Image != "example.org/bird:2.0.12" || cf.Topology.Nodes[ClabLAN].Image != "busybox:1.36" ||
		cf.Topology.Nodes["council-c"].Image != ClabDaemonsImage || cf.Topology.Nodes["trust-b"].Image != DefaultClabImages[KindFRR] {
		t.Errorf("images: %+v", cf.Topology.Nodes)
	}
	imgs := ClabImages(topo, opts)
	if len(imgs) != 4 || imgs[0].Image != "example.org/bird:2.0.12" || !slices.Equal(imgs[0].Kinds, []string{KindBIRD}) || imgs[0].Build != "" {
		t.Errorf("ClabImages: %+v", imgs)
	}
	for _, tc := range []struct {
		images map[string]string
		want   string
	}{
		{map[string]string{"quagga": "x"}, `no such node kind`},
		{map[string]string{KindBIRD: "bad image"}, `not an image reference`},
	} {
		if _, err := WriteClab(topo, t.TempDir(), ClabOptions{Images: tc.images}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.images, err, tc.want)
		}
	}
}
