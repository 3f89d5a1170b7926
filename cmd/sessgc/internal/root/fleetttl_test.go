package root_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestFleetLockTTLThatDoesNothing: --fleet-lock-ttl sets the fleet
// lease's TTL, on a store that locks with leases; with --no-fleet-lock,
// in a dry run (neither takes a fleet lock) or on a store that locks with
// flock it does nothing, and was accepted without a word. Given on the
// command line, it is a usage error beside --no-fleet-lock there too, and
// a warning otherwise (a dry run previews a cron line's flags as they
// are). SESSGC_FLEET_LOCK_TTL, set fleet-wide for every host and every
// kind of run, is silent wherever it does nothing, and never fails a run.
func TestFleetLockTTLThatDoesNothing(t *testing.T) {
	flockDir := smallStore(t, 1)
	leaseDir := t.TempDir()
	s, err := fsstore.Open(leaseDir, fsstore.WithLockStrategy(lock.Lease))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	const warning = "sessgc: warning: --fleet-lock-ttl"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		code int
		want string // in stderr; "" for no warning about the TTL
	}{
		{"flag with --no-fleet-lock", []string{"run", "--dir", flockDir, "--fleet-lock-ttl", "1m", "--no-fleet-lock"}, nil,
			cmdutil.ExitUsage, "--fleet-lock-ttl 1m0s and --no-fleet-lock exclude each other"},
		{"rekey: flag with --no-fleet-lock", []string{"rekey", "--dir", flockDir, "--fleet-lock-ttl", "1m", "--no-fleet-lock"}, nil,
			cmdutil.ExitUsage, "--fleet-lock-ttl 1m0s and --no-fleet-lock exclude each other"},
		{"flag with SESSGC_NO_FLEET_LOCK", []string{"run", "--dir", flockDir, "--fleet-lock-ttl", "1m"}, []string{"SESSGC_NO_FLEET_LOCK=true"},
			0, warning + " 1m0s does nothing: SESSGC_NO_FLEET_LOCK=true takes no fleet lock"},
		{"flag in a dry run", []string{"run", "--dir", flockDir, "--fleet-lock-ttl", "1m", "--dry-run"}, nil,
			0, warning + " 1m0s does nothing in a dry run"},
		{"flag on a flock store", []string{"run", "--dir", flockDir, "--fleet-lock-ttl", "1m"}, nil,
			0, warning + " 1m0s does nothing here: the store locks with flock"},
		{"flag on a lease store", []string{"run", "--dir", leaseDir, "--fleet-lock-ttl", "1m"}, nil, 0, ""},
		{"variable with --no-fleet-lock", []string{"run", "--dir", flockDir, "--no-fleet-lock"}, []string{"SESSGC_FLEET_LOCK_TTL=1m"}, 0, ""},
		{"variable in a dry run", []string{"run", "--dir", flockDir, "--dry-run"}, []string{"SESSGC_FLEET_LOCK_TTL=1m"}, 0, ""},
		{"variable on a flock store", []string{"run", "--dir", flockDir}, []string{"SESSGC_FLEET_LOCK_TTL=1m"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := executeEnv(context.Background(), tc.env, tc.args)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			switch {
			case tc.want == "" && strings.Contains(stderr, "fleet-lock-ttl"):
				t.Errorf("stderr %q; want nothing about --fleet-lock-ttl", stderr)
			case tc.want != "" && !strings.Contains(stderr, tc.want):
				t.Errorf("stderr %q; want %q in it", stderr, tc.want)
			}
		})
	}
}
