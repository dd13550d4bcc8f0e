package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
)

// TestCheckRefusesWhatRunRefuses: a member neighbour that is the route
// server's own address (router_id, or a [server] listen address) and a
// history path that is a directory: fedrs check exits 1 naming file:line,
// and fedrs run refuses the same configuration at once with the same
// message, starting nothing.
func TestCheckRefusesWhatRunRefuses(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	base := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q", filepath.Join(dir, "fedrs.sock"))).Replace(rstest.Config(rstest.Three(), ""))
	if err := os.Mkdir(filepath.Join(dir, "history"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"neighbor is the router_id", `"127.0.0.11"`, `"10.255.255.254"`,
			`10.255.255.254 is the route server's own address ([server] router_id)`},
		{"neighbor is the listen address", `"127.0.0.11"`, `"127.0.0.1"`,
			`127.0.0.1 is the route server's own address ([server] listen[1])`},
		{"history is a directory", `control = `, `history = "history"` + "\ncontrol = ",
			`server.history: ` + filepath.Join(dir, "history") + ` is a directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, tc.old, tc.new, 1)
			if text == base {
				t.Fatalf("%q not in the configuration", tc.old)
			}
			file := filepath.Join(dir, "fedrs.toml")
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var line int
			for i, l := range strings.Split(text, "\n") {
				if strings.Contains(l, strings.Split(tc.new, "\n")[0]) {
					line = i + 1
				}
			}
			where := fmt.Sprintf("%s:%d: ", file, line)
			for _, cmd := range []string{"check", "run"} {
				r := fedrsCmd(t, nil, cmd, "-c", file)
				if r.code != 1 || !strings.Contains(r.stderr+r.stdout, where) || !strings.Contains(r.stderr+r.stdout, tc.want) {
					t.Errorf("fedrs %s: want exit 1 and %q naming %q; got %s", cmd, tc.want, where, r)
				}
			}
		})
	}
}

// TestHistoryFileModes: fedrs run, with umask 022 and a history database
// in a directory that does not exist yet, creates the directory 0750 and
// the database, its -wal and its -shm 0640.
func TestHistoryFileModes(t *testing.T) {
	old := syscall.Umask(0o022) // inherited by the child
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	sock := filepath.Join(dir, "fedrs.sock")
	db := filepath.Join(dir, "state", "history.db")
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, fmt.Sprintf(`listen = ["127.0.0.1:%d"]`, port),
		`control = ""`, fmt.Sprintf("control = %q\nhistory = %q", sock, db)).Replace(rstest.Config(rstest.Three(), ""))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "run", "-c", file)
	waitSocket(t, d, sock)
	rstest.Eventually(t, 10*time.Second, func() bool {
		for _, f := range []string{db, db + "-wal", db + "-shm"} {
			if _, err := os.Stat(f); err != nil {
				return false
			}
		}
		return true
	}, "the history database with its -wal and -shm")
	for f, want := range map[string]os.FileMode{filepath.Dir(db): 0o750, db: 0o640, db + "-wal": 0o640, db + "-shm": 0o640} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != want {
			t.Errorf("%s: mode %#o, want %#o", f, m, want)
		}
	}
}
