//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestStatsLockFilesNamed: the human census's locks line counts what
// --json's lock_files does, the stripe lock files and the store's own
// locks (the sweep lock a run leaves), and names them so: it said "1
// stripe files" of a store whose one lock file was the sweep's.
func TestStatsLockFilesNamed(t *testing.T) {
	st := newStore(t)
	st.expire(st.save(1)...) // removed by the run, under the sweep lock; no session lock taken
	if r := runGC(t, []string{"run", "--dir", st.dir, "-q"}); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	ents, err := os.ReadDir(filepath.Join(st.dir, fsstore.LockDir))
	if err != nil {
		t.Fatal(err)
	}
	stripes, sweep := 0, false
	for _, e := range ents {
		stripes += map[bool]int{true: 1}[isStripe(fsstore.LockDir+"/"+e.Name())]
		sweep = sweep || e.Name() == "sweep"
	}
	if stripes != 0 || !sweep {
		t.Fatalf("locks/ holds %v: want the sweep lock and no stripe file", ents)
	}
	r := runGC(t, []string{"stats", "--dir", st.dir})
	if r.code != 0 {
		t.Fatalf("stats: exit %d: %s", r.code, r.stderr)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "locks "); ok {
			if strings.Contains(rest, "stripe files") || !strings.Contains(rest, " 1 lock files") {
				t.Errorf("locks line %q, want 1 lock file and no stripe file counted", l)
			}
			return
		}
	}
	t.Errorf("no locks line in %q", r.stdout)
}
