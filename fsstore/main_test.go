package fsstore_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestMain skips the whole suite where the store does not run: every test
// needs a store, and Open there fails with ErrNotSupported by design. An
// Open that fails otherwise there, or a platform where Open works, runs
// the suite.
func TestMain(m *testing.M) {
	s, err := fsstore.Open(os.TempDir(), fsstore.WithCreate(false))
	if s != nil {
		s.Close()
	}
	if errors.Is(err, fsstore.ErrNotSupported) {
		fmt.Fprintf(os.Stderr, "fsstore tests skipped: %v\n", err)
		os.Exit(0)
	}
	// With NFSTEST_EARLY=1 the NFS tests' guests run beside the other
	// tests rather than after them (see nfstest.Start).
	wait := nfstest.Start(nfsGuests...)
	code := m.Run()
	wait()
	os.Exit(code)
}
