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
