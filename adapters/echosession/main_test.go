package echosession_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/storetest"
)

// TestMain skips the package's tests where the store does not run
// (Windows): they all need one.
func TestMain(m *testing.M) {
	storetest.ExitIfUnsupported("adapters/echosession")
	os.Exit(m.Run())
}
