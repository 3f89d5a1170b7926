package lock_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// Goroutines lock two keys of one file in both modes, by Lock and TryLock,
// while another marks the file's OS lock lost whenever one is held (a
// server that gave it away), as do some waiters as they wake: holders of a lost lock keep it until they
// unlock, a caller that comes meanwhile fails with ErrLockLost, and one
// that finds it lost with no holder (kept by an Unlock for a waiter)
// releases it and takes it afresh. Never two holders of a key where one is
// Exclusive; a handle's OS lock is always the one the OS holds (a handle
// on a lock released, or on one retaken under it, would be a second
// holder across processes); no OS lock is released twice; afterwards
// nothing is held, here or in the OS.
func TestLostLockRetakeStress(t *testing.T) {
	const goroutines, turns = 8, 300
	fake := &lock.FakeOS{}
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
	defer tab.Close()
	keys := []string{"a", "b"}
	var holding [2]holders
	var granted, busy, lost, marked atomic.Int64
	check := func(h *lock.Handle, k int, mode lock.Mode) error {
		if gen, held := lock.HandleGen(h), fake.Holder("s"); gen != held {
			return fmt.Errorf("key %s granted on OS lock %d; the OS holds %d", keys[k], gen, held)
		}
		if err := holding[k].hold("key "+keys[k], mode); err != nil {
			return err
		}
		if gen, held := lock.HandleGen(h), fake.Holder("s"); gen != held {
			return fmt.Errorf("key %s held on OS lock %d; the OS holds %d", keys[k], gen, held)
		}
		return nil
	}
	stop := make(chan struct{})
	marker := make(chan struct{})
	go func() {
		defer close(marker)
		r := rand.New(rand.NewPCG(99, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range r.IntN(200) {
				runtime.Gosched()
			}
			if fake.MarkLostIfHeld("s") {
				marked.Add(1)
			}
		}
	}()
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for range turns {
				k := r.IntN(len(keys))
				mode := lock.Exclusive
				if r.IntN(3) == 0 {
					mode = lock.Shared
				}
				var h *lock.Handle
				var err error
				if r.IntN(4) == 0 {
					h, err = tab.TryLock("s", keys[k], mode)
				} else {
					ctx := context.Background()
					if r.IntN(2) == 0 {
						// Lost as this waiter wakes: kept for it by an
						// Unlock, the lock is then held by nobody.
						ctx = opwatch.NewContext(ctx, &opwatch.Op{Hook: func(site string) {
							if site == "lock-woken" && fake.MarkLostIfHeld("s") {
								marked.Add(1)
							}
						}})
					}
					ctx, cancel := context.WithTimeout(ctx, proctest.Deadline)
					h, err = tab.Lock(ctx, "s", keys[k], mode)
					cancel()
				}
				switch {
				case err == nil:
					granted.Add(1)
				case errors.Is(err, lock.ErrLockLost):
					lost.Add(1)
					continue
				case errors.Is(err, lock.ErrLocked):
					busy.Add(1)
					continue
				default:
					errs <- err
					return
				}
				if err := check(h, k, mode); err != nil {
					h.Unlock()
					errs <- err
					return
				}
				// An Unlock of a lost lock reports nothing: the fake's
				// unlock fails only for a lock not held (BadUnlocks).
				if err := h.Unlock(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	waitLockers(t, &wg, tab, &granted)
	close(stop)
	<-marker
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("granted %d, TryLock busy %d, lost %d, marked lost %d", granted.Load(), busy.Load(), lost.Load(), marked.Load())
	if n := fake.BadUnlocks(); n != 0 {
		t.Errorf("%d unlocks of an OS lock not held", n)
	}
	if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
		t.Errorf("after every goroutine: %+v, want nothing held or waiting", st)
	}
	if gen := fake.Holder("s"); gen != 0 {
		t.Errorf("after every goroutine the OS holds lock %d, want none", gen)
	}
}

// waitLockers waits for a stress test's goroutines (wg) to end, and fails
// the test with the table's state if they have not within the deadline
// (a lost wake-up leaves them waiting for good).
func waitLockers(t *testing.T, wg *sync.WaitGroup, tab *lock.Table, granted *atomic.Int64) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(proctest.Deadline):
		t.Fatalf("goroutines still locking after %v: %+v (granted %d)", proctest.Deadline, tab.Stats(), granted.Load())
	}
}

// holders counts the holders of one key by mode, for the stress tests
// that check no two hold it where one is Exclusive.
type holders struct{ excl, shared atomic.Int32 }

// hold counts one more holder in mode for a moment (a Gosched), and
// returns an error naming key (what) if another holder's mode excludes
// it; counted, it stays so then, as the test stops.
func (h *holders) hold(what string, mode lock.Mode) error {
	if mode == lock.Exclusive {
		if n := h.excl.Add(1); n != 1 || h.shared.Load() != 0 {
			return fmt.Errorf("%s held Exclusive with %d Exclusive and %d Shared holders", what, n, h.shared.Load())
		}
		runtime.Gosched()
		h.excl.Add(-1)
		return nil
	}
	h.shared.Add(1)
	if n := h.excl.Load(); n != 0 {
		return fmt.Errorf("%s held Shared with %d Exclusive holders", what, n)
	}
	runtime.Gosched()
	h.shared.Add(-1)
	return nil
}
