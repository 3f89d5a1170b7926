//go:build unix

package fsstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIncrReport checks the NFS suite's lost-update report on a made-up
// history: two increments that wrote one version, once overlapping and once
// one after the other.
func TestIncrReport(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, ms*int(time.Millisecond), time.UTC) }
	step := func(who string, from uint64, critical, ended int) string {
		return incrStep{id: "s", who: who, from: from, to: from + 1, counter: int(from), start: at(0), critical: at(critical), ended: at(ended)}.String()
	}
	base := step("hostA/1/g9", 3, 1, 2)
	for _, tc := range []struct {
		name, base, a, b, want string
	}{
		{"overlap", base, step("hostA/1/g0", 4, 10, 30), step("hostB/2/g1", 4, 20, 40), "hostA/1/g0 and hostB/2/g1 overlap: the second began its critical section 10ms before"},
		{"stale", base, step("hostA/1/g0", 4, 10, 30), step("hostB/2/g1", 4, 35, 50), "hostB/2/g1 began its critical section 5ms after hostA/1/g0 was acknowledged: it read a stale record"},
		// hostA's write of version 4, published after hostA/1/g0's
		// version 5, is what hostB read: not a stale read.
		{"late", base, step("hostA/1/g0", 4, 10, 30) + step("hostA/1/g2", 3, 5, 32), step("hostB/2/g1", 4, 35, 50), "may have read version 4 as hostA/1/g2 wrote it late (acknowledged 00:00:00.032000)"},
		// The only write of version 4, acknowledged after the first
		// write of version 5 began: both read it, so the second's read
		// was stale.
		{"one-writer", step("hostA/1/g9", 3, 1, 12), step("hostA/1/g0", 4, 10, 30), step("hostB/2/g1", 4, 35, 50), "it read a stale record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "hostA"), []byte(tc.base+tc.a), 0o644)
			os.WriteFile(filepath.Join(dir, "hostB"), []byte(tc.b), 0o644)
			got := incrReport(dir, "s")
			if !strings.Contains(got, " acknowledged increments of s in 2 history files") ||
				!strings.Contains(got, "version 5 written 2 times") || !strings.Contains(got, tc.want) || (tc.name != "late") == strings.Contains(got, "version 4 written") {
				t.Errorf("report:\n%s\nwant %q", got, tc.want)
			}
		})
	}
}
