package lock_test

import (
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestWriteErrorNamesPathOnce: a write that fails in the lock directory
// (here past RLIMIT_FSIZE, as on a full disk or over quota) names the file
// once. Recording the strategy said "write D/.strategy-….tmp: write
// D/.strategy-….tmp: file too large", and creating a lease "create lease
// D/…: write D/…: …": the os package's error already names the file.
func TestWriteErrorNamesPathOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup runs before writes fail; run while they do.
		setup func(dir string) (*lock.Table, error)
		run   func(dir string, tab *lock.Table) error
	}{
		{"record strategy", nil, func(dir string, _ *lock.Table) error {
			tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock})
			if err == nil {
				tab.Close()
			}
			return err
		}},
		{"create lease", func(dir string) (*lock.Table, error) {
			return lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
		}, func(dir string, tab *lock.Table) error {
			h, err := tab.TryLock("s1", "k", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var tab *lock.Table
			if tc.setup != nil {
				var err error
				if tab, err = tc.setup(dir); err != nil {
					t.Fatal(err)
				}
				defer tab.Close()
			}
			err := withFileSizeLimit(t, func() error { return tc.run(dir, tab) })
			if err == nil {
				t.Skip("writes past RLIMIT_FSIZE did not fail here")
			}
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("%s with writes failing: %v; want it to name the file", tc.name, err)
			}
			if n := strings.Count(err.Error(), dir); n != 1 {
				t.Errorf("%s with writes failing: %v; names the path %d times, want once", tc.name, err, n)
			}
			if !errors.Is(err, syscall.EFBIG) {
				t.Errorf("%s with writes failing: %v; want it to wrap EFBIG", tc.name, err)
			}
		})
	}
}

// withFileSizeLimit runs f with RLIMIT_FSIZE 0, so every write to a file
// fails with EFBIG; the test is not parallel, so nothing else writes then.
func withFileSizeLimit(t *testing.T, f func() error) error {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	lim := old
	lim.Cur = 0
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Errorf("restoring RLIMIT_FSIZE: %v", err)
			os.Exit(2)
		}
	}()
	return f()
}
