// Package bytesize reads and prints sessbench's payload sizes, so that every
// output (the progress line, the tables, the verdict, the charts) names a
// size the same way, and the way --size takes it.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Max is the largest size Parse accepts: 64 MiB, fsstore's largest
// WithMaxSize.
const Max = 64 << 20

// Parse parses a payload size: a byte count with an optional unit B,
// K/KB/KiB or M/MB/MiB (all binary), at most Max.
func Parse(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	low := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"kib", 1 << 10}, {"kb", 1 << 10}, {"k", 1 << 10}, {"mib", 1 << 20}, {"mb", 1 << 20}, {"m", 1 << 20}, {"b", 1}} {
		if strings.HasSuffix(low, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || n < 0 || n > Max/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 512, 1KiB, 16KiB, up to 64MiB)", s)
	}
	return n * mult, nil
}

// Format prints a payload size exactly, as Parse reads it back: "512B",
// "1KiB", "16KiB", "1MiB", and "1500B" for one that is no whole number of
// KiB. Rounded ("1.5KiB"), two sizes of one run (1500 and 1536 bytes)
// would be printed alike, and their rows could not be told apart.
func Format(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
