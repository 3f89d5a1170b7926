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
	t.Run("root of an unprivileged user namespace", func(t *testing.T) {
		// unshare -U -r as another user: uid 0 and every capability, but
		// in a namespace that maps no one but that user, and
		// CAP_FOWNER there does not extend to files of users it does
		// not map (they show as the overflow uid, 65534): the rename
		// over root's textfile is refused, whatever the capability.
		setpriv, err1 := exec.LookPath("setpriv")
		unshare, err2 := exec.LookPath("unshare")
		if err1 != nil || err2 != nil {
			t.Skip("no setpriv or unshare:", err1, err2)
		}
		if out, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", unshare, "-U", "-r", "true").CombinedOutput(); err != nil {
			t.Skipf("uid 65534 may not make a user namespace here: %v %s", err, out)
		}
		st := newStore(t)
		ids := st.save(2)
		st.expire(ids...)
		chownTree(t, st.dir, 65534, 65534) // root's store, in the namespace
		openUp(t, filepath.Dir(st.dir))
		prom := stickyTextfile(t, 0, 0)

		cmd := command(nil)
		cmd.Path = setpriv
		cmd.Args = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", unshare, "-U", "-r",
			sessgcBin, "run", "--dir", st.dir, "--textfile", prom}
		r := runCmd(t, cmd)
		for _, s := range []string{"--textfile " + prom + " belongs to a user that this process's user namespace does not map", "CAP_FOWNER"} {
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, s) {
				t.Errorf("as root of a user namespace: exit %d, stdout %q, stderr %q; want exit 2 before the pass, and %q", r.code, r.stdout, r.stderr, s)
			}
		}
		for _, id := range ids {
			if !st.exists(id) {
				t.Fatalf("%s removed: the pass ran despite the usage error", st.path(id))
			}
		}

		// A store of a user the namespace does not map (root's here):
		// refused as another user's, but "run sessgc as uid 65534" named
		// the overflow uid every such owner shows as.
		other := newStore(t)
		other.s.Close()
		openUp(t, filepath.Dir(other.dir))
		if err := os.Chmod(other.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd = command(nil)
		cmd.Path = setpriv
		cmd.Args = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", unshare, "-U", "-r",
			sessgcBin, "run", "--dir", other.dir}
		r = runCmd(t, cmd)
		if want := "running as root of a user namespace that does not map the store's owner"; r.code != 3 || !strings.Contains(r.stderr, want) {
			t.Errorf("as root of a user namespace on root's store: exit %d, stderr %q; want 3 and %q", r.code, r.stderr, want)
		}
	})
}
