//go:build linux || darwin || freebsd

package cmdutil

// StoreRuns reports that the store runs on this platform (fsstore's
// fileio_posix.go). Where it does not, fsstore.Open fails with
// ErrNotSupported, and the commands say so before they look at a --dir.
const StoreRuns = true
