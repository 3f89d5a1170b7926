package fsstore

import "testing"

func TestFitWorkers(t *testing.T) {
	for _, tc := range []struct {
		workers, limit, open, want int
	}{
		{64, 1 << 20, 12, 64}, // a generous limit takes the concurrency asked
		{64, 16, 12, 1},       // nothing to spare: one worker all the same
		{64, 30, 12, 1},       // 30 - 12 - 7 - 8 = 3: one worker's worth
		{64, 64, 12, 9},       // 64 - 12 - 16 - 8 = 28
		{4, 64, 12, 4},        // fewer asked than fit
		{64, 1024, 12, 64},    // the usual soft limit
		{64, 256, 200, 1},     // the caller's own descriptors leave little
		{2, 10, 20, 1},        // already over the limit: still one
	} {
		if got := fitWorkers(tc.workers, tc.limit, tc.open); got != tc.want {
			t.Errorf("fitWorkers(%d, limit %d, open %d) = %d, want %d", tc.workers, tc.limit, tc.open, got, tc.want)
		}
	}
}
