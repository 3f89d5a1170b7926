// Package storetest lets the tests of packages built on fsstore skip where
// the store does not run (Windows: fsstore.Open fails with
// fsstore.ErrNotSupported by design), rather than fail there.
package storetest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Unsupported returns the error fsstore.Open gives where the store does not
// run on this platform, nil where it does.
func Unsupported() error { return unsupported() }

var unsupported = sync.OnceValue(func() error {
	s, err := fsstore.Open(os.TempDir(), fsstore.WithCreate(false))
	if s != nil {
		s.Close()
	}
	if errors.Is(err, fsstore.ErrNotSupported) {
		return err
	}
	return nil
})

// ExitIfUnsupported, called first in a TestMain whose package's tests all
// need a store, exits 0 saying so where the store does not run.
func ExitIfUnsupported(pkg string) {
	if err := Unsupported(); err != nil {
		fmt.Fprintf(os.Stderr, "%s tests skipped: %v\n", pkg, err)
		os.Exit(0)
	}
}

// Skip skips t where the store does not run: t needs one.
func Skip(t testing.TB) {
	t.Helper()
	if err := Unsupported(); err != nil {
		t.Skipf("needs a store: %v", err)
	}
}
