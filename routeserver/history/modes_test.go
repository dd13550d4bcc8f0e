package history_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// withUmask runs the test under a umask that lets everyone read new
// files (the common 022), so that the modes checked are fedrs's doing.
func withUmask(t *testing.T, m int) {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
}

// checkModes waits until the database, its -wal and its -shm all exist,
// then wants each of them 0640.
func checkModes(t *testing.T, path string) {
	t.Helper()
	files := []string{path, path + "-wal", path + "-shm"}
	rstest.Eventually(t, 10*time.Second, func() bool {
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				return false
			}
		}
		return true
	}, "the database with its -wal and -shm files")
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o640 {
			t.Errorf("%s: mode %#o, want 0640 (no access for other users of the host)", filepath.Base(f), m)
		}
	}
}

// TestDatabaseModes: with umask 022, a new history database and the
// -wal and -shm files SQLite creates beside it are 0640 after routes have
// been written, and a database left 0644 by an earlier version (with its
// -wal and -shm) loses the access of other users when opened.
func TestDatabaseModes(t *testing.T) {
	withUmask(t, 0o022)
	path := filepath.Join(t.TempDir(), "history.db")
	f := startFed(t, rstest.Three(), path)
	rstest.Eventually(t, 10*time.Second, func() bool { return f.rec.Stats().Commits > 0 }, "a commit")
	checkModes(t, path)
	f.stop()

	// An earlier fedrs's files, readable by everyone.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := history.Open(path, history.Options{Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	checkModes(t, path)
}
