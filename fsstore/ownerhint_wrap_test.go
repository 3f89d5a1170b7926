package fsstore

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/ownerhint"
)

// An error that carries the owner hint already (a lock file's refusal,
// say, met again by the save that took the lock) is not given it twice.
func TestOwnerHintNotDoubled(t *testing.T) {
	dir := t.TempDir()
	perm := &fs.PathError{Op: "open", Path: dir + "/locks/x", Err: fs.ErrPermission}
	once := withOwnerHint(dir, perm)
	hint := ownerHint(dir, perm)
	if hint == "" {
		t.Fatal("no owner hint for a permission error")
	}
	err := withOwnerHint(dir, fmt.Errorf("fsstore: lock: %w", once))
	if n := strings.Count(err.Error(), hint); n != 1 {
		t.Errorf("hint given %d times in %q; want once", n, err)
	}
	var h *ownerhint.Error
	if !errors.As(err, &h) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("%v: not an ownerhint.Error, or not fs.ErrPermission", err)
	}
}
