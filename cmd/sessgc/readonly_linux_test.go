package main_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestReadOnlyMount sweeps a store on a read-only bind mount, and takes
// its census. It needs
// CAP_SYS_ADMIN and skips without it.
func TestReadOnlyMount(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to bind-mount the store read-only")
	}
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	mnt := t.TempDir()
	if err := unix.Mount(st.dir, mnt, "", unix.MS_BIND, ""); err != nil {
		testenv.Skip(t, testenv.Root, "cannot bind-mount (no CAP_SYS_ADMIN in this container?): %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	if err := unix.Mount("", mnt, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		testenv.Skip(t, testenv.Root, "cannot remount read-only: %v", err)
	}
	// stats too, although it removes nothing: opening the store checks
	// that it is writable, and the census measures the file server's
	// clock with a temp file (see docs/operations.md).
	for _, args := range [][]string{{"--dir", mnt}, {"stats", "--dir", mnt}} {
		r := runGC(t, args)
		if r.code != 3 || !strings.Contains(r.stderr, "read-only") {
			t.Errorf("%v: exit %d, stderr %q; want 3 and read-only", args, r.code, r.stderr)
		}
	}
	for _, id := range ids {
		if !st.exists(id) {
			t.Errorf("deleted from a read-only store")
		}
	}
}
