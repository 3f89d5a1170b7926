package bytesize

import (
	"strconv"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{{"0", 0}, {"512", 512}, {"512B", 512}, {"1k", 1024}, {"1KiB", 1024}, {"16KB", 16384}, {"2m", 2 << 20}, {" 3 KiB ", 3072}, {"64MiB", Max}}
	for _, tt := range tests {
		if got, err := Parse(tt.in); err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "k", "-1", "1.5k", "1GiB", "65MiB"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0B"}, {512, "512B"}, {1023, "1023B"}, {1024, "1KiB"}, {1500, "1500B"}, {1536, "1536B"},
		{16384, "16KiB"}, {1 << 20, "1MiB"}, {1<<20 + 1024, "1025KiB"}, {Max, "64MiB"},
	}
	for _, tt := range tests {
		if got := Format(tt.n); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// FuzzParse: --size is user input. Parse never panics, accepts only sizes
// from 0 to Max, a size it accepts reads back the same written as a byte
// count, and Format prints every size as Parse reads it back, so that two
// sizes are never printed alike.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"512", "1KiB", "16kb", "64MiB", "65MiB", "1GiB", " 2 k ", "-1", "9223372036854775807k", "b", "", "1500", "1536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		if n < 0 || n > Max {
			t.Fatalf("Parse(%q) = %d, outside 0..64MiB", s, n)
		}
		if m, err := Parse(strconv.Itoa(n)); err != nil || m != n {
			t.Fatalf("Parse(%q) = %d, but %d reads back as %d, %v", s, n, n, m, err)
		}
		if m, err := Parse(Format(n)); err != nil || m != n {
			t.Fatalf("Format(%d) = %q, which reads back as %d, %v", n, Format(n), m, err)
		}
	})
}
