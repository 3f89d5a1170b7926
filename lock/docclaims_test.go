package lock_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestDocumentedConfig: Validate refuses what NewTable refuses without
// touching Dir, and the Table reports the documented defaults.
func TestDocumentedConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-yet")
	for _, tt := range []struct {
		name string
		cfg  lock.Config
		ok   bool
	}{
		{"defaults, Dir missing", lock.Config{Dir: missing}, true},
		{"no Dir", lock.Config{}, false},
		{"LeaseTTL MaxLeaseTTL", lock.Config{Dir: missing, LeaseTTL: lock.MaxLeaseTTL}, true},
		{"LeaseTTL above MaxLeaseTTL", lock.Config{Dir: missing, LeaseTTL: lock.MaxLeaseTTL + 1}, false},
		{"LeaseTTL 100ms", lock.Config{Dir: missing, LeaseTTL: 100 * time.Millisecond}, true},
		{"LeaseTTL 99ms", lock.Config{Dir: missing, LeaseTTL: 99 * time.Millisecond}, false},
		{"negative MaxHeld", lock.Config{Dir: missing, MaxHeld: -1}, false},
		{"negative MaxOpen", lock.Config{Dir: missing, MaxOpen: -1}, false},
		{"negative LeaseGrace", lock.Config{Dir: missing, LeaseGrace: -1}, false},
		{"unknown strategy", lock.Config{Dir: missing, Strategy: lock.Lease + 1}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok %v", tt.name, err, tt.ok)
		}
	}

	dir := t.TempDir()
	tab, err := lock.NewTable(lock.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if tab.Strategy() == lock.Auto {
		t.Error("Strategy() = Auto, documented never")
	}
	if tab.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", tab.Dir(), dir)
	}
	if tab.MaxHeld() < 1 || tab.MaxHeld() > 1024 || tab.MaxOpen() < 1 || tab.MaxOpen() > 1024 {
		t.Errorf("MaxHeld %d, MaxOpen %d: want the defaults, at most 1024", tab.MaxHeld(), tab.MaxOpen())
	}
}

// TestDocumentedNames: ParseStrategy reads what String writes, Mode and
// Strategy name their values, and IsLeaseFile tells the names apart.
func TestDocumentedNames(t *testing.T) {
	for _, s := range []lock.Strategy{lock.Auto, lock.Flock, lock.Lease} {
		got, err := lock.ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := lock.ParseStrategy("fcntl"); err == nil {
		t.Error("ParseStrategy(fcntl) succeeded")
	}
	if lock.Exclusive.String() == lock.Shared.String() {
		t.Errorf("Exclusive and Shared both %q", lock.Exclusive)
	}
	for _, tt := range []struct {
		name           string
		lockName       string
		broken, isFile bool
	}{
		{"0001.lease", "0001", false, true},
		{"0001", "", false, false},
		{".lease", "", false, false},
		{"sweep.lease.broken-0123", "sweep", true, true},
	} {
		n, b, ok := lock.IsLeaseFile(tt.name)
		if n != tt.lockName || b != tt.broken || ok != tt.isFile {
			t.Errorf("IsLeaseFile(%q) = %q, %v, %v; want %q, %v, %v", tt.name, n, b, ok, tt.lockName, tt.broken, tt.isFile)
		}
	}
}

// TestDocumentedTable: on either strategy, a free key is taken with ctx
// ended, a held one fails with ErrLocked and ctx's error, Unlock again
// does nothing, Stats counts, CloseIdle reports what it closed, and a
// closed Table refuses new locks with ErrClosed.
func TestDocumentedTable(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			if strategy == lock.Flock && runtime.GOOS == "windows" {
				t.Skip("no flock on Windows: NewTable fails with ErrNotSupported")
			}
			tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			ended, cancel := context.WithCancel(context.Background())
			cancel()
			h, err := tab.Lock(ended, "f", "k", lock.Exclusive)
			if err != nil {
				t.Fatalf("Lock of a free key with ctx ended: %v, want it taken", err)
			}
			if h.Key() != "k" || h.Name() != "f" || h.Mode() != lock.Exclusive {
				t.Errorf("Handle: %q %q %v", h.Key(), h.Name(), h.Mode())
			}
			if st := tab.Stats(); st.Held != 1 || st.Waiting != 0 || st.Open < 1 && strategy == lock.Flock {
				t.Errorf("Stats while held: %+v", st)
			}
			if _, err := tab.Lock(ended, "f", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.Canceled) {
				t.Errorf("Lock of a held key with ctx ended: %v, want ErrLocked and context.Canceled", err)
			}
			if _, err := tab.TryLock("f", "k", lock.Shared); !errors.Is(err, lock.ErrLocked) {
				t.Errorf("TryLock Shared of a key held Exclusive: %v, want ErrLocked", err)
			}
			other, err := tab.TryLock("f", "other key", lock.Exclusive)
			if err != nil {
				t.Errorf("TryLock of another key on the held file: %v, want it taken (keys exclude only when equal)", err)
			} else if err := other.Unlock(); err != nil {
				t.Error(err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				t.Errorf("second Unlock: %v, want nil", err)
			}
			if st := tab.Stats(); st.Held != 0 {
				t.Errorf("Stats after Unlock: %+v", st)
			}
			open := tab.Stats().Open
			if n := tab.CloseIdle(); n != open || tab.Stats().Open != 0 {
				t.Errorf("CloseIdle = %d with %d open, then %d open", n, open, tab.Stats().Open)
			}
			if err := tab.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := tab.TryLock("f", "k", lock.Exclusive); !errors.Is(err, lock.ErrClosed) {
				t.Errorf("TryLock after Close: %v, want ErrClosed", err)
			}
			if _, err := tab.Lock(context.Background(), "f", "k", lock.Exclusive); !errors.Is(err, lock.ErrClosed) {
				t.Errorf("Lock after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestDocumentedFileLock: Unlock again does nothing, Verify after Unlock
// is ErrLockLost, LockFile of a held file with ctx ended is ErrLocked and
// ctx's error.
func TestDocumentedFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet")
	l, err := lock.TryLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != path {
		t.Errorf("Path() = %q", l.Path())
	}
	if err := l.Verify(); err != nil {
		t.Errorf("Verify while held: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := lock.LockFile(ctx, path); !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("LockFile of a held file until ctx ends: %v, want ErrLocked and DeadlineExceeded", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v, want nil", err)
	}
	if err := l.Verify(); !errors.Is(err, lock.ErrLockLost) {
		t.Errorf("Verify after Unlock: %v, want ErrLockLost", err)
	}
}

// TestDocumentedLeaseDir: Holder of a lock without a lease is
// fs.ErrNotExist, and Close again does nothing.
func TestDocumentedLeaseDir(t *testing.T) {
	dir := t.TempDir()
	ld := lock.NewLeaseDir(dir)
	if _, err := ld.Holder("0001"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Holder of no lease: %v, want fs.ErrNotExist", err)
	}
	if gone, err := ld.BreakExpired("0001", time.Second, time.Second); err != nil || !gone {
		t.Errorf("BreakExpired of no lease: %v, %v; want gone", gone, err)
	}
	if err := ld.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ld.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

// TestDocumentedLeaseHolder: a lease's owner record names this host
// (Config.Hostname, default os.Hostname) and process, and an expiry
// LeaseTTL ahead; a Hostname given is recorded.
func TestDocumentedLeaseHolder(t *testing.T) {
	for _, host := range []string{"", "web-7"} {
		dir := t.TempDir()
		tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: time.Minute, Hostname: host})
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		h, err := tab.TryLock("f", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		ld := lock.NewLeaseDir(dir)
		got, err := ld.Holder("f")
		ld.Close()
		want := host
		if want == "" {
			want, _ = os.Hostname()
		}
		if err != nil || got.Host != want || got.PID != os.Getpid() ||
			got.Expires.Before(before.Add(time.Minute)) || got.Expires.After(time.Now().Add(time.Minute)) {
			t.Errorf("Holder with Hostname %q: %+v, %v; want host %q, pid %d, expiry a minute on", host, got, err, want, os.Getpid())
		}
		h.Unlock()
		tab.Close()
	}
}
