//go:build unix

package lock_test

import (
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestTakeAllocations: a take through a kept lock descriptor checks that
// its file still has a name with an fstat (see Verify), which is to cost
// a system call and no allocation: a Stat_t passed through a replaceable
// function escaped to the heap, 144 bytes on every locked request. What a
// take and its release allocate is the Handle and the lock it holds. A
// Verify within VerifyAfter of the take, as a save's three are, looks at
// no file and allocates nothing: the lock file's path, built for a
// message before the look at the directory's name was due, was three
// allocations more per locked save.
func TestTakeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	for _, strat := range []lock.Strategy{lock.Flock} {
		t.Run(strat.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strat, VerifyAfter: time.Hour})
			take := func() {
				h, err := tab.TryLock("s1", "a", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Unlock(); err != nil {
					t.Fatal(err)
				}
			}
			take() // opens the lock file, kept for the takes measured
			const want = 2
			if got := testing.AllocsPerRun(200, take); got > want {
				t.Errorf("a take and release through a kept descriptor allocate %.1f times, want at most %d (the Handle and the held lock)", got, want)
			}
			h, err := tab.TryLock("s1", "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			verify := func() {
				if err := h.Verify(); err != nil {
					t.Fatal(err)
				}
			}
			if got := testing.AllocsPerRun(200, verify); got > 0 {
				t.Errorf("a Verify within VerifyAfter allocates %.1f times, want none", got)
			}
		})
	}
}
