//go:build linux || darwin || freebsd

package pass

// storeRuns: the store runs here (fsstore's fileio_posix.go; see
// openStore).
const storeRuns = true
