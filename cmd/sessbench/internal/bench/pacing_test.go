package bench

import (
	"context"
	"math"
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
	// end, if set, is when the measurement ends: a wait that would wake
	// at or after it is cut short there, as by the closing of done.
	end time.Time
}

func (p *latePacer) now() time.Time { return p.t }
func (p *latePacer) waitUntil(t time.Time, _ <-chan struct{}) (time.Time, bool) {
	if woke := t.Add(p.lateness); p.end.IsZero() || woke.Before(p.end) {
		p.t = woke
		return p.t, true
	}
	p.t = p.end
	return time.Time{}, false
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

// TestBacklogLeavesOutTimerLateness: under --rate, the operations the
// schedule called for that had not started when the measurement ended
// are the target's backlog only when the target was still busy with
// earlier ones. The pacing timer's lateness leaves a worker that kept up
// behind the wall clock too, by several operations when they are due more
// often than the timer's lateness; counted, they would say the target
// could not keep up with a rate it kept.
func TestBacklogLeavesOutTimerLateness(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	stall := append(append(repeat(10*us, 7), 5*ms), repeat(10*us, 10)...)
	for _, tc := range []struct {
		name               string
		interval, lateness time.Duration
		ops                []time.Duration // each operation's own duration
		// atOnce: the first operation is due at the start, so that it
		// waits for no timer; else one interval after it.
		atOnce bool
		// end is when the measurement ends, from the start; 0 for a quota
		// of len(ops) operations.
		end  time.Duration
		want uint64
	}{
		{"on schedule, waiting at the end", ms, 300 * us, repeat(100*us, 20), false, 10500 * us, 0},
		{"on schedule, in flight at the end", ms, 300 * us, repeat(100*us, 20), false, 10350 * us, 0},
		// The timer due at 1 ms wakes at 1.3 ms; the measurement ends at
		// 1.2 ms, while the worker waits for it.
		{"on schedule, waiting for a timer later than the last", ms, 300 * us, repeat(100*us, 20), true, 1200 * us, 0},
		// Every timer wakes five operations late and the worker starts
		// them one after the other: it is in such a burst at 4.815 ms.
		{"interval shorter than the timer's lateness", 200 * us, ms, repeat(10*us, 100), false, 4815 * us, 0},
		{"quota, on schedule", ms, 300 * us, repeat(100*us, 10), false, 0, 0},
		// 3 ms each against 2 ms: at 32.5 ms, the operations due at 24,
		// 26, 28, 30 and 32 ms wait behind the one started at 32 ms.
		{"behind schedule", 2 * ms, 0, repeat(3*ms, 20), false, 32500 * us, 5},
		{"behind schedule, late timer", 2 * ms, ms, repeat(3*ms, 20), false, 32500 * us, 5},
		// The tenth and last operation starts at 29 ms: those due at 22
		// to 28 ms are left when the quota runs out.
		{"quota, behind schedule", 2 * ms, 0, repeat(3*ms, 10), false, 0, 4},
		{"quota, behind schedule, late timer", 2 * ms, ms, repeat(3*ms, 10), false, 0, 4},
		// The operation due at 8 ms takes 5 ms: at 10.5 ms those due at
		// 9 and 10 ms wait.
		{"stall at the end", ms, 0, stall, false, 10500 * us, 2},
		{"stall at the end, late timer", ms, ms, stall, false, 10500 * us, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			p := &latePacer{t: start, lateness: tc.lateness}
			var end time.Time
			if tc.end > 0 {
				end = start.Add(tc.end)
				p.end = end
			}
			var stop atomic.Bool
			i := 0
			op := func(context.Context, *worker) error {
				p.t = p.t.Add(tc.ops[i])
				i++
				// The measurement ends during this operation: the worker
				// finishes it, then sees that it has ended.
				if !end.IsZero() && !p.t.Before(end) {
					stop.Store(true)
				}
				return nil
			}
			var w worker
			w.reset(1)
			var budget atomic.Int64
			budget.Store(int64(len(tc.ops)))
			due := start.Add(tc.interval)
			if tc.atOnce {
				due = start
			}
			w.loop(context.Background(), op, &stop, make(chan struct{}), &budget, due, tc.interval, p)
			if tc.end > 0 && !stop.Load() && !w.sched.waiting {
				t.Fatalf("the %d operations ran out before the measurement ended", len(tc.ops))
			}
			quota := end.IsZero()
			if quota {
				end = w.sched.began
			}
			if got := w.backlog(end, tc.interval, quota); got != tc.want {
				t.Errorf("operations due every %v, timer %v late: %d started, %d behind at the end; want %d behind",
					tc.interval, tc.lateness, w.ops, got, tc.want)
			}
		})
	}
}

// TestRateTooHighStillPaces: a --rate so high that each client's interval
// is below a nanosecond still paces (at one operation per nanosecond per
// client), rather than rounding the interval to 0, which ran a closed
// loop under a report that said the run was paced. (Asserted on the
// interval: whether a run at it counts operations behind depends on how
// late the machine runs the clients, which a unit test must not.)
func TestRateTooHighStillPaces(t *testing.T) {
	for _, tc := range []struct {
		clients int
		rate    float64
		want    time.Duration
	}{
		{1, 0, 0},
		{1, 1e12, 1},
		{4, 4e9, 1},
		{2, 1e3, 2 * time.Millisecond},
		{1, 1e-12, math.MaxInt64},
	} {
		if got := pacingInterval(tc.clients, tc.rate); got != tc.want {
			t.Errorf("%d clients at %g a second: interval %v, want %v", tc.clients, tc.rate, got, tc.want)
		}
	}
}
