//go:build unix

package lock_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestSharedExcludesOtherProcesses: the OS lock behind a key is always
// exclusive (docs/design.md, "The OS lock is always exclusive"), so a key
// held Shared in one process keeps another process out in either mode,
// its Shared requests included, under flock and leases alike; and once the
// last Shared holder lets go, the other process takes it.
func TestSharedExcludesOtherProcesses(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, mode := range []string{"shared", "exclusive"} {
			t.Run(strategy.String()+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				cfg := lock.Config{Dir: dir, Strategy: strategy}
				tab := holderTable(t, cfg)
				// Two Shared holders of the key in this process.
				var held []*lock.Handle
				for i := 0; i < 2; i++ {
					h, err := tab.Lock(context.Background(), "f", "k", lock.Shared)
					if err != nil {
						t.Fatal(err)
					}
					held = append(held, h)
				}
				try := func() string {
					t.Helper()
					c := startChild(t, "try", append(strategyEnv(dir, "f", cfg), "LOCK_MODE="+mode)...)
					got := c.Expect(t, "")
					c.Finish(t)
					return got
				}
				if got := try(); !strings.HasPrefix(got, "held ") {
					t.Errorf("another process's %s TryLock of a key held Shared here: %s, want held", mode, got)
				}
				if err := held[0].Unlock(); err != nil {
					t.Fatal(err)
				}
				if got := try(); !strings.HasPrefix(got, "held ") {
					t.Errorf("another process's %s TryLock with one Shared holder left here: %s, want held", mode, got)
				}
				if err := held[1].Unlock(); err != nil {
					t.Fatal(err)
				}
				if got := try(); got != "free" {
					t.Errorf("another process's %s TryLock once every Shared holder here let go: %s, want free", mode, got)
				}
			})
		}
	}
}
