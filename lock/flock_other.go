//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package lock

import "fmt"

// Without flock(2) (Windows, and Unix systems such as Solaris whose flock is
// emulated with fcntl locks that do not exclude other descriptors of the
// same process) the Flock strategy is not offered: Auto picks Lease, and
// asking for Flock fails with ErrNotSupported at NewTable.
func probeFlock(_ *Config, d *lockDir) error {
	return fmt.Errorf("%w: flock strategy unavailable on this system (%s); use the lease strategy", ErrNotSupported, d.path)
}

// newFlockBackend is never reached: probeFlock refuses first.
func newFlockBackend(*Config, *lockDir) backend { return unsupportedBackend{} }

type unsupportedBackend struct{}

func (unsupportedBackend) try(string) (osLock, mono, error) { return nil, 0, ErrNotSupported }
func (unsupportedBackend) openFiles() int                   { return 0 }
func (unsupportedBackend) evictIdle(int) int                { return 0 }
func (unsupportedBackend) close() error                     { return nil }
func (unsupportedBackend) lockDir() *lockDir                { return nil }
