//go:build unix

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestNotLockFileRefused: what a lock or lease file's name holds when it
// is not a regular file (a FIFO, a directory, a socket, a symlink, planted
// or left by a tool) is refused by Lock at once with ErrNotLockFile, an
// error naming the path and its type, with either strategy, and left where
// it is. With Flock, a FIFO was opened and locked: a flock on a FIFO is
// the local kernel's alone, on an NFS mount too, so two hosts each held
// the "lock" of the sessions on that file. With Lease, a FIFO was judged
// an unwritten lease, "held by another owner" until its ctime was a lease
// period old, and then replaced; a directory, a socket or a symlink gave
// the bare error of the open or read that met it.
func TestNotLockFileRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("not the store's"), 0o600); err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		name, what string
		make       func(p string) error
	}{
		{"fifo", "a FIFO", mkfifo},
		{"directory", "a directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"socket", "a socket", mksocket},
		{"symlink to a file outside", "a symbolic link", func(p string) error { return os.Symlink(outside, p) }},
		{"dangling symlink", "a symbolic link", func(p string) error { return os.Symlink(outside+"-none", p) }},
	}
	for _, k := range kinds {
		// A one-shot lock (sessgc's fleet locks in the lock directory):
		// its FIFO was locked too.
		t.Run("FileLock/"+k.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ".sessgc")
			if err := k.make(p); err != nil {
				t.Skipf("cannot make %s here: %v", k.what, err)
			}
			l, err := lock.TryLockFile(p)
			if err == nil {
				l.Unlock()
			}
			if !errors.Is(err, lock.ErrNotLockFile) || !strings.Contains(err.Error(), k.what) {
				t.Errorf("TryLockFile with %s there: %v, want ErrNotLockFile naming it", k.what, err)
			}
		})
	}
	for _, k := range kinds {
		// The lock directory's own files, read or locked by NewTable: a
		// FIFO at the flock probe's name took the probe's flock, the
		// local kernel's, where the mount's files may take none.
		for _, own := range []string{".probe", lock.StrategyFile} {
			t.Run("NewTable/"+own+"/"+k.name, func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, own)
				if err := k.make(p); err != nil {
					t.Skipf("cannot make %s here: %v", k.what, err)
				}
				tab, err := lock.NewTable(lock.Config{Dir: dir})
				if err == nil {
					tab.Close()
				}
				if !errors.Is(err, lock.ErrNotLockFile) || !strings.Contains(err.Error(), k.what) {
					t.Errorf("NewTable with %s at %s: %v, want ErrNotLockFile naming it", k.what, own, err)
				}
			})
		}
	}
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, k := range kinds {
			t.Run(strat.String()+"/"+k.name, func(t *testing.T) {
				dir := t.TempDir()
				tab := newTable(t, lock.Config{Dir: dir, Strategy: strat})
				name := "k"
				if strat == lock.Lease {
					name += ".lease"
				}
				p := filepath.Join(dir, name)
				if err := k.make(p); err != nil {
					t.Skipf("cannot make %s here: %v", k.what, err)
				}
				// Lock must not wait for it: a wait ends with ErrLocked,
				// at hangCtx's deadline, which only bounds that wait, so
				// that a slow machine cannot turn a refusal into ErrLocked.
				h, err := tab.Lock(hangCtx(t), "k", "k", lock.Exclusive)
				if err == nil {
					h.Unlock()
				}
				if !errors.Is(err, lock.ErrNotLockFile) || errors.Is(err, lock.ErrLocked) {
					t.Fatalf("Lock with %s at %s: %v, want ErrNotLockFile", k.what, name, err)
				}
				for _, s := range []string{p, k.what, "move it out of the store directory, or remove it"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				if n := strings.Count(err.Error(), p); n != 1 {
					t.Errorf("error %q names the path %d times, want once", err, n)
				}
				if _, err := tab.TryLock("k", "k", lock.Exclusive); !errors.Is(err, lock.ErrNotLockFile) {
					t.Errorf("TryLock: %v, want ErrNotLockFile", err)
				}
				fi, err := os.Lstat(p)
				if err != nil || fi.Mode().IsRegular() {
					t.Errorf("%s at %s was removed or replaced: %v", k.what, name, err)
				}
				if b, err := os.ReadFile(outside); err != nil || string(b) != "not the store's" {
					t.Errorf("the file outside changed: %q, %v", b, err)
				}
			})
		}
	}
}

// mksocket binds a Unix socket at p, closed at once: the file stays.
func mksocket(p string) error {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Bind(fd, &syscall.SockaddrUnix{Name: p})
}
