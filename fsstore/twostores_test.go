//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestTwoStoresOneDirectoryWaitForEachOther pins down what docs/design.md
// ("Lock order") tells callers: two Stores opened on one directory in one
// process are two owners to the OS, under every strategy. A goroutine
// holding a session through one and locking another session of the same
// stripe through the other waits for itself; the wait must end with its
// context (ErrLocked), never hang, and TryLock must fail at once. Within
// one Store the same two calls never wait (TestLockTwoIDsOneStripe).
func TestTwoStoresOneDirectoryWaitForEachOther(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			open := func() *fsstore.Store {
				s, err := fsstore.Open(dir, fsstore.WithLockStripes(1), fsstore.WithLockStrategy(strategy), fsstore.WithDurability(fsstore.DurabilityNone))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			one, two := open(), open()
			la, err := one.Lock(noHang(t), newID(t), fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer la.Unlock()
			b := newID(t)
			if l, err := two.TryLock(b, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
				if l != nil {
					l.Unlock()
				}
				t.Fatalf("TryLock through the second store: %v, want ErrLocked", err)
			}
			waiting := func() bool { return two.LockWaitersForTest() > 0 }
			err = lockWaitEnded(t, "Lock through the second store", waiting, func(ctx context.Context) error {
				l, err := two.Lock(ctx, b, fsstore.Exclusive)
				if err == nil {
					l.Unlock()
				}
				return err
			})
			if !errors.Is(err, fsstore.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock through the second store: %v, want ErrLocked and the context's end", err)
			}
			// Through the first store, the same call shares the stripe.
			lb, err := one.Lock(noHang(t), b, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("Lock through the store holding the stripe: %v", err)
			}
			lb.Unlock()
		})
	}
}
