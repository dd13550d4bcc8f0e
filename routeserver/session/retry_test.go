package session

import (
	"testing"
	"time"
)

// TestRetryDelay: the first back-off after a failed connection attempt is
// the configured connect_retry (conf/README.md), then it doubles up to 8×;
// the jitter keeps every delay within ±25%. (The first wait used to be 2×
// connect_retry: a member whose router was not yet listening when fedrs
// started came up seconds later than configured.)
func TestRetryDelay(t *testing.T) {
	const base = 4 * time.Second
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		failures int
		want     time.Duration // without jitter
	}{
		{0, base}, {1, base}, {2, 2 * base}, {3, 4 * base}, {4, 8 * base}, {10, 8 * base},
	} {
		lo, hi := retryDelay(base, tc.failures, lowest), retryDelay(base, tc.failures, highest)
		if lo != tc.want*3/4 || hi < tc.want*5/4-time.Nanosecond || hi > tc.want*5/4 {
			t.Errorf("after %d failures: delay %s..%s, want %s ±25%%", tc.failures, lo, hi, tc.want)
		}
	}
}
