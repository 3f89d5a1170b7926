package lock_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// The pause for other hosts' sake is for a lock file this process keeps
// busy: one it takes again and again but holds a small part of the time
// (a stripe many sessions of a busy host share, each held for a moment)
// is free at most of a waiter's polls, and a pause would only delay this
// host's own requests. A file held most of the time gets its pause.
func TestPauseOnlyForBusyFile(t *testing.T) {
	tests := []struct {
		name       string
		hold, gap  time.Duration // each turn's hold, and the gap before the next
		wantPaused bool
	}{
		{"held a tenth of the time", 200 * time.Microsecond, 2 * time.Millisecond, false},
		{"held most of the time", 2 * time.Millisecond, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, &lock.FakeOS{})
			defer tab.Close()
			// A second of turns: ten times the hold after which a busy
			// file is left alone (and a pause, when one begins, ends the
			// loop), with gaps far below the 20 ms that separate tenures.
			paused := false
			var turns holds
			for end := time.Now().Add(time.Second); time.Now().Before(end) && !paused; {
				from := time.Now()
				h, err := tab.Lock(context.Background(), "stripe", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.hold) // the turn's work, not a wait for an event
				if err := h.Unlock(); err != nil {
					t.Fatal(err)
				}
				turns.add(from)
				paused = tab.PausedForTest("stripe")
				if paused && !tt.wantPaused && turns.stretched(t) {
					// Measured afresh from the pause's end (a Lock in it
					// sleeps it out).
					paused, turns = false, nil
					for tab.PausedForTest("stripe") {
						time.Sleep(time.Millisecond) // polls for the pause's end
					}
				}
				time.Sleep(tt.gap)
			}
			if paused != tt.wantPaused {
				t.Errorf("paused %v, want %v", paused, tt.wantPaused)
			}
		})
	}
}

// holds records the stretches of a test's turns on a lock, each from
// before its Lock call to after its last Unlock returned: at least as
// long as the table held the lock in the turn.
type holds []struct{ from, to time.Time }

// add records a turn that began at from and ends now.
func (h *holds) add(from time.Time) {
	*h = append(*h, struct{ from, to time.Time }{from, time.Now()})
}

// stretched reports whether a pause after the turns may be due to a
// machine that stretched them (a loaded machine's sleeps last
// milliseconds), as the test measures: the file then was held at least
// half of the time, and the pause is what the rule asks for. The table
// judged a stretch of at least minHandoffHold (100 ms) and about
// busyWindow and a turn at most, from within a turn to the release; it
// lies within one of the stretches that end with the last turn and begin
// with an earlier one, 100 to 500 ms long, and the turns, recorded
// whole, make the largest share held of those a bound of the share it
// found. Below a half (0.45, for the order of the clock readings), the
// pause is one the rule does not allow.
func (h holds) stretched(t *testing.T) bool {
	t.Helper()
	if len(h) == 0 {
		return false
	}
	end := h[len(h)-1].to
	var held time.Duration
	best := 0.0
	for i := len(h) - 1; i >= 0 && end.Sub(h[i].from) <= 500*time.Millisecond; i-- {
		held += h[i].to.Sub(h[i].from)
		if span := end.Sub(h[i].from); span >= 100*time.Millisecond {
			best = max(best, float64(held)/float64(span))
		}
	}
	if best >= 0.45 {
		t.Logf("paused after turns this loaded machine stretched (held up to %.0f%% of the last stretch by the test's measure): a pause the rule asks for; measuring afresh", 100*best)
		return true
	}
	return false
}
