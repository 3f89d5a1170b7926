package nfstest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// fakeHarness writes a stand-in for scripts/nfs-harness.sh that does what
// the harness does when it boots ahead (--wait-go): it creates
// guest.started, "boots" (creates the file booted, beside the lock file),
// waits for guest.go, and, given the go, runs check, whose exit code is
// hostA's. No guest boots.
func fakeHarness(t *testing.T, lockFile, check string) string {
	t.Helper()
	fake := filepath.Join(filepath.Dir(lockFile), "fake-harness.sh")
	script := `#!/bin/bash
while [ $# -gt 0 ]; do case $1 in -s) STATE=$2; shift 2 ;; --) break ;; *) shift ;; esac; done
: >"$STATE/guest.started"
: >"` + filepath.Join(filepath.Dir(lockFile), "booted") + `"
: >"$STATE/guest.ready"
end=$((SECONDS + 60))
while [ ! -e "$STATE/guest.go" ] && [ $SECONDS -lt $end ]; do sleep 0.05; done
read -r verb _ <"$STATE/guest.go" || exit 124
[ "$verb" = go ] || exit 125
` + check + `
echo $? >"$STATE/hostA.rc"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fake
}

// TestRunHoldsMachineLock: Run lets its guest's hosts start only while it
// holds the machine-wide lock. A stand-in for scripts/nfs-harness.sh
// (NFSTEST_HARNESS) checks, with flock(1), that the lock file is held once
// it has its go, and reports hostA failed if not.
func TestRunHoldsMachineLock(t *testing.T) {
	nfstest.Require(t)
	if nfstest.InGuest() {
		t.Skip("checks the parent side of Run")
	}
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("needs flock(1) from util-linux")
	}
	lockFile := filepath.Join(t.TempDir(), "uml.lock")
	t.Setenv(nfstest.EnvHarness, fakeHarness(t, lockFile, `if `+flock+` -n "`+lockFile+`" true; then
  echo "the hosts would have started without the machine-wide lock held" >"$STATE/hostA.out"; false
fi`))
	t.Setenv("SESSFS_UML_LOCK", lockFile)
	nfstest.Run(t, nfstest.Config{Hosts: 1}, map[string]func(*testing.T){
		"hostA": func(t *testing.T) { t.Fatal("the stand-in harness runs no roles") },
	})
}

// TestRunBootsAhead: while another process holds the machine-wide lock,
// Run boots its guest (the stand-in harness creates its file booted) and
// gives the go only once it has the lock.
func TestRunBootsAhead(t *testing.T) {
	nfstest.Require(t)
	if nfstest.InGuest() {
		t.Skip("checks the parent side of Run")
	}
	dir := t.TempDir()
	lockFile := filepath.Join(dir, "uml.lock")
	released := filepath.Join(dir, "released")
	t.Setenv(nfstest.EnvHarness, fakeHarness(t, lockFile, `if [ ! -e "`+released+`" ]; then
  echo "the go came while another process held the lock" >"$STATE/hostA.out"; false
fi`))
	t.Setenv("SESSFS_UML_LOCK", lockFile)
	f, err := os.OpenFile(lockFile, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// Released once the stand-in has booted: Run must not wait for the
	// lock before it boots. Run learns of the release from the kernel,
	// not from this goroutine, so the test waits for it before f closes.
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		booted := filepath.Join(dir, "booted")
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) { // a file another process writes: no event to wait on
			if _, err := os.Stat(booted); err == nil {
				break
			}
		}
		os.WriteFile(released, nil, 0o644)
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}()
	nfstest.Run(t, nfstest.Config{Hosts: 1}, map[string]func(*testing.T){
		"hostA": func(t *testing.T) { t.Fatal("the stand-in harness runs no roles") },
	})
	if _, err := os.Stat(released); err != nil {
		t.Errorf("Run returned, but the lock was never released: it did not boot ahead (%v)", err)
	}
}
