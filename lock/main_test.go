package lock_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestMain boots TestNFSLocks's guest at once, beside the package's other
// tests, when NFSTEST_EARLY=1 asks for it (see nfstest.Start): reached in
// its turn, the test waited minutes for the machine-wide guest lock while
// the tests after it waited for the test, and ran for a minute after its
// guest, the last of CI's, was done: the tail of the whole go test.
func TestMain(m *testing.M) {
	wait := nfstest.Start(nfsGuests...)
	code := m.Run()
	wait()
	os.Exit(code)
}
