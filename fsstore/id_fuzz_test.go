package fsstore_test

import (
	"errors"
	"regexp"
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
