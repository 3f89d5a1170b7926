package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLockWaitGivenUpIsLocked: on a bounded store, an operation that waits
// for another holder of its session's lock (Lock, CompareAndSwap) and
// whose context ends during that wait timed out waiting (ErrLocked, and
// the context's error), whichever instant of the wait the end met: the
// store answered every call, and the breaker does not count it (here it
// opens at one timeout). Lock answered so in each; CompareAndSwap
// answered a poll on the wire at the end with ErrUnavailable, counted as
// the server failing to answer (under contention its waits opened the
// breaker for the whole store), and a lock granted as its caller gave
// up, or one it had to release after that, with the context's error
// alone.
func TestLockWaitGivenUpIsLocked(t *testing.T) {
	ops := []struct {
		name string
		run  func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"Lock", lockAndUnlock},
		{"CompareAndSwap", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("w")})
		}},
	}
	for _, op := range ops {
		// A poll of the lock, held by another store (another host), is
		// on the wire when the context ends.
		t.Run(op.name+"/poll-on-the-wire", func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithBreaker(1, time.Hour))
			id := newID(t)
			held, err := openPlain(t, f.dir).Lock(context.Background(), id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			ctx := newDeadlineCtx()
			errc := make(chan error, 1)
			go func() { errc <- op.run(ctx, f.s, id) }()
			eventually(t, func() bool { return f.fs.count("lock-first-done") >= 1 }, "the waiter's first attempt")
			release := f.fs.hang("lock")
			defer release()
			f.fs.await(t, "lock")
			ctx.expire()
			err = <-errc
			release()
			lockWaitTimedOut(t, f, err)
		})
		// The holder, a request of this process, lets go as the waiter
		// gives up: the lock, kept for the waiter, is granted to it
		// after its context ended. Lock may return it; CompareAndSwap,
		// with its read and write still to do, does neither.
		t.Run(op.name+"/granted-as-given-up", func(t *testing.T) {
			f, _, held, ctx, errc := waitBehindThisProcess(t, op.run)
			release := f.fs.hang("lock-woken")
			defer release()
			if err := held.Unlock(); err != nil {
				t.Fatal(err)
			}
			f.fs.await(t, "lock-woken")
			ctx.expire()
			eventually(t, func() bool { return f.fs.count("abandon-outside") > 0 }, "the waiter's give-up")
			release()
			err := <-errc
			if op.name == "Lock" && err == nil {
				// Granted, the lock is the caller's: Lock has no
				// work left that the end of its context would stop.
				f.settle(t)
				return
			}
			lockWaitTimedOut(t, f, err)
		})
		// The waiter gives up; before it leaves, the holder lets go, and
		// the OS lock is kept for the waiter, which must then release it
		// itself. That release is a call to a server that may hang: the
		// caller gets its error at once, not when the release returns or
		// the store's ceiling passes, and the lock is released all the
		// same.
		t.Run(op.name+"/releasing-after-give-up", func(t *testing.T) {
			f, id, held, ctx, errc := waitBehindThisProcess(t, op.run)
			releaseGiveUp := f.fs.hang("lock-give-up")
			defer releaseGiveUp()
			ctx.expire()
			f.fs.await(t, "lock-give-up")
			if err := held.Unlock(); err != nil {
				t.Fatal(err)
			}
			releaseUnlock := f.fs.hang("unlock")
			defer releaseUnlock()
			releaseGiveUp()
			f.fs.await(t, "unlock")
			var err error
			select {
			case err = <-errc:
			case <-time.After(time.Minute):
				t.Fatal("the wait given up on did not return while its release hung")
			}
			releaseUnlock()
			lockWaitTimedOut(t, f, err)
			l, err := openPlain(t, f.dir).TryLock(id, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("the lock kept for the waiter was not released: %v", err)
			}
			l.Unlock()
		})
	}
}

// lockAndUnlock is Lock as an op of waitBehindThisProcess: it unlocks
// the lock it may get.
func lockAndUnlock(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err == nil {
		l.Unlock()
	}
	return err
}

// lockWaitTimedOut checks err, a lock wait's that its context ended: a
// wait timed out, not the store unavailable, and the breaker closed.
func lockWaitTimedOut(t *testing.T, f *boundFixture, err error) {
	t.Helper()
	if !errors.Is(err, fsstore.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fsstore.ErrUnavailable) {
		t.Errorf("err = %v, want ErrLocked and DeadlineExceeded, not ErrUnavailable", err)
	}
	if got := f.s.Breaker(); got != fsstore.BreakerClosed {
		t.Errorf("breaker %v after a lock wait given up on, want closed", got)
	}
	f.settle(t)
}

// waitBehindThisProcess opens a bounded store whose breaker opens at one
// timeout, locks a new session (id) in it, and runs op on that session
// with a context the test ends (ctx), on a goroutine whose result errc
// gets, once op waits in the store's queue behind the lock held.
func waitBehindThisProcess(t *testing.T, op func(ctx context.Context, s *fsstore.Store, id string) error) (f *boundFixture, id string, held *fsstore.Locked, ctx *deadlineCtx, errc chan error) {
	t.Helper()
	f = newBoundFixture(t, fsstore.WithBreaker(1, time.Hour))
	id = newID(t)
	held, err := f.s.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	ctx = newDeadlineCtx()
	errc = make(chan error, 1)
	go func() { errc <- op(ctx, f.s, id) }()
	eventually(t, func() bool { return f.s.LockWaitersForTest() == 1 }, "the waiter")
	return f, id, held, ctx, errc
}
