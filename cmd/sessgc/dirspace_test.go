//go:build unix

package main_test

import (
	"strconv"
	"strings"
	"testing"
)

// TestDirWithHiddenWhiteSpace: a store directory given with white space at
// its end (SESSGC_DIR="/mnt/efs/sessions " in an environment file, a
// newline from a YAML block scalar) was reported as "store directory
// /mnt/efs/sessions  does not exist", which reads as the directory that
// does exist; with --missing-ok it was taken for a fresh volume, and every
// run exited 0 sweeping nothing. Now the path is quoted with what is
// hidden in it, and refused (exit 3) with --missing-ok too.
func TestDirWithHiddenWhiteSpace(t *testing.T) {
	f := newFixture(t)
	for _, dir := range []string{f.dir + " ", f.dir + "\n", " " + f.dir} {
		for _, missingOK := range []bool{false, true} {
			args := []string{"run", "-q"}
			if missingOK {
				args = append(args, "--missing-ok")
			}
			r := runGC(t, args, "SESSGC_DIR="+dir)
			if want := "store directory " + strconv.Quote(dir) + " does not exist: the path begins or ends with white space"; r.code != 3 || !strings.Contains(r.stderr, want) {
				t.Errorf("SESSGC_DIR=%q, %q: exit %d, stderr %q; want 3 and %q", dir, args, r.code, r.stderr, want)
			}
		}
	}
	for _, id := range f.expired {
		if !f.exists(id) {
			t.Errorf("session %s removed", id)
		}
	}
}
