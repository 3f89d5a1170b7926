package lock_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// openFds counts this process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestTryLockFileInClosesDescriptors: TryLockFileIn leaves no descriptor
// open on any of its refusals (a lock directory that is a symlink or
// missing, a lock file that is a symlink, a directory or a FIFO, a name
// that is not one element, a lock held), nor after Unlock of a lock it
// took.
func TestTryLockFileInClosesDescriptors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "target"), filepath.Join(dir, "sym")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := lock.TryLockFileIn(dir, "held", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	for _, tc := range []struct {
		name, dir, file string
		ok              bool
	}{
		{"dir symlink", filepath.Join(root, "link"), "x", false},
		{"dir missing", filepath.Join(root, "none"), "x", false},
		{"file symlink", dir, "sym", false},
		{"file is a directory", dir, "subdir", false},
		{"file is a FIFO", dir, "fifo", false},
		{"name a path", dir, "a/b", false},
		{"held", dir, "held", false},
		{"taken and unlocked", dir, "free", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := openFds(t)
			l, err := lock.TryLockFileIn(tc.dir, tc.file, 0o600)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if l != nil {
				if err := l.Verify(); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := l.Unlock(); err != nil {
					t.Errorf("Unlock: %v", err)
				}
			}
			if after := openFds(t); after != before {
				t.Errorf("open descriptors %d before, %d after", before, after)
			}
		})
	}
}
