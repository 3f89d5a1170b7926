package report_test

import (
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/httppeers"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
)

// TestFormatHalvesRoundUp: sessbench run's figures (FormatDuration, three
// significant digits) and http's (httppeers.FormatNS, a tenth of a µs, a
// whole µs, a hundredth of a ms or s) round an exact half by one rule, up.
// FormatNS rounded by the float's binary value, to even: 1.25 µs was
// "1.2 µs" where FormatDuration's 1.005 ms is "1.01ms". Each value is an
// exact half at one formatter's precision, or a bound where the rounding
// takes the next form.
func TestFormatHalvesRoundUp(t *testing.T) {
	for _, tc := range []struct {
		ns        int64
		run, http string // FormatDuration, FormatNS
	}{
		{1_005, "1.01µs", "1.0 µs"},
		{1_250, "1.25µs", "1.3 µs"},
		{9_950, "9.95µs", "10 µs"},
		{9_995, "10.0µs", "10 µs"},
		{12_500, "12.5µs", "13 µs"},
		{100_500, "101µs", "101 µs"},
		{999_500, "1.00ms", "1.00 ms"},
		{1_005_000, "1.01ms", "1.01 ms"},
		{1_235_000, "1.24ms", "1.24 ms"},
		{9_995_000, "10.0ms", "10.00 ms"},
		{12_345_000, "12.3ms", "12.35 ms"},
		{999_500_000, "1.00s", "999.50 ms"},
		{999_995_000, "1.00s", "1.00 s"},
		{1_235_000_000, "1.24s", "1.24 s"},
		{2_345_000_000, "2.35s", "2.35 s"},
		{99_950_000_000, "100s", "99.95 s"},
	} {
		if got := report.FormatDuration(time.Duration(tc.ns)); got != tc.run {
			t.Errorf("FormatDuration(%d) = %q, want %q", tc.ns, got, tc.run)
		}
		if got := httppeers.FormatNS(tc.ns); got != tc.http {
			t.Errorf("FormatNS(%d) = %q, want %q", tc.ns, got, tc.http)
		}
	}
}
