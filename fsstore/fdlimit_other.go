//go:build !unix

package fsstore

// fdLimit: Windows has no small per-process descriptor limit (handles are
// bounded by memory).
func fdLimit() int { return 1 << 30 }
