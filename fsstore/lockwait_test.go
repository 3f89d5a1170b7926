package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// lockWaitDeadlines are the deadlines lockWaitEnded tries in turn. The
// first is short so the test is quick; the longer ones are for a loaded
// machine, where a goroutine can wait that long to run at all.
var lockWaitDeadlines = []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second, 20 * time.Second}

// lockWaitHang is how long past its deadline lockWaitEnded lets op run
// before it calls it a hang: op is due back at once, and one whose wait
// does not end with its context waits as long as the lock is held. It
// bounds how long that broken case takes to fail.
const lockWaitHang = 20 * time.Second

// lockWaitEnded calls op, which waits for a lock held elsewhere, with a
// context whose deadline ends that wait, and returns op's error; what
// names op in a failure.
//
// An error matching ErrLocked shows that op reached the lock and waited
// until the deadline. An error matching the deadline alone shows
// nothing: the deadline passed before op's first attempt at the lock
// (the store honours a context that ended before it does anything, and
// a bounded store one that ends in the steps before the lock), which a
// short deadline does when the machine is loaded. Such a try is made
// again with a longer deadline, so the verdict does not depend on how
// soon op's goroutine ran. The caller checks the error it returns.
func lockWaitEnded(t *testing.T, what string, op func(ctx context.Context) error) error {
	t.Helper()
	var err error
	for _, d := range lockWaitDeadlines {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		done := make(chan error, 1)
		go func() { done <- op(ctx) }()
		select {
		case err = <-done:
		case <-time.After(d + lockWaitHang):
			// Only turns a hang into a failure: nothing is measured.
			cancel()
			t.Fatalf("%s: still waiting %v after its %v deadline passed", what, lockWaitHang, d)
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fsstore.ErrLocked) {
			return err
		}
		t.Logf("the %v deadline passed before the first attempt at the lock (%v): trying a longer one", d, err)
	}
	return err
}
