package run

import (
	"strconv"
	"testing"
)

// FuzzParseSize: --size is user input. ParseSize never panics, accepts
// only sizes from 0 to 64 MiB, and a size it accepts reads back the same
// written as a byte count.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"512", "1KiB", "16kb", "64MiB", "65MiB", "1GiB", " 2 k ", "-1", "9223372036854775807k", "b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > 64<<20 {
			t.Fatalf("ParseSize(%q) = %d, outside 0..64MiB", s, n)
		}
		if m, err := ParseSize(strconv.Itoa(n)); err != nil || m != n {
			t.Fatalf("ParseSize(%q) = %d, but %d reads back as %d, %v", s, n, n, m, err)
		}
	})
}
