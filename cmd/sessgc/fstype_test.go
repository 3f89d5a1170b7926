//go:build unix

package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestStatsNamesFileSystem: operators compare stats across hosts, and a
// host whose store is on local disk rather than the share (a mount that
// failed, a path typed wrong) counts a store of its own; stats named no
// file system. It names the store's, in both outputs: on Linux as df
// names it, for a store on the test's temporary disk and one on /dev/shm
// (tmpfs), so that the type is the store's and not a constant.
func TestStatsNamesFileSystem(t *testing.T) {
	dirs := []string{t.TempDir()}
	if runtime.GOOS == "linux" {
		if shm, err := os.MkdirTemp("/dev/shm", "sessgc-fstype-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			dirs = append(dirs, shm)
		}
	}
	for _, dir := range dirs {
		s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		want := ""
		if runtime.GOOS == "linux" {
			out, err := exec.Command("df", "--output=fstype", dir).Output()
			if f := strings.Fields(string(out)); err == nil && len(f) == 2 {
				want = f[1]
			}
		}
		r := runGC(t, []string{"stats", "--dir", dir, "--json"})
		var rep map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
			t.Fatalf("stats --json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
		}
		got, _ := rep["fs_type"].(string)
		if got == "" || want != "" && got != want {
			t.Errorf("stats --json of a store in %s: fs_type %q, want %q (df's)", dir, got, want)
		}
		if _, ok := rep["mount_point"]; !ok {
			t.Errorf("stats --json of a store in %s lacks mount_point", dir)
		}
		r = runGC(t, []string{"stats", "--dir", dir})
		if line := "\nmount     " + got; r.code != 0 || got == "" || !strings.Contains(r.stdout, line) {
			t.Errorf("stats of a store in %s: exit %d, %q; want a line starting %q", dir, r.code, r.stdout, line)
		}
	}
}
