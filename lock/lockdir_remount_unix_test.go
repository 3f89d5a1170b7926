//go:build unix

package lock_test

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/lock"
)

// TestLockDirReplacedOnOtherMountLimits: a lock directory replaced by
// one on another mount (a local directory by AWS EFS, EFS by a local
// one), met by a take. The table's reopen applies the new mount to what
// NewTable derived from the old one: the default MaxHeld (128 on EFS,
// where a mount locks at most 256 file-process pairs for all its
// processes) and EFS(); a MaxHeld the caller set stays. The reopen
// probed the new mount for its strategy but kept the old one's cap: a
// store moved onto EFS went on taking up to 1024 locks there. EFS is
// stood for by the mount look (no test mounts it); the FUSE case runs
// on a real mount (TestLockDirReplacedByFUSEMountReportsFlockOnFUSE).
func TestLockDirReplacedOnOtherMountLimits(t *testing.T) {
	local := mountinfo.Mount{FSType: "ext4", Source: "/dev/sda1", Options: "rw"}
	efs := mountinfo.Mount{FSType: "nfs4", Source: "fs-0123abcd.efs.us-east-1.amazonaws.com:/", Options: "rw,vers=4.1,local_lock=none"}
	for _, tc := range []struct {
		name      string
		from, to  mountinfo.Mount
		maxHeld   int // Config.MaxHeld
		wantEFS   bool
		wantCapIs string // "efs", "local" or "asked": the cap after the reopen
	}{
		{"local to EFS", local, efs, 0, true, "efs"},
		{"EFS to local", efs, local, 0, false, "local"},
		{"local to EFS, MaxHeld set", local, efs, 7, true, "asked"},
		{"EFS to local, MaxHeld set", efs, local, 7, false, "asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newLockDir(t)
			var moved atomic.Bool
			lookup := func(string) (mountinfo.Mount, error) {
				if moved.Load() {
					return tc.to, nil
				}
				return tc.from, nil
			}
			tab, err := lock.NewTableWithMounts(lock.Config{Dir: dir, Strategy: lock.Flock, MaxHeld: tc.maxHeld, VerifyAfter: time.Nanosecond}, lookup)
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			// The caps of the two mounts, as NewTable sets them here
			// (bounded by the descriptor limit).
			caps := map[string]int{"asked": tc.maxHeld}
			for name, m := range map[string]mountinfo.Mount{"local": local, "efs": efs} {
				probe, err := lock.NewTableWithMounts(lock.Config{Dir: newLockDir(t), Strategy: lock.Flock}, func(string) (mountinfo.Mount, error) { return m, nil })
				if err != nil {
					t.Fatal(err)
				}
				caps[name] = probe.MaxHeld()
				probe.Close()
			}
			if caps["local"] == caps["efs"] {
				t.Skipf("the descriptor limit caps MaxHeld at %d on both mounts", caps["local"])
			}

			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			moved.Store(true)
			h, err := tab.TryLock("s1", "k", lock.Exclusive)
			if err != nil {
				t.Fatalf("take in the directory made anew on the other mount: %v", err)
			}
			defer h.Unlock()
			if n := tab.ReopenTriesForTest(); n != 1 {
				t.Fatalf("reopens: %d, want 1", n)
			}
			if got, want := tab.MaxHeld(), caps[tc.wantCapIs]; got != want {
				t.Errorf("MaxHeld() after the reopen: %d, want %d (the %s cap)", got, want, tc.wantCapIs)
			}
			if tab.EFS() != tc.wantEFS {
				t.Errorf("EFS() after the reopen: %v, want %v", tab.EFS(), tc.wantEFS)
			}
		})
	}
}
