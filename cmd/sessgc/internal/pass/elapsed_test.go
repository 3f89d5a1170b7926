package pass

import (
	"testing"
	"time"
)

// TestElapsed: a pass shorter than a millisecond (an empty store, a small
// one on a local disk) is "<1ms", not the "0s" rounding gave, as if it had
// not run; longer ones are rounded to the millisecond.
func TestElapsed(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Nanosecond, "<1ms"},
		{400 * time.Microsecond, "<1ms"},
		{999 * time.Microsecond, "<1ms"},
		{time.Millisecond, "1ms"},
		{1500 * time.Microsecond, "2ms"},
		{4*time.Second + 200*time.Millisecond + 400*time.Microsecond, "4.2s"},
	} {
		if got := Elapsed(tc.d); got != tc.want {
			t.Errorf("Elapsed(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := ElapsedSecs(0.0004); got != "<1ms" {
		t.Errorf("ElapsedSecs(0.0004) = %q, want <1ms", got)
	}
}
