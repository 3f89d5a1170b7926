package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestLateLockReleaseFailureWarned: a lock acquired after its waiter gave
// up is released at once by the goroutine that got it; a release that
// fails (a lease another host broke meanwhile) is a warning with its
// error, as a release left to the background is
// (TestBackgroundReleaseErrorLogged), not the info line of one that
// went through.
func TestLateLockReleaseFailureWarned(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithLockStrategy(lock.Lease))
	id := newID(t)
	releaseLock := f.fs.hang("lock")
	defer releaseLock()
	releaseUnlock := f.fs.hang("unlock")
	defer releaseUnlock()
	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() {
		l, err := f.s.Lock(ctx, id, fsstore.Exclusive)
		if err == nil {
			l.Unlock()
		}
		errc <- err
	}()
	f.fs.await(t, "lock")
	ctx.expire()
	isUnavailable(t, <-errc, context.DeadlineExceeded)
	releaseLock()
	f.fs.await(t, "unlock") // granted after its waiter gave up: released at once
	// Another host breaking the lease: the release finds it gone.
	if err := os.Remove(filepath.Join(f.dir, "locks", f.s.StripeForTest(id)+".lease")); err != nil {
		t.Fatal(err)
	}
	releaseUnlock()
	f.settle(t)
	var line string
	for _, l := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(l, "after its caller gave up") {
			line = l
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, lock.ErrLockLost.Error()) {
		t.Fatalf("the failed release of a lock acquired late: %q, want a warning with the lost lock's error\n%s", line, f.log.String())
	}
}
