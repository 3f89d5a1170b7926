package nfstest

import "testing"

// The budget holds the median repetition: an odd count's middle one, the
// mean of the two middle ones of an even count, whatever the order.
func TestMedianRPCs(t *testing.T) {
	for _, tc := range []struct {
		in   []uint64
		want float64
	}{
		{nil, 0},
		{[]uint64{6}, 6},
		{[]uint64{14, 11, 11}, 11},
		{[]uint64{12, 11, 14, 11}, 11.5},
		{[]uint64{6, 6, 5, 6, 11, 5, 6}, 6},
	} {
		if got := medianRPCs(tc.in); got != tc.want {
			t.Errorf("medianRPCs(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
