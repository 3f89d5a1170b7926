package fsstore_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

var idRef = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)

// FuzzValidID: ValidID agrees with the reference expression on every input
// and never panics; its error always matches ErrInvalidID.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"", "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaa", "../../etc/passwd", "aaaaaaaaaaaaaaa\x00", "sessión-aaaaaaaaaaaa", "AZaz09_-AZaz09_-", "aaaaaaaaaaaaaaaa\n"} {
		f.Add(s)
	}
	id, _ := fsstore.NewID()
	f.Add(id)
	f.Fuzz(func(t *testing.T, s string) {
		err := fsstore.ValidID(s)
		if want := idRef.MatchString(s); (err == nil) != want {
			t.Fatalf("ValidID(%q) = %v, reference says valid=%v", s, err, want)
		}
		if err != nil && !errors.Is(err, fsstore.ErrInvalidID) {
			t.Fatalf("ValidID(%q) = %v, does not match ErrInvalidID", s, err)
		}
	})
}

// TestValidIDNamesFirstBadByte: ValidID's error names the first byte
// outside the alphabet wherever it is, in a group of eight it checks at
// once or in the tail it checks byte by byte, with a second bad byte after
// it in the same group or the next.
func TestValidIDNamesFirstBadByte(t *testing.T) {
	for _, n := range []int{16, 17, 23, 24, 43, 128} {
		for p := 0; p < n; p++ {
			for _, bad := range []byte{'/', 0, 0x80, '=', '.'} {
				b := []byte(strings.Repeat("aZ0-_", 26)[:n])
				b[p] = bad
				if q := p + 3; q < n {
					b[q] = '/'
				}
				err := fsstore.ValidID(string(b))
				if want := fmt.Sprintf("byte %d is not", p); err == nil || !errors.Is(err, fsstore.ErrInvalidID) || !strings.Contains(err.Error(), want) {
					t.Fatalf("length %d, byte %d = %#x: ValidID = %v, want ErrInvalidID naming %q", n, p, bad, err, want)
				}
			}
		}
	}
}

func TestNewIDIsValid(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := newID(t)
		if err := fsstore.ValidID(id); err != nil || len(id) != 43 {
			t.Fatalf("NewID() = %q (%d chars): %v", id, len(id), err)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}
