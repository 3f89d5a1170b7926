package lock_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestUnusableTable: Lock, TryLock, TryLockContext and Close on a nil
// *Table or a Table{} not made by NewTable, and the lock calls with a nil
// Context, fail with an error saying which, where they panicked (a
// Table{}'s Lock holding the table's mutex, so that every later call
// hung).
func TestUnusableTable(t *testing.T) {
	made, err := lock.NewTable(lock.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { made.Close() })
	var nilCtx context.Context
	calls := func(tb func() *lock.Table, ctx context.Context) map[string]func() error {
		return map[string]func() error{
			"Lock":           func() error { _, err := tb().Lock(ctx, "f", "k", lock.Exclusive); return err },
			"TryLockContext": func() error { _, err := tb().TryLockContext(ctx, "f", "k", lock.Exclusive); return err },
		}
	}
	for _, tt := range []struct {
		name  string
		tb    func() *lock.Table
		ctx   context.Context
		extra bool // TryLock and Close too
		want  string
	}{
		{"nil table", func() *lock.Table { return nil }, context.Background(), true, "nil *lock.Table (did NewTable fail?)"},
		// A fresh Table{} for each call: the old code's panic left the
		// mutex of the one it ran on locked.
		{"zero table", func() *lock.Table { return &lock.Table{} }, context.Background(), true, "lock.Table not made by NewTable"},
		{"nil context", func() *lock.Table { return made }, nilCtx, false, "nil context.Context"},
	} {
		cs := calls(tt.tb, tt.ctx)
		if tt.extra {
			cs["TryLock"] = func() error { _, err := tt.tb().TryLock("f", "k", lock.Exclusive); return err }
			cs["Close"] = func() error { return tt.tb().Close() }
		}
		for name, call := range cs {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
			})
		}
	}
	// The table the nil Context was refused on still locks.
	h, err := made.TryLock("f", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	h.Unlock()
}

// TestLockFileNilContext: LockFile with a nil Context fails with an error
// saying so, whether or not the file is locked, where it took a free lock
// and panicked only when it had to wait: a mistake that passed every
// uncontended test and crashed under contention.
func TestLockFileNilContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet")
	var nilCtx context.Context
	call := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panicked: %v", r)
			}
		}()
		l, err := lock.LockFile(nilCtx, path)
		if err == nil {
			l.Unlock()
		}
		return err
	}
	held, err := lock.TryLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = call()
	held.Unlock()
	if err == nil || !strings.Contains(err.Error(), "nil context.Context") {
		t.Fatalf("held lock: err = %v, want one naming the nil context", err)
	}
	if err := call(); err == nil || !strings.Contains(err.Error(), "nil context.Context") {
		t.Fatalf("free lock: err = %v, want one naming the nil context", err)
	}
}

// TestUnusableHandles: Verify and Unlock of a nil *Handle or *FileLock (a
// Lock whose error was not checked first, as by a defer of Unlock written
// before the check) or of one no lock call returned fail with an error
// saying which, where they panicked with a nil dereference.
func TestUnusableHandles(t *testing.T) {
	var nilHandle *lock.Handle
	var nilFile *lock.FileLock
	for _, tt := range []struct {
		name string
		call func() error
		want string
	}{
		{"nil Handle/Verify", func() error { return nilHandle.Verify() }, "nil *lock.Handle (did Lock fail?)"},
		{"nil Handle/Unlock", func() error { return nilHandle.Unlock() }, "nil *lock.Handle (did Lock fail?)"},
		{"zero Handle/Verify", func() error { return (&lock.Handle{}).Verify() }, "lock.Handle not made by a Table"},
		{"zero Handle/Unlock", func() error { return (&lock.Handle{}).Unlock() }, "lock.Handle not made by a Table"},
		{"nil FileLock/Verify", func() error { return nilFile.Verify() }, "nil *lock.FileLock (did LockFile fail?)"},
		{"nil FileLock/Unlock", func() error { return nilFile.Unlock() }, "nil *lock.FileLock (did LockFile fail?)"},
		{"zero FileLock/Verify", func() error { return (&lock.FileLock{}).Verify() }, "lock.FileLock not made by LockFile"},
		{"zero FileLock/Unlock", func() error { return (&lock.FileLock{}).Unlock() }, "lock.FileLock not made by LockFile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := testenv.NoPanic(t, tt.call)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestUnusableLeaseDir: the calls of a nil *LeaseDir (a sweep's, used
// before its maker ran) fail with an error saying so, where they panicked
// with a nil dereference, and those of a LeaseDir{} or one of "" with one
// naming the missing directory, where they failed with "open lock
// directory : no such file or directory".
func TestUnusableLeaseDir(t *testing.T) {
	const claim = "a.lease.claim-0123456789abcdef0123456789abcdef-0"
	for _, tt := range []struct {
		name string
		ld   func() *lock.LeaseDir
		want string
	}{
		{"nil", func() *lock.LeaseDir { return nil }, "nil *lock.LeaseDir (make one with NewLeaseDir)"},
		{"zero", func() *lock.LeaseDir { return &lock.LeaseDir{} }, "not made by NewLeaseDir"},
		{"of empty dir", func() *lock.LeaseDir { return lock.NewLeaseDir("") }, `no lock directory: "" given`},
		// Where files are reached by path (Windows), its descriptor is
		// unused, and "" put the leases in the working directory.
		{"at empty dir", func() *lock.LeaseDir { return lock.LeaseDirAt("", -1) }, `no lock directory: "" given`},
	} {
		for name, call := range map[string]func() error{
			"Holder":       func() error { _, err := tt.ld().Holder("a"); return err },
			"BreakExpired": func() error { _, err := tt.ld().BreakExpired("a", 0, 0); return err },
			"LeftoverInUse": func() error {
				inUse, err := tt.ld().LeftoverInUse(claim)
				if !inUse {
					t.Errorf("LeftoverInUse reported not in use, beside %v", err)
				}
				return err
			},
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
			})
		}
	}
	var nilDir *lock.LeaseDir
	if err := testenv.NoPanic(t, nilDir.Close); err == nil {
		t.Errorf("nil *LeaseDir Close: no error")
	}
	// As a Table{}'s Close and a FileLock{}'s Unlock fail: the LeaseDir
	// was never usable.
	if err := testenv.NoPanic(t, (&lock.LeaseDir{}).Close); err == nil || !strings.Contains(err.Error(), "not made by NewLeaseDir") {
		t.Errorf("LeaseDir{} Close: %v, want an error saying it was not made by NewLeaseDir", err)
	}
	if _, err := lock.BreakExpiredLease("", "a", 0, 0); err == nil || !strings.Contains(err.Error(), `no lock directory: "" given`) {
		t.Errorf(`BreakExpiredLease(""): %v`, err)
	}
}
