package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestSend: a path and an abstract name in NOTIFY_SOCKET each get the
// datagrams, one per call, and the variable is removed from the
// environment; without it nothing is sent and nothing fails.
func TestSend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	abstract := fmt.Sprintf("@fedrs-sdnotify-test-%d", os.Getpid())
	for _, name := range []string{path, abstract} {
		sockName := name
		if name[0] == '@' {
			sockName = "\x00" + name[1:]
		}
		c := listen(t, sockName)
		t.Setenv("NOTIFY_SOCKET", name)
		n, err := FromEnv()
		if err != nil || !n.Enabled() {
			t.Fatalf("%s: %v", name, err)
		}
		if v, set := os.LookupEnv("NOTIFY_SOCKET"); set {
			t.Errorf("NOTIFY_SOCKET still set: %q", v)
		}
		n.Ready("2 of 3 sessions\nestablished")
		if got := read(t, c); got != "READY=1\nSTATUS=2 of 3 sessions; established\n" {
			t.Errorf("%s: Ready sent %q", name, got)
		}
		before := Monotonic()
		n.Reloading()
		got := read(t, c)
		lines := strings.Split(strings.TrimSpace(got), "\n")
		if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
			t.Fatalf("Reloading sent %q", got)
		}
		usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
		if err != nil || usec < before.Microseconds() || usec > Monotonic().Microseconds() {
			t.Errorf("MONOTONIC_USEC %q not between %d and now", lines[1], before.Microseconds())
		}
		n.Watchdog()
		n.Stopping()
		if got := read(t, c) + read(t, c); got != "WATCHDOG=1\nSTOPPING=1\n" {
			t.Errorf("Watchdog, Stopping sent %q", got)
		}
		n.Close()
	}
	os.Unsetenv("NOTIFY_SOCKET")
	n, err := FromEnv()
	if n != nil || err != nil || n.Enabled() || n.Ready("x") != nil {
		t.Errorf("without NOTIFY_SOCKET: %v %v", n, err)
	}
	t.Setenv("NOTIFY_SOCKET", "relative")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), `"relative"`) {
		t.Errorf("relative NOTIFY_SOCKET: %v", err)
	}
}

// TestWatchdogInterval: WATCHDOG_USEC for this pid (or no pid) is the
// interval; for another pid, none; garbage is an error naming it.
func TestWatchdogInterval(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"20000000", "", 20 * time.Second, false},
		{"20000000", strconv.Itoa(os.Getpid()), 20 * time.Second, false},
		{"20000000", strconv.Itoa(os.Getpid() + 1), 0, false},
		{"x", "", 0, true},
		{"0", "", 0, true},
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		got, err := WatchdogInterval()
		if got != c.want || (err != nil) != c.err || (err != nil && !strings.Contains(err.Error(), c.usec)) {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, %v", c.usec, c.pid, got, err)
		}
		if _, set := os.LookupEnv("WATCHDOG_USEC"); set {
			t.Error("WATCHDOG_USEC still set")
		}
	}
}
