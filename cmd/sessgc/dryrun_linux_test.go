package main_test

import (
	"os"
	"os/exec"
	"slices"
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
