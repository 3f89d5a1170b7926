//go:build unix

package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

// lockWaitHang is how long past its deadline lockWaitEnded lets op run
// before it calls it a hang: op is due back at once, and one whose wait
// does not end with its context waits as long as the lock is held. It
// bounds how long that broken case takes to fail.
const lockWaitHang = 20 * time.Second

// lockWaitEnded calls op, which waits for a lock held elsewhere, with a
// context whose deadline passes once waiting reports op's wait under way
// (LockWaitersForTest, a bounded store's "lock-first-done", a goroutine
// parked in the wait), and returns op's error; what names op in a
// failure.
//
// The deadline is the test's to pass, not a timer's: a short one passed
// before op's first attempt at the lock when the machine was loaded, and
// the error, without ErrLocked, then showed nothing, the same as a store
// that drops ErrLocked. Ended inside the wait, op's error must match
// ErrLocked and the deadline; the caller checks it. An op that returns
// before it waits fails the test.
func lockWaitEnded(t *testing.T, what string, waiting func() bool, op func(ctx context.Context) error) error {
	t.Helper()
	ctx := testenv.NewDeadline(context.Background())
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	for giveUp := time.Now().Add(time.Minute); !waiting(); {
		select {
		case err := <-done:
			t.Fatalf("%s returned (%v) before it waited for the lock", what, err)
		default:
		}
		if time.Now().After(giveUp) {
			ctx.Expire()
			t.Fatalf("%s: not waiting for the lock a minute after it began", what)
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
	ctx.Expire()
	select {
	case err := <-done:
		return err
	case <-time.After(lockWaitHang):
		// Only turns a hang into a failure: nothing is measured.
		t.Fatalf("%s: still waiting %v after its deadline passed", what, lockWaitHang)
		return nil
	}
}
