package rstest

import (
	"fmt"
	"testing"
	"time"
)

// The tests' one way to wait for a condition: poll it until it holds or
// a deadline passes, then fail with a message that says what was awaited
// and, when the condition can tell, why it did not hold. Tests never sleep
// and then assert. This file imports only the standard library.

// Interval is how often Eventually, EventuallyErr and Until poll.
const Interval = 5 * time.Millisecond

// Eventually polls cond until it returns true, failing the test (Fatalf)
// when within has passed. msg names the awaited state ("nhs-b holds
// 10.1.0.0/16").
func Eventually(t testing.TB, within time.Duration, cond func() bool, msg string) {
	t.Helper()
	if err := Until(within, cond); err != nil {
		t.Fatalf("timed out after %v waiting for %s", within, msg)
	}
}

// EventuallyErr polls cond until it returns nil; on the deadline the test
// fails with the last error, which should say what differs.
func EventuallyErr(t testing.TB, within time.Duration, cond func() error, msg string) {
	t.Helper()
	var last error
	if err := Until(within, func() bool { last = cond(); return last == nil }); err != nil {
		t.Fatalf("timed out after %v waiting for %s: %v", within, msg, last)
	}
}

// Until polls cond until it returns true or within passes; it returns an
// error on the deadline. For helpers that cannot take a testing.TB.
func Until(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", within)
		}
		time.Sleep(Interval)
	}
	return nil
}
