//go:build unix

package lock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStrategyListsDirOpened: the strategy check's look for lock files of
// an earlier version (fileOf) lists the lock directory the table opened,
// through its descriptor. It listed the path: a lock directory swapped
// for a FIFO after the table opened it hung the look's open, and one
// swapped for a symlink was listed where the link pointed, so lock files
// outside the store decided the strategy and the ones inside were missed.
func TestStrategyListsDirOpened(t *testing.T) {
	for _, k := range []struct {
		name string
		make func(t *testing.T, p string) error
	}{
		{"a FIFO", func(t *testing.T, p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"a symlink to a directory outside", func(t *testing.T, p string) error {
			out := t.TempDir()
			if err := os.WriteFile(filepath.Join(out, "outside"), nil, 0o600); err != nil {
				return err
			}
			return os.Symlink(out, p)
		}},
		{"an empty directory", func(t *testing.T, p string) error { return os.Mkdir(p, 0o700) }},
	} {
		t.Run(k.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "locks")
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "inside"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := openLockDir(p)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			if err := os.Rename(p, p+".away"); err != nil {
				t.Fatal(err)
			}
			if err := k.make(t, p); err != nil {
				t.Skipf("cannot make %s here: %v", k.name, err)
			}
			type answer struct {
				name string
				err  error
			}
			done := make(chan answer, 1)
			go func() {
				name, err := fileOf(d, isFlockFile)
				done <- answer{name, err}
			}()
			select {
			case a := <-done:
				if a.err != nil || a.name != "inside" {
					t.Errorf("lock files with the lock directory swapped for %s: %q, %v; want the opened directory's, %q", k.name, a.name, a.err, "inside")
				}
			case <-time.After(10 * time.Second): // a hang check, not a timing threshold
				// Let the hung open return, so the test binary can go on.
				if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("look for lock files with the lock directory swapped for %s still blocked after 10 s", k.name)
			}
		})
	}
}
