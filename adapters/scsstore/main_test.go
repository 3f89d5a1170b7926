package scsstore_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/storetest"
)

// TestMain skips the package's tests where the store does not run
// (Windows): they all need one.
func TestMain(m *testing.M) {
	storetest.ExitIfUnsupported("adapters/scsstore")
	os.Exit(m.Run())
}
