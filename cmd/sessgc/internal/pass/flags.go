package pass

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/sessfs/sessfs/lock"
	"github.com/spf13/pflag"
)

// FleetLockTTLFlag defines --fleet-lock-ttl, the fleet lease's TTL
// (Limits.FleetLeaseTTL), on f; CheckFleetLockTTL checks it.
func FleetLockTTLFlag(f *pflag.FlagSet, p *time.Duration) {
	f.DurationVar(p, "fleet-lock-ttl", 0, fmt.Sprintf("the fleet lease's TTL on a store that locks with leases, %v..%v and at most --max-duration (0: the store's, 15s); a longer one outlasts longer stalls of this host, and a pass that dies keeps the others out longer; not with --no-fleet-lock, and on the command line warned of where it does nothing (a dry run, a flock store)", minFleetLockTTL, lock.MaxLeaseTTL))
}

// PathVarP defines a string flag that names a path (--dir, --textfile,
// --keys-file) and may be given once: given twice, pflag would take the
// last without a word, and "sessgc run --dir /a --dir /b", as a line a
// script assembles may say, would leave /a unswept and exit 0.
func PathVarP(f *pflag.FlagSet, p *string, name, shorthand, value, usage string) {
	*p = value
	f.VarP(&pathValue{p: p, name: name}, name, shorthand, usage)
}

// RepeatablePathVar defines a string flag that names a path and, unlike
// PathVarP's, may be given more than once, the last one counting, as
// pflag's string flags do (install-cron's --write and --binary, which
// name where its files go and what they run, not what a run works on).
// It refuses a path holding a NUL byte, as PathVarP's do.
func RepeatablePathVar(f *pflag.FlagSet, p *string, name, value, usage string) {
	*p = value
	f.Var(&pathValue{p: p, name: name, repeatable: true}, name, usage)
}

// pathValue is the flag.Value of PathVarP and RepeatablePathVar.
type pathValue struct {
	p          *string
	name       string
	set        bool
	repeatable bool
}

func (v *pathValue) String() string { return *v.p }
func (v *pathValue) Type() string   { return "string" }

// shownPath is p for a message, unless it may hold a key's secret (see
// shownValue).
func shownPath(p string) string {
	if keyline.Holds(p) {
		return shownValue(p)
	}
	return p
}

func (v *pathValue) Set(s string) error {
	if v.set && !v.repeatable {
		return fmt.Errorf("--%s given twice (%s, then %s): a run works on one; give it once (run sessgc once for each store)", v.name, shownPath(*v.p), shownPath(s))
	}
	if strings.IndexByte(s, 0) >= 0 {
		// Not from a command line or an environment, which cannot hold
		// one, but from a program running the command: no system call
		// takes the path, and their EINVAL printed it with the NUL unseen.
		return fmt.Errorf("--%s %q: the path holds a NUL byte", v.name, shownPath(s))
	}
	*v.p, v.set = s, true
	return nil
}
