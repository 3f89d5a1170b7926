package pass

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// TestWatchdog drives a fake pass with channels: one that returns, one
// that stops at its budget, and one stuck in a call that never returns
// (a hung NFS server), which Watchdog must abandon with exit code 4, and
// one interrupted while stuck. The budget counts from its start, before
// the pass (the checks of the paths spend it): a pass that begins with
// the budget spent stops at once, and one stuck then is abandoned once
// the budget's grace is spent too, not a whole budget later.
func TestWatchdog(t *testing.T) {
	errWork := errors.New("work failed")
	stopsAtBudget := func(ctx context.Context, _ <-chan struct{}) error {
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), ErrBudgetSpent) {
			t.Errorf("cause %v, want ErrBudgetSpent", context.Cause(ctx))
		}
		return nil
	}
	stuck := func(_ context.Context, stuck <-chan struct{}) error {
		<-stuck
		return nil
	}
	tests := []struct {
		name          string
		maxDuration   time.Duration
		spent         time.Duration // of the budget, before the pass
		interrupt     bool
		pass          func(ctx context.Context, stuck <-chan struct{}) error
		wantAbandoned bool
		wantCode      int
		wantIs        error
	}{
		{"returns", time.Hour, 0, false, func(context.Context, <-chan struct{}) error { return errWork }, false, cmdutil.ExitFailure, errWork},
		{"no budget", 0, 0, false, func(context.Context, <-chan struct{}) error { return nil }, false, cmdutil.ExitOK, nil},
		{"stops at its budget", time.Millisecond, 0, false, stopsAtBudget, false, cmdutil.ExitOK, nil},
		{"stops at once, its budget spent before", time.Hour, time.Hour, false, stopsAtBudget, false, cmdutil.ExitOK, nil},
		{"stuck past its budget", time.Millisecond, 0, false, stuck, true, cmdutil.ExitUnresponsive, ErrUnresponsive},
		{"stuck, its budget and grace spent before", time.Hour, time.Hour + StopGrace(time.Hour), false, stuck, true, cmdutil.ExitUnresponsive, ErrUnresponsive},
		{"stuck when interrupted", 0, 0, true, stuck, true, cmdutil.ExitInterrupted, cmdutil.ErrInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stuck := make(chan struct{})
			defer close(stuck) // lets an abandoned pass go
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tt.interrupt {
				cancel(&cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: cmdutil.ErrInterrupted})
			}
			b := Budget{Max: tt.maxDuration, Start: time.Now().Add(-tt.spent)}
			abandoned, err := Watchdog(ctx, b, func(ctx context.Context) error { return tt.pass(ctx, stuck) })
			if abandoned != tt.wantAbandoned || cmdutil.ExitCode(err) != tt.wantCode || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("abandoned %v, err %v (exit %d); want abandoned %v, exit %d, matching %v",
					abandoned, err, cmdutil.ExitCode(err), tt.wantAbandoned, tt.wantCode, tt.wantIs)
			}
		})
	}
}

// TestRunBudgetThroughContext: a pass whose context carries the watchdog's
// budget (ErrBudgetSpent) reports max-duration, exit 0, not an
// interruption.
func TestRunBudgetThroughContext(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(ErrBudgetSpent)
	out, err := Run(ctx, nil, Limits{NoFleetLock: true}, func(ctx context.Context) error { return ctx.Err() })
	if err != nil || out.StopReason != "max-duration" {
		t.Errorf("outcome %+v, err %v; want max-duration, nil", out, err)
	}
}

// TestAbandonAfter: the watchdog gives a pass its whole budget and then
// StopGrace, whatever the budget. A budget near the largest Duration
// (--max-duration 2562047h47m16s) wrapped the sum negative: the timer
// fired at once and sessgc run and stats exited 4, "the store's file
// server did not answer in time: pass abandoned after 0s", on a healthy
// store.
func TestAbandonAfter(t *testing.T) {
	for _, d := range []time.Duration{
		time.Millisecond, time.Second, 8 * time.Minute, 10 * time.Hour,
		math.MaxInt64 - 30*time.Second, math.MaxInt64 - time.Second, math.MaxInt64,
	} {
		got := abandonAfter(d)
		if got < d || got-d > StopGrace(d) {
			t.Errorf("abandonAfter(%v) = %v; want between the budget and the budget plus %v", d, got, StopGrace(d))
		}
	}
}

// TestRunUnresponsiveAtBudget: a store on NFS bounds its scans, and once
// the budget has ended gives up on a call the file server does not answer
// with fsstore.ErrUnavailable (after its ceiling, 10 s by default), while
// the watchdog abandons the pass at the budget plus StopGrace (up to
// 30 s). Whichever comes first, the server did not answer: exit 4. The
// store's answer came first for every budget over 100 s (StopGrace over
// the ceiling), and the pass was reported as stopped by its budget, exit
// 0; at 100 s the two timers raced. Both orders, without timers: the
// budget spent through the context, and Watchdog itself.
func TestRunUnresponsiveAtBudget(t *testing.T) {
	gaveUp := func(ctx context.Context) error {
		<-ctx.Done()
		// As fsstore's bounded scans word it.
		return fmt.Errorf("fsstore: sweep: %w: a system call still had no answer 10s after the context ended (%w)", fsstore.ErrUnavailable, ctx.Err())
	}
	tests := []struct {
		name       string
		work       func(ctx context.Context) error
		wantReason string
		wantCode   int
	}{
		{"stopped by its budget", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, "max-duration", cmdutil.ExitOK},
		{"store gave up after the budget", gaveUp, "unresponsive", cmdutil.ExitUnresponsive},
		{"store gave up at once", func(context.Context) error {
			return fmt.Errorf("fsstore: sweep: %w: no answer within 10s", fsstore.ErrUnavailable)
		}, "unresponsive", cmdutil.ExitUnresponsive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(ErrBudgetSpent)
			out, err := Run(ctx, nil, Limits{NoFleetLock: true}, tt.work)
			if out.StopReason != tt.wantReason || cmdutil.ExitCode(err) != tt.wantCode {
				t.Errorf("outcome %+v, err %v (exit %d); want %s, exit %d", out, err, cmdutil.ExitCode(err), tt.wantReason, tt.wantCode)
			}
		})
		t.Run(tt.name+" under Watchdog", func(t *testing.T) {
			var out Outcome
			abandoned, err := Watchdog(context.Background(), NewBudget(time.Millisecond), func(ctx context.Context) error {
				var err error
				out, err = Run(ctx, nil, Limits{NoFleetLock: true}, tt.work)
				return err
			})
			if abandoned || out.StopReason != tt.wantReason || cmdutil.ExitCode(err) != tt.wantCode {
				t.Errorf("abandoned %v, outcome %+v, err %v (exit %d); want %s, exit %d", abandoned, out, err, cmdutil.ExitCode(err), tt.wantReason, tt.wantCode)
			}
		})
	}
}
