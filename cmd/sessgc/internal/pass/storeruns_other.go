//go:build !linux && !darwin && !freebsd

package pass

// storeRuns: fsstore.Open refuses this platform with ErrNotSupported
// (fsstore's fileio_other.go; see openStore).
const storeRuns = false
