package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDryRunAgreesWithCapabilities: a user that is not root but holds
// CAP_DAC_OVERRIDE (a systemd unit's AmbientCapabilities=, a container's
// added capability) removes files in a directory its modes do not let it
// write, and its dry run says so. access(2) asks for the real user
// without its capabilities: the dry run said "permission denied" of
// every record there, exit 1, where the real run removed them all and
// exited 0.
func TestDryRunAgreesWithCapabilities(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give a process of another user a capability")
	}
	const capDACOverride = 1
	exp, _, dr, rr := dryAndRealRun(t, func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: []uintptr{capDACOverride},
		}
	}, shutByMode)
	slices.Sort(exp)
	if !slices.Equal(dr.removed, exp) || !slices.Equal(rr.removed, exp) {
		t.Errorf("would remove %v, removed %v; want both %v", dr.removed, rr.removed, exp)
	}
	if dr.code != 0 || rr.code != 0 || dr.sum.Errors != 0 || rr.sum.Errors != 0 {
		t.Errorf("dry run: exit %d, %d errors; real run: exit %d, %d errors; want both exit 0, no error\ndry run's stderr: %s\nreal run's: %s",
			dr.code, dr.sum.Errors, rr.code, rr.sum.Errors, dr.stderr, rr.stderr)
	}
}

// TestDryRunWithoutFaccessat2: before Linux 5.8 there is no faccessat2,
// and a dry run asks access(2) whether it may write a directory: as the
// store's user (not root), the answers are the same, the shard it may not
// write an error of the dry run's and the real run's alike. The fallback
// was never run by a test: one that failed on ENOSYS reported every file
// of the store as an error.
func TestDryRunWithoutFaccessat2(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to make a shard directory its user cannot write")
	}
	// This test binary, where nobody may run it, to run as sessgc with
	// the filter (the one TestMain builds has none).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	exe := filepath.Join(bin, "sessgc.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	openUp(t, bin)
	exp, _, dr, rr := dryAndRealRun(t, func(cmd *exec.Cmd) {
		asUnprivileged(cmd)
		if slices.Contains(cmd.Args, "--dry-run") {
			cmd.Path, cmd.Args[0] = exe, exe
			cmd.Env = append(cmd.Env, envAsSessgc+"=1", envNoFaccessat2+"=1")
		}
	}, shutByMode)
	if dr.code == seccompRefusedExit && strings.HasPrefix(dr.stderr, seccompRefused) {
		testenv.Skip(t, testenv.Seccomp, "cannot install a seccomp filter here: %s", strings.TrimSpace(strings.TrimPrefix(dr.stderr, seccompRefused)))
	}
	if want := []string{exp[0]}; !slices.Equal(dr.removed, want) || !slices.Equal(rr.removed, want) {
		t.Errorf("would remove %v, removed %v; want both %v", dr.removed, rr.removed, want)
	}
	if dr.code != 1 || rr.code != 1 || dr.sum.Errors != 1 || rr.sum.Errors != 1 {
		t.Errorf("dry run: exit %d, %d errors; real run: exit %d, %d errors; want both exit 1, 1 error\ndry run's stderr: %s\nreal run's: %s",
			dr.code, dr.sum.Errors, rr.code, rr.sum.Errors, dr.stderr, rr.stderr)
	}
	if !strings.Contains(dr.stderr, exp[1]+": permission denied") {
		t.Errorf("the dry run's stderr does not name %s, permission denied: %s", exp[1], dr.stderr)
	}
}
