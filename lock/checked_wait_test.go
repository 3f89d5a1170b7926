package lock_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// A caller that found the file's OS lock not lost, then lost the key to
// a newcomer that came while it asked, waits; the lock the newcomer's
// Unlock keeps for it may be found lost meanwhile (a lease's renewal).
// The caller asks again once it has waited: its answer from before the
// wait said nothing of the lock now. It used to share the lost lock (a
// holder beside the host the server gave it to, until its Verify), where
// nobody held it and a retake would do.
func TestLostWhileWaitingAfterCheck(t *testing.T) {
	for try := 0; ; try++ {
		if try == 20 {
			t.Fatal("the Unlock never kept the OS lock for the waiter")
		}
		if lostWhileWaitingAfterCheck(t) {
			return
		}
	}
}

// lostWhileWaitingAfterCheck runs TestLostWhileWaitingAfterCheck once,
// and reports false when the Unlock released the OS lock instead of
// keeping it for the waiter.
func lostWhileWaitingAfterCheck(t *testing.T) bool {
	fake := &lock.FakeOS{}
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
	defer tab.Close()
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
	defer cancel()
	// other holds another key of the file: its OS lock stays taken.
	other, err := tab.Lock(ctx, "f", "j", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	lostGen := lock.HandleGen(other)
	// The newcomer takes "k" while the caller asks whether the lock
	// was lost (outside the table's mutex): the first lost check runs it.
	var newcomer *lock.Handle
	var newcomerErr error
	var inHook atomic.Bool
	var once sync.Once
	fake.OnLost = func(string) {
		if !inHook.CompareAndSwap(false, true) {
			return
		}
		once.Do(func() { newcomer, newcomerErr = tab.TryLock("f", "k", lock.Exclusive) })
	}
	reached, release := make(chan struct{}), make(chan struct{})
	var woken sync.Once
	cctx := opwatch.NewContext(ctx, &opwatch.Op{Hook: func(site string) {
		if site == "lock-woken" {
			woken.Do(func() { close(reached); <-release })
		}
	}})
	type result struct {
		gen int
		err error
	}
	got := make(chan result, 1)
	go func() {
		h, err := tab.Lock(cctx, "f", "k", lock.Exclusive)
		if err != nil {
			got <- result{err: err}
			return
		}
		gen := lock.HandleGen(h)
		got <- result{gen, h.Unlock()}
	}()
	for tab.Stats().Waiting != 1 {
		if ctx.Err() != nil {
			t.Fatal("the caller never waited")
		}
		time.Sleep(time.Millisecond) // polled, with the test's deadline
	}
	if newcomerErr != nil || newcomer == nil {
		t.Fatalf("newcomer's TryLock in the caller's lost check: %v", newcomerErr)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := newcomer.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatal("the waiter was never woken")
	}
	if fake.Holder("f") != lostGen {
		close(release) // released, not kept: the path is not taken
		if r := <-got; r.err != nil {
			t.Fatalf("waiter: %v", r.err)
		}
		return false
	}
	fake.MarkLost("f")
	close(release)
	r := <-got
	if r.err != nil {
		t.Fatalf("waiter for whom the lock found lost was kept: %v", r.err)
	}
	if r.gen == lostGen {
		t.Fatalf("waiter shared OS lock %d, found lost while it waited; want it taken afresh", r.gen)
	}
	return true
}
