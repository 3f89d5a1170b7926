package bench

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// latePacer is a fake clock whose timer wakes late by lateness, as Go's
// timers do by up to a millisecond.
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

// repeat returns n copies of d.
func repeat(d time.Duration, n int) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }

// TestPacingChargesQueueingNotTimerLateness: under --rate, an operation
// is charged the time it would have queued behind slower ones had each
// started at its intended time, so that a stall counts for every
// operation it delayed; but the pacing timer's own lateness is the
// harness's, not the target's, whether the operation waited for its
// timer or started behind a late one. Charged to the operation that
// waited, it made a 9 µs load paced at 200/s show a p50 of 600 µs; charged
// to those queued behind the late wake-up, it made every load paced more
// often than the timer's lateness (--rate 2000 with one client: every
// 500 µs) show hundreds of microseconds.
func TestPacingChargesQueueingNotTimerLateness(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	for _, tc := range []struct {
		name               string
		interval, lateness time.Duration
		ops                []time.Duration // each operation's own duration
		// The recorded latencies' mean and maximum, both exact.
		wantMean, wantMax time.Duration
	}{
		{"on schedule, late timer", 5 * ms, ms, repeat(10*us, 20), 10 * us, 10 * us},
		{"interval shorter than the timer's lateness", 200 * us, ms, repeat(10*us, 20), 10 * us, 10 * us},
		// Each takes 3 ms against a 2 ms interval: the k-th (from 0)
		// starts k ms late and is charged k+3 ms.
		{"behind schedule", 2 * ms, 0, repeat(3*ms, 10), 7500 * us, 12 * ms},
		{"behind schedule, late timer", 2 * ms, ms, repeat(3*ms, 10), 7500 * us, 12 * ms},
		// A 5 ms stall at an operation a millisecond: the four intended
		// during it are charged 4.01, 3.02, 2.03, 1.04 ms, the next 50 µs.
		{"stall", ms, 0, append([]time.Duration{10 * us, 5 * ms}, repeat(10*us, 8)...), 1519 * us, 5 * ms},
		{"stall, late timer", ms, ms, append([]time.Duration{10 * us, 5 * ms}, repeat(10*us, 8)...), 1519 * us, 5 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			p := &latePacer{t: start, lateness: tc.lateness}
			i := 0
			op := func(context.Context, *worker) error {
				p.t = p.t.Add(tc.ops[i])
				i++
				return nil
			}
			var w worker
			w.reset(1)
			var stop atomic.Bool
			var budget atomic.Int64
			budget.Store(int64(len(tc.ops)))
			w.loop(context.Background(), op, &stop, make(chan struct{}), &budget, start.Add(tc.interval), tc.interval, p)
			if w.ops != uint64(len(tc.ops)) {
				t.Fatalf("%d operations, want %d", w.ops, len(tc.ops))
			}
			if mean, max := w.h.Mean(), w.h.Max(); mean != tc.wantMean || max != tc.wantMax {
				t.Errorf("operations paced every %v, timer %v late: latency mean %v, max %v; want %v, %v",
					tc.interval, tc.lateness, mean, max, tc.wantMean, tc.wantMax)
			}
		})
	}
}
