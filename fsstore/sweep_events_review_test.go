package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// expiredSessions saves n sessions and dates them an hour back, and
// returns their IDs by record path.
func expiredSessions(t *testing.T, s *fsstore.Store, n int) map[string]string {
	t.Helper()
	ids := make(map[string]string, n)
	old := time.Now().Add(-time.Hour)
	for range n {
		id := newID(t)
		mustSave(t, s, id, "expired")
		p := s.RecordPathForTest(id)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		ids[p] = id
	}
	return ids
}

// TestSweepCallbacksCallIntoStore: a sweep's callbacks may call the store
// back, on the session just removed too (an OnRemove that writes an audit
// record of its own, or checks the session is gone), with more removals
// than the sweep lets wait for delivery. No deadlock, every removal
// reported once, none after Sweep returned, and no goroutine left.
func TestSweepCallbacksCallIntoStore(t *testing.T) {
	const n = 1500 // above the reports a sweep lets wait for their delivery
	for _, conc := range []int{1, 16} {
		t.Run(fmt.Sprint("concurrency ", conc), func(t *testing.T) {
			s := openDir(t, t.TempDir())
			ids := expiredSessions(t, s, n)
			goroutines := runtime.NumGoroutine()
			var (
				mu       sync.Mutex
				reported = map[string]int{}
				returned atomic.Bool
				late     atomic.Int64
				errs     []error
			)
			ctx := context.Background()
			onRemove := func(r fsstore.Removal) {
				if returned.Load() {
					late.Add(1)
				}
				id := ids[r.Path]
				err := func() error {
					if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
						return fmt.Errorf("Load of %s removed: %v, want ErrNotFound", id, err)
					}
					l, err := s.Lock(ctx, id, fsstore.Exclusive)
					if err != nil {
						return fmt.Errorf("Lock of %s removed: %w", id, err)
					}
					if err := l.Unlock(); err != nil {
						return err
					}
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("again")}); err != nil {
						return fmt.Errorf("Save of %s removed: %w", id, err)
					}
					return s.Delete(ctx, id)
				}()
				mu.Lock()
				reported[r.Path]++
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
			done := make(chan struct{})
			var st fsstore.SweepStats
			var err error
			go func() {
				defer close(done)
				st, err = s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, Concurrency: conc, OnRemove: onRemove})
				returned.Store(true)
			}()
			if !poll(func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}) {
				buf := make([]byte, 1<<20)
				t.Fatalf("sweep whose OnRemove calls the store did not return\n%s", buf[:runtime.Stack(buf, true)])
			}
			if err != nil || st.Sessions != n {
				t.Fatalf("sweep: %+v, %v; want %d sessions removed", st, err, n)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(errs) > 0 {
				t.Errorf("%d calls into the store failed, the first: %v", len(errs), errs[0])
			}
			if len(reported) != n {
				t.Errorf("%d removals reported, want %d", len(reported), n)
			}
			for p, c := range reported {
				if c != 1 {
					t.Errorf("%s reported %d times", p, c)
				}
			}
			if late.Load() != 0 {
				t.Errorf("%d callbacks after Sweep returned", late.Load())
			}
			if !poll(func() bool { return runtime.NumGoroutine() <= goroutines }) {
				t.Errorf("%d goroutines after the sweep, %d before", runtime.NumGoroutine(), goroutines)
			}
		})
	}
}

// TestSweepCallbackPanicManyWaiting: OnRemove panics on one removal of
// many, with reports waiting for delivery and workers waiting for them:
// the panic is raised in Sweep's caller, once every session lock is free,
// no callback called after it, no goroutine left.
func TestSweepCallbackPanicManyWaiting(t *testing.T) {
	const n = 1500
	for _, conc := range []int{1, 16} {
		t.Run(fmt.Sprint("concurrency ", conc), func(t *testing.T) {
			s := openDir(t, t.TempDir())
			ids := expiredSessions(t, s, n)
			goroutines := runtime.NumGoroutine()
			var calls, after atomic.Int64
			var panicked atomic.Bool
			release := make(chan struct{})
			onRemove := func(fsstore.Removal) {
				if panicked.Load() {
					after.Add(1)
				}
				if calls.Add(1) == 1 {
					<-release // the workers fill the queue meanwhile
				}
				if calls.Load() == 700 {
					panicked.Store(true)
					panic("callback 700")
				}
			}
			p := make(chan any, 1)
			go func() {
				defer func() { p <- recover() }()
				_, _ = s.Sweep(context.Background(), fsstore.SweepOptions{Grace: time.Nanosecond, Concurrency: conc, OnRemove: onRemove})
			}()
			eventually(t, func() bool { return calls.Load() >= 1 }, "the first callback")
			close(release)
			var got any
			if !poll(func() bool {
				select {
				case got = <-p:
					return true
				default:
					return false
				}
			}) {
				buf := make([]byte, 1<<20)
				t.Fatalf("sweep whose OnRemove panicked did not return\n%s", buf[:runtime.Stack(buf, true)])
			}
			if got != "callback 700" {
				t.Fatalf("Sweep raised %v, want the callback's panic", got)
			}
			if after.Load() != 0 {
				t.Errorf("%d callbacks after the panic", after.Load())
			}
			for _, id := range ids {
				l, err := s.TryLock(id, fsstore.Exclusive)
				if err != nil {
					t.Fatalf("TryLock of %s after the sweep's panic: %v", id, err)
				}
				must(t, l.Unlock())
			}
			if !poll(func() bool { return runtime.NumGoroutine() <= goroutines }) {
				t.Errorf("%d goroutines after the sweep, %d before", runtime.NumGoroutine(), goroutines)
			}
		})
	}
}

// TestSweepCancelledReportsEveryRemoval: a sweep whose callbacks lag
// (reports waiting) and whose ctx ends returns ctx's error, having
// reported every removal it counted, none after it returned.
func TestSweepCancelledReportsEveryRemoval(t *testing.T) {
	const n = 1500
	s := openDir(t, t.TempDir())
	expiredSessions(t, s, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	release := make(chan struct{})
	onRemove := func(fsstore.Removal) {
		if calls.Add(1) == 1 {
			<-release
		}
	}
	type result struct {
		st  fsstore.SweepStats
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, Concurrency: 4, OnRemove: onRemove})
		res <- result{st, err}
	}()
	eventually(t, func() bool { return calls.Load() >= 1 }, "the first callback")
	cancel()
	close(release)
	var r result
	eventually(t, func() bool {
		select {
		case r = <-res:
			return true
		default:
			return false
		}
	}, "the sweep's return")
	if !errors.Is(r.err, context.Canceled) && r.err != nil {
		t.Fatalf("sweep: %v", r.err)
	}
	if got := calls.Load(); got != r.st.Sessions {
		t.Errorf("%d removals reported, %d counted", got, r.st.Sessions)
	}
	t.Logf("removed %d of %d before its end: %v", r.st.Sessions, n, r.err)
}
