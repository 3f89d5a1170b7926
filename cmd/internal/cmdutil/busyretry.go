package cmdutil

import "time"

// busyPatience is how long WriteFile keeps retrying a rename that Windows
// refuses for the moment (see writefile_windows.go). Go's own toolchain
// retries so for 2 s (its robustio package): a virus scanner, the search
// indexer or a backup agent that opens the old file for a moment, without
// sharing delete access, makes the rename over it fail with "Access is
// denied" or a sharing violation until it closes the file.
const busyPatience = 2 * time.Second

// retryBusy calls op until it succeeds, fails with an error busy does not
// report, or the next wait would take the waits past patience; it returns
// op's last error. wait sleeps between the calls (time.Sleep, or a test's
// stand-in): 1 ms first, each wait twice the last, at most 250 ms, so a
// refusal that passes at once costs a millisecond and one that stays costs
// patience.
func retryBusy(op func() error, busy func(error) bool, patience time.Duration, wait func(time.Duration)) error {
	next, waited := time.Millisecond, time.Duration(0)
	for {
		err := op()
		if err == nil || !busy(err) || waited+next > patience {
			return err
		}
		wait(next)
		waited += next
		next = min(2*next, 250*time.Millisecond)
	}
}
