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
			for end := time.Now().Add(time.Second); time.Now().Before(end) && !paused; {
				h, err := tab.Lock(context.Background(), "stripe", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.hold) // the turn's work, not a wait for an event
				if err := h.Unlock(); err != nil {
					t.Fatal(err)
				}
				paused = tab.PausedForTest("stripe")
				time.Sleep(tt.gap)
			}
			if paused != tt.wantPaused {
				t.Errorf("paused %v, want %v", paused, tt.wantPaused)
			}
		})
	}
}
