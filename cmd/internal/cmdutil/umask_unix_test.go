//go:build unix

package cmdutil

import (
	"syscall"
	"testing"
)

// setUmask sets the process's umask for the test.
func setUmask(t *testing.T, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}
