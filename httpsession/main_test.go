package httpsession_test

import (
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestMain boots TestNFSOutage's guest at once, beside the other tests,
// rather than once they are done: it takes minutes of the machine-wide
// guest lock, which other packages' guests may hold first.
func TestMain(m *testing.M) {
	wait := nfstest.Start(nfstest.Early{Test: "TestNFSOutage", Config: outageGuest})
	code := m.Run()
	wait()
	os.Exit(code)
}
