package instance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestAcquire: a held lock is refused with the holder's pid; released, it
// can be taken again; the lock file stays.
func TestAcquire(t *testing.T) {
	res := filepath.Join(t.TempDir(), "fedrs.sock")
	l, err := Acquire(res)
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != res+".lock" {
		t.Errorf("lock file %s", l.Path())
	}
	// flock(2) locks belong to the open file: a second open conflicts,
	// even in this process.
	_, err = Acquire(res)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() || held.Resource != res || held.Lock != res+".lock" {
		t.Fatalf("second Acquire: %v (%+v), want a HeldError naming pid %d", err, held, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(res)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	defer l2.Release()
	if _, err := os.Stat(res + ".lock"); err != nil {
		t.Error(err)
	}
	// A lock file whose holder died (it holds a pid, no lock) is taken.
	dead := filepath.Join(t.TempDir(), "history.db")
	os.WriteFile(dead+".lock", []byte("999999\n"), 0o644)
	l3, err := Acquire(dead)
	if err != nil {
		t.Fatalf("stale lock file: %v", err)
	}
	l3.Release()
}
