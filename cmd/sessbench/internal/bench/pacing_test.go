package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// latePacer is a fake clock whose timer wakes late by lateness, as Go's
// timers do by up to a millisecond; an operation takes opTime.
type latePacer struct {
	t        time.Time
	lateness time.Duration
}

func (p *latePacer) now() time.Time { return p.t }
func (p *latePacer) waitUntil(t time.Time, _ <-chan struct{}) (time.Time, bool) {
	p.t = t.Add(p.lateness)
	return p.t, true
}
func (*latePacer) stop() {}

// TestPacingChargesQueueingNotTimerLateness: under --rate, an operation
// is measured from when it should have started, so that time queued
// behind a slow one counts; but the pacing timer's own lateness is the
// harness's, not the target's. It was charged to every operation: a
// 9 µs load paced at 200/s showed a p50 of 600 µs.
func TestPacingChargesQueueingNotTimerLateness(t *testing.T) {
	for _, tc := range []struct {
		name             string
		opTime, interval time.Duration
		want             time.Duration // every operation's recorded latency
	}{
		// Idle: each operation waits for its time, the timer wakes 1 ms
		// late, the operation takes 10 µs.
		{"on schedule", 10 * time.Microsecond, 5 * time.Millisecond, 10 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			p := &latePacer{t: start, lateness: time.Millisecond}
			op := func(context.Context, *worker) error {
				p.t = p.t.Add(tc.opTime)
				return nil
			}
			var w worker
			w.reset(1)
			var stop atomic.Bool
			w.loop(context.Background(), op, &stop, make(chan struct{}), 20, start.Add(tc.interval), tc.interval, p)
			if w.ops != 20 {
				t.Fatalf("%d operations, want 20", w.ops)
			}
			if got := w.h.Max(); got > tc.want+tc.want/10 {
				t.Errorf("an operation of %v paced every %v was recorded as up to %v: the timer's lateness (1 ms) is charged", tc.opTime, tc.interval, got)
			}
		})
	}
	// Behind schedule: operations take 3 ms against a 2 ms interval, so
	// each starts later than it should have; that queueing counts.
	start := time.Unix(1_000_000, 0)
	p := &latePacer{t: start}
	op := func(context.Context, *worker) error { p.t = p.t.Add(3 * time.Millisecond); return nil }
	var w worker
	w.reset(1)
	var stop atomic.Bool
	w.loop(context.Background(), op, &stop, make(chan struct{}), 10, start, 2*time.Millisecond, p)
	// The tenth starts 9 ms late and takes 3 ms.
	if got := w.h.Max(); got < 11*time.Millisecond {
		t.Errorf("behind schedule, the slowest operation was recorded as %v, want about 12 ms: queueing is not counted", got)
	}
}
