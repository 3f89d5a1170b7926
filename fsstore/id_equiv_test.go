package fsstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// refValidID is ValidID as a byte-by-byte loop, the reference its
// eight-bytes-at-a-time check must agree with, error text included.
func refValidID(id string) string {
	if len(id) < fsstore.MinIDLen || len(id) > fsstore.MaxIDLen {
		return fmt.Sprintf("%v: length %d outside %d..%d", fsstore.ErrInvalidID, len(id), fsstore.MinIDLen, fsstore.MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Sprintf("%v: byte %d is not in [A-Za-z0-9_-]", fsstore.ErrInvalidID, i)
		}
	}
	return ""
}

// TestValidIDMatchesByteLoop: ValidID says what a byte-by-byte check says
// for every byte value at every position of IDs whose lengths straddle the
// eight-byte groups and the limits, and for two bytes changed at every pair
// of positions up to nine apart (the second bad byte in the first's group
// or the next) with the byte values at the edges of the alphabet's ranges.
func TestValidIDMatchesByteLoop(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		got := ""
		if err := fsstore.ValidID(string(b)); err != nil {
			got = err.Error()
		}
		if want := refValidID(string(b)); got != want {
			t.Fatalf("ValidID(%q) = %q, byte loop says %q", b, got, want)
		}
	}
	alphabet := strings.Repeat("aZ0-_zA9", fsstore.MaxIDLen)
	for _, n := range []int{0, 1, 7, 8, 9, fsstore.MinIDLen - 1, fsstore.MaxIDLen + 1} {
		check([]byte(alphabet[:n]))
	}
	for _, n := range []int{16, 17, 23, 24, 25, 31, 32, 33, 43, 63, 64, 65, 127, 128} {
		b := []byte(alphabet[:n])
		check(b)
		for p := 0; p < n; p++ {
			for c := 0; c < 256; c++ {
				b[p] = byte(c)
				check(b)
			}
			b[p] = alphabet[p]
		}
	}
	// Each side of every range's edges, and bytes of UTF-8 and NUL.
	edges := []byte{'a', 'z', 'A', 'Z', '0', '9', '-', '_', '`', '{', '@', '[', '/', ':', ',', '.', '^', 0, 0x7f, 0x80, 0xff}
	seconds := []byte{'a', '_', '/', '{', 0, 0x80}
	for _, n := range []int{16, 24, 43} {
		b := []byte(alphabet[:n])
		for p := 0; p < n; p++ {
			for q := p + 1; q < n && q <= p+9; q++ {
				for _, x := range edges {
					for _, y := range seconds {
						b[p], b[q] = x, y
						check(b)
					}
				}
				b[q] = alphabet[q]
			}
			b[p] = alphabet[p]
		}
	}
}
