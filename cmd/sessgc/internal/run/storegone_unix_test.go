//go:build unix

package run

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
)

// TestRunStoreRemovedMidPass: a store directory removed in the middle of
// a pass (rm -rf, or the share unmounted, which leaves the empty mount
// point) was reported as one readdir error of a shard and a store
// "swept", exit 1, with a warning that the fleet lock may have been lost
// and another host may have run the same pass; the shards after it,
// missing, are no error of the scan's (shards are made on first use).
// The pass now says that the store directory was removed or unmounted,
// sets stop_reason store-gone, and exits 3, without the fleet lock's
// warning.
func TestRunStoreRemovedMidPass(t *testing.T) {
	for _, tc := range []struct {
		name string
		json bool
		conc int
	}{
		{"human", false, 1},
		{"json concurrency 4", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := oneShardStoreIn(t, t.TempDir(), 2, 300)
			io, out, errb := testIO(nil)
			removed := false
			opts := RunOptions{IO: io, Dir: dir, Concurrency: tc.conc, Grace: time.Minute, TempAge: 10 * time.Minute, JSON: tc.json,
				removeWait: waitFunc(func(context.Context) error {
					if !removed {
						removed = true
						if err := os.RemoveAll(dir); err != nil {
							t.Errorf("remove the store: %v", err)
						}
					}
					return nil
				})}
			err := runRun(context.Background(), &opts)
			t.Logf("err: %v\nstdout: %s\nstderr: %s", err, out, errb)
			if got := cmdutil.ExitCode(err); got != cmdutil.ExitStore {
				t.Errorf("exit %d, want %d", got, cmdutil.ExitStore)
			}
			if err == nil || !strings.Contains(err.Error(), "the directory was removed, or the file system it is on was unmounted") {
				t.Errorf("error %v does not say the store was removed or unmounted", err)
			}
			if strings.Contains(errb.String(), "fleet lock") {
				t.Errorf("stderr speaks of the fleet lock:\n%s", errb)
			}
			if tc.json {
				var s Summary
				if err := json.Unmarshal(out.Bytes(), &s); err != nil {
					t.Fatalf("not one JSON object: %v\n%s", err, out)
				}
				if !s.StoppedEarly || s.StopReason != pass.StopStoreGone {
					t.Errorf("stopped_early %v, stop_reason %q; want true, %q", s.StoppedEarly, s.StopReason, pass.StopStoreGone)
				}
				return
			}
			if want := "\nsessgc: stopped early: the store directory was removed, or the file system it is on was unmounted"; !strings.Contains(out.String(), want) {
				t.Errorf("stdout %q lacks %q", out, want)
			}
		})
	}
}
