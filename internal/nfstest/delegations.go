package nfstest

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// leasesEnable is the sysctl through which the harness turns delegations
// off: nfsd grants none while file leases are disabled (the kernel checks
// it at each grant).
const leasesEnable = "/proc/sys/fs/leases-enable"

// SetDelegations lets the server grant NFSv4 delegations from now on, or
// grant no more; those already granted stay until returned or recalled.
// The guest is one kernel, server and hosts alike, so one host sets it
// for all, and the others wait for it (a [Barrier] after the call). A
// test runs its scenarios with delegations off and then on in one guest
// this way, rather than in a boot for each; Config.Delegations is the
// setting the guest boots with.
func SetDelegations(on bool) error {
	if !InGuest() {
		return errors.New("nfstest.SetDelegations: not running as a harness host")
	}
	v := "0"
	if on {
		v = "1"
	}
	if err := os.WriteFile(leasesEnable, []byte(v+"\n"), 0o644); err != nil {
		return fmt.Errorf("nfstest.SetDelegations(%v): %w", on, err)
	}
	Event("delegations=%v from now on", on)
	return nil
}

// Delegations reports whether the server grants delegations now: the
// guest's boot setting (Config.Delegations), or the last SetDelegations.
// Outside the harness it reports false.
func Delegations() bool {
	if !InGuest() {
		return false
	}
	b, err := os.ReadFile(leasesEnable)
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
