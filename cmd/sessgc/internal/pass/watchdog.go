package pass

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// ErrBudgetSpent is the cause of a pass's context once its --max-duration
// is spent; Run reports such a pass as stopped early, exit 0.
var ErrBudgetSpent = errors.New("--max-duration spent")

// ErrUnresponsive reports a pass that Watchdog abandoned: it was still in a
// call to the file server after its budget and the grace to stop. It exits
// with cmdutil.ExitUnresponsive.
var ErrUnresponsive = errors.New("the store's file server did not answer in time")

// Unavailable returns the error of a pass that the store gave up on:
// fsstore.ErrUnavailable, as its operations are bounded (an unreachable
// file server, or the store's circuit breaker open after repeated
// timeouts). It exits with cmdutil.ExitUnresponsive, as an abandoned pass
// does, and matches ErrUnresponsive and err.
func Unavailable(err error) error {
	return cmdutil.Errorf(cmdutil.ExitUnresponsive, "%w: %w", ErrUnresponsive, err)
}

// StopGrace is how long a pass whose budget is spent (or that was
// interrupted) may take to stop cleanly before Watchdog abandons it: a
// tenth of the budget, at least one second, at most thirty.
func StopGrace(maxDuration time.Duration) time.Duration {
	return min(30*time.Second, max(time.Second, maxDuration/10))
}

// Overrun is how long past its budget maxDuration a run may last on a
// file server that stopped answering: StopGrace, until its pass is
// abandoned, and with a textfile FSCheckTimeout more, as writing it after
// the pass waits that long for a hung mount. A schedule that starts runs
// an interval apart must leave this much room, or they pile up.
func Overrun(maxDuration time.Duration, textfile bool) time.Duration {
	d := StopGrace(maxDuration)
	if textfile {
		d += FSCheckTimeout
	}
	return d
}

// Budget is a command's --max-duration, Max (0: none), and when it began
// to count, Start: at the command's start, not at its pass's, so that the
// checks made before the pass (CheckPaths, which wait for a hung mount)
// spend it as the pass does. An operator reads --max-duration as a bound
// on the run, and a cron interval is planned with it.
type Budget struct {
	Max   time.Duration
	Start time.Time
	// MinCheck is the least CheckPaths waits for the file system's
	// answers, however little of Max is left; 0: 100 ms. Tests
	// whose file system answers set it long, since on a loaded machine
	// an answer may come later than any fixed wait.
	MinCheck time.Duration
}

// NewBudget returns a budget of maxDuration (0: none) that starts now.
func NewBudget(maxDuration time.Duration) Budget {
	return Budget{Max: maxDuration, Start: time.Now()}
}

// Excluding returns b with d, time the command spent on purpose before
// its pass (--jitter's sleep), left out of it.
func (b Budget) Excluding(d time.Duration) Budget {
	b.Start = b.Start.Add(d)
	return b
}

// abandonAfter is how long after the budget's start Watchdog abandons a
// pass with the budget maxDuration (> 0): the budget plus StopGrace, saturating. A
// budget within StopGrace of the largest Duration (an operator's way of
// saying "no limit") wrapped the sum negative, and the timer then fired at
// once: the pass was abandoned as unresponsive (exit 4) before it began.
func abandonAfter(maxDuration time.Duration) time.Duration {
	grace := StopGrace(maxDuration)
	if maxDuration > math.MaxInt64-grace {
		return math.MaxInt64
	}
	return maxDuration + grace
}

// Watchdog runs pass, a whole pass over a store (opening it, the fleet
// lock, the work, closing it), under what is left of the budget b (none
// when b.Max is 0), and returns its error, and whether it abandoned the
// pass still running (the caller must then not read what the pass
// writes). A pass stops by itself between files once its context ends;
// but a call into a hung file server (an NFS hard mount whose server is
// unreachable) does not return until the server answers, which may be
// never. So Watchdog waits only StopGrace past the budget's end (counted
// from b.Start), or past an interruption of ctx, and then returns an
// error matching ErrUnresponsive (exit cmdutil.ExitUnresponsive), or the
// interruption's, leaving pass blocked in its goroutine: the caller
// reports and the process exits, which ends the blocked call.
//
// Nothing is left half-done: every change a pass makes is a single rename
// or removal, made whole or not at all. The fleet lock is a lock on a file
// descriptor, released when the process exits: at once for this host; on
// the server when it answers the release the kernel sends, or when this
// host's NFS lease expires while it is unreachable, whichever is first.
// Until then another host's pass finds it held and skips (exit 0).
func Watchdog(ctx context.Context, b Budget, pass func(context.Context) error) (abandoned bool, err error) {
	maxDuration := b.Max
	passCtx := ctx
	var budget <-chan time.Time
	if maxDuration > 0 {
		// What came before the pass spent part of the budget, never the
		// grace: CheckPaths gives up at the budget's end.
		spent := time.Since(b.Start)
		var cancel context.CancelFunc
		passCtx, cancel = context.WithTimeoutCause(ctx, maxDuration-spent, ErrBudgetSpent)
		defer cancel()
		t := time.NewTimer(abandonAfter(maxDuration) - spent) // abandonAfter saturates: no wrap
		defer t.Stop()
		budget = t.C
	}
	done := make(chan error, 1) // the pass may finish after Watchdog returned
	go func() { done <- pass(passCtx) }()
	unresponsive := func() (bool, error) {
		return true, cmdutil.Errorf(cmdutil.ExitUnresponsive,
			"%w: pass abandoned after %s (--max-duration %s, then %s to stop) in a call to the file server that did not return; every change is one atomic rename or removal, so nothing is half-done, and the fleet lock is released with this process",
			ErrUnresponsive, Elapsed(time.Since(b.Start)), maxDuration, StopGrace(maxDuration))
	}
	select {
	case err := <-done:
		return false, err
	case <-budget:
		return unresponsive()
	case <-ctx.Done():
	}
	grace := time.NewTimer(StopGrace(maxDuration))
	defer grace.Stop()
	select {
	case err := <-done:
		return false, err
	case <-budget:
		return unresponsive()
	case <-grace.C:
		return true, Interrupted(ctx, fmt.Sprintf("after %s, abandoning a call to the file server that did not return", Elapsed(time.Since(b.Start))))
	}
}
