//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"errors"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// verifyErrorCases are the answers an NFS server may give to Verify's
// write-through (a WRITE and a COMMIT through the lock's descriptor), and
// whether each means the lock is gone. The Linux client fails I/O under a
// lock it lost with EIO, and a file removed on the server answers ESTALE;
// a full file system or quota (the first write-through extends an empty
// lock file, and on a copy-on-write server any write needs room), a
// server that turned read-only or a soft mount's timeout says nothing of
// the lock.
var verifyErrorCases = []struct {
	name string
	op   string
	err  error
	lost bool
}{
	{"EIO", "fsync", syscall.EIO, true},
	{"ESTALE", "write", syscall.ESTALE, true},
	{"ENOSPC", "fsync", syscall.ENOSPC, false},
	{"EDQUOT", "fsync", syscall.EDQUOT, false},
	{"EROFS", "write", syscall.EROFS, false},
	{"ETIMEDOUT", "fsync", syscall.ETIMEDOUT, false},
}

// writeThroughs plays the server's answers to Verify's write-through:
// the error set, or success.
type writeThroughs struct {
	mu  sync.Mutex
	op  string
	err error
}

func (w *writeThroughs) set(op string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.op, w.err = op, err
}

func (w *writeThroughs) write() (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.op, w.err
}

// TestTableVerifyWriteErrors: a Table's Verify on NFS took every failed
// write-through for a lost lock, for good: on a full file system a
// session's save, touch or delete failed with ErrLockLost (answered as a
// lost lock, counted as one, SessfsLockLost firing), and every other
// session on the stripe could not join its lock until it was released.
// Only EIO and ESTALE say the lock is gone; another error is Verify's
// answer for now, and the lock is checked again at the next Verify.
func TestTableVerifyWriteErrors(t *testing.T) {
	for _, tc := range verifyErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
			var w writeThroughs
			lock.SetWriteThrough(tab, w.write)
			h, err := tab.TryLock("s", "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			if err := h.Verify(); err != nil {
				t.Fatalf("Verify with the write-through answered: %v", err)
			}
			w.set(tc.op, tc.err)
			err = h.Verify()
			if !errors.Is(err, tc.err) || errors.Is(err, lock.ErrLockLost) != tc.lost {
				t.Fatalf("Verify with the write-through failing with %v: %v; want it, lost %v", tc.name, err, tc.lost)
			}
			w.set("", nil)
			err = h.Verify()
			if tc.lost != errors.Is(err, lock.ErrLockLost) || !tc.lost && err != nil {
				t.Fatalf("Verify once the write-through is answered again: %v; want lost %v", err, tc.lost)
			}
			// Another session on the stripe joins a lock that is not
			// known lost, and is kept out of a lost one.
			h2, err := tab.TryLock("s", "b", lock.Exclusive)
			if tc.lost != errors.Is(err, lock.ErrLockLost) || !tc.lost && err != nil {
				t.Fatalf("TryLock of another key on the file: %v; want lost %v", err, tc.lost)
			}
			if h2 != nil {
				h2.Unlock()
			}
		})
	}
}

// TestFileLockVerifyWriteErrors: FileLock.Verify, sessgc's fleet lock's,
// tells the same answers apart as a Table's (TestTableVerifyWriteErrors):
// a pass on a full file system must not stop as if another host had
// taken its lock.
func TestFileLockVerifyWriteErrors(t *testing.T) {
	for _, tc := range verifyErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			var w writeThroughs
			l, err := lock.TryLockFileWithHooks(filepath.Join(t.TempDir(), ".sessgc"), lock.FileLockHooks{WriteThrough: w.write})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			lock.AgeFileLock(l, time.Minute)
			if err := l.Verify(); err != nil {
				t.Fatalf("Verify with the write-through answered: %v", err)
			}
			lock.AgeFileLock(l, time.Minute)
			w.set(tc.op, tc.err)
			err = l.Verify()
			if !errors.Is(err, tc.err) || errors.Is(err, lock.ErrLockLost) != tc.lost {
				t.Fatalf("Verify with the write-through failing with %v: %v; want it, lost %v", tc.name, err, tc.lost)
			}
			w.set("", nil)
			err = l.Verify()
			if tc.lost != errors.Is(err, lock.ErrLockLost) || !tc.lost && err != nil {
				t.Fatalf("Verify once the write-through is answered again: %v; want lost %v", err, tc.lost)
			}
		})
	}
}
