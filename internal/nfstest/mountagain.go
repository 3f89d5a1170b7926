package nfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// MountAgain mounts the export once more on this host, with the mount
// options opts in place of the guest's, at a new mount point beside
// [Mount]'s (in the guest's private /run), and returns it; the mount goes
// when t ends. The mount has caches of its own (nosharecache: a client
// shares them between mounts of one export, with the first mount's
// options), and its own counts for [RPCStats]. It is the same host, with
// the same client identity and lease. A scenario that needs other mount
// options than its guest's so joins that guest rather than costing a
// boot of its own. Outside the harness it fails the test.
func MountAgain(t testing.TB, opts string) string {
	t.Helper()
	if !InGuest() {
		t.Fatal("nfstest.MountAgain: not running as a harness host (use it inside a Run role)")
	}
	m, err := mountinfo.Lookup(Mount())
	if err != nil {
		t.Fatalf("nfstest.MountAgain: %v", err)
	}
	if !m.IsNFS() || m.Point != filepath.Clean(Mount()) {
		t.Fatalf("nfstest.MountAgain: %s is not an NFS mount point (mounted there: %s on %s, type %s)", Mount(), m.Source, m.Point, m.FSType)
	}
	dir, err := os.MkdirTemp(filepath.Dir(filepath.Clean(Mount())), Host()+".")
	if err != nil {
		t.Fatalf("nfstest.MountAgain: %v", err)
	}
	out, err := exec.Command("mount", "-t", m.FSType, "-o", opts+",nosharecache", m.Source, dir).CombinedOutput()
	if err != nil {
		os.Remove(dir)
		t.Fatalf("nfstest.MountAgain: mount -t %s -o %s,nosharecache %s %s: %v: %s", m.FSType, opts, m.Source, dir, err, strings.TrimSpace(string(out)))
	}
	Event("%s mounted the export again on %s with %s", Host(), dir, opts)
	t.Cleanup(func() {
		// Lazily (-l): a file the test left open must not fail it here.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("nfstest.MountAgain: umount -l %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
			return
		}
		os.Remove(dir)
	})
	return dir
}
