//go:build unix

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// A goroutine that locks one key again as soon as it unlocks it (a
// stream of requests for one session) must not keep it from a goroutine
// of the same process already waiting for it: the key goes to the waiter
// at the next Unlock. It used to go to whoever took the Table's mutex
// first, and the one coming back, which never stopped running, won
// thousands of turns in a row while the waiter only ever woke to find
// the key taken again. Turns are counted, not timed: a waiter that is
// served at the next Unlock sees the other take at most the turn it
// held when the waiter came, and the one it was taking then.
func TestWaiterServedBeforeRelocker(t *testing.T) {
	for _, strategy := range strategies {
		for _, mode := range []lock.Mode{lock.Exclusive, lock.Shared} {
			t.Run(fmt.Sprintf("%v/%v", strategy, mode), func(t *testing.T) {
				tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
				ctx := hangCtx(t)
				// The hammerer holds the key Exclusive; the waiter asks
				// in mode, which an Exclusive holder excludes either way.
				served, going := make(chan struct{}), make(chan struct{})
				turnsSeen := make(chan int, 1)
				go func() {
					seen := 0
					defer func() { turnsSeen <- seen }()
					for turn := 0; turn < 200000; turn++ {
						h, err := tab.Lock(ctx, "s", "k", lock.Exclusive)
						if err != nil {
							t.Error(err)
							return
						}
						if tab.Stats().Waiting > 0 {
							seen++
						}
						if turn == 100 {
							// Well under way before the waiter comes.
							close(going)
						}
						// Work under the lock: the waiter woken by the
						// Unlock before comes while the key is held.
						runtime.Gosched()
						select {
						case <-served:
							h.Unlock()
							return
						default:
						}
						if err := h.Unlock(); err != nil {
							t.Error(err)
							return
						}
					}
				}()
				select {
				case <-going:
				case seen := <-turnsSeen:
					t.Fatalf("the relocking goroutine stopped after %d turns", seen)
				}
				w, err := tab.Lock(ctx, "s", "k", mode)
				close(served)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Unlock(); err != nil {
					t.Fatal(err)
				}
				if seen := <-turnsSeen; seen > 2 {
					t.Errorf("the relocking goroutine took the key %d times while another goroutine waited for it; want at most 2 (the turn it held and the one it was taking)", seen)
				}
			})
		}
	}
}

// A waiter the key was passed on to that gives up (its context ended)
// passes it on to the goroutines that came meanwhile: they wait for the
// waiters (see TestWaiterServedBeforeRelocker), and nothing else would
// wake them with the key free.
func TestHandoffGivenUpPassesOn(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
			h, err := tab.Lock(hangCtx(t), "s", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			// The first waiter stops where its wait ends with its
			// context, still counted as waiting.
			reached, release := make(chan struct{}), make(chan struct{})
			op := &opwatch.Op{Hook: func(site string) {
				if site == "lock-give-up" {
					close(reached)
					<-release
				}
			}}
			ctx, cancel := context.WithCancel(opwatch.NewContext(hangCtx(t), op))
			first := make(chan error, 1)
			go func() {
				w, err := tab.Lock(ctx, "s", "k", lock.Exclusive)
				if err == nil {
					w.Unlock()
				}
				first <- err
			}()
			if !pollUntil(func() bool { return tab.Stats().Waiting == 1 }) {
				t.Fatal("the first waiter never waited")
			}
			cancel()
			<-reached
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			second := make(chan error, 1)
			go func() {
				w, err := tab.Lock(hangCtx(t), "s", "k", lock.Exclusive)
				if err == nil {
					err = w.Unlock()
				}
				second <- err
			}()
			if !pollUntil(func() bool { return tab.Stats().Waiting == 2 }) {
				t.Fatal("the second never waited")
			}
			close(release)
			if err := <-first; !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.Canceled) {
				t.Fatalf("first waiter: %v, want ErrLocked and context.Canceled", err)
			}
			if err := <-second; err != nil {
				t.Fatalf("the key given up by the waiter it went to: %v", err)
			}
			if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
				t.Errorf("after both: %+v, want nothing held or waiting", st)
			}
		})
	}
}

// A Shared Lock that comes while a key is passed on to the goroutines
// that wait for it (keyState.queue) waits with them, but only until
// one of them takes it: when that one takes it Shared, with no Exclusive
// request waiting, the newcomer shares it, as any Shared request then
// does. It used to sleep on until that holder let go, a reader serialized
// behind a reader for the whole of its hold. The newcomer is the
// Exclusive holder's own next Lock, made at once after its Unlock, so it
// comes before the woken waiter has run in most of the trials; a trial
// in which it did not shows nothing and is counted apart.
func TestSharedNewcomerSharesHandoff(t *testing.T) {
	const trials = 200
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
			ctx := hangCtx(t)
			for range trials {
				e, err := tab.Lock(ctx, "s", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				release := make(chan struct{})
				// The holder lets go when told, or, were the newcomer not
				// to share, at half the test's deadline, so that the
				// newcomer's Lock returns and the test says why.
				hold, cancel := context.WithTimeout(ctx, proctest.Deadline/2)
				var firstLetGo atomic.Bool
				first := make(chan error, 1)
				go func() {
					h, err := tab.Lock(ctx, "s", "k", lock.Shared)
					if err != nil {
						first <- err
						return
					}
					select {
					case <-release:
					case <-hold.Done():
					}
					firstLetGo.Store(true)
					first <- h.Unlock()
				}()
				if !pollUntil(func() bool { return tab.Stats().Waiting == 1 }) {
					t.Fatal("the Shared waiter never waited")
				}
				if err := e.Unlock(); err != nil {
					t.Fatal(err)
				}
				h, err := tab.Lock(ctx, "s", "k", lock.Shared)
				if err != nil {
					t.Fatal(err)
				}
				if firstLetGo.Load() {
					t.Fatal("a Shared Lock was granted only once the Shared holder it came behind let go")
				}
				close(release)
				err = <-first
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Unlock(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
