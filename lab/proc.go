package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Processes run through "ip netns exec NS ARGV...". That is iproute2's
// own, well-understood way to run a program in a named namespace: it
// setns()es, remounts /sys for the namespace, applies /etc/netns/NS
// bindings if there are any, then execs ARGV, so the PID we start is the
// daemon's PID. Doing setns() from Go instead is fragile: it applies to
// one OS thread, and fork/exec from a multi-threaded runtime cannot
// guarantee which thread the child inherits from without more machinery.
//
// Each daemon runs in the foreground in its own session (setsid), so a
// Ctrl-C at the terminal reaches the lab CLI (which tears down) and not
// the daemons, and the daemons outlive "fedrs lab up". Output goes to the
// node's log file. Down kills the process group, then anything else
// still inside the lab's namespaces.

// procInfo identifies a started process across invocations.
type procInfo struct {
	Node      string   `json:"node"`
	PID       int      `json:"pid"`
	StartTime uint64   `json:"start_time"` // /proc/PID/stat field 22, guards against PID reuse
	Argv      []string `json:"argv"`
	Log       string   `json:"log"`
}

// startInNamespace starts argv in namespace ns.
func startInNamespace(ns string, argv, env []string, dir, logPath string) (*exec.Cmd, procInfo, error) {
	ip, err := findBinary("ip")
	if err != nil {
		return nil, procInfo{}, err
	}
	bin, err := findBinary(argv[0])
	if err != nil {
		return nil, procInfo{}, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, procInfo{}, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	args := append([]string{"netns", "exec", ns, bin}, argv[1:]...)
	cmd := exec.Command(ip, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, procInfo{}, fmt.Errorf("start %s in %s: %w", argv[0], ns, err)
	}
	st, _ := procStartTime(cmd.Process.Pid)
	return cmd, procInfo{PID: cmd.Process.Pid, StartTime: st, Argv: argv, Log: logPath}, nil
}

// procStat returns the state letter and start time of a process.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	start, err = strconv.ParseUint(f[19], 10, 64)
	return f[0][0], start, err
}

func procStartTime(pid int) (uint64, error) {
	_, st, err := procStat(pid)
	return st, err
}

// alive reports whether the process still runs (a zombie does not).
func (p procInfo) alive() bool {
	state, start, err := procStat(p.PID)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return p.StartTime == 0 || start == p.StartTime
}

// killAll stops processes: SIGTERM to each (and its process group when it
// leads one), then SIGKILL to what is left after grace. Every wait is
// bounded.
func killAll(pids []int, grace time.Duration) []int {
	live := func() []int {
		var out []int
		for _, pid := range pids {
			if state, _, err := procStat(pid); err == nil && state != 'Z' && state != 'X' {
				out = append(out, pid)
			}
		}
		return out
	}
	signal := func(sig syscall.Signal) {
		for _, pid := range live() {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
				_ = syscall.Kill(-pid, sig)
			}
			_ = syscall.Kill(pid, sig)
		}
	}
	waitGone := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for i := 0; i < 200 && time.Now().Before(deadline); i++ {
			if len(live()) == 0 {
				return true
			}
			time.Sleep(25 * time.Millisecond)
		}
		return len(live()) == 0
	}
	if len(live()) == 0 {
		return nil
	}
	signal(syscall.SIGTERM)
	if waitGone(grace) {
		return nil
	}
	signal(syscall.SIGKILL)
	waitGone(2 * time.Second)
	return live()
}

// listeningOn reports whether some socket in the namespace of pid listens
// on TCP port (read from /proc/PID/net/tcp{,6}, which show that
// namespace's sockets).
func listeningOn(pid, port int) bool {
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/" + f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "0A" { // 0A = TCP_LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				return true
			}
		}
	}
	return false
}

// findBinary finds a program on PATH or in the sbin and FRR directories
// where Debian installs daemons.
func findBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		if st, err := os.Stat(name); err == nil && st.Mode()&0o111 != 0 {
			return name, nil
		}
		return "", fmt.Errorf("%s: not found or not executable", name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/frr"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (looked in PATH, /usr/sbin, /sbin, /usr/lib/frr)%s", name, installHint(name))
}

var debianPackages = map[string]string{
	"bird": "bird2", "birdc": "bird2",
	"bgpd": "openbgpd", "bgpctl": "openbgpd",
	"vtysh": "frr", "/usr/lib/frr/bgpd": "frr", "/usr/lib/frr/zebra": "frr",
	"gobgpd": "gobgpd", "gobgp": "gobgpd",
	"exabgp": "exabgp", "ip": "iproute2",
}

func installHint(name string) string {
	if p, ok := debianPackages[name]; ok {
		return "; install it with: apt-get install " + p
	}
	return ""
}

// Poll calls check every interval until it reports done, ctx ends, or
// timeout passes; it makes at most maxPolls calls. On timeout the error
// carries the last status check gave, so the caller learns what was still
// missing.
func Poll(ctx context.Context, what string, timeout, interval time.Duration, check func(context.Context) (done bool, status string, err error)) error {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	const maxPolls = 2000
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	var lastErr error
	for i := 0; i < maxPolls; i++ {
		done, status, err := check(ctx)
		if err != nil && errors.Is(err, errFatal) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if done && err == nil {
			return nil
		}
		if ctx.Err() == nil { // a check cut short by the deadline says nothing new
			last, lastErr = status, err
		}
		select {
		case <-ctx.Done():
			i = maxPolls
		case <-time.After(interval):
		}
	}
	msg := fmt.Sprintf("%s: not done after %s", what, timeout)
	if last != "" {
		msg += ": " + last
	}
	if lastErr != nil {
		msg += " (last error: " + lastErr.Error() + ")"
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", msg, ctx.Err())
	}
	return errors.New(msg)
}

// errFatal marks a check error that polling must not retry.
var errFatal = errors.New("fatal")

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	a := p.Addr()
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

// chownToUser gives dir to a system user (for daemons that insist on
// dropping root) and checks that every directory above it lets that user
// through.
func chownToUser(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", dir, name, err)
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not traversable by others (mode %v), but %s must reach %s: chmod o+x %s or use another run root", d, st.Mode().Perm(), name, dir, d)
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}
