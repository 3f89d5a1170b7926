//go:build unix

package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/lock"
)

// TestExclusiveGiveUpWakesSharedWaiters: Shared waiters queue behind an
// Exclusive waiter, so that it is not starved by a stream of Shared
// holders. When that waiter gives up, they must be woken: only Shared
// holders remain, and nothing else would change the lock's state for them.
func TestExclusiveGiveUpWakesSharedWaiters(t *testing.T) {
	tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: lock.Flock})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	s1, err := tab.Lock(context.Background(), "f", "k", lock.Shared)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Unlock()
	ectx, giveUp := context.WithCancel(context.Background())
	excl := make(chan error, 1)
	go func() {
		h, err := tab.Lock(ectx, "f", "k", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		excl <- err
	}()
	waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the Exclusive waiter")
	shared := make(chan error, 1)
	go func() {
		h, err := tab.Lock(hangCtx(t), "f", "k", lock.Shared) // no deadline of its own
		if err == nil {
			h.Unlock()
		}
		shared <- err
	}()
	waitUntil(t, func() bool { return tab.Stats().Waiting == 2 }, "the Shared waiter behind it")
	giveUp()
	if err := <-excl; !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("the Exclusive waiter: %v, want ErrLocked", err)
	}
	// The hang deadline only bounds the failure: a woken waiter is
	// granted at once.
	select {
	case err := <-shared:
		if err != nil {
			t.Fatalf("the Shared waiter: %v", err)
		}
	case <-hangCtx(t).Done():
		t.Fatal("the Shared waiter still sleeps though only Shared holders remain")
	}
}

// TestCloseReleasesLockKeptForWaiters closes a table right after an
// Unlock kept the OS lock for a waiter. The waiter wakes to ErrClosed, so
// no handle owns that lock any more: it must be released, or another
// process stays locked out of the file until this one exits. The race is
// narrow; repetitions make it likely.
func TestCloseReleasesLockKeptForWaiters(t *testing.T) {
	hit := 0
	for range 100 {
		dir := t.TempDir()
		tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock})
		if err != nil {
			t.Fatal(err)
		}
		h, err := tab.Lock(context.Background(), "f", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error, 1)
		go func() {
			h, err := tab.Lock(context.Background(), "f", "k", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			waiter <- err
		}()
		waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the waiter")
		h.Unlock() // keeps the OS lock for the waiter
		tab.Close()
		if err := <-waiter; !errors.Is(err, lock.ErrClosed) {
			continue // it took the lock before Close: not the race
		}
		hit++
		other, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock}) // another process's view
		if err != nil {
			t.Fatal(err)
		}
		oh, err := other.TryLock("f", "x", lock.Exclusive)
		if err != nil {
			other.Close()
			t.Fatalf("after Close failed its waiter, the lock kept for it is still held: %v (stats %+v)", err, tab.Stats())
		}
		oh.Unlock()
		other.Close()
	}
	t.Logf("the waiter met the closed table in %d of 100 repetitions", hit)
}

// TestWaiterOutlastsFullTable: ErrTooManyLocks is an answer given at once
// (the table is full when the caller asks), never after a wait. A waiter
// whose table filled up while it waited for another owner keeps waiting,
// as for a held lock, until its context ends (or a slot frees).
func TestWaiterOutlastsFullTable(t *testing.T) {
	tab, held := oneSlotAndHeldElsewhere(t)
	op, seen := signals("lock-first-done")
	firstDone := seen["lock-first-done"]
	// The deadline ends the wait that the full table leaves this waiter
	// in; it bounds nothing else.
	ctx, cancel := context.WithTimeout(opwatch.NewContext(context.Background(), op), 300*time.Millisecond)
	defer cancel()
	waiter := make(chan error, 1)
	go func() {
		h, err := tab.Lock(ctx, "a", "a", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		waiter <- err
	}()
	<-firstDone                                     // it found "a" held elsewhere and now polls
	b, err := tab.TryLock("b", "b", lock.Exclusive) // fills the table
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlock()
	held.Unlock() // "a" is free, but this process has no slot for it
	err = <-waiter
	if errors.Is(err, lock.ErrTooManyLocks) {
		t.Fatalf("a waiter got ErrTooManyLocks after waiting: %v", err)
	}
	if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the waiter: %v, want ErrLocked at its deadline", err)
	}
}

// TestBreakUnreadableLeaseOnce: a lease file left unreadable by a crash
// (created, never written) is judged by its age, and two hosts may break
// it at once. Only one may end up holding the lease: a breaker that judged
// the old file must not remove the fresh lease the other created in its
// place. The race is narrow, so it is run many times. (TestBreakersKeepOneHolder
// holds one breaker at the point where three could interleave.)
func TestBreakUnreadableLeaseOnce(t *testing.T) {
	dir := t.TempDir()
	const hosts = 2
	var tabs []*lock.Table
	for range hosts {
		tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		lock.SetLeaseAgeByMtime(tab)
		tabs = append(tabs, tab)
	}
	lease := filepath.Join(dir, "f.lease")
	old := time.Now().Add(-time.Hour)
	for i := range 3000 {
		if err := os.WriteFile(lease, nil, 0o600); err != nil { // a crash-left, unreadable lease
			t.Fatal(err)
		}
		if err := os.Chtimes(lease, old, old); err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		got := make([]*lock.Handle, hosts)
		for h := range tabs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if l, err := tabs[h].TryLock("f", "k", lock.Exclusive); err == nil {
					got[h] = l
				}
			}()
		}
		close(start)
		wg.Wait()
		holders := 0
		for _, l := range got {
			if l != nil {
				holders++
			}
		}
		if holders > 1 {
			t.Fatalf("repetition %d: %d hosts hold the lease at once", i, holders)
		}
		for _, l := range got {
			if l != nil {
				l.Unlock()
			}
		}
	}
}

// TestWaiterGetsSlotFreedWhileWaiting: a waiter whose table filled up
// while it waited takes the lock once both the other owner and a slot of
// its own process have let go.
func TestWaiterGetsSlotFreedWhileWaiting(t *testing.T) {
	tab, held := oneSlotAndHeldElsewhere(t)
	op, seen := signals("lock-first-done", "lock-table-full")
	firstDone, sawFull := seen["lock-first-done"], seen["lock-table-full"]
	waiter := make(chan error, 1)
	go func() {
		h, err := tab.Lock(opwatch.NewContext(hangCtx(t), op), "a", "a", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		waiter <- err
	}()
	<-firstDone
	b, err := tab.TryLock("b", "b", lock.Exclusive) // fills the table
	if err != nil {
		t.Fatal(err)
	}
	held.Unlock()
	select { // the waiter meets the full table, and waits on
	case <-sawFull:
	case <-hangCtx(t).Done():
		t.Fatal("the waiter never met the full table")
	}
	b.Unlock()
	if err := <-waiter; err != nil {
		t.Fatalf("the waiter, once a slot freed: %v", err)
	}
}

// oneSlotAndHeldElsewhere returns a table capped at one OS lock, and the
// handle by which another table (another process's view) holds the lock
// file "a" that the test's waiter will ask for.
func oneSlotAndHeldElsewhere(t *testing.T) (*lock.Table, *lock.Handle) {
	t.Helper()
	dir := t.TempDir()
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock, MaxHeld: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	other, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	held, err := other.Lock(context.Background(), "a", "a", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	return tab, held
}

// signals returns an operation whose hook closes, the first time the lock
// package reaches each of sites, that site's channel.
func signals(sites ...string) (*opwatch.Op, map[string]chan struct{}) {
	chans := map[string]chan struct{}{}
	onces := map[string]*sync.Once{}
	for _, site := range sites {
		chans[site], onces[site] = make(chan struct{}), new(sync.Once)
	}
	return &opwatch.Op{Hook: func(site string) {
		if once, ok := onces[site]; ok {
			once.Do(func() { close(chans[site]) })
		}
	}}, chans
}

// TestSharedRetakeWaitsBehindExclusiveWaiter pins down what Mode Shared
// documents: a holder of a key Shared that locks the key Shared again
// (a nested call of its own) while an Exclusive waiter is queued waits
// behind that waiter, which waits for the holder: the holder waits on
// itself until its context ends (ErrLocked). The Table has no notion of
// goroutines, so the re-take is a new Shared request like any other, and
// Shared requests queue behind an Exclusive waiter so as not to starve it.
func TestSharedRetakeWaitsBehindExclusiveWaiter(t *testing.T) {
	tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: lock.Flock})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	held, err := tab.Lock(context.Background(), "f", "k", lock.Shared)
	if err != nil {
		t.Fatal(err)
	}
	excl := make(chan error, 1)
	go func() {
		h, err := tab.Lock(hangCtx(t), "f", "k", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		excl <- err
	}()
	waitUntil(t, func() bool { return tab.Stats().Waiting == 1 }, "the Exclusive waiter")
	ctx, cancel := context.WithCancel(context.Background())
	retake := make(chan error, 1)
	go func() {
		h, err := tab.Lock(ctx, "f", "k", lock.Shared)
		if err == nil {
			h.Unlock()
		}
		retake <- err
	}()
	waitUntil(t, func() bool { return tab.Stats().Waiting == 2 }, "the holder's re-take queued behind the Exclusive waiter")
	cancel()
	if err := <-retake; !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("the holder's Shared re-take: %v, want ErrLocked once its context ended", err)
	}
	// TryLock does not wait: it fails at once.
	if h, err := tab.TryLock("f", "k", lock.Shared); !errors.Is(err, lock.ErrLocked) {
		if err == nil {
			h.Unlock()
		}
		t.Fatalf("TryLock Shared with an Exclusive waiter queued: %v, want ErrLocked", err)
	}
	held.Unlock()
	if err := <-excl; err != nil {
		t.Fatalf("the Exclusive waiter once the holder let go: %v", err)
	}
}
