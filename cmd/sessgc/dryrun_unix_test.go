//go:build unix

package main_test

import (
	"io/fs"
	"os"
	"os/exec"
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
	exp, shut, dr, rr := dryAndRealRun(t, asUnprivileged, shutByMode)
	if want := []string{exp[0]}; !slices.Equal(dr.removed, want) || !slices.Equal(rr.removed, want) {
		t.Errorf("would remove %v, removed %v; want both %v", dr.removed, rr.removed, want)
	}
	if dr.code != rr.code || dr.sum.Errors != rr.sum.Errors || dr.sum.Removed != rr.sum.Removed || rr.code != 1 {
		t.Errorf("dry run: exit %d, %d removed, %d errors; real run: exit %d, %d removed, %d errors; want both exit 1, 1 removed, 1 error\ndry run's stderr: %s\nreal run's: %s",
			dr.code, dr.sum.Removed, dr.sum.Errors, rr.code, rr.sum.Removed, rr.sum.Errors, dr.stderr, rr.stderr)
	}
	if !strings.Contains(dr.stderr, exp[1]+": permission denied") {
		t.Errorf("the dry run's stderr does not name %s (in %s): %s", exp[1], shut, dr.stderr)
	}
}

// sweepRun is a run of sessgc run --json -v as dryAndRealRun makes it.
type sweepRun struct {
	result
	sum     jsonSummary
	removed []string // of the expired records, those it removed (or would), sorted
}

// dryAndRealRun makes a store owned by nobody with two expired records
// in two shards, the second's shard (shut) shut to nobody by shutUp, and runs
// sessgc run --dry-run, then sessgc run, each as as makes the command.
// exp are the expired records' paths.
func dryAndRealRun(t *testing.T, as func(*exec.Cmd), shutUp func(t *testing.T, shut, file string)) (exp []string, shut string, dry, real sweepRun) {
	t.Helper()
	st := newStore(t)
	st.save(2)
	ids := st.save(2)
	for filepath.Dir(st.path(ids[0])) == filepath.Dir(st.path(ids[1])) {
		ids[1] = st.save(1)[0] // the first in one shard, the second in another
	}
	st.expire(ids...)
	exp = []string{st.path(ids[0]), st.path(ids[1])}
	openUp(t, st.dir)
	chownTree(t, st.dir, 65534, 65534)
	shut = filepath.Dir(exp[1])
	shutUp(t, shut, exp[1])
	sweep := func(dry bool) (r sweepRun) {
		args := []string{"run", "--dir", st.dir, "--json", "-v"}
		if dry {
			args = append(args, "--dry-run")
		}
		cmd := command(args)
		as(cmd)
		r.result = runCmd(t, cmd)
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, `"event":"remove"`) || strings.Contains(l, `"event":"would-remove"`) {
				for _, p := range exp {
					if strings.Contains(l, p) {
						r.removed = append(r.removed, p)
					}
				}
			}
		}
		slices.Sort(r.removed)
		_, r.sum = summary(t, r.result)
		return r
	}
	return exp, shut, sweep(true), sweep(false)
}

// shutByMode makes shut root's, mode 0755: nobody may not write it.
func shutByMode(t *testing.T, shut, _ string) {
	t.Helper()
	if err := os.Chown(shut, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shut, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestDryRunAgreesInStickyDirectory: in a directory with the sticky bit
// (mode 1777, root's), which everyone may write, only a file's owner, the
// directory's or a process privileged over them removes a file: the real
// run as nobody fails (EPERM) on root's expired record there, and the dry
// run, which asked only whether it could write the directory, said it
// would remove it (exit 0). It now says what the real run does.
func TestDryRunAgreesInStickyDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to own a file in a sticky directory")
	}
	exp, _, dr, rr := dryAndRealRun(t, asUnprivileged, func(t *testing.T, shut, file string) {
		if err := os.Chown(shut, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shut, 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(file, 0, 0); err != nil {
			t.Fatal(err)
		}
	})
	if want := []string{exp[0]}; !slices.Equal(dr.removed, want) || !slices.Equal(rr.removed, want) {
		t.Errorf("would remove %v, removed %v; want both %v", dr.removed, rr.removed, want)
	}
	if dr.code != rr.code || dr.sum.Errors != rr.sum.Errors || rr.code != 1 {
		t.Errorf("dry run: exit %d, %d errors; real run: exit %d, %d errors; want both exit 1, 1 error\ndry run's stderr: %s\nreal run's: %s",
			dr.code, dr.sum.Errors, rr.code, rr.sum.Errors, dr.stderr, rr.stderr)
	}
	if !strings.Contains(dr.stderr, exp[1]) {
		t.Errorf("the dry run's stderr does not name %s: %s", exp[1], dr.stderr)
	}
}
