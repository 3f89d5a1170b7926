package httppeers

import "testing"

// TestFormatNS: the markdown table's latencies keep their form when a
// rounding reaches the next power of ten: 999.6 µs is 1.00 ms, not
// "1000 µs" beside a "1.00 ms" in the next row, and 9.96 µs is 10 µs. From
// 1 s on they are in s, as sessbench run's table prints them: a p99 was
// "3456.79 ms". An exact half rounds up at every precision, as
// report.FormatDuration rounds (TestFormatHalvesRoundUp).
func TestFormatNS(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{5_300, "5.3 µs"}, {59_000, "59 µs"}, {362_000, "362 µs"}, {1_500_000, "1.50 ms"},
		{9_940, "9.9 µs"}, {9_960, "10 µs"}, {9_999, "10 µs"},
		{999_499, "999 µs"}, {999_500, "1.00 ms"}, {999_999, "1.00 ms"},
		{3_456_789_000, "3.46 s"}, {999_994_999, "999.99 ms"}, {999_995_000, "1.00 s"}, {61_234_567_890, "61.23 s"},
		// Exact halves, up.
		{1_250, "1.3 µs"}, {9_950, "10 µs"}, {12_500, "13 µs"}, {1_235_000, "1.24 ms"}, {9_995_000, "10.00 ms"},
		{1_235_000_000, "1.24 s"}, {-1_250, "-1.3 µs"},
	}
	for _, tt := range tests {
		if got := FormatNS(tt.ns); got != tt.want {
			t.Errorf("FormatNS(%d) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}
