//go:build unix

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestRemovedLockFileNotLockedThroughKeptDescriptor: a lock file removed
// or replaced while the process kept its descriptor open between uses (a
// PHP-era cleanup cron, `find ... -mtime +1 -delete`, reaches the lock
// directory; an operator "cleans" it; a rename over it) left the process
// locking the orphaned inode through that descriptor, while every other
// process opened and locked the file now at the name: both held the lock.
// A take through a kept descriptor whose file has no name left opens the
// name afresh.
func TestRemovedLockFileNotLockedThroughKeptDescriptor(t *testing.T) {
	for _, replace := range []struct {
		name string
		do   func(t *testing.T, p string)
	}{
		{"removed", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
		{"renamed over", func(t *testing.T, p string) {
			if err := os.WriteFile(p+"-new", nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p+"-new", p); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink in its place", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), p); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(replace.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := lock.Config{Dir: dir, Strategy: lock.Flock}
			mine := newTable(t, cfg)
			h, err := mine.TryLock("s1", "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if got := mine.Stats().Open; got != 1 {
				t.Fatalf("%d lock descriptors kept open, want 1", got)
			}
			replace.do(t, filepath.Join(dir, "s1"))
			other := newTable(t, cfg) // another process, which opens the name
			theirs, err := other.TryLock("s1", "b", lock.Exclusive)
			if err != nil && replace.name != "symlink in its place" {
				t.Fatal(err)
			}
			if theirs != nil {
				defer theirs.Unlock()
			}
			h, err = mine.TryLock("s1", "a", lock.Exclusive)
			if err == nil {
				h.Unlock()
				t.Fatal("TryLock took the lock through the descriptor of a lock file no longer at its name, beside the process that locked the file at the name")
			}
			want := lock.ErrLocked
			if theirs == nil {
				want = nil // the symlink: refused (ELOOP)
			}
			if want != nil && !errors.Is(err, want) {
				t.Fatalf("TryLock: %v, want ErrLocked", err)
			}
			t.Logf("TryLock: %v", err)
		})
	}
}

// TestRemovedWhileHeldIsLost: a lock file removed or renamed over while
// the process holds its lock no longer excludes a process that opens the
// name, and may lock the file now there: Verify, which callers ask before
// they publish work done under the lock, reported the lock intact.
func TestRemovedWhileHeldIsLost(t *testing.T) {
	dir := t.TempDir()
	// Verify checks the name at most once per VerifyAfter after the take,
	// which checked it: a lock held this long is checked at every Verify.
	cfg := lock.Config{Dir: dir, Strategy: lock.Flock, VerifyAfter: time.Nanosecond}
	mine := newTable(t, cfg)
	h, err := mine.TryLock("s1", "a", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	if err := h.Verify(); err != nil {
		t.Fatalf("Verify of a lock in place: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "s1")); err != nil {
		t.Fatal(err)
	}
	other := newTable(t, cfg)
	theirs, err := other.TryLock("s1", "b", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Unlock()
	if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
		t.Fatalf("Verify with the lock file removed and locked afresh by another process: %v, want ErrLockLost", err)
	}
	// No other key joins the lost lock.
	if h2, err := mine.TryLock("s1", "c", lock.Exclusive); err == nil {
		h2.Unlock()
		t.Fatal("another key shared a lock found lost")
	}
}

// TestNoLinkCountsNameDecides: on a filesystem that counts no links for
// any file (the fstat stands for one here), the name decides whether a
// lock file is still the one at its name: a lock file in place is not
// taken for a removed one (every take would fail), and one removed or
// renamed over is still met, at a take through the kept descriptor and
// at Verify.
func TestNoLinkCountsNameDecides(t *testing.T) {
	dir := t.TempDir()
	cfg := lock.Config{Dir: dir, Strategy: lock.Flock, VerifyAfter: time.Nanosecond}
	mine := newTable(t, cfg)
	lock.SetNoLinkCounts(mine)
	for i := range 2 { // opened, then through the kept descriptor
		h, err := mine.TryLock("s1", "a", lock.Exclusive)
		if err != nil {
			t.Fatalf("take %d of a lock file in place: %v", i+1, err)
		}
		if err := h.Verify(); err != nil {
			t.Fatalf("Verify of a lock file in place: %v", err)
		}
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "s1")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	other := newTable(t, cfg)
	theirs, err := other.TryLock("s1", "b", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := mine.TryLock("s1", "a", lock.Exclusive); err == nil {
		h.Unlock()
		t.Fatal("TryLock took the lock through the descriptor of a removed lock file")
	} else if !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock beside the lock at the name: %v, want ErrLocked", err)
	}
	if err := theirs.Unlock(); err != nil {
		t.Fatal(err)
	}
	h, err := mine.TryLock("s1", "a", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	if err := os.WriteFile(p+"-new", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+"-new", p); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
		t.Fatalf("Verify with the lock file renamed over: %v, want ErrLockLost", err)
	}
}
