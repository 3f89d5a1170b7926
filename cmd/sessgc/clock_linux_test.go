package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestStatsWithoutServerClock: "sessgc stats" on a store that opens (the
// probe where saves write, in data/, works) but whose top directory takes
// no new file, so that the temp file whose mtime tells the file server's
// time cannot be made there: the top not writable by this user while the
// shards are, the top on a read-only mount. It exited 3 ("reading the file
// server's time: ... permission denied"), where every other store it may
// read but not write it counts. Now it counts with this host's clock, exit
// 0, host_clock in --json and one note naming the cause, as for a
// read-only store; run still refuses (exit 3) and deletes nothing. A top
// on a full file system of its own (fullTop) takes an attribute change
// still: the server's time is read from its own mtime, set to now, so
// stats counts by it and run sweeps.
func TestStatsWithoutServerClock(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to change owners and mount")
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, dir string) string // returns the --dir to give
		nobody bool                                  // sessgc runs as uid 65534
		errno  string                                // in the note and run's refusal
		// fullTop: the clock is read all the same (see above).
		fullTop bool
	}{
		{"top not writable by this user", func(t *testing.T, dir string) string {
			openUp(t, filepath.Dir(dir))
			chownTree(t, dir, 65534, 65534)
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			return dir
		}, true, "permission denied", false},
		{"top on a read-only mount", func(t *testing.T, dir string) string {
			mnt := readOnlyBind(t, dir)
			// data/ and locks/ writable: bind-mounted read-write over
			// the read-only mount's.
			for _, sub := range []string{fsstore.DataDir, fsstore.LockDir} {
				bind(t, filepath.Join(dir, sub), filepath.Join(mnt, sub))
			}
			return mnt
		}, false, "read-only file system", false},
		{"top on a full file system", func(t *testing.T, dir string) string {
			mnt := smallTmpfs(t)
			top := filepath.Join(mnt, "store")
			if out, err := exec.Command("cp", "-a", dir, top).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			for _, sub := range []string{fsstore.DataDir, fsstore.LockDir} {
				bind(t, filepath.Join(dir, sub), filepath.Join(top, sub))
			}
			fillFS(t, filepath.Join(filepath.Dir(top), "filler"))
			return top
		}, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := func(args []string) *exec.Cmd {
				c := command(args)
				if tc.nobody {
					asUnprivileged(c)
				}
				return c
			}
			f := newFixture(t)
			f.s.Close()
			want := statsJSON(t, runGC(t, []string{"stats", "--dir", f.dir, "--json"}))
			dir := tc.setup(t, f.dir)

			r := runCmd(t, cmd([]string{"stats", "--dir", dir, "--json"}))
			if r.code != 0 {
				t.Fatalf("stats --json: exit %d, stderr %q; want 0", r.code, r.stderr)
			}
			got := statsJSON(t, r)
			for _, k := range []string{"live", "expired", "live_bytes", "expired_bytes", "stale_temps", "stale_leases", "foreign", "errors"} {
				if got[k] != want[k] {
					t.Errorf("%s = %v, want %v as with the server's clock", k, got[k], want[k])
				}
			}
			if tc.fullTop {
				if got["host_clock"] != false || strings.Contains(r.stderr, "sessgc: note:") {
					t.Errorf("host_clock %v, stderr %q; want false and no note", got["host_clock"], r.stderr)
				}
				if r := runCmd(t, cmd([]string{"run", "--dir", dir, "--json"})); r.code != 0 {
					t.Errorf("run: exit %d, stderr %q; want 0", r.code, r.stderr)
				} else if _, sum := summary(t, r); sum.Sessions != int64(len(f.expired)) {
					t.Errorf("run removed %d sessions, want the %d expired", sum.Sessions, len(f.expired))
				}
				return
			}
			if got["host_clock"] != true {
				t.Errorf("host_clock %v, want true", got["host_clock"])
			}
			if n := strings.Count(r.stderr, "sessgc: note:"); n != 1 {
				t.Errorf("stderr has %d notes, want 1: %q", n, r.stderr)
			}
			for _, s := range []string{"the file server's clock could not be read", tc.errno, "ages were judged by this host's clock"} {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q: %q", s, r.stderr)
				}
			}
			r = runCmd(t, cmd([]string{"stats", "--dir", dir}))
			if r.code != 0 || !strings.Contains(r.stdout, "clock     ages judged by this host's clock") {
				t.Errorf("stats: exit %d, stdout %q; want 0 and the host clock line", r.code, r.stdout)
			}

			for _, args := range [][]string{{"run", "--dir", dir}, {"run", "--dir", dir, "--dry-run"}} {
				r := runCmd(t, cmd(args))
				if r.code != 3 || !strings.Contains(r.stderr, tc.errno) || !strings.Contains(r.stderr, "nothing was deleted") {
					t.Errorf("%v: exit %d, stderr %q; want 3, %q and nothing was deleted", args, r.code, r.stderr, tc.errno)
				}
			}
			for _, id := range append(f.live, f.expired...) {
				if !f.exists(id) {
					t.Errorf("session %s removed", id)
				}
			}
		})
	}
}

// bind bind-mounts src on dst, read-write, until the end of t.
func bind(t *testing.T, src, dst string) {
	t.Helper()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		testenv.Skip(t, testenv.Root, "cannot bind-mount (no CAP_SYS_ADMIN in this container?): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
}
