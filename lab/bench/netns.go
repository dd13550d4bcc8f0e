package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sort"
	"time"

	"github.com/fedrs/fedrs/lab"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NamespacePrefix starts the name of every namespace the benchmark
// creates: "fb-NAME-rs" (the route server) and "fb-NAME-m" (every member,
// and the RTR server), joined by a veth pair whose ends are both "eth0".
const NamespacePrefix = "fb-"

// topology is one run's pair of namespaces.
type topology struct {
	name   string
	rsNS   string
	memNS  string
	worker *nsWorker
}

func namespaces(name string) (rs, mem string) {
	return NamespacePrefix + name + "-rs", NamespacePrefix + name + "-m"
}

// buildTopology removes what an earlier run of the same name left, then
// creates the route server's namespace with the route server's addresses,
// the members' namespace with every member's addresses and the RTR
// server's, and the veth pair between them.
func buildTopology(name string, t *Table) (_ *topology, err error) {
	if err := lab.EnsureNetnsDir(); err != nil {
		return nil, err
	}
	if err := teardownNamespaces(name); err != nil {
		return nil, fmt.Errorf("removing leftovers of an earlier run: %w", err)
	}
	rsNS, memNS := namespaces(name)
	tp := &topology{name: name, rsNS: rsNS, memNS: memNS}
	defer func() {
		if err != nil {
			tp.close()
		}
	}()
	sysctls := map[string]string{
		"net/ipv6/conf/all/accept_dad":     "0",
		"net/ipv6/conf/default/accept_dad": "0",
	}
	for _, ns := range []string{rsNS, memNS} {
		if err := lab.CreateNamespace(ns, sysctls); err != nil {
			return nil, err
		}
	}
	rsH, err := netns.GetFromName(rsNS)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", rsNS, err)
	}
	defer rsH.Close()
	memH, err := netns.GetFromName(memNS)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", memNS, err)
	}
	defer memH.Close()
	rh, err := netlink.NewHandleAt(rsH)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", rsNS, err)
	}
	defer rh.Close()
	mh, err := netlink.NewHandleAt(memH)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", memNS, err)
	}
	defer mh.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(memH))}
	if err := rh.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("add veth %s/%s: %w", rsNS, memNS, err)
	}
	rsAddrs := []netip.Prefix{netip.PrefixFrom(RSAddr4, LANBits4), netip.PrefixFrom(RSAddr6, LANBits6)}
	memAddrs := []netip.Prefix{netip.PrefixFrom(RTRAddr4, LANBits4)}
	for i := range t.Members {
		m := &t.Members[i]
		memAddrs = append(memAddrs, netip.PrefixFrom(m.Addr[IPv4], LANBits4), netip.PrefixFrom(m.Addr[IPv6], LANBits6))
	}
	if err := configureLink(rh, rsNS, rsAddrs); err != nil {
		return nil, err
	}
	if err := configureLink(mh, memNS, memAddrs); err != nil {
		return nil, err
	}
	if err := waitOperUp(rh, rsNS); err != nil {
		return nil, err
	}
	if err := waitOperUp(mh, memNS); err != nil {
		return nil, err
	}
	if tp.worker, err = startWorker(memNS); err != nil {
		return nil, err
	}
	return tp, nil
}

// configureLink brings lo and eth0 up and adds the addresses (IPv6
// without duplicate address detection, so they work at once).
func configureLink(h *netlink.Handle, ns string, addrs []netip.Prefix) error {
	for _, name := range []string{"lo", "eth0"} {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("%s: find %s: %w", ns, name, err)
		}
		if name == "eth0" {
			for _, a := range addrs {
				addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
				if a.Addr().Is6() {
					addr.Flags = unix.IFA_F_NODAD
				}
				if err := h.AddrAdd(l, addr); err != nil {
					return fmt.Errorf("%s: add %s: %w", ns, a, err)
				}
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("%s: set %s up: %w", ns, name, err)
		}
	}
	return nil
}

// waitOperUp waits (up to 5 s) until eth0 is operationally up: a SYN sent
// before the veth has carrier is dropped and retried only a second later.
func waitOperUp(h *netlink.Handle, ns string) error {
	for i := 0; i < 500; i++ {
		l, err := h.LinkByName("eth0")
		if err != nil {
			return fmt.Errorf("%s: find eth0: %w", ns, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s: eth0 is not up after 5s", ns)
}

// close stops every process in the topology's namespaces and deletes them.
func (tp *topology) close() error {
	if tp.worker != nil {
		tp.worker.close()
		tp.worker = nil
	}
	return teardownNamespaces(tp.name)
}

// teardownNamespaces kills every process inside the namespaces of run
// name (found by prefix) and deletes them.
func teardownNamespaces(name string) error {
	found, err := lab.ListNamespaces(NamespacePrefix + name + "-")
	if err != nil || len(found) == 0 {
		return err
	}
	inNS, err := lab.PIDsInNamespaces(found)
	if err != nil {
		return err
	}
	var pids []int
	for pid := range inNS {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	var errs []error
	if left := lab.KillAll(pids, 5*time.Second); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes still running after SIGKILL: %v", left))
	}
	for _, ns := range found {
		if err := lab.DeleteNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Leftovers lists the namespaces earlier benchmark runs left behind.
func Leftovers() ([]string, error) { return lab.ListNamespaces(NamespacePrefix) }

// nsWorker runs socket calls on an OS thread that lives in a namespace:
// sockets belong to the namespace of the thread that creates them, and
// keep it wherever they are used afterwards. The thread is never unlocked
// from its goroutine, so the Go runtime discards it when the worker ends
// and no other goroutine ever runs in that namespace.
type nsWorker struct {
	reqs chan func()
}

func startWorker(ns string) (*nsWorker, error) {
	w := &nsWorker{reqs: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Deliberately no UnlockOSThread: see nsWorker.
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		err = netns.Set(h)
		h.Close()
		if err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		errc <- nil
		for f := range w.reqs {
			f()
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return w, nil
}

func (w *nsWorker) do(f func()) {
	done := make(chan struct{})
	w.reqs <- func() { f(); close(done) }
	<-done
}

func (w *nsWorker) close() { close(w.reqs) }

// Dial opens a TCP connection from local to remote inside the namespace.
func (w *nsWorker) Dial(ctx context.Context, local netip.Addr, remote netip.AddrPort) (c net.Conn, err error) {
	w.do(func() { c, err = DirectDial(ctx, local, remote) })
	return c, err
}

// Listen opens a TCP listener inside the namespace.
func (w *nsWorker) Listen(addr netip.AddrPort) (ln net.Listener, err error) {
	w.do(func() { ln, err = net.Listen("tcp", addr.String()) })
	return ln, err
}
