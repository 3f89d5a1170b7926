package pass

import (
	"context"
	"fmt"
	"io/fs"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
)

// TestRunStopsReadOnlyEveryCode: a pass whose store refused a write as
// read-only stops with stop_reason read-only and exit 3 for every code
// the system has for it, as fsstore's scans stop for each (fserr). Run
// matched syscall.EROFS alone, which Windows's ERROR_WRITE_PROTECT (what
// its file operations return for a write-protected volume) is not: the
// pass stopped there, and sessgc called the store unusable, without the
// stop reason, the summary's line or the docs' section.
func TestRunStopsReadOnlyEveryCode(t *testing.T) {
	codes := fserr.ReadOnlyErrnos()
	if len(codes) == 0 {
		t.Skip("no read-only file system code on this system")
	}
	if !cmdutil.StoreRuns {
		// Windows has codes, but no store to run a pass on: the Wine
		// run of the test binaries failed here at fsstore.Open.
		t.Skip("the store does not run on this platform")
	}
	for _, code := range codes {
		t.Run(code.Error(), func(t *testing.T) {
			s, err := fsstore.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := Run(context.Background(), s, Limits{LockName: ".sessgc"}, func(context.Context) error {
				return fmt.Errorf("fsstore: sweep: stopped: %w", &fs.PathError{Op: "remove", Path: "data/00/x", Err: code})
			})
			if got := cmdutil.ExitCode(err); got != cmdutil.ExitStore || out.StopReason != StopReadOnly || !out.StoppedEarly {
				t.Errorf("exit %d (%v), stop reason %q; want %d, %q", got, err, out.StopReason, cmdutil.ExitStore, StopReadOnly)
			}
		})
	}
}
