//go:build !linux && !darwin && !freebsd

package cmdutil

// StoreRuns reports that the store runs on this platform: here fsstore.Open
// fails with ErrNotSupported (fsstore's fileio_other.go), and the commands
// say so before they look at a --dir.
const StoreRuns = false
