//go:build unix

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// hangCtx bounds a call that must not wait at all: if it does wait, the
// deadline turns the hang into a failure instead of a test-binary timeout.
// Nothing is measured against it.
func hangCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
	t.Cleanup(cancel)
	return ctx
}

// One goroutine locks several distinct keys on one lock file, in every
// combination of modes, with Lock and TryLock: none of them may wait for
// the others, since they are held by the same process.
func TestDistinctKeysOneFileNeverWait(t *testing.T) {
	modes := []lock.Mode{lock.Exclusive, lock.Shared}
	for _, strategy := range strategies {
		for _, m1 := range modes {
			for _, m2 := range modes {
				t.Run(fmt.Sprintf("%v/%v-then-%v", strategy, m1, m2), func(t *testing.T) {
					tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
					a, err := tab.Lock(hangCtx(t), "stripe", "a", m1)
					if err != nil {
						t.Fatal(err)
					}
					b, err := tab.Lock(hangCtx(t), "stripe", "b", m2)
					if err != nil {
						t.Fatalf("second key on the same file, same goroutine: %v", err)
					}
					c, err := tab.TryLock("stripe", "c", m2)
					if err != nil {
						t.Fatalf("TryLock of a third key on the same file: %v", err)
					}
					if n := tab.Stats().Held; n != 1 {
						t.Errorf("%d OS locks held for three keys on one file, want 1", n)
					}
					for _, h := range []*lock.Handle{a, c, b} {
						if err := h.Verify(); err != nil {
							t.Fatal(err)
						}
						if err := h.Unlock(); err != nil {
							t.Fatal(err)
						}
					}
					if n := tab.Stats().Held; n != 0 {
						t.Errorf("%d OS locks held after every key was unlocked", n)
					}
				})
			}
		}
	}
}

// The same key still excludes within a process (Shared admits Shared), and
// while any key on a file is held, another Table — another process — is
// kept out of every key on it.
func TestKeyExclusion(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			a := newTable(t, lock.Config{Dir: dir, Strategy: strategy})
			b := newTable(t, lock.Config{Dir: dir, Strategy: strategy})
			k1, err := a.TryLock("f", "k1", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.TryLock("f", "k1", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
				t.Fatalf("same key again in the same table: %v, want ErrLocked", err)
			}
			if _, err := a.TryLock("f", "k1", lock.Shared); !errors.Is(err, lock.ErrLocked) {
				t.Fatalf("same key shared while held exclusive: %v, want ErrLocked", err)
			}
			s2a, err := a.TryLock("f", "k2", lock.Shared)
			if err != nil {
				t.Fatal(err)
			}
			s2b, err := a.TryLock("f", "k2", lock.Shared)
			if err != nil {
				t.Fatalf("second shared holder of a key: %v", err)
			}
			if _, err := a.TryLock("f", "k2", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
				t.Fatalf("exclusive while the key is held shared: %v, want ErrLocked", err)
			}
			for _, key := range []string{"k1", "k2", "k3"} {
				if _, err := b.TryLock("f", key, lock.Shared); !errors.Is(err, lock.ErrLocked) {
					t.Fatalf("other table, key %s, while the file is held: %v, want ErrLocked", key, err)
				}
			}
			k1.Unlock()
			s2a.Unlock()
			if _, err := b.TryLock("f", "k3", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
				t.Fatalf("other table while one key is still held: %v, want ErrLocked", err)
			}
			s2b.Unlock()
			h, err := b.TryLock("f", "k1", lock.Exclusive)
			if err != nil {
				t.Fatalf("other table after every key was unlocked: %v", err)
			}
			h.Unlock()
		})
	}
}

// Goroutines of one Table each increment their own key's counter under
// the key's lock while all keys share one lock file: same-key holders never
// overlap (the race detector checks the counters), and distinct keys do not
// deadlock even when every goroutine holds two keys at once.
func TestKeysConcurrent(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
			const keys, goroutines = 3, 9
			iter := 60
			if strategy == lock.Lease {
				iter = 15
			}
			counters := make([]int, keys)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < iter; i++ {
						k := (g + i) % keys
						h, err := tab.Lock(hangCtx(t), "f", fmt.Sprint("k", k), lock.Exclusive)
						if err != nil {
							errs <- err
							return
						}
						// A second, private key while holding the first.
						h2, err := tab.Lock(hangCtx(t), "f", fmt.Sprint("g", g), lock.Exclusive)
						if err != nil {
							h.Unlock()
							errs <- err
							return
						}
						counters[k]++
						h2.Unlock()
						if err := h.Unlock(); err != nil {
							errs <- err
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			total := 0
			for _, c := range counters {
				total += c
			}
			if total != goroutines*iter {
				t.Fatalf("counters sum to %d, want %d", total, goroutines*iter)
			}
		})
	}
}

// Goroutines waiting for locks that another owner holds take no MaxHeld
// slot: with as many waiters as the cap, an unrelated lock is still granted
// at once. The other owner is another Table here and another process in
// TestWaitersTakeNoSlotAcrossProcesses.
func TestWaitersTakeNoSlot(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			const max = 8
			dir := t.TempDir()
			other := newTable(t, lock.Config{Dir: dir, Strategy: strategy})
			for i := 0; i < max; i++ {
				h, err := other.TryLock(fmt.Sprint("busy", i), "x", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { h.Unlock() })
			}
			tab := newTable(t, lock.Config{Dir: dir, Strategy: strategy, MaxHeld: max})
			waitForOthers(t, tab, max, func(i int) string { return fmt.Sprint("busy", i) })
		})
	}
}

// waitForOthers starts n goroutines locking busy(i) in tab, waits until all
// of them are queued, and checks that an unrelated lock is granted at once
// and that the waiters end with their context.
func waitForOthers(t *testing.T, tab *lock.Table, n int, busy func(int) string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h, err := tab.Lock(ctx, busy(i), "x", lock.Exclusive)
			if err == nil {
				h.Unlock()
				err = errors.New("granted a lock another owner holds")
			} else if errors.Is(err, context.Canceled) {
				err = nil
			}
			results <- err
		}(i)
	}
	waitUntil(t, func() bool { return tab.Stats().Waiting == n }, "waiters queued")
	h, err := tab.TryLock("unrelated", "u", lock.Exclusive)
	if err != nil {
		t.Fatalf("unrelated lock with %d waiters and MaxHeld %d: %v", n, tab.MaxHeld(), err)
	}
	h.Unlock()
	cancel()
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitUntil polls cond until it holds or proctest.Deadline passes.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	ctx := hangCtx(t)
	for !cond() {
		if err := sleepCtx(ctx); err != nil {
			t.Fatalf("gave up waiting for %s: %v", what, err)
		}
	}
}

func sleepCtx(ctx context.Context) error {
	select {
	case <-time.After(time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The lock-level form of "64 requests on host B wait for sessions locked on
// host A": a child process holds 64 lock files, this process queues 64
// requests for them with MaxHeld 64, and an unrelated lock is granted at
// once. (The two-host NFS form is in nfs_test.go.)
func TestWaitersTakeNoSlotAcrossProcesses(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			const n = 64
			dir := t.TempDir()
			cfg := lock.Config{Dir: dir, Strategy: strategy}
			kid := startChild(t, "holdmany", append(strategyEnv(dir, "busy", cfg), "LOCK_COUNT="+strconv.Itoa(n))...)
			kid.Expect(t, "locked")
			cfg.MaxHeld = n
			tab := newTable(t, cfg)
			waitForOthers(t, tab, n, func(i int) string { return fmt.Sprint("busy", i) })
		})
	}
}

// Close wakes the goroutines waiting for a key, which fail with ErrClosed
// instead of taking a lock on a closed Table.
func TestCloseWakesWaiters(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			h, err := tab.TryLock("f", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() {
				h2, err := tab.Lock(hangCtx(t), "f", "k", lock.Exclusive)
				if err == nil {
					h2.Unlock()
				}
				got <- err
			}()
			waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the waiter")
			if err := tab.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-got; !errors.Is(err, lock.ErrClosed) {
				t.Fatalf("waiter after Close: %v, want ErrClosed", err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if st := tab.Stats(); st.Held != 0 || st.Open != 0 {
				t.Fatalf("after Close and Unlock: %+v, want nothing held or open", st)
			}
		})
	}
}

// Kept descriptors never exceed MaxOpen: idle ones beyond it are closed,
// least recently used first; held ones stay open.
func TestMaxOpenBound(t *testing.T) {
	tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Flock, MaxOpen: 4})
	for i := 0; i < 20; i++ {
		h, err := tab.TryLock(fmt.Sprint("f", i), "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		h.Unlock()
		if n := tab.Stats().Open; n > 4 {
			t.Fatalf("%d descriptors kept after %d lock cycles, MaxOpen 4", n, i+1)
		}
	}
	var held []*lock.Handle
	for i := 0; i < 6; i++ {
		h, err := tab.TryLock(fmt.Sprint("g", i), "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, h)
	}
	if n := tab.Stats().Open; n != 6 {
		t.Fatalf("%d descriptors open with 6 locks held, want 6", n)
	}
	if n := tab.CloseIdle(); n != 0 {
		t.Fatalf("CloseIdle closed %d descriptors while all open ones hold locks", n)
	}
	for _, h := range held {
		h.Unlock()
	}
	if n := tab.Stats().Open; n > 4 {
		t.Fatalf("%d descriptors kept after the held locks were released, MaxOpen 4", n)
	}
	if n := tab.CloseIdle(); n != 4 {
		t.Fatalf("CloseIdle closed %d idle descriptors, want 4", n)
	}
	if n := tab.Stats().Open; n != 0 {
		t.Fatalf("%d descriptors open after CloseIdle", n)
	}
}

// Two processes, four goroutines each, on one lock file: each goroutine
// increments the counter of one of two keys non-atomically under that key
// and, while holding it, locks a key of its own on the same file. Keys
// exclude across processes (exact counts), and no goroutine waits for
// itself (the children finish).
func TestCrossProcessKeys(t *testing.T) {
	for _, tc := range []struct {
		strategy lock.Strategy
		iter     int
	}{
		{lock.Flock, 60},
		{lock.Lease, 15},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			counter := filepath.Join(t.TempDir(), "counter")
			const procs, goroutines, keys = 2, 4, 2
			for k := 0; k < keys; k++ {
				if err := os.WriteFile(fmt.Sprint(counter, ".k", k), []byte("0"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := append(strategyEnv(dir, "f", lock.Config{Strategy: tc.strategy}),
				"LOCK_COUNTER="+counter, "LOCK_KEYS="+strconv.Itoa(keys),
				"LOCK_GOROUTINES="+strconv.Itoa(goroutines), "LOCK_ITER="+strconv.Itoa(tc.iter))
			var kids []*child
			for i := 0; i < procs; i++ {
				kids = append(kids, startChild(t, "countkeys", env...))
			}
			for _, k := range kids {
				k.Finish(t)
			}
			for k := 0; k < keys; k++ {
				b, err := os.ReadFile(fmt.Sprint(counter, ".k", k))
				if err != nil {
					t.Fatal(err)
				}
				if want := strconv.Itoa(procs * goroutines / keys * tc.iter); string(b) != want {
					t.Fatalf("counter of k%d = %s, want %s: updates were lost", k, b, want)
				}
			}
		})
	}
}

// Randomised: goroutines of two Tables (two "processes") lock random keys
// on a few files in random modes, sometimes a second key while holding
// the first. Checked throughout: an exclusive holder of a key is alone
// with it in its Table; Shared holders only share with Shared; the two
// Tables never hold keys on the same file at once (the OS lock). At the
// end nothing is held, waited for or left open beyond MaxOpen.
func TestKeysRandomised(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			tabs := []*lock.Table{
				newTable(t, lock.Config{Dir: dir, Strategy: strategy}),
				newTable(t, lock.Config{Dir: dir, Strategy: strategy}),
			}
			const files, keys, goroutines = 3, 5, 12
			iter := 80
			if strategy == lock.Lease {
				iter = 20
			}
			var (
				mu      sync.Mutex
				excl    = map[[2]int]int{} // [table, key] → exclusive holders
				shared  = map[[2]int]int{} // [table, key] → shared holders
				perFile = map[[2]int]int{} // [table, file] → holders
			)
			fileOf := func(k int) int { return k % files }
			enter := func(tb, k int, mode lock.Mode) error {
				mu.Lock()
				defer mu.Unlock()
				if mode == lock.Exclusive {
					excl[[2]int{tb, k}]++
				} else {
					shared[[2]int{tb, k}]++
				}
				perFile[[2]int{tb, fileOf(k)}]++
				if e, s := excl[[2]int{tb, k}], shared[[2]int{tb, k}]; e > 1 || (e == 1 && s > 0) {
					return fmt.Errorf("table %d key %d: %d exclusive and %d shared holders", tb, k, e, s)
				}
				if perFile[[2]int{0, fileOf(k)}] > 0 && perFile[[2]int{1, fileOf(k)}] > 0 {
					return fmt.Errorf("both tables hold keys on file %d", fileOf(k))
				}
				return nil
			}
			leave := func(tb, k int, mode lock.Mode) {
				mu.Lock()
				defer mu.Unlock()
				if mode == lock.Exclusive {
					excl[[2]int{tb, k}]--
				} else {
					shared[[2]int{tb, k}]--
				}
				perFile[[2]int{tb, fileOf(k)}]--
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					tb := g % 2
					tab := tabs[tb]
					seed := uint64(g)*0x9e3779b97f4a7c15 + 1
					rnd := func(n int) int {
						seed ^= seed << 13
						seed ^= seed >> 7
						seed ^= seed << 17
						return int(seed % uint64(n))
					}
					lockKey := func(k int, mode lock.Mode) (*lock.Handle, error) {
						h, err := tab.Lock(hangCtx(t), fmt.Sprint("f", fileOf(k)), fmt.Sprint("k", k), mode)
						if err != nil {
							return nil, err
						}
						if err := enter(tb, k, mode); err != nil {
							h.Unlock()
							return nil, err
						}
						return h, nil
					}
					for i := 0; i < iter; i++ {
						k1, m1 := rnd(keys), lock.Mode(rnd(2))
						h1, err := lockKey(k1, m1)
						if err != nil {
							errs <- err
							return
						}
						if k2 := rnd(keys); k2 != k1 && rnd(2) == 0 {
							m2 := lock.Mode(rnd(2))
							// A second key in this goroutine: on the same
							// file (never waits for the first), or on a
							// later file, so that goroutines of the two
							// Tables holding two files cannot wait for
							// each other in a cycle: across processes the
							// file is the unit, and so is lock ordering.
							if f1, f2 := fileOf(k1), fileOf(k2); f2 > f1 || (f2 == f1 && k2 > k1) {
								h2, err := lockKey(k2, m2)
								if err != nil {
									errs <- err
									return
								}
								runtime.Gosched()
								leave(tb, k2, m2)
								h2.Unlock()
							}
						}
						runtime.Gosched()
						leave(tb, k1, m1)
						if err := h1.Unlock(); err != nil {
							errs <- err
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i, tab := range tabs {
				if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 || st.Open > tab.MaxOpen() {
					t.Errorf("table %d after the run: %+v", i, st)
				}
			}
		})
	}
}
