//go:build windows

package lock_test

import (
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestNameIsOnePathElement: on Windows a backslash separates paths and a
// colon names a drive or a stream, so names with them could reach outside
// the lock directory (it is joined with filepath.Join, which also cleans
// the ".."). They are refused there.
func TestNameIsOnePathElement(t *testing.T) {
	tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: lock.Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	for _, name := range []string{`x\..\..\escaped`, `C:escaped`, `x:stream`} {
		if h, err := tab.TryLock(name, "k", lock.Exclusive); err == nil {
			h.Unlock()
			t.Errorf("TryLock(%q) accepted a name that is not one path element here", name)
		}
	}
}
