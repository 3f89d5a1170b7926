//go:build unix

package fsstore_test

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/proctest"
)

// TestHealthOutOfDescriptors: a process out of file descriptors (EMFILE)
// fails Health, which matches ErrUnavailable and EMFILE, and its words say
// what to do on this host (raise the open-file limit: LimitNOFILE=,
// ulimit -n) and do not blame the file system. They were
// ErrUnavailable's, "the filesystem did not answer in time or the circuit
// breaker is open", which sent the operator to a file server with nothing
// wrong.
func TestHealthOutOfDescriptors(t *testing.T) {
	kid := proctest.Start(t, "TestLockKeysHelper", lockKeysEnv, "health", []string{"STORE_DIR=" + t.TempDir(), "STORE_NOFILE=64"})
	got := kid.Expect(t, "health ")
	kid.Finish(t)
	if !strings.HasPrefix(got, "health true true ") {
		t.Errorf("Health out of descriptors: %s; want an error matching ErrUnavailable and EMFILE", got)
	}
	for _, want := range []string{"EMFILE", "LimitNOFILE=", "ulimit -n", "not a fault of the file system"} {
		if !strings.Contains(got, want) {
			t.Errorf("Health out of descriptors: %s; want it to say %q", got, want)
		}
	}
	if strings.Contains(got, "the filesystem did not answer") {
		t.Errorf("Health out of descriptors: %s; want no word blaming the file system", got)
	}
}
