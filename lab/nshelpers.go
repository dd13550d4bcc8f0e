package lab

import (
	"os/exec"
	"time"
)

// The helpers below export the lab's namespace and process plumbing to
// its subpackages (the benchmark builds its own topologies with them):
// the same named namespaces, the same "ip netns exec" process start and
// the same bounded teardown as Up and Down.

// EnsureNetnsDir prepares /run/netns as iproute2 does (a shared mount
// point), so namespaces created later are visible to "ip netns exec".
func EnsureNetnsDir() error { return ensureNetnsDir() }

// CreateNamespace creates the named network namespace name (a bind mount
// under /run/netns) and writes sysctls (paths under /proc/sys, e.g.
// "net/ipv6/conf/all/accept_dad") inside it. No thread of the calling
// process is left in the new namespace.
func CreateNamespace(name string, sysctls map[string]string) error {
	return createNamespace(name, sysctls)
}

// DeleteNamespace removes a named namespace; it disappears with its
// interfaces once no process uses it. A missing namespace is not an error.
func DeleteNamespace(name string) error { return deleteNamespace(name) }

// ListNamespaces returns the named namespaces whose name starts with
// prefix, sorted.
func ListNamespaces(prefix string) ([]string, error) { return listNamespaces(prefix) }

// PIDsInNamespaces returns the processes whose network namespace is one of
// the named ones, mapped to that namespace's name.
func PIDsInNamespaces(names []string) (map[int]string, error) { return pidsInNamespaces(names) }

// KillAll sends SIGTERM to each process (and the process group it leads),
// SIGKILL to what is left after grace, and returns the PIDs still alive.
func KillAll(pids []int, grace time.Duration) []int { return killAll(pids, grace) }

// StartInNamespace starts argv inside the named namespace with "ip netns
// exec", in its own session, in dir, with env added to the environment and
// stdout and stderr appended to logPath. The started PID is argv's PID.
// The caller must Wait for the command (or let a goroutine reap it).
func StartInNamespace(ns string, argv, env []string, dir, logPath string) (*exec.Cmd, error) {
	cmd, _, err := startInNamespace(ns, argv, env, dir, logPath)
	return cmd, err
}

// FindBinary finds a program on PATH or in the sbin and FRR directories
// where Debian installs daemons; the error says which package has it.
func FindBinary(name string) (string, error) { return findBinary(name) }

// ListeningOn reports whether a socket in the network namespace of pid
// listens on TCP port.
func ListeningOn(pid, port int) bool { return listeningOn(pid, port) }

// DebianPackage names the Debian package that has binary, or "".
func DebianPackage(binary string) string { return debianPackages[binary] }
