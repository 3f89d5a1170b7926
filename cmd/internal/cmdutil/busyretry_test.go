package cmdutil

import (
	"errors"
	"testing"
	"time"
)

// TestRetryBusy: a refusal busy reports is tried again, waiting longer
// each time, until it passes or the waits would pass the patience; any
// other error ends the tries at once. WriteFile's rename on Windows failed
// at the first refusal, from a virus scanner holding the file a moment.
func TestRetryBusy(t *testing.T) {
	errBusy := errors.New("busy")
	errOther := errors.New("other")
	const ms, patience = time.Millisecond, 100 * time.Millisecond
	for _, tc := range []struct {
		name      string
		answers   []error // op's answers in turn; the last one repeats
		wantErr   error
		wantCalls int
		wantWaits []time.Duration
	}{
		{"at once", []error{nil}, nil, 1, nil},
		{"busy twice", []error{errBusy, errBusy, nil}, nil, 3, []time.Duration{ms, 2 * ms}},
		{"other error", []error{errOther}, errOther, 1, nil},
		{"busy, then other", []error{errBusy, errOther}, errOther, 2, []time.Duration{ms}},
		{"busy for good", []error{errBusy}, errBusy, 7, []time.Duration{ms, 2 * ms, 4 * ms, 8 * ms, 16 * ms, 32 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			op := func() error {
				calls++
				return tc.answers[min(calls, len(tc.answers))-1]
			}
			var waits []time.Duration
			wait := func(d time.Duration) { waits = append(waits, d) }
			err := retryBusy(op, func(err error) bool { return errors.Is(err, errBusy) }, patience, wait)
			want := tc.wantWaits
			if !errors.Is(err, tc.wantErr) || err != nil && tc.wantErr == nil {
				t.Errorf("retryBusy = %v, want %v", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Errorf("op called %d times, want %d", calls, tc.wantCalls)
			}
			if len(waits) != len(want) {
				t.Fatalf("waits %v, want %v", waits, want)
			}
			var sum time.Duration
			for i := range waits {
				sum += waits[i]
				if waits[i] != want[i] {
					t.Errorf("waits %v, want %v", waits, want)
					break
				}
			}
			if sum > patience {
				t.Errorf("waited %s in all, past the patience %s", sum, patience)
			}
		})
	}
}

// TestRetryBusyWaitsCapped: the waits stop doubling at 250 ms and add up
// to no more than the patience.
func TestRetryBusyWaitsCapped(t *testing.T) {
	errBusy := errors.New("busy")
	var waits []time.Duration
	var sum time.Duration
	err := retryBusy(func() error { return errBusy }, func(error) bool { return true }, busyPatience,
		func(d time.Duration) { waits = append(waits, d); sum += d })
	if !errors.Is(err, errBusy) {
		t.Fatalf("retryBusy = %v, want the busy error", err)
	}
	if sum > busyPatience || sum+250*time.Millisecond <= busyPatience {
		t.Errorf("waited %s in all (%v), want the most that stays within %s", sum, waits, busyPatience)
	}
	for _, d := range waits {
		if d > 250*time.Millisecond {
			t.Errorf("a wait of %s, want at most 250ms: %v", d, waits)
		}
	}
}
