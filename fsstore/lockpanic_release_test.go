package fsstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// lockPanics is an Observer that, told of a lock acquired, runs before
// and then panics; it passes the other events to next.
type lockPanics struct {
	next   fsstore.Observer
	before func()
}

func (o lockPanics) Observe(e fsstore.Event) {
	if (e.Op == fsstore.OpLockWait || e.Op == fsstore.OpTryLock) && e.Outcome == fsstore.OutcomeOK {
		o.before()
		panic("observer of the lock")
	}
	o.next.Observe(e)
}

// TestLockPanicReleaseLog: a Lock (or TryLock) whose Observer panics
// releases the lock it acquired before the panic goes up. With the
// breaker open by then, the bound leaves that release to the background,
// which is no failure; the log said "releasing a session lock whose Lock
// panicked failed", as of a lock left held. The release must be logged as
// what it is, and the lock be free once it has run.
func TestLockPanicReleaseLog(t *testing.T) {
	const failed = "releasing a session lock whose Lock panicked failed"
	const background = "session lock whose Lock panicked is being released in the background"
	for _, tc := range []struct {
		name        string
		try         bool
		openBreaker bool
		want        string // logged; "" nothing of the release
	}{
		{"Lock/breaker closed", false, false, ""},
		{"Lock/breaker open", false, true, background},
		{"TryLock/breaker open", true, true, background},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *boundFixture
			obs := &lockPanics{}
			f = newBoundFixture(t, fsstore.WithBreaker(1, time.Hour), fsstore.WithObserver(obs))
			obs.next = f.obs
			obs.before = func() {
				if tc.openBreaker {
					openBreaker(t, f)
					if st := f.s.Breaker(); st != fsstore.BreakerOpen {
						t.Errorf("breaker %v after a timeout, want open", st)
					}
				}
			}
			id := newID(t)
			p := func() (p any) {
				defer func() { p = recover() }()
				if tc.try {
					f.s.TryLock(id, fsstore.Exclusive)
				} else {
					f.s.Lock(context.Background(), id, fsstore.Exclusive)
				}
				return nil
			}()
			if p == nil {
				t.Fatal("the Observer's panic did not go up to the caller")
			}
			f.settle(t)
			log := f.log.String()
			if strings.Contains(log, failed) {
				t.Errorf("the release logged as failed:\n%s", log)
			}
			if tc.want != "" && !strings.Contains(log, tc.want) {
				t.Errorf("no %q in the log:\n%s", tc.want, log)
			}
			// The lock is free: another store of the directory takes it.
			other := openDir(t, f.dir)
			l, err := other.TryLock(id, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("TryLock from another store after the release: %v", err)
			}
			l.Unlock()
		})
	}
}
