//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/lock"
)

// gate stands for a server that does not answer: the first call of its
// hook for file reports itself on entered and blocks until open.
type gate struct {
	file    string
	entered chan struct{}
	opened  chan struct{}
	first   atomic.Bool
	once    sync.Once
}

func newGate(t *testing.T, file string) *gate {
	g := &gate{file: file, entered: make(chan struct{}), opened: make(chan struct{})}
	// Opened before the cleanups registered earlier run (the table's
	// Close), so a call blocked in a failed test returns.
	t.Cleanup(g.open)
	return g
}

func (g *gate) hook(file string) {
	if file == g.file && g.first.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.opened
	}
}

func (g *gate) open() { g.once.Do(func() { close(g.opened) }) }

// within runs fn and fails the test when it has not returned by
// proctest.Deadline: a hang becomes a failure. Nothing is measured.
func within(t *testing.T, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-hangCtx(t).Done():
		t.Fatalf("%s did not complete while another stripe's OS call was blocked", what)
	}
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-hangCtx(t).Done():
		t.Fatalf("gave up waiting for %s", what)
	}
}

type lockResult struct {
	h   *lock.Handle
	err error
}

// lockAsync locks key on file on a goroutine of its own.
func lockAsync(t *testing.T, tab *lock.Table, file, key string) <-chan lockResult {
	ch := make(chan lockResult, 1)
	go func() {
		h, err := tab.Lock(hangCtx(t), file, key, lock.Exclusive)
		ch <- lockResult{h, err}
	}()
	return ch
}

func cycle(ctx context.Context, tab *lock.Table, file, key string) error {
	h, err := tab.Lock(ctx, file, key, lock.Exclusive)
	if err != nil {
		return err
	}
	return h.Unlock()
}

// While one stripe's OS lock is being released, or its lost state is being
// checked, and the server does not answer, the Table's other stripes lock
// and unlock as usual; a second locker of the blocked stripe waits, and
// then gets the lock the release left it: a fresh OS lock, never the one
// being released, or the held one handed over when it was not lost.
func TestBlockedReleaseDelaysOnlyItsStripe(t *testing.T) {
	for _, tc := range []struct {
		name       string
		block      string // the OS call that hangs: "unlock" or "lost"
		lost       bool   // the OS lock is lost before the release
		waiterInAt string // the waiter arrives "before" the release or "during" it
		handedOver bool   // the waiter gets A's OS lock, not a fresh one
	}{
		{name: "unlock", block: "unlock", waiterInAt: "during"},
		{name: "lost-check-before-handoff", block: "lost", waiterInAt: "before", handedOver: true},
		{name: "lost-lock-not-handed-over", block: "unlock", lost: true, waiterInAt: "before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &lock.FakeOS{}
			tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
			t.Cleanup(func() { tab.Close() })
			g := newGate(t, "s1")
			if tc.block == "unlock" {
				fake.OnUnlock = g.hook
			} else {
				fake.OnLost = g.hook
			}

			a, err := tab.TryLock("s1", "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			aGen := lock.HandleGen(a)
			if tc.lost {
				fake.MarkLost("s1")
			}
			var waiter <-chan lockResult
			if tc.waiterInAt == "before" {
				waiter = lockAsync(t, tab, "s1", "a")
				waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the waiter")
			}
			unlocked := make(chan error, 1)
			go func() { unlocked <- a.Unlock() }()
			await(t, g.entered, "the blocked "+tc.block)
			if tc.waiterInAt == "during" {
				waiter = lockAsync(t, tab, "s1", "a")
				waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the waiter")
			}

			within(t, "Lock and Unlock of another stripe", func() error { return cycle(hangCtx(t), tab, "s2", "b") })
			within(t, "another key's TryLock on another stripe", func() error {
				h, err := tab.TryLock("s3", "c", lock.Shared)
				if err != nil {
					return err
				}
				return h.Unlock()
			})
			within(t, "Stats", func() error { tab.Stats(); return nil })
			select {
			case r := <-waiter:
				t.Fatalf("the waiter got the stripe while it was being released: %+v", r)
			case err := <-unlocked:
				t.Fatalf("Unlock returned while its OS call was blocked: %v", err)
			default:
			}

			g.open()
			if err := <-unlocked; err != nil {
				t.Fatalf("Unlock: %v", err)
			}
			r := <-waiter
			if r.err != nil {
				t.Fatalf("waiter: %v", r.err)
			}
			got, held := lock.HandleGen(r.h), fake.Holder("s1")
			if got != held || (got == aGen) != tc.handedOver {
				t.Fatalf("waiter holds OS lock %d, the OS has %d on the stripe; the released one was %d, handed over: want %v", got, held, aGen, tc.handedOver)
			}
			if err := r.h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 || fake.Holder("s1") != 0 {
				t.Fatalf("after the last Unlock: %+v, OS lock %d, want nothing held", st, fake.Holder("s1"))
			}
		})
	}
}

// A close of a lock descriptor that does not return (an evicted idle
// descriptor's CLOSE on a hung NFS mount) delays only the call that makes
// it: other stripes lock and unlock meanwhile.
func TestBlockedCloseDelaysNoOtherStripe(t *testing.T) {
	tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Flock, MaxOpen: 1})
	g := newGate(t, "")
	lock.SetCloseHook(tab, func() { g.hook("") })
	if err := cycle(context.Background(), tab, "s1", "a"); err != nil {
		t.Fatal(err)
	}
	// s2's descriptor makes two with MaxOpen 1: s1's idle one is closed.
	got := lockAsync(t, tab, "s2", "b")
	await(t, g.entered, "the eviction's close")

	within(t, "Lock and Unlock of another stripe", func() error { return cycle(hangCtx(t), tab, "s3", "c") })
	within(t, "Stats", func() error { tab.Stats(); return nil })

	g.open()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if err := r.h.Unlock(); err != nil {
		t.Fatal(err)
	}
	if st := tab.Stats(); st.Held != 0 || st.Open > 1 {
		t.Fatalf("after the unlocks: %+v, want nothing held and at most MaxOpen=1 open", st)
	}
}

// TestLostLockIsNotShared: once a holder found its file's OS lock lost (the
// server gave it to another host), no other key of the process may join
// that lock. Joining it, every save under the new key failed its Verify,
// and while keys kept overlapping the file was never free to take afresh.
// Nor may the new key wait for the lost lock's holders: the goroutine
// asking may be one of them. It fails at once with ErrLockLost, and once
// the holders have left, the file's lock is taken afresh. The loss may be
// found by a holder (Verify, Unlock) or by the backend on its own (a
// lease's renewal finds the lease expired, or taken over): new keys
// joined a lock so found, until a holder happened to verify it.
func TestLostLockIsNotShared(t *testing.T) {
	for _, found := range []string{"verify", "unlock", "backend"} {
		t.Run("found-at-"+found, func(t *testing.T) {
			fake := &lock.FakeOS{}
			tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
			t.Cleanup(func() { tab.Close() })
			a, err := tab.TryLock("s1", "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tab.TryLock("s1", "b", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			lostGen := lock.HandleGen(a)
			fake.MarkLost("s1")
			switch found {
			case "verify":
				if err := a.Verify(); !errors.Is(err, lock.ErrLockLost) {
					t.Fatalf("Verify of the lost lock = %v", err)
				}
			case "unlock":
				a.Unlock() // b still holds the lost lock
			}

			if h, err := tab.TryLock("s1", "c", lock.Exclusive); !errors.Is(err, lock.ErrLockLost) {
				t.Fatalf("TryLock of a new key beside the lost lock = %v, %v; want ErrLockLost", h, err)
			}
			// As a holder of the lost lock would ask, on its own goroutine:
			// an answer, not a wait for itself.
			if h, err := tab.Lock(hangCtx(t), "s1", "c", lock.Exclusive); !errors.Is(err, lock.ErrLockLost) {
				t.Fatalf("Lock of a new key beside the lost lock = %v, %v; want ErrLockLost", h, err)
			}
			if found != "unlock" {
				a.Unlock()
			}
			b.Unlock()
			h, err := tab.TryLock("s1", "c", lock.Exclusive)
			if err != nil {
				t.Fatalf("TryLock once the lost lock's holders left: %v", err)
			}
			if got := lock.HandleGen(h); got == lostGen || got != fake.Holder("s1") {
				t.Fatalf("new key holds OS lock %d, the OS has %d; the lost one was %d", got, fake.Holder("s1"), lostGen)
			}
			if err := h.Verify(); err != nil {
				t.Fatalf("Verify under the fresh lock: %v", err)
			}
			h.Unlock()
		})
	}
}

// TestLostShareReleaseMarked: a waiter that comes to the OS lock kept for
// it and finds it lost (by the backend on its own) releases it before it
// takes the lock afresh (TestKeptLockFoundLostIsTakenAfresh): a round
// trip that may hang like any other, and one that must be made. Its
// caller's operation must be inside the OS for it, holding a slot of its
// bound (opwatch.Op.EnterAlways), as for the other releases a wait makes;
// unmarked, a bounded store's waiter could neither give up on a hung
// release nor count it against its bound.
func TestLostShareReleaseMarked(t *testing.T) {
	// The OS lock is kept for the waiter only while the tenure is short
	// (see minHandoffHold): a slow run may release it instead, and that
	// run does not take the path under test.
	for try := 0; ; try++ {
		if try == 20 {
			t.Fatal("the waiter never joined the OS lock kept for it")
		}
		fake := &lock.FakeOS{}
		tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
		var checks atomic.Int32
		fake.OnLost = func(file string) {
			if checks.Add(1) == 2 { // the waiter's, as it joins
				fake.MarkLost(file)
			}
		}
		bound := &opwatch.Bound{Max: 4}
		var (
			mu       sync.Mutex
			releases []string
		)
		op := &opwatch.Op{Bound: bound}
		op.Hook = func(site string) {
			if site == "unlock" {
				mu.Lock()
				releases = append(releases, fmt.Sprintf("in the OS for a release %v, slots taken %d", op.InOSAlways(), bound.InFlight()))
				mu.Unlock()
			}
		}
		a, err := tab.TryLock("s1", "a", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error, 1)
		go func() {
			h, err := tab.Lock(opwatch.NewContext(hangCtx(t), op), "s1", "a", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			waiter <- err
		}()
		waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the waiter")
		if err := a.Unlock(); err != nil {
			t.Fatal(err)
		}
		err = <-waiter
		tab.Close()
		if err != nil {
			t.Fatalf("waiter: %v", err)
		}
		mu.Lock()
		kept := len(releases) > 0
		mu.Unlock()
		if !kept {
			continue // the OS lock was released, not kept for the waiter
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"in the OS for a release true, slots taken 1"}; !slices.Equal(releases, want) {
			t.Fatalf("releases the waiter's operation saw: %q, want %q", releases, want)
		}
		if n := bound.InFlight(); n != 0 {
			t.Fatalf("%d slots taken once the waiter returned, want 0", n)
		}
		if held := fake.Holder("s1"); held != 0 {
			t.Fatalf("OS lock %d still held after its last share went back", held)
		}
		return
	}
}
