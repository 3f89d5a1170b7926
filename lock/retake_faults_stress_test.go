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

// errTryFault and errUnlockFault are the refusals TestLostLockRetakeFaults
// injects into the fake OS's takes and releases.
var (
	errTryFault    = errors.New("injected: the server refused the lock")
	errUnlockFault = errors.New("injected: the server refused the unlock")
)

// TestLostLockRetakeFaults is TestLostLockRetakeStress with what the fake
// there never does: another host takes the files' locks between this
// process's turns (a retake then polls, and its caller's context may end
// while it does), takes are refused (ENOLCK, EIO) and releases fail, on
// two files, with a cap of one OS lock or none. Whatever fails, the
// table never grants a key on an OS lock it does not hold, never
// releases one twice, and afterwards holds nothing, waits for nothing,
// and leaves every key free.
func TestLostLockRetakeFaults(t *testing.T) {
	for _, maxHeld := range []int{0, 1} {
		for _, closeMid := range []bool{false, true} {
			t.Run(fmt.Sprint("MaxHeld=", maxHeld, ",close=", closeMid), func(t *testing.T) {
				lostLockRetakeFaults(t, maxHeld, closeMid)
			})
		}
	}
}

func lostLockRetakeFaults(t *testing.T, maxHeld int, closeMid bool) {
	const goroutines, turns = 8, 200
	files, keys := []string{"s", "t"}, []string{"a", "b"}
	fake := &lock.FakeOS{
		TryErr: func(string) error {
			switch rand.IntN(40) {
			case 0:
				return fmt.Errorf("%w: injected ENOLCK", lock.ErrTooManyLocks)
			case 1:
				return errTryFault
			}
			return nil
		},
		UnlockErr: func(string) error {
			if rand.IntN(10) == 0 {
				return errUnlockFault
			}
			return nil
		},
	}
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir(), MaxHeld: maxHeld}, fake)
	defer tab.Close()
	var holding [2][2]holders
	var granted, failed atomic.Int64
	check := func(h *lock.Handle, f, k int, mode lock.Mode) error {
		if gen, held := lock.HandleGen(h), fake.Holder(files[f]); gen != held {
			return fmt.Errorf("%s/%s granted on OS lock %d; the OS holds %d", files[f], keys[k], gen, held)
		}
		if err := holding[f][k].hold(files[f]+"/"+keys[k], mode); err != nil {
			return err
		}
		if gen, held := lock.HandleGen(h), fake.Holder(files[f]); gen != held {
			return fmt.Errorf("%s/%s held on OS lock %d; the OS holds %d", files[f], keys[k], gen, held)
		}
		return nil
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	// One goroutine marks the files' OS locks lost, another is the
	// other host, which takes them whenever it finds them free and holds
	// them for a moment.
	for _, other := range []bool{false, true} {
		bg.Add(1)
		go func() {
			defer bg.Done()
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
				f := files[r.IntN(len(files))]
				if !other {
					fake.MarkLostIfHeld(f)
					continue
				}
				if fake.TakeForeign(f) {
					for range r.IntN(100) {
						runtime.Gosched()
					}
					fake.ReleaseForeign(f)
				}
			}
		}()
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for range turns {
				f, k := r.IntN(len(files)), r.IntN(len(keys))
				mode := lock.Exclusive
				if r.IntN(3) == 0 {
					mode = lock.Shared
				}
				var h *lock.Handle
				var err error
				if r.IntN(4) == 0 {
					h, err = tab.TryLock(files[f], keys[k], mode)
				} else {
					ctx := context.Background()
					if r.IntN(2) == 0 {
						ctx = opwatch.NewContext(ctx, &opwatch.Op{Hook: func(site string) {
							if site == "lock-woken" {
								fake.MarkLostIfHeld(files[f])
							}
						}})
					}
					// Some give up within a poll or two: while another
					// holder's Unlock keeps the lock for them, while they
					// retake it, or while another host holds it.
					d := proctest.Deadline
					if r.IntN(2) == 0 {
						d = time.Duration(r.IntN(2000)) * time.Microsecond
					}
					ctx, cancel := context.WithTimeout(ctx, d)
					h, err = tab.Lock(ctx, files[f], keys[k], mode)
					cancel()
				}
				switch {
				case err == nil:
					granted.Add(1)
				case errors.Is(err, lock.ErrLocked), errors.Is(err, lock.ErrTooManyLocks), errors.Is(err, errTryFault), closeMid && errors.Is(err, lock.ErrClosed):
					failed.Add(1)
					continue
				default:
					errs <- err
					return
				}
				if err := check(h, f, k, mode); err != nil {
					h.Unlock()
					errs <- err
					return
				}
				if err := h.Unlock(); err != nil && !errors.Is(err, errUnlockFault) {
					errs <- fmt.Errorf("unlock %s/%s: %w", files[f], keys[k], err)
					return
				}
			}
		}()
	}
	if closeMid {
		// Closed while they lock: after some of their turns, or once
		// they are done.
		for deadline := time.Now().Add(proctest.Deadline); granted.Load() < goroutines*turns/8 && time.Now().Before(deadline); {
			runtime.Gosched()
		}
		tab.Close()
	}
	waitLockers(t, &wg, tab, &granted)
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("granted %d, failed %d", granted.Load(), failed.Load())
	if n := fake.BadUnlocks(); n != 0 {
		t.Errorf("%d unlocks of an OS lock not held", n)
	}
	if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
		t.Errorf("after every goroutine: %+v, want nothing held or waiting", st)
	}
	fake.TryErr = nil
	for _, f := range files {
		if gen := fake.Holder(f); gen != 0 {
			t.Errorf("after every goroutine the OS holds lock %d on %s, want none", gen, f)
		}
		if closeMid {
			continue
		}
		for _, k := range keys {
			h, err := tab.TryLock(f, k, lock.Exclusive)
			if err != nil {
				t.Errorf("%s/%s after every goroutine: %v", f, k, err)
				continue
			}
			h.Unlock()
		}
	}
}
