package main_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestStatsOnFullFileSystem: "sessgc stats" on a store whose file system
// is full counts it read-only, exit 0, with a note saying why: opening the
// store probes that it is writable, and that probe's ENOSPC made stats
// exit 3 just when an operator most wants the count. run still refuses.
func TestStatsOnFullFileSystem(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	mnt := smallTmpfs(t)
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	st := &store{t: t, dir: dir, s: s}
	st.save(2)
	s.Close()
	fillFS(t, filepath.Join(mnt, "filler"))

	r := runGC(t, []string{"stats", "--dir", dir, "--json"})
	if r.code != 0 {
		t.Fatalf("stats --json on a full file system: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got := statsJSON(t, r); got["live"] != float64(2) || got["host_clock"] != true {
		t.Errorf("live %v, host_clock %v; want 2 and true", got["live"], got["host_clock"])
	}
	for _, s := range []string{"sessgc: note:", "its file system is full (disk full or quota)", "ages were judged by this host's clock"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not say %q: %q", s, r.stderr)
		}
	}
	if r := runGC(t, []string{"run", "--dir", dir}); r.code != 3 {
		t.Errorf("run on a full file system: exit %d, stderr %q; want 3", r.code, r.stderr)
	}
}

// fillFS writes zeros to path until its file system is full.
func fillFS(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling the file system: %v", err)
			}
			break
		}
	}
	// Whatever a page rounding left: the smallest writes too.
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
	// And every inode: an empty file needs no block, and creating one is
	// what the open's probe does first.
	for i := 0; ; i++ {
		g, err := os.Create(fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling the file system's inodes: %v", err)
			}
			return
		}
		g.Close()
	}
}

// smallTmpfs mounts a tmpfs of 1 MiB and 256 inodes, for fillFS to fill
// (filling the inodes is what makes creating a file fail), until the end
// of t, and returns its path.
func smallTmpfs(t *testing.T) string {
	t.Helper()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,nr_inodes=256,mode=0755"); err != nil {
		testenv.Skip(t, testenv.Root, "cannot mount a tmpfs (no CAP_SYS_ADMIN in this container?): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	return mnt
}
