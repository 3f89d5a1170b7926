package run

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestRunStoreUnmountedMidPass: the store's file system unmounted in the
// middle of a pass, lazily (umount -l, as an automount's expiry or a
// forced unmount does), leaves the empty mount point at the store's
// path, while the pass goes on in the directories it holds open on the
// detached file system. It reported a store "swept" and exit 0. It now
// says that the store directory was removed or unmounted, and exits 3.
func TestRunStoreUnmountedMidPass(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		testenv.Skip(t, testenv.Root, "mount a tmpfs: %v", err)
	}
	unmounted := false
	t.Cleanup(func() {
		if !unmounted {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	oneShardStoreIn(t, dir, 2, 300)
	io, out, errb := testIO(nil)
	opts := RunOptions{IO: io, Dir: dir, Concurrency: 1, Grace: time.Minute, TempAge: 10 * time.Minute,
		removeWait: waitFunc(func(context.Context) error {
			if !unmounted {
				unmounted = true
				if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
					t.Errorf("unmount: %v", err)
				}
			}
			return nil
		})}
	err := runRun(context.Background(), &opts)
	t.Logf("err: %v\nstdout: %s\nstderr: %s", err, out, errb)
	if got := cmdutil.ExitCode(err); got != cmdutil.ExitStore {
		t.Errorf("exit %d, want %d", got, cmdutil.ExitStore)
	}
	if err == nil || !strings.Contains(err.Error(), "or the file system it is on was unmounted") {
		t.Errorf("error %v does not say the store was removed or unmounted", err)
	}
}
