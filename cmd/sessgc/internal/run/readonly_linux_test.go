package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestRunStopsWhenReadOnly: a mount that the kernel turns read-only in
// the middle of a pass (ext4's errors=remount-ro after a disk error, an
// NFS or EFS mount made ro) refuses every later removal as it refused
// the first. The pass went on through every expired record left, one
// EROFS error each (35,775 of them in a 40,000-record test), and exited 1
// with "N files ... could not be examined or removed", as for a few bad
// files. It now stops at the first refusal, reports that one alone, says
// that the file system turned read-only, and exits 3, as a run on a store read-only from the
// start does; stop_reason "read-only" in JSON.
func TestRunStopsWhenReadOnly(t *testing.T) {
	storetest.Skip(t)
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount an ext4 image and make the kernel remount it read-only mid-pass")
	}
	const expired = 300 // more than a batch of removals (64), whose callbacks run after it
	for _, tc := range []struct {
		name string
		json bool
		conc int
	}{
		{"human", false, 1},
		{"json", true, 1},
		{"json concurrency 4", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A real ext4 that the kernel remounts read-only on an error,
			// as it does on a failing disk: a bind mount cannot be made
			// read-only while the pass holds files open for writing (its
			// lock files), the kernel's own remount can.
			root := testenv.MountImage(t, 32<<20, "ext4", "errors=remount-ro", "mkfs.ext4", "-q", "-F")
			trigger := testenv.Ext4ErrorTrigger(t, root)
			mnt := filepath.Join(root, "sessions")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			oneShardStoreIn(t, mnt, 2, expired)
			io, out, errb := testIO(nil)
			turned := false
			opts := RunOptions{IO: io, Dir: mnt, Concurrency: tc.conc, Grace: time.Minute, TempAge: 10 * time.Minute, JSON: tc.json,
				removeWait: waitFunc(func(context.Context) error {
					// After the first removal, as the kernel would after
					// an I/O error: every later write is refused.
					if !turned {
						turned = true
						if err := os.WriteFile(trigger, []byte("1"), 0); err != nil {
							t.Errorf("trigger an ext4 error: %v", err)
						}
					}
					return nil
				})}
			err := runRun(context.Background(), &opts)
			t.Logf("err: %v\nstdout: %s\nstderr: %s", err, out, errb)
			if got := cmdutil.ExitCode(err); got != cmdutil.ExitStore {
				t.Errorf("exit %d (%v), want %d, as for a store read-only from the start", got, err, cmdutil.ExitStore)
			}
			if err == nil || !strings.Contains(err.Error(), "read-only") {
				t.Errorf("error %v does not say that the file system turned read-only", err)
			}
			if tc.json {
				var s Summary
				if err := json.Unmarshal(out.Bytes(), &s); err != nil {
					t.Fatalf("not one JSON object: %v\n%s", err, out)
				}
				if !s.StoppedEarly || s.StopReason != "read-only" || s.ExitCode != cmdutil.ExitStore {
					t.Errorf("summary stopped_early %v, stop_reason %q, exit_code %d; want true, read-only, %d", s.StoppedEarly, s.StopReason, s.ExitCode, cmdutil.ExitStore)
				}
				// The first refusal alone: not another worker's, nor the
				// unlinks of the records moved aside before it.
				if s.Errors != 1 || s.Removed < 1 {
					t.Errorf("summary errors %d, removed %d; want 1 error, the removals before the remount counted", s.Errors, s.Removed)
				}
				return
			}
			if want := "\nsessgc: stopped early: a write in the store was refused as read-only on this host"; !strings.Contains(out.String(), want) {
				t.Errorf("stdout %q lacks %q", out, want)
			}
			if n := strings.Count(errb.String(), "read-only file system"); n != 1 {
				t.Errorf("stderr names %d refused removals, want 1:\n%s", n, errb)
			}
		})
	}
}
