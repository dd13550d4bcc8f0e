//go:build !linux

package history

// lowerPriority is a no-op where per-thread priorities are not available.
func lowerPriority(int) error { return nil }
