//go:build unix

package main_test

import "testing"

// TestHugeMaxDuration: a --max-duration near the largest Duration (an
// operator's "no limit") is a budget like any other. The watchdog added
// its grace to it and wrapped negative, so a healthy pass was abandoned at
// once as unresponsive (exit 4).
func TestHugeMaxDuration(t *testing.T) {
	st := newStore(t)
	st.expire(st.save(3)...)
	for _, args := range [][]string{
		{"stats", "--dir", st.dir, "--max-duration", "2562047h47m16s"},
		{"run", "--dir", st.dir, "--max-duration", "2562047h47m16s", "--dry-run"},
		{"run", "--dir", st.dir, "--max-duration", "2562047h47m16s"},
	} {
		if r := runGC(t, args); r.code != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 0", args, r.code, r.stderr)
		}
	}
}
