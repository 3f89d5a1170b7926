//go:build !unix

package lock

// fdLimit: Windows has no small per-process descriptor limit (handles are
// bounded by memory), so the lock limits apply unchanged.
func fdLimit() int { return 1 << 30 }
