//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package lock

import (
	"os"

	"github.com/gofrs/flock"
)

// fileHandle is a FileLock's lock file, through gofrs/flock (LockFileEx
// on Windows). Where an unlock fails, gofrs/flock keeps the file open and
// the lock marked held: close cannot release it then, which on these
// systems only an invalid handle causes.
type fileHandle struct{ f *flock.Flock }

func newFileHandle(t fileTarget) *fileHandle {
	// Read-write: NFSv4 refuses an exclusive lock on a read-only descriptor.
	return &fileHandle{flock.New(t.at, flock.SetFlag(os.O_CREATE|os.O_RDWR|syscallNoFollow), flock.SetPermissions(t.perm))}
}

func (h *fileHandle) tryLock() (bool, error) { return h.f.TryLock() }

func (h *fileHandle) unlock() error { return h.f.Unlock() }

// close closes the file unless the lock is still marked held (see
// fileHandle).
func (h *fileHandle) close() { h.f.Close() }

// verify: nothing is checked here (see FileLock.Verify).
func (l *FileLock) verify() error { return nil }
