package nfstest_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestMain boots TestHarness's guest at once, beside the package's other
// tests, when NFSTEST_EARLY=1 asks for it (see nfstest.Start): reached in
// its turn, the test asked for the machine-wide guest lock some 20 s after
// the guest before it was done, found it free, and booted on it (27 s of
// a loaded machine's guest lock for 10 s of scenarios).
func TestMain(m *testing.M) {
	wait := nfstest.Start(nfstest.Early{Test: "TestHarness", Config: harnessGuest})
	code := m.Run()
	wait()
	os.Exit(code)
}
