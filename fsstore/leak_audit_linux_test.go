//go:build linux

package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// The cancellation and leak audit of the store: each public entry point
// that waits for or holds a session's lock, ended each way it can end
// early (its context ended while it waits for a holder in this process or
// elsewhere, or while its call into a hung filesystem is under way on a
// bounded store; the store closed under it; a write the filesystem
// refuses; an Observer's panic). Once the call has returned, every Locked
// it gave is unlocked and the store is closed, nothing of it may be left:
// no descriptor, no goroutine once the filesystem answers, no temp file,
// the session's stripe free in this process before Close (TryLock) and to
// another process after it.

// leakFix is what a row of TestStoreLeakAudit works on.
type leakFix struct {
	t       *testing.T
	dir, id string
	s       *fsstore.Store
	fs      *fakeFS // the bounded store's hung calls; nil on an unbounded one
	shut    bool    // the row closed s itself
}

// holdElsewhere makes a child process hold id's lock until release.
func (f *leakFix) holdElsewhere() (release func()) {
	c := startChild(f.t, "hold-lock", []string{"STORE_DIR=" + f.dir, "STORE_ID=" + f.id})
	c.Expect(f.t, "locked")
	return func() { c.Finish(f.t) }
}

// lock locks id, failing the test on an error.
func (f *leakFix) lock() *fsstore.Locked {
	l, err := f.s.Lock(context.Background(), f.id, fsstore.Exclusive)
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

// queued reports a lock request of f's store waiting in this process.
func (f *leakFix) queued() bool { return f.s.LockWaitersForTest() > 0 }

// polling returns a report of a wait for a holder elsewhere under way. On
// a bounded store that is its first attempt done ("lock-first-done"): a
// deadline that passes during it is the server not answering
// (ErrUnavailable), and one that passes before it ends an operation that
// never started. On an unbounded store a request counted waiting makes
// that attempt whatever its context says, and ends with ErrLocked.
func (f *leakFix) polling() func() bool {
	if f.fs == nil {
		return f.queued
	}
	before := f.fs.count("lock-first-done")
	return func() bool { return f.fs.count("lock-first-done") > before }
}

func (f *leakFix) close() {
	f.s.Close()
	f.shut = true
}

// wantErr checks that err matches every one of want.
func (f *leakFix) wantErr(what string, err error, want ...error) {
	f.t.Helper()
	for _, w := range want {
		if !errors.Is(err, w) {
			f.t.Errorf("%s: %v, want an error matching %v", what, err, w)
		}
	}
}

// hungCancelled runs op with a context cancelled once the store's call at
// site hangs, and returns op's error; the call stays hung until release.
func (f *leakFix) hungCancelled(site string, op func(ctx context.Context) error) (release func(), err error) {
	release = f.fs.hang(site)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	select {
	case <-f.fs.entered:
	case err := <-done:
		release()
		f.t.Fatalf("the operation returned (%v) without reaching %s", err, site)
	}
	cancel()
	return release, <-done
}

// panicAtLock is an Observer that panics when told of a lock acquired.
type panicAtLock struct{}

func (panicAtLock) Observe(ev fsstore.Event) {
	if ev.Op == fsstore.OpLockWait && ev.Outcome == fsstore.OutcomeOK {
		panic("observer")
	}
}

var storeLeakRows = []struct {
	name string
	// bounded: run on a bounded store only ("only"), or on both kinds.
	boundedOnly bool
	// tmpfs: the store is on a tmpfs of its own the row may fill up or
	// remount read-only.
	tmpfs bool
	opts  []fsstore.Option
	run   func(f *leakFix)
}{
	{name: "Lock/context ended waiting for a holder in this process", run: func(f *leakFix) {
		l := f.lock()
		err := lockWaitEnded(f.t, "Lock of a session held in this process", f.queued, func(ctx context.Context) error {
			_, err := f.s.Lock(ctx, f.id, fsstore.Exclusive)
			return err
		})
		f.wantErr("Lock of a session held in this process, its context ended", err, fsstore.ErrLocked, context.DeadlineExceeded)
		if err := l.Unlock(); err != nil {
			f.t.Fatal(err)
		}
	}},
	{name: "Lock/context ended waiting for a holder elsewhere", run: func(f *leakFix) {
		defer f.holdElsewhere()()
		err := lockWaitEnded(f.t, "Lock of a session held elsewhere", f.polling(), func(ctx context.Context) error {
			_, err := f.s.Lock(ctx, f.id, fsstore.Exclusive)
			return err
		})
		f.wantErr("Lock of a session held elsewhere, its context ended", err, fsstore.ErrLocked, context.DeadlineExceeded)
	}},
	{name: "CompareAndSwap/context ended waiting for a holder elsewhere", run: func(f *leakFix) {
		defer f.holdElsewhere()()
		err := lockWaitEnded(f.t, "CompareAndSwap of a session held elsewhere", f.polling(), func(ctx context.Context) error {
			return f.s.CompareAndSwap(ctx, &fsstore.Session{ID: f.id, Data: []byte("cas")})
		})
		f.wantErr("CompareAndSwap of a session held elsewhere, its context ended", err, fsstore.ErrLocked)
	}},
	{name: "TryLock/held elsewhere", run: func(f *leakFix) {
		defer f.holdElsewhere()()
		_, err := f.s.TryLock(f.id, fsstore.Exclusive)
		f.wantErr("TryLock of a session held elsewhere", err, fsstore.ErrLocked)
	}},
	{name: "Close/while a Lock waits in this process", run: func(f *leakFix) {
		l := f.lock()
		res := make(chan error, 1)
		go func() {
			l2, err := f.s.Lock(context.Background(), f.id, fsstore.Exclusive)
			if err == nil {
				l2.Unlock()
			}
			res <- err
		}()
		f.close()
		f.wantErr("Lock waiting as the store closed", <-res, fsstore.ErrClosed)
		if err := l.Unlock(); err != nil {
			f.t.Errorf("Unlock after Close: %v", err)
		}
	}},
	{name: "Close/with a Locked that loaded the session, unlocked after", run: func(f *leakFix) {
		l := f.lock()
		if _, err := l.Load(context.Background()); err != nil {
			f.t.Fatal(err)
		}
		f.close()
		if err := l.Unlock(); err != nil {
			f.t.Errorf("Unlock after Close: %v", err)
		}
	}},
	{name: "Lock/Observer panics at the lock acquired", opts: []fsstore.Option{fsstore.WithObserver(panicAtLock{})}, run: func(f *leakFix) {
		defer func() {
			if recover() == nil {
				f.t.Error("the Observer's panic did not reach Lock's caller")
			}
		}()
		f.lock()
	}},
	{name: "Locked.Save/disk full", tmpfs: true, run: func(f *leakFix) {
		l := f.lock()
		defer testenv.FillUp(f.t, f.dir)()
		err := l.Save(context.Background(), &fsstore.Session{ID: f.id, Version: 1, Data: bytes.Repeat([]byte("n"), 64<<10)})
		f.wantErr("Locked.Save on a full disk", err, syscall.ENOSPC)
		if err := l.Unlock(); err != nil {
			f.t.Fatal(err)
		}
	}},
	{name: "Lock/read-only filesystem", tmpfs: true, run: func(f *leakFix) {
		// Remounted before: a lock descriptor open for writing keeps a
		// remount read-only from happening (EBUSY).
		remount(f.t, f.dir, syscall.MS_RDONLY)
		defer remount(f.t, f.dir, 0)
		l, err := f.s.Lock(context.Background(), f.id, fsstore.Exclusive)
		if err == nil {
			l.Unlock()
		}
		f.wantErr("Lock on a read-only filesystem", err, syscall.EROFS)
	}},
	{name: "Lock/context ended while the lock call hangs", boundedOnly: true, run: func(f *leakFix) {
		release, err := f.hungCancelled("lock", func(ctx context.Context) error {
			l, err := f.s.Lock(ctx, f.id, fsstore.Exclusive)
			if err == nil {
				l.Unlock()
			}
			return err
		})
		f.wantErr("Lock given up on in a hung call", err, fsstore.ErrUnavailable)
		release() // the lock is taken now, and released by the store
	}},
	{name: "Locked.Load/context ended while the read hangs", boundedOnly: true, run: func(f *leakFix) {
		l := f.lock()
		release, err := f.hungCancelled("load", func(ctx context.Context) error {
			_, err := l.Load(ctx)
			return err
		})
		f.wantErr("Locked.Load given up on in a hung call", err, fsstore.ErrUnavailable)
		// Released once the load returns.
		f.wantErr("Unlock with the load still hung", l.Unlock(), fsstore.ErrUnavailable)
		release()
	}},
	{name: "Locked.Save/context ended while the write hangs", boundedOnly: true, run: func(f *leakFix) {
		l := f.lock()
		release, err := f.hungCancelled("save", func(ctx context.Context) error {
			return l.Save(ctx, &fsstore.Session{ID: f.id, Version: 1, Data: []byte("late")})
		})
		f.wantErr("Locked.Save given up on in a hung call", err, fsstore.ErrUnavailable)
		f.wantErr("Unlock with the save still hung", l.Unlock(), fsstore.ErrUnavailable)
		release()
	}},
	{name: "CompareAndSwap/context ended while the write hangs", boundedOnly: true, run: func(f *leakFix) {
		sess, err := f.s.Load(context.Background(), f.id)
		if err != nil {
			f.t.Fatal(err)
		}
		sess.Data = []byte("late")
		release, err := f.hungCancelled("compare-and-swap", func(ctx context.Context) error {
			return f.s.CompareAndSwap(ctx, sess)
		})
		f.wantErr("CompareAndSwap given up on in a hung call", err, fsstore.ErrUnavailable)
		release()
	}},
}

func TestStoreLeakAudit(t *testing.T) {
	// With the collector off, a descriptor that only an os.File's
	// finalizer would close counts as leaked.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, row := range storeLeakRows {
		for _, bounded := range []bool{false, true} {
			if row.boundedOnly && !bounded {
				continue
			}
			kind := "unbounded"
			if bounded {
				kind = "bounded"
			}
			t.Run(kind+"/"+row.name, func(t *testing.T) {
				dir := t.TempDir()
				if row.tmpfs {
					dir = testenv.MountTmpfs(t, "1m")
				}
				f := &leakFix{t: t, dir: dir, id: newID(t)}
				// The store's layout exists, and the session, before
				// the baseline.
				s0, err := fsstore.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := s0.Save(context.Background(), &fsstore.Session{ID: f.id, Data: []byte("kept")}); err != nil {
					t.Fatal(err)
				}
				s0.Close()
				fds, goroutines := descriptors(t), runtime.NumGoroutine()

				opts := append([]fsstore.Option{}, row.opts...)
				if bounded {
					f.fs = newFakeFS()
					opts = append(opts, fsstore.WithMaxInFlight(8), fsstore.WithOpTimeout(time.Hour),
						fsstore.WithBreaker(1000, time.Hour), fsstore.WithTestFSForTest(f.fs.hook))
				}
				if f.s, err = fsstore.Open(dir, opts...); err != nil {
					t.Fatal(err)
				}
				row.run(f)

				if !f.shut {
					// Polled: a lock acquired after its caller gave up
					// is released by the store in the background.
					var err error
					if !poll(func() bool {
						var l *fsstore.Locked
						if l, err = f.s.TryLock(f.id, fsstore.Exclusive); err == nil {
							l.Unlock()
						}
						return err == nil
					}) {
						t.Errorf("TryLock in this process after the call: %v, want the session's lock free", err)
					}
				}
				f.s.Close()
				if !poll(func() bool {
					return (fds < 0 || descriptors(t) <= fds) && runtime.NumGoroutine() <= goroutines
				}) {
					t.Errorf("after the call and Close: %d descriptors (%d before), %d goroutines (%d before)",
						descriptors(t), fds, runtime.NumGoroutine(), goroutines)
				}
				c := startChild(t, "try-lock", []string{"STORE_DIR=" + dir, "STORE_ID=" + f.id})
				if got := c.Expect(t, ""); got != "free" {
					t.Errorf("another process after the call: %s, want the session's lock free", got)
				}
				c.Finish(t)
				if left := tempFiles(t, dir); len(left) > 0 {
					t.Errorf("temp files left behind:\n%s", strings.Join(left, "\n"))
				}
			})
		}
	}
}

// TestStoreOpenLeakAudit: an Open that fails, at each of its checks,
// leaves no descriptor and no goroutine (the store's directory, its lock
// table's, a keys file watcher's).
func TestStoreOpenLeakAudit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	store := func(opts ...fsstore.Option) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			s, err := fsstore.Open(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			return dir
		}
	}
	empty := func(_ *testing.T, dir string) string { return dir }
	for _, tc := range []struct {
		name string
		// prep readies dir and returns the directory to open.
		prep func(t *testing.T, dir string) string
		opts []fsstore.Option
		want error
	}{
		{"no store, WithCreate(false)", empty, []fsstore.Option{fsstore.WithCreate(false)}, fsstore.ErrNotStore},
		{"directory not empty", func(t *testing.T, dir string) string {
			if err := os.WriteFile(dir+"/x", nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}, nil, fsstore.ErrNotStore},
		{"inside a store", func(t *testing.T, dir string) string { return store()(t, dir) + "/" + fsstore.DataDir }, nil, fsstore.ErrInsideStore},
		{"layout differs", store(), []fsstore.Option{fsstore.WithShardDepth(2)}, fsstore.ErrLayoutMismatch},
		{"lock strategy differs", store(), []fsstore.Option{fsstore.WithLockStrategy(lock.Lease)}, lock.ErrStrategyMismatch},
		{"encrypted store opened without keys", store(fsstore.WithKeys(mustKey(t, 1))), nil, nil},
		{"keys file missing", empty, []fsstore.Option{fsstore.WithKeysFile("/nonexistent/keys")}, fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.prep(t, t.TempDir())
			fds, goroutines := descriptors(t), runtime.NumGoroutine()
			s, err := fsstore.Open(dir, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Open: %v, want an error matching %v", err, tc.want)
			}
			if !poll(func() bool {
				return (fds < 0 || descriptors(t) <= fds) && runtime.NumGoroutine() <= goroutines
			}) {
				t.Errorf("after the failed Open: %d descriptors (%d before), %d goroutines (%d before)",
					descriptors(t), fds, runtime.NumGoroutine(), goroutines)
			}
		})
	}
}
