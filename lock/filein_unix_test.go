//go:build unix

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestTryLockFileInSwappedDir: TryLockFileIn refuses a lock directory that
// is a symlink and a name that is not one path element, creating nothing;
// a lock taken before the directory was swapped for a symlink to another
// one stays held and checked in the directory it was taken in (Verify
// finds it, not the link's target), and excludes TryLockFile of the same
// file.
func TestTryLockFileInSwappedDir(t *testing.T) {
	root := t.TempDir()
	dir, outside := filepath.Join(root, "locks"), filepath.Join(root, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	l, err := lock.TryLockFileIn(dir, ".fleet", 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if fi, err := os.Stat(filepath.Join(dir, ".fleet")); err != nil || fi.Mode().Perm()&^0o640 != 0 {
		t.Errorf("lock file: %v, %v; want mode within 0640", fi, err)
	}
	if _, err := lock.TryLockFile(filepath.Join(dir, ".fleet")); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("TryLockFile of the held file: %v, want ErrLocked", err)
	}
	moved := filepath.Join(root, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Errorf("Verify after the swap: %v, want the lock held where it was taken", err)
	}
	for _, tc := range []struct {
		name, dir, file string
		want            error // nil: any error
	}{
		{"symlinked dir", dir, ".fleet", nil},
		{"path", moved, "a/b", lock.ErrInvalidName},
		{"dot dot", moved, "..", lock.ErrInvalidName},
		{"empty", moved, "", lock.ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := lock.TryLockFileIn(tc.dir, tc.file, 0o600)
			if err == nil {
				l.Unlock()
				t.Fatal("locked")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files made in the symlink's target: %v", ents)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("Unlock: %v", err)
	}
}

// TestTryLockFileInDirReplaced: Verify of a lock taken with TryLockFileIn
// says ErrLockLost once its directory's path names another directory (the
// lock directory moved away and made again, by an operator or a writer
// of the store), or nothing with the directory removed (the next process
// makes it anew). Such a process takes the same lock there, so two
// sessgc passes ran at once while the first one's Verify, checking the
// file through the descriptor alone, found its lock whole. Nothing there
// with the directory moved away is no loss yet, as for a Table (see
// TestTryLockFileInPathMissingAWhile). A symlink or a file at the path
// is refused by the next process: the lock still excludes it.
func TestTryLockFileInDirReplaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(p string) error // nil: nothing made at the path
		lost bool
	}{
		{"another directory", func(p string) error { return os.Mkdir(p, 0o700) }, true},
		{"nothing, the directory removed", func(p string) error { return os.RemoveAll(p + ".away") }, true},
		{"nothing, the directory moved away", nil, false},
		{"a symlink to the moved directory", func(p string) error { return os.Symlink(p+".away", p) }, false},
		{"a file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, false},
		{"the same directory back", func(p string) error { return os.Rename(p+".away", p) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "locks")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			l, err := lock.TryLockFileIn(dir, ".fleet", 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if err := os.Rename(dir, dir+".away"); err != nil {
				t.Fatal(err)
			}
			if tc.make != nil {
				if err := tc.make(dir); err != nil {
					t.Fatal(err)
				}
			}
			err = l.Verify()
			if tc.lost != errors.Is(err, lock.ErrLockLost) || !tc.lost && err != nil {
				t.Errorf("Verify with the lock directory's path naming %s: %v, want lost %v", tc.name, err, tc.lost)
			}
			if !tc.lost {
				return
			}
			// What the loss is: the next process takes the same lock.
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			l2, err := lock.TryLockFileIn(dir, ".fleet", 0o600)
			if err != nil {
				t.Fatalf("the next process's lock in the new directory: %v", err)
			}
			l2.Unlock()
		})
	}
}

// TestTryLockFileInPathMissingAWhile: the path of a fleet lock's directory
// names nothing for a while, the directory itself still there (a
// deploy's "current" symlink above it replaced by ln -sfn, an unlink and
// then a symlink; a directory above it renamed and back). Nobody can
// lock at a path that names nothing, so Verify says nothing of the lock,
// as a Table's does (TestLockDirPathMissingAWhile); a directory made at
// the path meanwhile (a next sessgc pass's) is met at the next Verify.
// Verify said ErrLockLost, and sessgc stopped its pass with exit 1 and
// stop_reason fleet-lock-lost.
func TestTryLockFileInPathMissingAWhile(t *testing.T) {
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "release1", "locks"), 0o700); err != nil {
		t.Fatal(err)
	}
	current := filepath.Join(base, "current")
	if err := os.Symlink("release1", current); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(current, "locks")
	l, err := lock.TryLockFileIn(dir, ".fleet", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := os.Remove(current); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Errorf("Verify while the path names nothing: %v", err)
	}
	if err := os.Symlink("release1", current); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Errorf("Verify once the path names the directory again: %v", err)
	}
	// Moved away, then made again by the next pass: lost.
	if err := os.Rename(filepath.Join(base, "release1", "locks"), filepath.Join(base, "locks.away")); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Errorf("Verify with the directory moved away and nothing at the path: %v", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); !errors.Is(err, lock.ErrLockLost) {
		t.Errorf("Verify with a directory made anew at the path: %v, want ErrLockLost", err)
	}
}
