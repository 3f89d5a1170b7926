package nfstest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestRunHoldsMachineLock: Run boots its guest only while it holds the
// machine-wide lock. A stand-in for scripts/nfs-harness.sh (NFSTEST_HARNESS)
// checks, with flock(1), that the lock file is held while it "runs the
// guest", and reports hostA failed if not; no guest boots.
func TestRunHoldsMachineLock(t *testing.T) {
	nfstest.Require(t)
	if nfstest.InGuest() {
		t.Skip("checks the parent side of Run")
	}
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("needs flock(1) from util-linux")
	}
	dir := t.TempDir()
	lockFile := filepath.Join(dir, "uml.lock")
	fake := filepath.Join(dir, "fake-harness.sh")
	script := `#!/bin/bash
while [ $# -gt 0 ]; do case $1 in -s) STATE=$2; shift 2 ;; --) break ;; *) shift ;; esac; done
if ` + flock + ` -n "` + lockFile + `" true; then
  echo "the guest would have booted without the machine-wide lock held" >"$STATE/hostA.out"
  echo 1 >"$STATE/hostA.rc"; exit 1
fi
echo 0 >"$STATE/hostA.rc"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(nfstest.EnvHarness, fake)
	t.Setenv("SESSFS_UML_LOCK", lockFile)
	nfstest.Run(t, nfstest.Config{Hosts: 1}, map[string]func(*testing.T){
		"hostA": func(t *testing.T) { t.Fatal("the stand-in harness runs no roles") },
	})
}
