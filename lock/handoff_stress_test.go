//go:build unix

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

	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// Goroutines lock two keys on one lock file (two sessions on one stripe)
// in both modes, by Lock that waits, Lock whose context is cancelled
// while it may wait, and TryLock, each locking again as soon as it
// unlocked: the keys pass from holder to waiter (keyState.queue) while
// waiters give up and TryLocks fail. Never two holders where one is
// Exclusive; every goroutine finishes (a key left passed on to nobody
// would hang a Lock without a deadline); afterwards nothing is held or
// waiting, and each key is free to TryLock.
func TestHandoffStress(t *testing.T) {
	const goroutines, turns = 8, 300
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
			keys := []string{"a", "b"}
			var holding [2]holders
			var granted, busy, cancelled atomic.Int64
			errs := make(chan error, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 1))
					for range turns {
						k := r.IntN(len(keys))
						mode := lock.Exclusive
						if r.IntN(3) == 0 {
							mode = lock.Shared
						}
						var h *lock.Handle
						var err error
						switch r.IntN(4) {
						case 0:
							h, err = tab.TryLock("s", keys[k], mode)
						case 1:
							ctx, cancel := context.WithCancel(context.Background())
							spins := r.IntN(50)
							go func() {
								for range spins {
									runtime.Gosched()
								}
								cancel()
							}()
							h, err = tab.Lock(ctx, "s", keys[k], mode)
							cancel()
						default:
							ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
							h, err = tab.Lock(ctx, "s", keys[k], mode)
							cancel()
							if err != nil {
								errs <- fmt.Errorf("Lock without a deadline of its own: %w", err)
								return
							}
						}
						switch {
						case err == nil:
							granted.Add(1)
						case errors.Is(err, context.Canceled):
							cancelled.Add(1)
							continue
						case errors.Is(err, lock.ErrLocked):
							busy.Add(1)
							continue
						default:
							errs <- err
							return
						}
						if err := holding[k].hold("key "+keys[k], mode); err != nil {
							h.Unlock()
							errs <- err
							return
						}
						if err := h.Unlock(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			waitLockers(t, &wg, tab, &granted)
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			t.Logf("granted %d, TryLock busy %d, cancelled %d", granted.Load(), busy.Load(), cancelled.Load())
			if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
				t.Errorf("after every goroutine: %+v, want nothing held or waiting", st)
			}
			for _, k := range keys {
				h, err := tab.TryLock("s", k, lock.Exclusive)
				if err != nil {
					t.Errorf("TryLock of %s after every goroutine: %v", k, err)
					continue
				}
				h.Unlock()
			}
		})
	}
}
