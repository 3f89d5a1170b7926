//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDryRunAgreesWhereItCannotWrite: a dry run says what the real run
// does where the real run cannot remove: an expired record in a shard
// directory the operator's user may read but not write (made by root, as
// a sessgc run as root once did) is an error of both, with its path, not
// a removal the dry run promised and the real run then failed (exit 0,
// "would remove 2 files", then exit 1, "removed 1 file", 1 error). The
// runs are as the store's user, root being refused nothing.
func TestDryRunAgreesWhereItCannotWrite(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to make a shard directory its user cannot write")
	}
	st := newStore(t)
	st.save(2)
	exp := st.save(2)
	st.expire(exp...)
	if filepath.Dir(st.path(exp[0])) == filepath.Dir(st.path(exp[1])) {
		t.Skip("both expired records in one shard")
	}
	openUp(t, st.dir)
	chownTree(t, st.dir, 65534, 65534)
	shut := filepath.Dir(st.path(exp[1]))
	if err := os.Chown(shut, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shut, 0o755); err != nil {
		t.Fatal(err)
	}
	sweep := func(dry bool) (removed []string, s jsonSummary, r result) {
		args := []string{"run", "--dir", st.dir, "--json", "-v"}
		if dry {
			args = append(args, "--dry-run")
		}
		cmd := command(args)
		asUnprivileged(cmd)
		r = runCmd(t, cmd)
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, `"event":"remove"`) || strings.Contains(l, `"event":"would-remove"`) {
				for _, id := range exp {
					if strings.Contains(l, st.path(id)) {
						removed = append(removed, st.path(id))
					}
				}
			}
		}
		_, s = summary(t, r)
		return removed, s, r
	}
	dryRemoved, dry, dr := sweep(true)
	realRemoved, real, rr := sweep(false)
	if want := []string{st.path(exp[0])}; !slices.Equal(dryRemoved, want) || !slices.Equal(realRemoved, want) {
		t.Errorf("would remove %v, removed %v; want both %v", dryRemoved, realRemoved, want)
	}
	if dr.code != rr.code || dry.Errors != real.Errors || dry.Removed != real.Removed || rr.code != 1 {
		t.Errorf("dry run: exit %d, %d removed, %d errors; real run: exit %d, %d removed, %d errors; want both exit 1, 1 removed, 1 error\ndry run's stderr: %s\nreal run's: %s",
			dr.code, dry.Removed, dry.Errors, rr.code, real.Removed, real.Errors, dr.stderr, rr.stderr)
	}
	if !strings.Contains(dr.stderr, st.path(exp[1])+": permission denied") {
		t.Errorf("the dry run's stderr does not name %s: %s", st.path(exp[1]), dr.stderr)
	}
}
