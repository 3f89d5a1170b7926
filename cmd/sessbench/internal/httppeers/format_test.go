package httppeers

import "testing"

// TestFormatNS: the markdown table's latencies keep their form when a
// rounding reaches the next power of ten: 999.6 µs is 1.00 ms, not
// "1000 µs" beside a "1.00 ms" in the next row, and 9.96 µs is 10 µs.
func TestFormatNS(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{5_300, "5.3 µs"}, {59_000, "59 µs"}, {362_000, "362 µs"}, {1_500_000, "1.50 ms"},
		{9_940, "9.9 µs"}, {9_960, "10 µs"}, {9_999, "10 µs"},
		{999_499, "999 µs"}, {999_500, "1.00 ms"}, {999_999, "1.00 ms"},
		{3_456_789_000, "3456.79 ms"},
	}
	for _, tt := range tests {
		if got := FormatNS(tt.ns); got != tt.want {
			t.Errorf("FormatNS(%d) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}
