//go:build unix

package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/lock"
)

// The cancellation and leak audit of the lock package: each public entry
// point that waits or holds a lock, ended each way it can end early (its
// context ended while it waits for a holder in this process, before and
// inside a poll of a lock held elsewhere, or right as the lock is granted;
// the table closed under it; the lock found lost; a release the OS
// refuses). Once the call has returned and every handle it gave is
// unlocked, nothing of it may be left: no descriptor, no goroutine, no
// in-process state (Stats counts nothing held or waiting, the key is free
// to TryLock), no OS lock (another process takes the lock at once), no
// lease file.

// leakEnv is what a row of TestLeakAudit works on: a table on dir whose
// lock file is name, and path, the file of the FileLock rows.
type leakEnv struct {
	t          *testing.T
	dir, name  string
	path       string
	cfg        lock.Config
	tab        *lock.Table
	tableShut  bool // the row closed tab itself
	fileLockOK bool // the row is about the FileLock at path, not tab
}

// holdElsewhere makes a child process hold name; release lets go of it
// (a lease is removed, not left to expire) and waits for the child.
func (e *leakEnv) holdElsewhere() (release func()) {
	c := startChild(e.t, "hold", strategyEnv(e.dir, e.name, e.cfg)...)
	c.Expect(e.t, "locked")
	return func() {
		c.Send(e.t, "unlock")
		c.Expect(e.t, "unlock ok")
		c.Finish(e.t)
	}
}

// hooked returns a context whose lock attempts run hook at each of the
// table's sites (see opwatch.Op.Hook).
func hooked(ctx context.Context, hook func(site string)) context.Context {
	return opwatch.NewContext(ctx, &opwatch.Op{Hook: hook})
}

// lockAsync runs tab.Lock of name on its own goroutine.
func (e *leakEnv) lockAsync(ctx context.Context) <-chan leakResult {
	res := make(chan leakResult, 1)
	go func() {
		h, err := e.tab.Lock(ctx, e.name, e.name, lock.Exclusive)
		res <- leakResult{h, err}
	}()
	return res
}

type leakResult struct {
	h   *lock.Handle
	err error
}

// waitingInProcess waits until a Lock of the table waits in this process.
func (e *leakEnv) waitingInProcess() {
	if !pollUntil(func() bool { return e.tab.Stats().Waiting > 0 }) {
		e.t.Fatal("the Lock never waited")
	}
}

// wantWaitErr checks the error of a wait its context ended.
func wantWaitErr(t *testing.T, r leakResult, ctxErr error) {
	t.Helper()
	if r.h != nil {
		r.h.Unlock()
	}
	if !errors.Is(r.err, lock.ErrLocked) || !errors.Is(r.err, ctxErr) {
		t.Fatalf("Lock whose context ended while it waited: %v, want ErrLocked and %v", r.err, ctxErr)
	}
}

// pollUntil polls cond for up to a minute: a bound on a wait for an event,
// nothing measured against it.
func pollUntil(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// fdCount counts this process's descriptors, -1 where /proc/self/fd does
// not list them (the count is then not checked).
func fdCount() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

var leakRows = []struct {
	name string
	// lease: the row runs with the Lease strategy too.
	lease bool
	run   func(e *leakEnv)
}{
	{"Lock/context ended waiting for a holder in this process", true, func(e *leakEnv) {
		h, err := e.tab.Lock(context.Background(), e.name, e.name, lock.Exclusive)
		if err != nil {
			e.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		res := e.lockAsync(ctx)
		e.waitingInProcess()
		cancel()
		wantWaitErr(e.t, <-res, context.Canceled)
		if err := h.Unlock(); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"Lock/context ended between polls of a lock held elsewhere", true, func(e *leakEnv) {
		release := e.holdElsewhere()
		defer release()
		polling := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		res := e.lockAsync(hooked(ctx, func(site string) {
			if site == "lock-first-done" {
				close(polling)
			}
		}))
		<-polling
		cancel()
		wantWaitErr(e.t, <-res, context.Canceled)
	}},
	{"Lock/context ended inside a poll of a lock held elsewhere", true, func(e *leakEnv) {
		release := e.holdElsewhere()
		defer release()
		ctx, cancel := context.WithCancel(context.Background())
		attempts := 0
		res := e.lockAsync(hooked(ctx, func(site string) {
			if site == "lock" {
				if attempts++; attempts == 2 {
					cancel()
				}
			}
		}))
		wantWaitErr(e.t, <-res, context.Canceled)
	}},
	{"Lock/deadline passed polling a lock held elsewhere", true, func(e *leakEnv) {
		release := e.holdElsewhere()
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		wantWaitErr(e.t, <-e.lockAsync(ctx), context.DeadlineExceeded)
	}},
	{"Lock/context ended as the lock is granted", true, func(e *leakEnv) {
		ctx, cancel := context.WithCancel(context.Background())
		r := <-e.lockAsync(hooked(ctx, func(site string) {
			if site == "lock" {
				cancel()
			}
		}))
		// Granted before it looks at its context again: the caller
		// has the lock, and unlocks it.
		if r.err != nil {
			e.t.Fatalf("Lock granted as its context ended: %v", r.err)
		}
		if err := r.h.Unlock(); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"Lock/context ended before the call", true, func(e *leakEnv) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if r := <-e.lockAsync(ctx); r.err == nil {
			// A free lock is granted without a look at the context.
			r.h.Unlock()
		}
	}},
	{"TryLock/held elsewhere", true, func(e *leakEnv) {
		release := e.holdElsewhere()
		defer release()
		if h, err := e.tab.TryLock(e.name, e.name, lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
			if h != nil {
				h.Unlock()
			}
			e.t.Fatalf("TryLock of a lock held elsewhere: %v, want ErrLocked", err)
		}
	}},
	{"TryLock/held in this process", true, func(e *leakEnv) {
		h, err := e.tab.Lock(context.Background(), e.name, e.name, lock.Exclusive)
		if err != nil {
			e.t.Fatal(err)
		}
		if h2, err := e.tab.TryLock(e.name, e.name, lock.Shared); !errors.Is(err, lock.ErrLocked) {
			if h2 != nil {
				h2.Unlock()
			}
			e.t.Fatalf("TryLock of a key held in this process: %v, want ErrLocked", err)
		}
		if err := h.Unlock(); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"Close/while a Lock waits in this process", true, func(e *leakEnv) {
		h, err := e.tab.Lock(context.Background(), e.name, e.name, lock.Exclusive)
		if err != nil {
			e.t.Fatal(err)
		}
		res := e.lockAsync(context.Background())
		e.waitingInProcess()
		e.tab.Close()
		e.tableShut = true
		if r := <-res; !errors.Is(r.err, lock.ErrClosed) {
			if r.h != nil {
				r.h.Unlock()
			}
			e.t.Fatalf("Lock waiting as the table closed: %v, want ErrClosed", r.err)
		}
		if err := h.Unlock(); err != nil {
			e.t.Fatalf("Unlock after Close: %v", err)
		}
	}},
	{"Close/while a Lock polls a lock held elsewhere", true, func(e *leakEnv) {
		release := e.holdElsewhere()
		defer release()
		polling := make(chan struct{})
		res := e.lockAsync(hooked(context.Background(), func(site string) {
			if site == "lock-first-done" {
				close(polling)
			}
		}))
		<-polling
		e.tab.Close()
		e.tableShut = true
		if r := <-res; !errors.Is(r.err, lock.ErrClosed) {
			if r.h != nil {
				r.h.Unlock()
			}
			e.t.Fatalf("Lock polling as the table closed: %v, want ErrClosed", r.err)
		}
	}},
	{"Close/with a lock held, unlocked after", true, func(e *leakEnv) {
		h, err := e.tab.Lock(context.Background(), e.name, e.name, lock.Exclusive)
		if err != nil {
			e.t.Fatal(err)
		}
		e.tab.Close()
		e.tableShut = true
		if err := h.Unlock(); err != nil {
			e.t.Fatalf("Unlock after Close: %v", err)
		}
	}},
	{"Verify/lock file removed under the lock", true, func(e *leakEnv) {
		h, err := e.tab.Lock(context.Background(), e.name, e.name, lock.Exclusive)
		if err != nil {
			e.t.Fatal(err)
		}
		file := e.name
		if e.cfg.Strategy == lock.Lease {
			file += ".lease"
		}
		if err := os.Remove(filepath.Join(e.dir, file)); err != nil {
			e.t.Fatal(err)
		}
		if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
			e.t.Errorf("Verify with the lock file removed: %v, want ErrLockLost", err)
		}
		// A lost lock's Unlock may report the loss; it releases all
		// the same.
		h.Unlock()
	}},
	{"FileLock/LockFile's context ended polling", false, func(e *leakEnv) {
		e.fileLockOK = true
		held, err := lock.TryLockFile(e.path)
		if err != nil {
			e.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		l, err := lock.LockFileWithHooks(ctx, e.path, lock.FileLockHooks{TryLock: func(real func() (bool, error)) (bool, error) {
			ok, err := real()
			if !ok && err == nil {
				cancel() // found held: the wait ends before the next poll
			}
			return ok, err
		}})
		if l != nil {
			l.Unlock()
		}
		if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.Canceled) {
			e.t.Errorf("LockFile whose context ended while it polled: %v, want ErrLocked and context.Canceled", err)
		}
		if err := held.Unlock(); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"FileLock/TryLockFile held", false, func(e *leakEnv) {
		e.fileLockOK = true
		held, err := lock.TryLockFile(e.path)
		if err != nil {
			e.t.Fatal(err)
		}
		if l, err := lock.TryLockFile(e.path); !errors.Is(err, lock.ErrLocked) {
			if l != nil {
				l.Unlock()
			}
			e.t.Errorf("TryLockFile of a held lock: %v, want ErrLocked", err)
		}
		if err := held.Unlock(); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"FileLock/Unlock refused by the OS", false, func(e *leakEnv) {
		// On NFS an unlock can fail (EIO after the lease was lost);
		// gofrs/flock then keeps the descriptor open and the lock
		// marked held. The lock must be released all the same.
		e.fileLockOK = true
		l, err := lock.TryLockFileWithHooks(e.path, lock.FileLockHooks{Unlock: func(func() error) error { return syscall.EIO }})
		if err != nil {
			e.t.Fatal(err)
		}
		if err := l.Unlock(); !errors.Is(err, syscall.EIO) {
			e.t.Errorf("Unlock refused with EIO: %v, want EIO reported", err)
		}
		if err := l.Unlock(); err != nil {
			e.t.Errorf("second Unlock: %v, want nothing done", err)
		}
	}},
}

func TestLeakAudit(t *testing.T) {
	// With the collector off, a descriptor that only an os.File's
	// finalizer would close counts as leaked, as it is until a collection
	// happens to run.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, row := range leakRows {
		for _, st := range []lock.Strategy{lock.Flock, lock.Lease} {
			if st == lock.Lease && !row.lease {
				continue
			}
			t.Run(st.String()+"/"+row.name, func(t *testing.T) {
				dir := t.TempDir()
				// VerifyAfter: the Verify row checks at once.
				cfg := lock.Config{Dir: dir, Strategy: st, VerifyAfter: time.Nanosecond}
				first, err := lock.NewTable(cfg)
				if err != nil {
					t.Skipf("%v: %v", st, err)
				}
				first.Close()
				// That table (and its probe) left nothing open but the
				// strategy file: the baseline is taken now.
				fds, goroutines := fdCount(), runtime.NumGoroutine()
				tab, err := lock.NewTable(cfg)
				if err != nil {
					t.Fatal(err)
				}
				e := &leakEnv{t: t, dir: dir, name: "s0", path: filepath.Join(dir, "fleet.lock"), cfg: cfg, tab: tab}
				row.run(e)

				if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
					t.Errorf("after the call: %+v, want nothing held or waiting", st)
				}
				if !e.tableShut {
					h, err := tab.TryLock(e.name, e.name, lock.Exclusive)
					if err != nil {
						t.Errorf("TryLock in this process after the call: %v, want the key free", err)
					} else if err := h.Unlock(); err != nil {
						t.Error(err)
					}
				}
				tab.Close()
				if !pollUntil(func() bool {
					return (fds < 0 || fdCount() <= fds) && runtime.NumGoroutine() <= goroutines
				}) {
					t.Errorf("after the call and Close: %d descriptors (%d before), %d goroutines (%d before)",
						fdCount(), fds, runtime.NumGoroutine(), goroutines)
				}
				role, env := "try", strategyEnv(dir, e.name, cfg)
				if e.fileLockOK {
					role, env = "tryfile", append(env, "LOCK_PATH="+e.path)
				}
				c := startChild(t, role, env...)
				if got := c.Expect(t, ""); got != "free" {
					t.Errorf("another process after the call: %s, want the lock free", got)
				}
				c.Finish(t)
				ents, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, ent := range ents {
					if _, _, ok := lock.IsLeaseFile(ent.Name()); ok {
						t.Errorf("lease file %s left behind", ent.Name())
					}
				}
			})
		}
	}
}
