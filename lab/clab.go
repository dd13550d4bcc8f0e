package lab

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// containerlab export: WriteClab turns a topology into a containerlab
// topology file (NAME.clab.yml) and one directory per node holding its
// configuration and a start script, so that the federation runs under
// Docker as it does in the lab's namespaces.
//
// Every router is a "linux" node whose directory is bind-mounted at
// ClabMount. Its configs are the very ones the namespace lab writes (the
// daemons' configure, with paths under ClabMount), and its start.sh waits
// for eth1 (containerlab attaches links after the container starts), adds
// the node's LAN addresses, then runs the node's processes with the argv
// the namespace lab uses. The peering LAN is a node of its own ("lan", an
// Alpine container) holding a Linux bridge that joins its eth1..ethN, one
// per router, as the namespace lab's LAN namespace does: no bridge has to
// exist on the host.

// ClabMount is where each node's directory is mounted in its container.
const ClabMount = "/lab"

// ClabLAN is the name of the LAN node, and its key in ClabOptions.Images.
const ClabLAN = lanNode

// clabFedrsBinary is the fedrs executable in the fedrs image (on PATH; the
// image lab/Dockerfile builds has it in /usr/local/bin).
const clabFedrsBinary = "fedrs"

// Images that lab/Dockerfile builds.
const (
	// ClabFedrsImage is fedrs with iproute2 (lab/Dockerfile's default
	// target).
	ClabFedrsImage = "fedrs:latest"
	// ClabDaemonsImage is Debian 12 with the daemons the namespace lab is
	// tested with — bird2 2.0.12, frr 8.4.4, openbgpd 7.7, gobgpd 3.10,
	// exabgp 4.2.21 — and iproute2 (lab/Dockerfile's "daemons" target).
	ClabDaemonsImage = "fedrs-lab-daemons:latest"
)

// DefaultClabImages is the image of each node kind (and of the LAN node,
// key ClabLAN). ClabOptions.Images overrides any of them. An image must
// have /bin/sh, iproute2's ip, and the daemon's binaries under the names
// the lab runs (bird, /usr/lib/frr/zebra and bgpd, bgpd and the _openbgpd
// chroot, gobgpd and gobgp, exabgp, fedrs). FRR's own public image has
// all of that; the public BIRD, OpenBGPD, GoBGP and ExaBGP images found
// lack iproute2 or even a shell (GoBGP's are FROM scratch), so those kinds
// default to the image lab/Dockerfile builds from Debian's packages.
var DefaultClabImages = map[string]string{
	KindFedrs:    ClabFedrsImage,
	KindBIRD:     ClabDaemonsImage,
	KindFRR:      "quay.io/frrouting/frr:8.4.1",
	KindOpenBGPD: ClabDaemonsImage,
	KindGoBGP:    ClabDaemonsImage,
	KindExaBGP:   ClabDaemonsImage,
	ClabLAN:      "alpine:3.20",
}

// clabBuild says how to build the images lab/Dockerfile makes (run from
// the repository's top directory).
var clabBuild = map[string]string{
	ClabFedrsImage:   "docker build -f lab/Dockerfile -t " + ClabFedrsImage + " .",
	ClabDaemonsImage: "docker build -f lab/Dockerfile --target daemons -t " + ClabDaemonsImage + " .",
}

// ClabOptions tune WriteClab.
type ClabOptions struct {
	// Images maps a node kind (fedrs, bird, frr, openbgpd, gobgp, exabgp,
	// or ClabLAN) to the image its nodes run; kinds not set get
	// DefaultClabImages.
	Images map[string]string
}

var imageRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$`)

// image returns the image for kind.
func (o ClabOptions) image(kind string) string {
	if img := o.Images[kind]; img != "" {
		return img
	}
	return DefaultClabImages[kind]
}

func (o ClabOptions) check() error {
	for kind, img := range o.Images {
		if _, ok := DefaultClabImages[kind]; !ok {
			kinds := make([]string, 0, len(DefaultClabImages))
			for k := range DefaultClabImages {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			return fmt.Errorf("image for %q: no such node kind (want one of %s)", kind, strings.Join(kinds, ", "))
		}
		if !imageRE.MatchString(img) {
			return fmt.Errorf("image for %s: %q is not an image reference", kind, img)
		}
	}
	return nil
}

// ClabImage is one image a containerlab export uses.
type ClabImage struct {
	Image string
	// Kinds are the node kinds that run it.
	Kinds []string
	// Build is the command that builds it from this repository ("" for an
	// image containerlab pulls).
	Build string
}

// ClabImages lists the images the topology's export uses, in node order
// (the route server's first, the LAN's last).
func ClabImages(topo *Topology, opts ClabOptions) []ClabImage {
	kinds := []string{topo.RouteServer.Kind}
	for _, m := range topo.Members {
		kinds = append(kinds, m.Daemon)
	}
	kinds = append(kinds, ClabLAN)
	var out []ClabImage
	for _, k := range kinds {
		img := opts.image(k)
		i := slices.IndexFunc(out, func(c ClabImage) bool { return c.Image == img })
		if i < 0 {
			out = append(out, ClabImage{Image: img, Build: clabBuild[img]})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].Kinds, k) {
			out[i].Kinds = append(out[i].Kinds, k)
		}
	}
	return out
}

// ClabFile is the name of the containerlab topology file WriteClab writes.
func ClabFile(topo *Topology) string { return topo.Name + ".clab.yml" }

// WriteClab writes a containerlab topology equivalent to topo into dir
// (created if needed): dir/NAME.clab.yml, and for each node dir/NODE/
// with its configs and start.sh (and dir/lan/start.sh for the LAN). It
// returns the files written, relative to dir. Files already in dir are
// overwritten; nothing else is removed. Deploy with "containerlab deploy
// -t NAME.clab.yml" from dir.
func WriteClab(topo *Topology, dir string, opts ClabOptions) ([]string, error) {
	if err := topo.Normalize(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("containerlab export: no output directory")
	}
	if m := topo.Member("clab-" + topo.Name); m != nil {
		return nil, fmt.Errorf("member %q: the name is that of containerlab's own directory for lab %s; rename the member", m.Name, topo.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var files []string
	write := func(rel string, data []byte, mode os.FileMode) error {
		if err := os.WriteFile(filepath.Join(dir, rel), data, mode); err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	}

	nodes := buildNodes(topo, "", &Options{FedrsBinary: clabFedrsBinary})
	for _, n := range nodes {
		n.Dir = ClabMount
		n.Namespace = ""
		n.out = filepath.Join(dir, n.Name)
		if err := os.MkdirAll(n.out, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", n.out, err)
		}
		if n.IsRS {
			if err := writeFiles(n.out, topo.RouteServer.Files); err != nil {
				return nil, fmt.Errorf("%s (%s): %w", n.Name, n.Kind, err)
			}
			for _, name := range slices.Sorted(maps.Keys(topo.RouteServer.Files)) {
				files = append(files, filepath.Join(n.Name, filepath.Base(name)))
			}
		}
		d, err := daemonFor(n.Kind)
		if err != nil {
			return nil, err
		}
		if err := d.configure(n); err != nil {
			return nil, fmt.Errorf("%s (%s): write config: %w", n.Name, n.Kind, err)
		}
		script, err := clabStartScript(topo, n, d)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", n.Name, n.Kind, err)
		}
		if err := n.writeFile("start.sh", []byte(script), 0o755); err != nil {
			return nil, err
		}
		for _, f := range n.wrote {
			files = append(files, filepath.Join(n.Name, f))
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ClabLAN), 0o755); err != nil {
		return nil, err
	}
	if err := write(filepath.Join(ClabLAN, "start.sh"), []byte(clabLANScript(topo, nodes)), 0o755); err != nil {
		return nil, err
	}
	y, err := clabYAML(topo, nodes, opts)
	if err != nil {
		return nil, err
	}
	if err := write(ClabFile(topo), y, 0o644); err != nil {
		return nil, err
	}
	return files, nil
}

// shQuote quotes s for a POSIX shell (only when needed).
func shQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./:=@%+,-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shQuote(a)
	}
	return strings.Join(q, " ")
}

// clabScriptHead is the part every start.sh shares: a message helper and
// a bounded wait for an interface.
const clabScriptHead = `set -u
say() { echo "start.sh ($NODE): $*"; }
fail() { say "$*"; exit 1; }
command -v ip >/dev/null 2>&1 || fail "this image has no ip command (iproute2); use an image that has it (see lab/README.md, containerlab)"

# wait_link IF: containerlab attaches the links after the container starts.
wait_link() {
	n=0
	until ip link show "$1" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -le 120 ] || fail "no $1 after 120 s: is the node linked in the topology file?"
		sleep 1
	done
}
`

// clabStartScript is a router node's start.sh: LAN addresses, then the
// node's processes, then (gobgp members) the announcements.
func clabStartScript(topo *Topology, n *node, d daemon) (string, error) {
	specs, err := d.processes(n)
	if err != nil {
		return "", err
	}
	if len(specs) == 0 {
		return "", errors.New("no process to run")
	}
	role := "member"
	if n.IsRS {
		role = "route server"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# fedrs lab %s: node %s (%s, %s, AS %d), generated by \"fedrs lab clab\".\n", topo.Name, n.Name, role, n.Kind, n.ASN)
	fmt.Fprintf(&b, "# containerlab runs it in the node's container, with the node's directory at %s.\n", ClabMount)
	fmt.Fprintf(&b, "NODE=%s\n", shQuote(n.Name))
	b.WriteString(clabScriptHead)
	v4 := netip.PrefixFrom(n.IPv4, topo.LANv4.Bits())
	v6 := netip.PrefixFrom(n.IPv6, topo.LANv6.Bits())
	fmt.Fprintf(&b, `
# The peering LAN on eth1 (eth0 is containerlab's management network).
wait_link eth1
echo 0 >/proc/sys/net/ipv6/conf/eth1/accept_dad 2>/dev/null || true
ip link set lo up
ip link set eth1 up || fail "cannot set eth1 up"
ip addr replace %s dev eth1 || fail "cannot add %s to eth1"
ip -6 addr replace %s dev eth1 nodad || fail "cannot add %s to eth1"
say "eth1: %s %s"
`, v4, v4, v6, v6, v4, v6)
	fmt.Fprintf(&b, "\n# Control sockets left by an earlier run of this container.\nfor f in %s/*; do [ -S \"$f\" ] && rm -f \"$f\"; done\n", ClabMount)
	switch n.Kind {
	case KindFRR:
		fmt.Fprintf(&b, "# zebra runs as frr and writes its socket and pid file here.\nchown frr:frr %s || fail \"cannot hand %s to user frr\"\n", ClabMount, ClabMount)
	case KindOpenBGPD:
		b.WriteString("# bgpd chroots to its user's home (Debian: /run/openbgpd).\nmkdir -p /run/openbgpd\n")
	}

	var post []string // commands after the last process started
	var ready []string
	if n.Kind == KindGoBGP {
		cli := shJoin(gobgpDaemon{}.cli(n))
		ready = []string{cli + " global >/dev/null 2>&1"}
		for _, args := range gobgpAnnouncements(n) {
			post = append(post, fmt.Sprintf("%s %s || say \"gobgp could not announce %s\"", cli, shJoin(args), args[5]))
		}
	}
	b.WriteString("\n")
	for i, s := range specs {
		cmd := shJoin(s.Argv)
		if len(s.Env) > 0 {
			cmd = "env " + shJoin(s.Env) + " " + cmd
		}
		logf := shQuote(n.path(s.Name + ".log"))
		last := i == len(specs)-1
		fmt.Fprintf(&b, "say \"starting %s (log: %s)\"\n", s.Name, n.path(s.Name+".log"))
		if last && len(post) == 0 {
			fmt.Fprintf(&b, "exec %s >>%s 2>&1\n", cmd, logf)
			break
		}
		fmt.Fprintf(&b, "%s >>%s 2>&1 &\n", cmd, logf)
		if s.ReadyFile != "" {
			fmt.Fprintf(&b, "n=0\nuntil [ -e %s ]; do\n\tn=$((n + 1))\n\t[ \"$n\" -le 30 ] || fail \"%s is not ready after 30 s (no %s): see %s\"\n\tsleep 1\ndone\n",
				shQuote(s.ReadyFile), s.Name, s.ReadyFile, n.path(s.Name+".log"))
		}
		if last {
			fmt.Fprintf(&b, "pid=$!\ntrap 'kill -TERM \"$pid\" 2>/dev/null' TERM INT\n")
			for _, r := range ready {
				fmt.Fprintf(&b, "n=0\nuntil %s; do\n\tkill -0 \"$pid\" 2>/dev/null || fail \"%s exited: see %s\"\n\tn=$((n + 1))\n\t[ \"$n\" -le 30 ] || fail \"%s does not answer after 30 s: see %s\"\n\tsleep 1\ndone\n",
					r, s.Name, n.path(s.Name+".log"), s.Name, n.path(s.Name+".log"))
			}
			for _, p := range post {
				b.WriteString(p + "\n")
			}
			fmt.Fprintf(&b, "say \"announcements added: %d\"\n", len(post))
			b.WriteString("wait \"$pid\"\nstatus=$?\n# a signal ends wait early: wait for the daemon itself\nwhile kill -0 \"$pid\" 2>/dev/null; do wait \"$pid\"; status=$?; done\nexit \"$status\"\n")
		}
	}
	return b.String(), nil
}

// clabLANScript is the LAN node's start.sh: a bridge joining eth1..ethN.
func clabLANScript(topo *Topology, nodes []*node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# fedrs lab %s: the peering LAN, generated by \"fedrs lab clab\".\n", topo.Name)
	b.WriteString("# A Linux bridge in this container joins one port per router (no host bridge needed):\n")
	var ports []string
	for i, n := range nodes {
		port := clabLANPort(i)
		ports = append(ports, port)
		fmt.Fprintf(&b, "#   %s: %s\n", port, n.Name)
	}
	fmt.Fprintf(&b, "NODE=%s\n", ClabLAN)
	b.WriteString(clabScriptHead)
	fmt.Fprintf(&b, `
ip link show %[1]s >/dev/null 2>&1 || ip link add %[1]s type bridge || fail "cannot create bridge %[1]s"
# The bridge only switches frames: no IPv6 on it.
echo 1 >/proc/sys/net/ipv6/conf/%[1]s/disable_ipv6 2>/dev/null || true
ip link set %[1]s up || fail "cannot set %[1]s up"
`, bridgeName)
	for i, n := range nodes {
		fmt.Fprintf(&b, "wait_link %[1]s\nip link set %[1]s master %[2]s || fail \"cannot add %[1]s to %[2]s\"\nip link set %[1]s alias %[3]s 2>/dev/null || true\nip link set %[1]s up || fail \"cannot set %[1]s up\"\n",
			ports[i], bridgeName, shQuote(n.Name))
	}
	fmt.Fprintf(&b, "say \"%s joins %s\"\n", bridgeName, strings.Join(ports, " "))
	b.WriteString("trap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n")
	return b.String()
}

// clabLANPort is the LAN node's interface towards the i-th router (the
// route server is 0).
func clabLANPort(i int) string { return fmt.Sprintf("eth%d", i+1) }

// clabNode is a node of the containerlab topology file.
type clabNode struct {
	Kind       string   `yaml:"kind"`
	Image      string   `yaml:"image"`
	Binds      []string `yaml:"binds,flow"`
	Entrypoint string   `yaml:"entrypoint"`
	Cmd        string   `yaml:"cmd"`
}

type clabLink struct {
	Endpoints []string `yaml:"endpoints,flow"`
}

func clabYAML(topo *Topology, nodes []*node, opts ClabOptions) ([]byte, error) {
	var b strings.Builder
	from := ""
	if topo.File != "" {
		from = " from " + topo.File
	}
	fmt.Fprintf(&b, "# containerlab topology of fedrs lab %q, generated by \"fedrs lab clab\"%s.\n", topo.Name, from)
	fmt.Fprintf(&b, "# Each node's directory here is mounted at %s in its container; its start.sh adds the\n", ClabMount)
	b.WriteString("# node's peering-LAN addresses on eth1 and starts its daemons (logs: NODE/*.log).\n")
	b.WriteString("# The \"lan\" node is the peering LAN: a bridge joining its eth1..ethN.\n#\n# Images:\n")
	for _, img := range ClabImages(topo, opts) {
		how := "pulled by containerlab"
		if img.Build != "" {
			how = "build from the fedrs repository: " + img.Build
		}
		fmt.Fprintf(&b, "#   %-28s %s (%s)\n", img.Image, strings.Join(img.Kinds, ", "), how)
	}
	fmt.Fprintf(&b, "#\n# Deploy from this directory:  sudo containerlab deploy -t %s\n", ClabFile(topo))
	fmt.Fprintf(&b, "# Remove:                      sudo containerlab destroy -t %s --cleanup\n\n", ClabFile(topo))

	var nodesMap yaml.Node
	nodesMap.Kind = yaml.MappingNode
	add := func(name, comment string, cn clabNode) error {
		var v yaml.Node
		if err := v.Encode(cn); err != nil {
			return err
		}
		k := yaml.Node{Kind: yaml.ScalarNode, Value: name, LineComment: comment}
		nodesMap.Content = append(nodesMap.Content, &k, &v)
		return nil
	}
	for _, n := range nodes {
		comment := fmt.Sprintf("member: %s, AS %d, %s %s", n.Kind, n.ASN, n.IPv4, n.IPv6)
		if n.IsRS {
			comment = fmt.Sprintf("route server: %s, AS %d, %s %s", n.Kind, n.ASN, n.IPv4, n.IPv6)
		}
		if err := add(n.Name, comment, clabRouter(n.Name, opts.image(n.Kind))); err != nil {
			return nil, err
		}
	}
	if err := add(ClabLAN, "peering LAN: bridge "+bridgeName, clabRouter(ClabLAN, opts.image(ClabLAN))); err != nil {
		return nil, err
	}
	var links []clabLink
	for i, n := range nodes {
		links = append(links, clabLink{Endpoints: []string{ClabLAN + ":" + clabLANPort(i), n.Name + ":eth1"}})
	}
	doc := struct {
		Name     string `yaml:"name"`
		Topology struct {
			Nodes *yaml.Node `yaml:"nodes"`
			Links []clabLink `yaml:"links"`
		} `yaml:"topology"`
	}{Name: topo.Name}
	doc.Topology.Nodes = &nodesMap
	doc.Topology.Links = links
	var out strings.Builder
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String() + out.String()), nil
}

// clabRouter is a node running DIR/start.sh from its own directory.
func clabRouter(name, image string) clabNode {
	return clabNode{
		Kind:       "linux",
		Image:      image,
		Binds:      []string{"./" + name + ":" + ClabMount},
		Entrypoint: "/bin/sh",
		Cmd:        ClabMount + "/start.sh",
	}
}
