// Package testenv lets tests that need something the machine may lack (root,
// a Redis server, Chromium, the module cache) skip with a clear message on a
// developer's machine, and fail instead where the environment promises it:
// CI sets SESSFS_REQUIRE_ROOT=1, SESSFS_REQUIRE_REDIS=1,
// SESSFS_REQUIRE_CHROMIUM=1, SESSFS_REQUIRE_GOMODULES=1, SESSFS_REQUIRE_PROMETHEUS=1,
// SESSFS_REQUIRE_PYTHON=1, SESSFS_REQUIRE_SECCOMP=1 and SESSFS_REQUIRE_SYSTEMD=1
// (see .ci/run), so those tests
// can never be skipped there unnoticed.
package testenv

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// Requirement names, each with its SESSFS_REQUIRE_* variable.
const (
	Root     = "SESSFS_REQUIRE_ROOT"
	Redis    = "SESSFS_REQUIRE_REDIS"
	Chromium = "SESSFS_REQUIRE_CHROMIUM"
	// GoModules: the go command and, in the module cache, the module's
	// dependencies (the tests that build a consumer module run offline).
	GoModules = "SESSFS_REQUIRE_GOMODULES"
	// Prometheus: the prometheus server and promtool (Debian package
	// prometheus), for the tests of the shipped rules and dashboard.
	Prometheus = "SESSFS_REQUIRE_PROMETHEUS"
	// Python: python3, which runs the repository's Python scripts
	// (scripts/bench-tables.py) and their self-tests.
	Python = "SESSFS_REQUIRE_PYTHON"
	// Seccomp: a process may install a seccomp filter of its own (Linux
	// built with CONFIG_SECCOMP_FILTER, and no sandbox that refuses
	// seccomp(2)), for the tests of a system call a container's profile
	// turns away.
	Seccomp = "SESSFS_REQUIRE_SECCOMP"
	// Systemd: systemd-analyze (Debian package systemd), which reads the
	// units install-cron --systemd writes as systemd would.
	Systemd = "SESSFS_REQUIRE_SYSTEMD"
)

// Skip skips t with the message, or fails it when the environment variable
// requirement is set to 1.
func Skip(t testing.TB, requirement, format string, args ...any) {
	t.Helper()
	if os.Getenv(requirement) == "1" {
		t.Fatalf(format+" (and %s=1 forbids skipping)", append(args, requirement)...)
	}
	t.Skipf(format, args...)
}

// BindfsMounts mounts src n times with bindfs (a FUSE filesystem without
// lock forwarding, where Linux emulates flock on the local host alone, as
// for sshfs, s3fs and rclone), unmounting them at the end of t. It skips t
// where that cannot be done: not Linux, not root, no bindfs, no /dev/fuse.
func BindfsMounts(t testing.TB, src string, n int) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("FUSE mounts by bindfs: Linux only")
	}
	if os.Geteuid() != 0 {
		Skip(t, Root, "needs root to mount FUSE filesystems")
	}
	bindfs, err := exec.LookPath("bindfs")
	if err != nil {
		Skip(t, Root, "bindfs not installed (apt-get install bindfs)")
	}
	var mps []string
	for range n {
		mp := t.TempDir()
		if out, err := exec.Command(bindfs, src, mp).CombinedOutput(); err != nil {
			Skip(t, Root, "bindfs %s: %v: %s (no /dev/fuse in this container?)", mp, err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", mp).Run() })
		mps = append(mps, mp)
	}
	return mps
}
