package main_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoomSharedAcrossDevices: two --dir targets whose directories have
// different device numbers but take their space from one file system are
// checked together: each alone fits in half of what is free, both do not.
// Here an overlay mount (its directories have a device number of their
// own) with its upper directory on a small tmpfs, and a directory on that
// tmpfs: a container's overlay root and a volume on the same disk, as
// btrfs subvolumes of one pool and two NFS mounts of one export are. The
// check grouped targets by device number alone and let both runs fill it.
// It needs to mount (root, or CAP_SYS_ADMIN in a user namespace), in a
// mount namespace of its own, and skips where it may not.
func TestRoomSharedAcrossDevices(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1)")
	}
	base := t.TempDir()
	// 64 MiB free: each target's 18 sessions of 1 MiB (and one in
	// flight) take about 19 MiB, less than half; the two together, 38
	// MiB, take more.
	script := `set -e
b=$1; shift
mkdir "$b/t" "$b/o"
mount -t tmpfs -o size=64m tmpfs "$b/t" || exit 77
mkdir "$b/t/lower" "$b/t/upper" "$b/t/work" "$b/t/data"
mount -t overlay overlay -o "lowerdir=$b/t/lower,upperdir=$b/t/upper,workdir=$b/t/work" "$b/o" || exit 77
exec "$@"`
	args := []string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", base, binary,
		"run", "--dir", filepath.Join(base, "t", "data"), "--dir", filepath.Join(base, "o"),
		"--size", "1MiB", "--sessions", "18", "--ops", "1", "--rounds", "1", "--warmup", "0", "--concurrency", "1", "--workload", "load", "--durability", "none"}
	out, err := exec.Command("unshare", args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Fatalf("the run went ahead, %d MiB of sessions in a 64 MiB file system:\n%s", 2*19, out)
	case !errors.As(err, &ee):
		t.Fatal(err)
	case ee.ExitCode() == 77 || strings.Contains(string(out), "unshare failed"):
		t.Skipf("cannot mount here: %s", out)
	case ee.ExitCode() != 1 || !strings.Contains(string(out), "counted together"):
		t.Fatalf("exit %d, want 1 and a refusal counting both targets together:\n%s", ee.ExitCode(), out)
	}
}
