package fsstore_test

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// envNoInotify makes TestKeysFileWithoutNotifications's child run its
// part, with the inotify limit it names (in /proc/sys/user) set to 0: the
// child has a user namespace of its own.
const envNoInotify = "SESSFS_TEST_NO_INOTIFY"

// TestKeysFileWithoutNotifications: where the host's inotify instances
// or watches are used up (fs.inotify.max_user_instances and
// max_user_watches, shared by every process of the user: on a Kubernetes
// node, by every container running as that uid), Open with WithKeysFile
// failed ("keys file: watch: couldn't initialize inotify: too many open
// files", or "no space left on device"), and the application could not
// start for want of a shortcut: the watcher reads the file on a timer
// anyway. Open succeeds, says so in the log, and a rotation is applied by
// the timed reads. The limit is set to 0 in a user namespace of the
// test's own, which leaves the rest of the machine alone.
func TestKeysFileWithoutNotifications(t *testing.T) {
	limit := os.Getenv(envNoInotify)
	if limit == "" {
		for _, limit := range []string{"max_inotify_instances", "max_inotify_watches"} {
			// Each child is a process and a user namespace of its own,
			// applying a rotation by the watcher's timed reads: side
			// by side.
			t.Run(limit, func(t *testing.T) { t.Parallel(); runNoInotifyChild(t, limit) })
		}
		return
	}
	if err := os.WriteFile("/proc/sys/user/"+limit, []byte("0"), 0); err != nil {
		t.Skipf("cannot set the inotify limit of this user namespace: %v", err)
	}
	dir := t.TempDir()
	keysPath := filepath.Join(t.TempDir(), "keys")
	k1 := mustKey(t, 1)
	writeFile0600(t, keysPath, keysFileText(k1))
	var log syncBuffer
	ev := make(reloadEvents, 64)
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))), fsstore.WithKeysPollForTest(10*time.Millisecond))
	if err != nil {
		t.Fatalf("Open without inotify: %v", err)
	}
	defer s.Close()
	if !strings.Contains(log.String(), "no change notifications") {
		t.Errorf("Open without inotify logged nothing about it:\n%s", log.String())
	}
	for gen := 1; gen <= 2; gen++ {
		k := mustKey(t, uint32(gen+1))
		renameOver(t, keysPath, keysFileText(k, k1))
		if !waitReloadOK(t, ev, time.Minute) {
			t.Fatalf("update %d: without inotify, the rotated keys file was never applied", gen)
		}
		mustSealWith(t, s, dir, k)
	}
}

// runNoInotifyChild runs TestKeysFileWithoutNotifications in a child of
// its own user namespace, whose inotify limit named limit it sets to 0.
func runNoInotifyChild(t *testing.T, limit string) {
	runNamespaceChild(t, "TestKeysFileWithoutNotifications", envNoInotify+"="+limit, syscall.CLONE_NEWUSER)
}

// runNamespaceChild runs the test named test again in a child process
// with env set, in the namespaces flags asks for (this user's ids mapped
// to themselves in a user namespace), and skips where the machine gives
// none or the child skipped.
func runNamespaceChild(t *testing.T, test, env string, flags uintptr) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), proctest.ChildGORACE(), env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if flags&syscall.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("no namespace here for the child: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.Bytes())
	}
	if bytes.Contains(out.Bytes(), []byte("--- SKIP")) {
		t.Skipf("child skipped:\n%s", out.Bytes())
	}
}
