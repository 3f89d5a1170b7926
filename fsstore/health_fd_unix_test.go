//go:build unix

package fsstore_test

import (
	"strconv"
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

// TestOpsOutOfDescriptors: every operation that opens files, failing for
// want of a descriptor (EMFILE), says what Health says: what to do on this
// host, once. Each still matches EMFILE, and none but Health matches
// ErrUnavailable (httpsession answers 503 for EMFILE all the same). They
// said only "too many open files", with no word that the limit is this
// process's, nor how to raise it.
func TestOpsOutOfDescriptors(t *testing.T) {
	kid := proctest.Start(t, "TestLockKeysHelper", lockKeysEnv, "ops", []string{"STORE_DIR=" + t.TempDir(), "STORE_NOFILE=64"})
	ops := []string{"open", "load", "save", "touch", "delete", "cas", "lock", "trylock", "locked-load", "stats", "sweep", "range", "health"}
	for _, op := range ops {
		got := kid.Expect(t, "op ")
		if !strings.HasPrefix(got, "op "+op+" ") {
			t.Fatalf("child said %s; want op %s", got, op)
		}
		want := "op " + op + " emfile=true unavailable=" + strconv.FormatBool(op == "health") + " "
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s out of descriptors: %s; want it to match EMFILE, and ErrUnavailable only for health", op, got)
		}
		if n := strings.Count(got, "raise its open-file limit (LimitNOFILE= in its systemd unit, ulimit -n in the shell that starts it"); n != 1 {
			t.Errorf("%s out of descriptors: %s; want it to say once to raise the open-file limit, said %d times", op, got, n)
		}
	}
	kid.Finish(t)
}
