//go:build unix

package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestCloseStopsPollerOfLockHeldElsewhere: Close must end every Lock
// waiting on the Table. One that polls a lock held by another process
// (rather than queueing behind a holder in this process) is not woken by
// Close; with Flock its next poll failed with ErrClosed (the directory's
// descriptor is closed), but with Lease the directory stays open while
// the Table still holds any lease, so the poller went on and took a new
// lease on the closed Table once the other owner let go.
func TestCloseStopsPollerOfLockHeldElsewhere(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := lock.Config{Dir: dir, Strategy: strategy}
			tab, err := lock.NewTable(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			other := newTable(t, cfg) // another process's view
			// This table holds some other lock across Close (a request
			// still in flight at shutdown).
			mine, err := tab.TryLock("mine", "mine", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer mine.Unlock()
			theirs, err := other.TryLock("f", "f", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			op, seen := signals("lock-first-done")
			got := make(chan lockResult, 1)
			go func() {
				h, err := tab.Lock(opwatch.NewContext(hangCtx(t), op), "f", "f", lock.Exclusive)
				got <- lockResult{h, err}
			}()
			await(t, seen["lock-first-done"], "the waiter's first attempt") // it polls now
			if err := tab.Close(); err != nil {
				t.Fatal(err)
			}
			if err := theirs.Unlock(); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if r.err == nil {
					r.h.Unlock()
					t.Fatalf("a Lock that was waiting when the Table was closed took the lock after Close (stats %+v), want ErrClosed", tab.Stats())
				}
				if !errors.Is(r.err, lock.ErrClosed) {
					t.Fatalf("waiter after Close: %v, want ErrClosed", r.err)
				}
			case <-hangCtx(t).Done():
				t.Fatal("waiter still waiting after Close")
			}
		})
	}
}

// TestLeaseInfixRefusedInNames: lease files ("x.lease") and a breaker's
// leftovers ("x.lease.claim-...", "x.lease.take-...") are told from lock
// files by that infix, so a lock file named "sess.lease" passed for a
// lease in use: an Auto process in a directory recording no strategy
// joined "it" with leases beside its flock holder, and both held the lock.
// Such names are refused.
func TestLeaseInfixRefusedInNames(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy})
			for _, name := range []string{"sess.lease", "a.lease.take-1", "x.leasey"} {
				h, err := tab.TryLock(name, "k", lock.Exclusive)
				if err == nil {
					h.Unlock()
					t.Errorf("TryLock(%q) accepted a lock name with the lease files' infix", name)
				}
			}
		})
	}
}

// TestFUSEPicksLease: on a FUSE filesystem that does not implement locking
// (sshfs, s3fs, rclone, bindfs without --enable-lock-forwarding) Linux
// emulates flock(2) on the local host alone, so flock "works" but excludes
// only users of the same mount. Auto picked Flock, and two hosts (here two
// FUSE mounts of one directory) both held the same lock.
func TestFUSEPicksLease(t *testing.T) {
	mps := testenv.BindfsMounts(t, t.TempDir(), 2)
	ta := newTable(t, lock.Config{Dir: mps[0]}) // host A
	tb := newTable(t, lock.Config{Dir: mps[1]}) // host B, same shared directory
	h, err := ta.TryLock("0001", "sess", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	h2, err := tb.TryLock("0001", "sess", lock.Exclusive)
	if err == nil {
		h2.Unlock()
		t.Fatalf("both hosts hold lock 0001 (strategies %v and %v): Auto picked a local-only flock on a FUSE mount", ta.Strategy(), tb.Strategy())
	}
	if !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("host B: %v, want ErrLocked", err)
	}
}

// TestFUSEStoreOfEarlierVersionKeepsFlock: earlier versions recorded no
// strategy and picked Flock on a FUSE mount where flock works (GlusterFS,
// ceph-fuse and JuiceFS forward it between hosts). Such a directory holds
// their flock lock files and no record; an upgraded Auto process must
// still open it, with flock as they do, not refuse it.
func TestFUSEStoreOfEarlierVersionKeepsFlock(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "0001"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mp := testenv.BindfsMounts(t, src, 1)[0]
	tab, err := lock.NewTable(lock.Config{Dir: mp})
	if err != nil {
		t.Fatalf("NewTable(Auto) on a FUSE mount of a directory an earlier version locked with flock: %v", err)
	}
	defer tab.Close()
	if s := tab.Strategy(); s != lock.Flock {
		t.Errorf("strategy %v beside the flock lock files of running processes, want Flock", s)
	}
	if !tab.FlockOnFUSE() {
		t.Error("FlockOnFUSE() = false: nothing tells the caller to warn that flock may exclude only this host")
	}
	forced, err := lock.NewTable(lock.Config{Dir: mp, Strategy: lock.Flock})
	if err != nil {
		t.Fatal(err)
	}
	defer forced.Close()
	if forced.FlockOnFUSE() {
		t.Error("FlockOnFUSE() on a table that forces Flock (a filesystem that forwards locks)")
	}
	local := newTable(t, lock.Config{Dir: t.TempDir()})
	if local.Strategy() == lock.Flock && local.FlockOnFUSE() {
		t.Error("FlockOnFUSE() on a local directory")
	}
}

// TestFIFOAtLeaseNameHonoursContext: lease files are opened with
// O_NOFOLLOW against planted symlinks; without O_NONBLOCK a FIFO at a
// lease file's name (planted, or left by a tool) blocked every reader in
// open(2) for ever, whatever Lock's context, and every later Lock of the
// stripe queued behind it.
func TestFIFOAtLeaseNameHonoursContext(t *testing.T) {
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	fifo := filepath.Join(dir, "k.lease")
	if err := mkfifo(fifo); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	// Unblocks a reader stuck in open(2) at the end, whatever happens, and
	// lets it finish before the directory is removed.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscallONonblock, 0); err == nil {
			f.Close()
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	go func() {
		h, err := tab.Lock(ctx, "k", "k", lock.Exclusive)
		if err == nil {
			h.Unlock()
		}
		done <- err
	}()
	select {
	case err := <-done:
		done <- err // for the cleanup
	case <-hangCtx(t).Done():
		t.Fatal("Lock with a 1s context has not returned: stuck opening the FIFO at k.lease")
	}
}

// TestMismatchMessageNamesBothKinds: an Auto process whose flock works, in
// an unrecorded directory holding both live lease files and old flock lock
// files, joins the leases and is refused (ErrStrategyMismatch); the message
// said that flock does not work for it, which is false, and sent the
// operator to check mount options.
func TestMismatchMessageNamesBothKinds(t *testing.T) {
	dir := t.TempDir()
	leases := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	h, err := leases.TryLock("0002", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	// An earlier version recorded nothing; an even earlier flock period
	// left its lock files (they are never removed).
	if err := os.Remove(filepath.Join(dir, lock.StrategyFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0001"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := lock.NewTable(lock.Config{Dir: dir})
	if err == nil {
		tab.Close()
		t.Fatal("NewTable joined a directory holding both lease files and flock lock files")
	}
	if !errors.Is(err, lock.ErrStrategyMismatch) || strings.Contains(err.Error(), "flock does not work for this process") ||
		!strings.Contains(err.Error(), "both lease files") {
		t.Fatalf("NewTable on a mount where flock works: %v, want ErrStrategyMismatch naming both kinds of file", err)
	}
}

// TestFarFutureLeaseIsDatedByItsFile: a lease whose record expires far
// ahead (written by a holder whose clock ran ahead, which then died) kept
// the lock from everyone until then, years perhaps, and the sweep could
// not break it either. Such a record is dated by its file's last change;
// an expiry within reach of an agreeing clock is still trusted.
func TestFarFutureLeaseIsDatedByItsFile(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		name      string
		expires   time.Duration // from now, as recorded
		changed   time.Duration // ago: the file's last change
		breakable bool
	}{
		{"far ahead, file untouched for longer than any lease", 10 * 365 * 24 * time.Hour, lock.MaxLeaseTTL + time.Minute, true},
		{"far ahead, file just written", 10 * 365 * 24 * time.Hour, 0, false},
		{"a few minutes ahead, file untouched", 5 * time.Minute, lock.MaxLeaseTTL + time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: time.Second, LeaseGrace: 100 * time.Millisecond})
			lock.SetLeaseAgeByMtime(tab)
			p := filepath.Join(dir, "k.lease")
			if err := os.WriteFile(p, lock.LeaseRecordExpiring(token, time.Now().Add(tt.expires)), 0o600); err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(-tt.changed)
			if err := os.Chtimes(p, at, at); err != nil {
				t.Fatal(err)
			}
			h, err := tab.TryLock("k", "k", lock.Exclusive)
			switch {
			case tt.breakable && err != nil:
				t.Fatalf("TryLock: %v; want the dead holder's lease broken", err)
			case !tt.breakable && err == nil:
				h.Unlock()
				t.Fatal("TryLock broke a lease that may still be held")
			case !tt.breakable && !errors.Is(err, lock.ErrLocked):
				t.Fatalf("TryLock: %v, want ErrLocked", err)
			}
			if err == nil {
				h.Unlock()
			}
		})
	}
}

// TestLeaseTTLBounded: a lease longer than MaxLeaseTTL is refused, since
// the date a far-ahead record gets assumes that no live holder's lease is.
func TestLeaseTTLBounded(t *testing.T) {
	tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: lock.Lease, LeaseTTL: lock.MaxLeaseTTL + time.Second})
	if err == nil {
		tab.Close()
		t.Fatal("NewTable accepted a LeaseTTL above MaxLeaseTTL")
	}
}

// TestFileLockRefusesSymlink: a symlink planted at a one-shot lock's name
// (sessgc's fleet locks live in the store's lock directory, beside the
// Table's lock files, which are opened with O_NOFOLLOW) must not make
// TryLockFile or LockFile create, open or lock the file it points to.
func TestFileLockRefusesSymlink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exists bool // the link's target exists
	}{{"dangling", false}, {"existing", true}} {
		t.Run(tc.name, func(t *testing.T) {
			outside := filepath.Join(t.TempDir(), "outside")
			if tc.exists {
				if err := os.WriteFile(outside, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(t.TempDir(), ".sessgc")
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
			for _, take := range []struct {
				name string
				fn   func() (*lock.FileLock, error)
			}{
				{"TryLockFile", func() (*lock.FileLock, error) { return lock.TryLockFile(p) }},
				{"LockFile", func() (*lock.FileLock, error) { return lock.LockFile(hangCtx(t), p) }},
			} {
				l, err := take.fn()
				if err == nil {
					l.Unlock()
					t.Errorf("%s through a symlink to %s succeeded, want an error", take.name, outside)
				}
				if _, err := os.Stat(outside); !tc.exists && err == nil {
					t.Fatalf("%s created %s, the symlink's target", take.name, outside)
				}
			}
		})
	}
}
