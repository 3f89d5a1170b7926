//go:build unix

package pass

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCreatingLooksNoFollow: the look into data/ and locks/ that tells a
// store being created (creating), after a listing saw directories there,
// neither waits on a FIFO nor follows a symlink put at the name since: it
// opened them by path, so a FIFO hung sessgc in open(2), and a symlink to
// an empty directory elsewhere passed for the store's own empty one.
func TestCreatingLooksNoFollow(t *testing.T) {
	for _, k := range []struct {
		name string
		make func(t *testing.T, p string) error
	}{
		{"a FIFO", func(t *testing.T, p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"a symlink to an empty directory outside", func(t *testing.T, p string) error { return os.Symlink(t.TempDir(), p) }},
	} {
		for _, sub := range []string{fsstore.DataDir, fsstore.LockDir} {
			t.Run(sub+" "+k.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), sub)
				if err := k.make(t, p); err != nil {
					t.Skipf("cannot make %s here: %v", k.name, err)
				}
				done := make(chan bool, 1)
				go func() { done <- subdirEmpty(p) }()
				select {
				case empty := <-done:
					if empty {
						t.Errorf("%s at %s taken for the empty directory of a store being created", k.name, sub)
					}
				case <-time.After(10 * time.Second): // a hang check, not a timing threshold
					// Let the hung open return, so the test binary can go on.
					if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						f.Close()
					}
					t.Fatalf("the look at %s with %s there still blocked after 10 s", sub, k.name)
				}
			})
		}
	}
}
