package rstest

import (
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	n := 0
	if err := Until(time.Second, func() bool { n++; return n == 3 }); err != nil || n != 3 {
		t.Fatalf("Until: err %v after %d polls, want nil after 3", err, n)
	}
	start := time.Now()
	if err := Until(30*time.Millisecond, func() bool { return false }); err == nil {
		t.Fatal("Until of a condition that never holds returned nil")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("Until gave up after %v, before its deadline", d)
	}
}

// fakeTB records a Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.msg = format }

func TestEventuallyErrReportsLastError(t *testing.T) {
	f := &fakeTB{}
	EventuallyErr(f, 20*time.Millisecond, func() error { return errors.New("still different") }, "a thing")
	if f.msg == "" {
		t.Fatal("EventuallyErr did not fail on a condition that never held")
	}
}
