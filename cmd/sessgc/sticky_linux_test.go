package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestTextfileStickyDirectoryByCapability: on Linux what lets a process
// replace another user's file in a directory with the sticky bit is
// CAP_FOWNER, not uid 0, and the check before the pass asked for uid 0.
// A service run as the app's user with CAP_FOWNER (systemd's
// AmbientCapabilities=) was refused (exit 2) although its rename works;
// root without CAP_FOWNER (a container that drops it) was let through,
// swept, and then failed to replace the textfile (exit 1).
func TestTextfileStickyDirectoryByCapability(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to own the textfile and run sessgc as another user")
	}
	t.Run("another user with CAP_FOWNER", func(t *testing.T) {
		st := newStore(t)
		ids := st.save(2)
		st.expire(ids...)
		chownTree(t, st.dir, 65534, 65534)
		openUp(t, filepath.Dir(st.dir))
		prom := stickyTextfile(t, 0, 0)

		cmd := command([]string{"run", "--dir", st.dir, "-q", "--textfile", prom})
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: []uintptr{unix.CAP_FOWNER},
		}
		r := runCmd(t, cmd)
		if r.code != 0 {
			t.Fatalf("as uid 65534 with CAP_FOWNER: exit %d, stderr %q; want 0, the rename over root's textfile being allowed", r.code, r.stderr)
		}
		b, err := os.ReadFile(prom)
		if err != nil || !strings.Contains(string(b), "sessgc_last_run_success 1") {
			t.Errorf("textfile after the run: %q (%v), want this run's metrics", b, err)
		}
		for _, id := range ids {
			if st.exists(id) {
				t.Errorf("%s left: the pass did not sweep", st.path(id))
			}
		}
	})
	t.Run("root without CAP_FOWNER", func(t *testing.T) {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("no setpriv to drop CAP_FOWNER:", err)
		}
		st := newStore(t)
		ids := st.save(2)
		st.expire(ids...)
		prom := stickyTextfile(t, 65534, 65534)

		cmd := command(nil)
		cmd.Path = setpriv
		cmd.Args = append([]string{"setpriv", "--inh-caps=-fowner", "--bounding-set=-fowner", sessgcBin},
			"run", "--dir", st.dir, "--textfile", prom)
		r := runCmd(t, cmd)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--textfile "+prom+" belongs to uid 65534") {
			t.Errorf("as root without CAP_FOWNER: exit %d, stdout %q, stderr %q; want exit 2 before the pass, the rename over uid 65534's textfile being refused", r.code, r.stdout, r.stderr)
		}
		for _, id := range ids {
			if !st.exists(id) {
				t.Fatalf("%s removed: the pass ran despite the usage error", st.path(id))
			}
		}
	})
}
