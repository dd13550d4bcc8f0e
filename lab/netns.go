package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Namespaces are named like iproute2's ("ip netns add"): a bind mount of
// the namespace at /run/netns/NAME, so that "ip netns exec", "ip -n" and
// nsenter all work on them. Every name starts with nsPrefix, the lab name
// and '-': "fl-demo-rs", "fl-demo-lan", "fl-demo-trust-a". Lab names have
// no '-', so the prefix "fl-demo-" never matches another lab's names.
const (
	nsPrefix   = "fl-"
	netnsDir   = "/run/netns"
	rsNode     = "rs"
	lanNode    = "lan"
	bridgeName = "br0"
	// ifName is every router's LAN interface inside its namespace.
	ifName = "eth0"
)

func nsName(lab, node string) string { return nsPrefix + lab + "-" + node }

func labNSPrefix(lab string) string { return nsPrefix + lab + "-" }

// lanPortName is the bridge port of a node's veth in the LAN namespace
// (at most 15 bytes; the alias carries the node name).
func lanPortName(idx int) string {
	if idx == 0 {
		return "v-rs"
	}
	return "v-m" + strconv.Itoa(idx)
}

// listNamespaces returns the named namespaces that start with prefix.
func listNamespaces(prefix string) ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// ensureNetnsDir prepares /run/netns the way iproute2 does: a shared
// mount point, so namespaces mounted later propagate into the private
// mount namespaces that "ip netns exec" creates.
func ensureNetnsDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", netnsDir, err)
	}
	for range 2 {
		err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("make %s shared: %w", netnsDir, err)
		}
		// Not a mount point yet: bind it onto itself, then retry.
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s: %w", netnsDir, err)
		}
	}
	return fmt.Errorf("make %s a shared mount point: still not one", netnsDir)
}

// createNamespace creates a named network namespace and applies sysctls
// (paths under /proc/sys) inside it. The work happens on a locked OS
// thread that is never unlocked: when the goroutine ends, the runtime
// destroys that thread, so no thread of this process is left in the lab's
// namespace by accident.
func createNamespace(name string, sysctls map[string]string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Deliberately no UnlockOSThread: see above.
		h, err := netns.NewNamed(name)
		if err != nil {
			errc <- fmt.Errorf("create namespace %s: %w", name, err)
			return
		}
		defer h.Close()
		keys := make([]string, 0, len(sysctls))
		for k := range sysctls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// /proc/sys/net is resolved against the calling thread's
			// namespace, which is the new one.
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(sysctls[k]), 0o644); err != nil {
				errc <- fmt.Errorf("namespace %s: sysctl %s: %w", name, k, err)
				return
			}
		}
		errc <- nil
	}()
	return <-errc
}

// deleteNamespace unmounts and removes a named namespace; it is gone once
// no process or open handle refers to it (the caller kills processes
// first), and its interfaces go with it. Missing namespaces are not an
// error.
func deleteNamespace(name string) error {
	p := filepath.Join(netnsDir, name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", name, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", name, err)
	}
	return nil
}

// pidsInNamespaces returns the processes whose network namespace is one
// of the named ones (what "ip netns pids" does: compare device and inode
// of /proc/PID/ns/net with the bind mount).
func pidsInNamespaces(names []string) (map[int]string, error) {
	type key struct{ dev, ino uint64 }
	want := map[key]string{}
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(netnsDir, n), &st); err != nil {
			continue
		}
		want[key{st.Dev, st.Ino}] = n
	}
	out := map[int]string{}
	if len(want) == 0 {
		return out, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat("/proc/"+e.Name()+"/ns/net", &st); err != nil {
			continue
		}
		if n, ok := want[key{st.Dev, st.Ino}]; ok {
			out[pid] = n
		}
	}
	return out, nil
}

// lanSpec is one router's attachment to the peering LAN.
type lanSpec struct {
	Node      string
	Namespace string
	Port      string // bridge port name in the LAN namespace
	Addrs     []netip.Prefix
}

// buildLAN creates the bridge in the LAN namespace and, for each router,
// a veth pair: the bridge port in the LAN namespace, eth0 in the router's
// namespace with its addresses (IPv6 without DAD) and loopback up.
// Nothing is created in the caller's namespace.
func buildLAN(lanNS string, specs []lanSpec) error {
	lanH, err := netns.GetFromName(lanNS)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", lanNS, err)
	}
	defer lanH.Close()
	lh, err := netlink.NewHandleAt(lanH)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", lanNS, err)
	}
	defer lh.Close()
	if err := linkUp(lh, "lo"); err != nil {
		return fmt.Errorf("%s: %w", lanNS, err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := lh.LinkAdd(br); err != nil {
		return fmt.Errorf("%s: add bridge %s: %w", lanNS, bridgeName, err)
	}
	if err := lh.LinkSetUp(br); err != nil {
		return fmt.Errorf("%s: set %s up: %w", lanNS, bridgeName, err)
	}
	for _, s := range specs {
		if err := attach(lh, br, s); err != nil {
			return fmt.Errorf("attach %s to the LAN: %w", s.Node, err)
		}
	}
	return nil
}

func attach(lh *netlink.Handle, br *netlink.Bridge, s lanSpec) error {
	h, err := netns.GetFromName(s.Namespace)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", s.Namespace, err)
	}
	defer h.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.Port},
		PeerName:      ifName,
		PeerNamespace: netlink.NsFd(int(h)),
	}
	if err := lh.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s/%s: %w", s.Port, ifName, err)
	}
	port, err := lh.LinkByName(s.Port)
	if err != nil {
		return fmt.Errorf("find %s: %w", s.Port, err)
	}
	if err := lh.LinkSetAlias(port, s.Node); err != nil {
		return fmt.Errorf("alias %s: %w", s.Port, err)
	}
	if err := lh.LinkSetMaster(port, br); err != nil {
		return fmt.Errorf("enslave %s to %s: %w", s.Port, bridgeName, err)
	}
	if err := lh.LinkSetUp(port); err != nil {
		return fmt.Errorf("set %s up: %w", s.Port, err)
	}

	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", s.Namespace, err)
	}
	defer nh.Close()
	if err := linkUp(nh, "lo"); err != nil {
		return err
	}
	eth, err := nh.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", ifName, s.Namespace, err)
	}
	for _, a := range s.Addrs {
		addr := &netlink.Addr{IPNet: prefixToIPNet(a)}
		if a.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := nh.AddrAdd(eth, addr); err != nil {
			return fmt.Errorf("add %s to %s in %s: %w", a, ifName, s.Namespace, err)
		}
	}
	if err := nh.LinkSetUp(eth); err != nil {
		return fmt.Errorf("set %s up in %s: %w", ifName, s.Namespace, err)
	}
	return nil
}

func linkUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// namespaceLinks lists the interface names in a named namespace.
func namespaceLinks(name string) ([]string, error) {
	h, err := netns.GetFromName(name)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, err
	}
	defer nh.Close()
	links, err := nh.LinkList()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.Attrs().Name
	}
	sort.Strings(out)
	return out, nil
}
