//go:build !unix

// Package fdlimit reads the process's limit on open descriptors, which the
// lock table and the store's directory walks size themselves by.
package fdlimit

// Soft returns 1<<30: Windows has no small per-process descriptor limit
// (handles are bounded by memory).
func Soft() int { return 1 << 30 }
