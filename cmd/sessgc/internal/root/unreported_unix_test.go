//go:build unix

package root

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// TestUnreportedWorkerEnd: what sessgc says and exits with for a worker
// that ended without reporting its exit code, by how it ended. A signal
// sessgc stops cleanly on (SIGTERM, SIGINT, SIGHUP, SIGPIPE) kills the
// worker only in the instant before it catches them, as it starts: that
// is an interruption, not a kill of its pid by someone, nor the
// out-of-memory killer, which are named for SIGKILL alone (SIGABRT comes
// from a crash under GOTRACEBACK=crash). The end-to-end tests
// (TestKilledWorker, TestCrashedWorker) cannot reach the instant before
// the worker catches a signal; here the worker is a shell that kills
// itself.
func TestUnreportedWorkerEnd(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		code         int
		want         string
		notWant      []string
	}{
		{"SIGTERM as it started", "kill -s TERM $$", 143, "sessgc: interrupted by SIGTERM as it started, before its work began", []string{"died of", "crashed"}},
		{"SIGPIPE as it started", "kill -s PIPE $$", 141, "sessgc: interrupted by SIGPIPE as it started", []string{"died of", "crashed"}},
		{"SIGKILL", "kill -s KILL $$", 137, "sessgc: the worker process died of SIGKILL (kill -9 of its pid, or the kernel's out-of-memory killer)", []string{"interrupted", "crashed"}},
		{"SIGABRT", "kill -s ABRT $$", 134, "sessgc: the worker process died of SIGABRT before", []string{"out-of-memory", "interrupted", "crashed"}},
		{"exit 2", "exit 2", cmdutil.ExitCrashed, "sessgc: the worker process crashed (exit status 2)", []string{"died of", "interrupted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := exec.Command("sh", "-c", tc.script).Run()
			var code int
			said := stderrOf(t, func() { code = unreported(err) })
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, said)
			}
			if !strings.Contains(said, tc.want) {
				t.Errorf("stderr %q, want %q", said, tc.want)
			}
			for _, w := range tc.notWant {
				if strings.Contains(said, w) {
					t.Errorf("stderr %q says %q", said, w)
				}
			}
		})
	}
}

// stderrOf returns what fn writes to os.Stderr.
func stderrOf(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	saved := os.Stderr
	os.Stderr = w
	func() {
		defer func() { os.Stderr = saved }()
		fn()
	}()
	w.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
