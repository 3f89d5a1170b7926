package lock_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// A turn may be a whole request: httpsession's Exclusive mode holds the
// session's lock through the handler. The hold before the pause is a
// time, not a number of turns: with turns of 100 ms, "8 handovers and
// 100 ms" kept a waiter elsewhere out for 8 requests.
func TestLongTurnsYield(t *testing.T) {
	for _, goroutines := range []int{2, 1} {
		t.Run(fmt.Sprintf("goroutines=%d", goroutines), func(t *testing.T) {
			fos := &lock.FakeOS{}
			a := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fos)
			defer a.Close()
			b := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fos)
			defer b.Close()
			start := time.Now()
			waited := turnsWhileWaiting(t, a, b, goroutines, 100*time.Millisecond, 1)
			took := time.Since(start)
			t.Logf("the other owner waited %d turns (%v)", waited, took.Round(time.Millisecond))
			// 100 ms has passed after the first turn or two: the next
			// release should be for waiters elsewhere.
			if waited > 3 {
				t.Errorf("the other owner waited %d turns of 100 ms (%v) for the lock, want at most 3", waited, took.Round(time.Millisecond))
			}
		})
	}
}

// A stripe held a tenth of the time (TestPauseOnlyForBusyFile's first
// case), on which now and then two requests for the same session overlap
// (a browser's parallel requests): the one handover is no reason to pause
// a stripe that was free most of the time.
func TestSparseWithOverlapNotPaused(t *testing.T) {
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, &lock.FakeOS{})
	defer tab.Close()
	ctx := context.Background()
	paused, turns, pauses := false, 0, 0
	var held holds
	for end := time.Now().Add(time.Second); time.Now().Before(end); turns++ {
		from := time.Now()
		h, err := tab.Lock(ctx, "stripe", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		var done chan struct{}
		if turns%10 == 9 {
			done = make(chan struct{})
			go func() {
				defer close(done)
				h2, err := tab.Lock(ctx, "stripe", "k", lock.Exclusive)
				if err != nil {
					t.Error(err)
					return
				}
				h2.Unlock()
			}()
			for tab.Stats().Waiting != 1 {
				runtime.Gosched()
			}
		}
		time.Sleep(200 * time.Microsecond) // the turn's work
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
		pausedNow := tab.PausedForTest("stripe")
		if done != nil {
			<-done
		}
		held.add(from)
		if pausedNow && held.stretched(t) {
			// Measured afresh from the pause's end (a Lock in it
			// sleeps it out).
			pausedNow, held = false, nil
			for tab.PausedForTest("stripe") {
				time.Sleep(time.Millisecond) // polls for the pause's end
			}
		}
		if pausedNow {
			paused = true
			pauses++
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("%d turns, %d pauses", turns, pauses)
	if paused {
		t.Errorf("a stripe held about a tenth of the time was paused %d times in %d turns: one handover in ten turns paused it", pauses, turns)
	}
}

// A lock kept for a waiter that then gives up (its context ended as it
// was woken) is released by that waiter: the release goes into the
// tenure as an Unlock's would, so a take microseconds later continues
// it. Waiters giving up on a busy file would otherwise keep starting its
// tenure afresh, and it would never be left to waiters elsewhere.
func TestGiveUpKeepsTenure(t *testing.T) {
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, &lock.FakeOS{})
	defer tab.Close()
	bg := context.Background()
	// One P: the woken waiter runs only once both its wake-up and its
	// context's end are ready, and select picks either.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for i := 0; i < 1000; i++ {
		// A few retakes: a tenure going on.
		for range 3 {
			h, err := tab.Lock(bg, "stripe", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			h.Unlock()
		}
		h, err := tab.Lock(bg, "stripe", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() {
			h2, err := tab.Lock(ctx, "stripe", "k", lock.Exclusive)
			if err == nil {
				h2.Unlock()
			}
			res <- err
		}()
		for tab.Stats().Waiting != 1 {
			runtime.Gosched()
		}
		began, _ := tab.TenureForTest("stripe")
		// The waiter's context ends, and before it runs (one P) the
		// holder unlocks, keeping the OS lock for it: it wakes to give up.
		cancel()
		h.Unlock()
		if err := <-res; err == nil {
			continue // it took the lock: not the case
		}
		h, err = tab.Lock(bg, "stripe", "k", lock.Exclusive) // microseconds after the release
		if err != nil {
			t.Fatal(err)
		}
		after, _ := tab.TenureForTest("stripe")
		h.Unlock()
		if !after.Equal(began) {
			t.Fatalf("repetition %d: a take microseconds after the release of a lock kept for a waiter that gave up began a new tenure (began %v, then %v)", i, began.Format(time.StampMicro), after.Format(time.StampMicro))
		}
		return
	}
	t.Skip("the waiter never gave up as it woke")
}

// A Lock that comes in a pause for other hosts' sake in which a TryLock
// of the process took the lock file waits the pause out, then shares
// the TryLock's lock: it waits for the pause, not for the TryLock's
// holder (which may be its own goroutine). Its context ending meanwhile
// ends the wait, as any other.
func TestLockWaitsOutPauseTakenByTryLock(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancel=%v", cancel), func(t *testing.T) {
			tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, &lock.FakeOS{})
			defer tab.Close()
			bg := context.Background()
			tried := tryLockInPause(t, tab)
			defer tried.Unlock()
			ctx, stop := context.WithCancel(bg)
			defer stop()
			res := make(chan error, 1)
			go func() {
				h, err := tab.Lock(ctx, "stripe", "k2", lock.Exclusive)
				if err == nil {
					if tab.PausedForTest("stripe") {
						err = errors.New("Lock returned inside the pause")
					}
					h.Unlock()
				}
				res <- err
			}()
			if !cancel {
				if err := <-res; err != nil {
					t.Fatalf("Lock of another key in the pause, beside a TryLock's holder: %v", err)
				}
				return
			}
			for tab.Stats().Waiting != 1 && len(res) == 0 {
				runtime.Gosched()
			}
			stop()
			err := <-res
			if err == nil {
				t.Skip("the pause ended before the context did")
			}
			if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Lock whose context ended while it waited out the pause: %v; want ErrLocked and context.Canceled", err)
			}
		})
	}
}

// A TryLock in a pause for other hosts' sake fails while a goroutine of
// the process waits to take the lock after the pause, also when another
// TryLock of the process took the lock file in the pause: sharing that
// lock kept it held past the first TryLock's Unlock, and a chain of such
// TryLocks left nothing of the pause to waiters elsewhere.
func TestTryLockInPauseNotSharedWhileLockWaits(t *testing.T) {
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, &lock.FakeOS{})
	defer tab.Close()
	bg := context.Background()
	tried := tryLockInPause(t, tab)
	res := make(chan error, 1)
	go func() {
		h, err := tab.Lock(bg, "stripe", "k2", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		res <- err
	}()
	for tab.Stats().Waiting != 1 {
		runtime.Gosched()
	}
	second, err := tab.TryLock("stripe", "t2", lock.Exclusive)
	paused := tab.PausedForTest("stripe")
	if err == nil {
		second.Unlock()
	}
	tried.Unlock()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if !paused {
		t.Skip("the pause ended before the second TryLock")
	}
	if err == nil {
		t.Fatal("a TryLock in the pause shared another TryLock's lock while a Lock of the process waited for the pause to end")
	}
	if !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock in the pause with a Lock waiting: %v, want ErrLocked", err)
	}
}

// tryLockInPause returns a TryLock's handle of key "t" on "stripe", taken
// in the pause after a turn of 110 ms held throughout, whose release is
// for other hosts' sake.
func tryLockInPause(t *testing.T, tab *lock.Table) *lock.Handle {
	t.Helper()
	for {
		h, err := tab.Lock(context.Background(), "stripe", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(110 * time.Millisecond) // the turn's work
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
		tried, err := tab.TryLock("stripe", "t", lock.Exclusive)
		if err != nil {
			t.Fatalf("TryLock of the free lock in the pause: %v", err)
		}
		if tab.PausedForTest("stripe") {
			return tried
		}
		tried.Unlock() // taken after the pause: not the case
	}
}
