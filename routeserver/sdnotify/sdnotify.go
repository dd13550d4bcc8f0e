// Package sdnotify speaks the service manager's notification protocol
// (sd_notify(3)): newline-separated VAR=VALUE assignments in one datagram
// to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract name
// starting with '@'). Without $NOTIFY_SOCKET every call does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends notifications to the service manager. The zero value and
// nil send nothing.
type Notifier struct {
	mu   sync.Mutex
	conn *net.UnixConn
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET (nil when unset or empty)
// and removes the variable from the environment, so that no child process
// speaks for this one.
func FromEnv() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	if path == "" {
		return nil, nil
	}
	return Dial(path)
}

// Dial returns a Notifier for the socket at path ('@' for an abstract
// name).
func Dial(path string) (*Notifier, error) {
	if path[0] != '/' && path[0] != '@' {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or an abstract name starting with @", path)
	}
	name := path
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET %s: %w", path, err)
	}
	return &Notifier{conn: conn}, nil
}

// Enabled reports whether n sends anything.
func (n *Notifier) Enabled() bool { return n != nil && n.conn != nil }

// Send sends the assignments (for example "READY=1", "STATUS=…") in one
// datagram.
func (n *Notifier) Send(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.conn.Write([]byte(strings.Join(assignments, "\n") + "\n"))
	return err
}

// Ready tells the service manager that start-up (or a reload) is done;
// status, when not empty, goes with it.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.Send("READY=1")
	}
	return n.Send("READY=1", "STATUS="+oneLine(status))
}

// Reloading tells the service manager that a reload started (Ready ends
// it), with the CLOCK_MONOTONIC time it asks for.
func (n *Notifier) Reloading() error {
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(Monotonic().Microseconds(), 10))
}

// Stopping tells the service manager that the service is shutting down.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Status sets the one-line status systemctl status shows.
func (n *Notifier) Status(s string) error { return n.Send("STATUS=" + oneLine(s)) }

// Watchdog pings the service manager's watchdog.
func (n *Notifier) Watchdog() error { return n.Send("WATCHDOG=1") }

// Close closes the socket.
func (n *Notifier) Close() error {
	if !n.Enabled() {
		return nil
	}
	return n.conn.Close()
}

// Monotonic is CLOCK_MONOTONIC.
func Monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// WatchdogInterval returns the watchdog timeout the service manager set
// for this process ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or this
// process's pid), 0 for none, and removes both variables from the
// environment. Ping at half of it.
func WatchdogInterval() (time.Duration, error) {
	usec, pid := os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")
	os.Unsetenv("WATCHDOG_USEC")
	os.Unsetenv("WATCHDOG_PID")
	if usec == "" {
		return 0, nil
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID %q: not a pid", pid)
		}
		if p != os.Getpid() {
			return 0, nil // meant for another process
		}
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC %q: want a positive number of microseconds", usec)
	}
	return time.Duration(u) * time.Microsecond, nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
