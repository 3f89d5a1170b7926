package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// openBreaker makes a load of f's store run out of time, which opens a
// breaker whose threshold is one timeout.
func openBreaker(t *testing.T, f *boundFixture) {
	t.Helper()
	release := f.fs.hang("load")
	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() { _, err := f.s.Load(ctx, newID(t)); errc <- err }()
	f.fs.await(t, "load")
	ctx.expire()
	isUnavailable(t, <-errc, context.DeadlineExceeded)
	release()
	f.settle(t)
}

// TestCloseClosesBreaker: a metrics back end keeps a gauge from the
// breaker's changes, and a store closed with its breaker open or probing
// never reported it closed: the prober stops at Close, so a process that
// replaced the store (a reload, a tenant closed) kept the gauge, and the
// alert on it, on for good. Close must report the breaker closed, and an
// operation given up on after Close must not open it again.
func TestCloseClosesBreaker(t *testing.T) {
	const cooldown = 7 * time.Second
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *boundFixture)
		want []fsstore.BreakerState
	}{
		{"closed", func(t *testing.T, f *boundFixture) {
			f.s.Close()
		}, nil},
		{"open", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			f.s.Close()
		}, []fsstore.BreakerState{fsstore.BreakerOpen, fsstore.BreakerClosed}},
		{"probing", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			release := f.fs.hang("probe")
			defer release()
			f.timers.next(t, cooldown).ch <- time.Now()
			f.fs.await(t, "probe")
			f.timers.next(t, time.Hour) // the probe's ceiling, never fired
			f.s.Close()
		}, []fsstore.BreakerState{fsstore.BreakerOpen, fsstore.BreakerProbing, fsstore.BreakerClosed}},
		{"operation given up on after Close", func(t *testing.T, f *boundFixture) {
			release := f.fs.hang("load")
			ctx := newDeadlineCtx()
			errc := make(chan error, 1)
			go func() { _, err := f.s.Load(ctx, newID(t)); errc <- err }()
			f.fs.await(t, "load")
			f.s.Close()
			ctx.expire()
			isUnavailable(t, <-errc, context.DeadlineExceeded)
			release()
			f.settle(t)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown))
			tc.run(t, f)
			if got := f.obs.states(); !equalStates(got, tc.want) {
				t.Errorf("breaker states %v, want %v", got, tc.want)
			}
			if got := f.s.Breaker(); got != fsstore.BreakerClosed {
				t.Errorf("Breaker() = %v on a closed store, want closed", got)
			}
		})
	}
}

// TestCloseKeepsReleasesInBackground: Close reports an open breaker
// closed, but the server it found unanswering is no more likely to answer
// after Close: a session lock still held at Close is released in the
// background, as before Close, rather than its Unlock waiting the ceiling
// (an hour here) for a server that does not answer.
func TestCloseKeepsReleasesInBackground(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithBreaker(1, time.Hour))
	l, err := f.s.Lock(context.Background(), newID(t), fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	openBreaker(t, f)
	f.s.Close()

	errc := make(chan error, 1)
	releaseUnlock := f.fs.hang("unlock")
	defer releaseUnlock()
	go func() { errc <- l.Unlock() }()
	f.fs.await(t, "unlock")
	select {
	case err := <-errc:
		isUnavailable(t, err, nil)
	case <-time.After(time.Minute):
		t.Fatal("Unlock after Close waited for a release the server does not answer")
	}
}

// TestCloseLeavesWriteInDoubt: Close waits for the store's directory
// descriptor, not for the operations under way. A save given up on during
// its rename (ErrInDoubt) is still in the kernel when Close returns nil,
// and when the server answers it is applied, logged and reported late, as
// Store.Close's doc says: never silently.
func TestCloseLeavesWriteInDoubt(t *testing.T) {
	f := newBoundFixture(t)
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	release := f.fs.hang("commit")
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v2")}) }()
	f.fs.await(t, "commit")
	cancel()
	isUnavailable(t, <-errc, fsstore.ErrInDoubt)
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close with a write in doubt still in the kernel: %v", err)
	}
	if n := f.s.InFlightForTest(); n != 1 {
		t.Fatalf("%d operations in flight after Close, want the save's 1", n)
	}
	release()
	f.settle(t)
	f.waitLog(t, "session write applied after its caller was told the store is unavailable", "the late save")
	if n := f.obs.countLate(fsstore.OpSave); n != 1 {
		t.Errorf("%d late save events after Close, want 1", n)
	}
	mustLoad(t, openPlain(t, f.dir), id, "v2")
}
