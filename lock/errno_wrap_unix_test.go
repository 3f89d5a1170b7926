//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestRefusedFlockErrnoWraps: every entry point that reports a flock the
// file system refused wraps the errno, so a caller matches it with
// errors.Is as well as the sentinel, as FileLock's errors always did
// (TestFileLockRefusedSentinels). A Table's take refused with ENOLCK, and
// NewTable's probe refused, printed the errno with %v: errors.Is(err,
// syscall.ENOLCK) was false for a Table and true for a FileLock.
func TestRefusedFlockErrnoWraps(t *testing.T) {
	type entry struct {
		name string
		// refuse is the name whose flock is refused.
		refuse string
		take   func(tab *lock.Table) error
	}
	takes := []entry{
		{"NewTable probe", ".probe", nil},
		{"Table.TryLock", "s1", func(tab *lock.Table) error {
			h, err := tab.TryLock("s1", "k", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			return err
		}},
		{"Table.Lock", "s1", func(tab *lock.Table) error {
			h, err := tab.Lock(context.Background(), "s1", "k", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			return err
		}},
	}
	for _, tc := range []struct {
		errno syscall.Errno
		// probe: the sentinel a refused probe matches; take: a refused
		// take's.
		probe, take error
	}{
		{syscall.ENOLCK, lock.ErrNotSupported, lock.ErrTooManyLocks},
		{syscall.EOPNOTSUPP, lock.ErrNotSupported, nil},
		{syscall.ENOSYS, lock.ErrNotSupported, nil},
		{syscall.EINVAL, lock.ErrNotSupported, nil},
		{syscall.EIO, nil, nil},
	} {
		for _, e := range takes {
			t.Run(tc.errno.Error()+"/"+e.name, func(t *testing.T) {
				tab, err := lock.NewTableRefusingFlock(lock.Config{Dir: t.TempDir(), Strategy: lock.Flock}, func(name string) error {
					if name == e.refuse {
						return tc.errno
					}
					return nil
				})
				want := tc.probe
				if e.take != nil {
					if err != nil {
						t.Fatalf("NewTable: %v", err)
					}
					defer tab.Close()
					err, want = e.take(tab), tc.take
				} else if err == nil {
					tab.Close()
				}
				if err == nil {
					t.Fatalf("%s with flock refused (%v): no error", e.name, tc.errno)
				}
				if !errors.Is(err, tc.errno) {
					t.Errorf("%s with flock refused: %v; errors.Is(err, %v) is false", e.name, err, tc.errno)
				}
				if want != nil && !errors.Is(err, want) {
					t.Errorf("%s with flock refused: %v; want it to match %v", e.name, err, want)
				}
			})
		}
	}
}
