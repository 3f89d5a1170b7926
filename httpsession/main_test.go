package httpsession_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/internal/storetest"
)

// TestMain boots TestNFSOutage's guest at once, beside the other tests,
// rather than once they are done, when NFSTEST_EARLY=1 asks for it (see
// nfstest.Start): it takes minutes of the machine-wide guest lock.
func TestMain(m *testing.M) {
	// Every test serves sessions from a store (Windows has none).
	storetest.ExitIfUnsupported("httpsession")
	wait := nfstest.Start(nfstest.Early{Test: "TestNFSOutage", Config: outageGuest})
	code := m.Run()
	wait()
	os.Exit(code)
}
