package fsstore_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// envKeysMount makes TestKeysFileBindMounted's child run its part, in a
// mount namespace of its own.
const envKeysMount = "SESSFS_TEST_KEYS_MOUNT"

// TestKeysFileBindMounted: a keys file that is a mount point of its own,
// one file bind-mounted into place (a Kubernetes Secret mounted with
// subPath, a Docker or Compose bind mount of a file, a Compose or Swarm
// secret), shows the inode it was mounted with for good. A new file
// renamed over its source, as atomic writers, configuration management
// and the kubelet's Secret updates do, never reaches the path: the
// watcher neither saw an event nor read a change, and the host kept its
// old keys (a retired, leaked one too) with no word in the log. Open says
// so, naming the file and the way out. A keys file in a directory bind
// mount is not such a file: a rename in the source directory is applied
// there, and Open says nothing. The mounts are made in a child of a mount
// namespace of its own, which leaves the machine's mounts alone.
func TestKeysFileBindMounted(t *testing.T) {
	ns := os.Getenv(envKeysMount)
	if ns == "" {
		runKeysMountChild(t)
		return
	}
	// Mounts made here must not propagate to the parent namespace. One
	// made with a user namespace of its own receives propagation only.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil && ns != "user" {
		t.Skipf("cannot make the mounts private: %v", err)
	}
	for _, tc := range []struct {
		name string
		// mount bind-mounts src (a directory holding the keys file) into
		// place and returns the keys path the store opens.
		mount func(t *testing.T, src string) string
		warn  bool
	}{
		{"file", func(t *testing.T, src string) string {
			dst := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, dst, "")
			bindMount(t, filepath.Join(src, "keys"), dst)
			return dst
		}, true},
		{"directory", func(t *testing.T, src string) string {
			dst := t.TempDir()
			bindMount(t, src, dst)
			return filepath.Join(dst, "keys")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, src := t.TempDir(), t.TempDir()
			k1 := mustKey(t, 1)
			writeFile0600(t, filepath.Join(src, "keys"), keysFileText(k1))
			keysPath := tc.mount(t, src)
			var log syncBuffer
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			must(t, err)
			defer s.Close()
			said := strings.Contains(log.String(), "mount point of its own")
			if said != tc.warn {
				t.Fatalf("keys file in a %s bind mount: Open warned that renames at its source are never seen: %v, want %v; log:\n%s", tc.name, said, tc.warn, log.String())
			}
			if tc.warn {
				if !strings.Contains(log.String(), keysPath) {
					t.Errorf("the warning does not name the keys file %s:\n%s", keysPath, log.String())
				}
				return
			}
			k2 := mustKey(t, 2)
			renameOver(t, filepath.Join(src, "keys"), keysFileText(k2, k1))
			if !waitReloadOK(t, ev, 10*time.Second) {
				t.Fatalf("keys file in a directory bind mount: a rename at the source was never applied")
			}
			mustSealWith(t, s, dir, k2)
		})
	}
}

// bindMount mounts src on dst until the test ends.
func bindMount(t *testing.T, src, dst string) {
	t.Helper()
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dst, syscall.MNT_DETACH) })
}

// runKeysMountChild runs TestKeysFileBindMounted in a child of a mount
// namespace of its own (and, when not root, a user namespace that allows
// it to mount).
func runKeysMountChild(t *testing.T) {
	ns, flags := "mount", uintptr(syscall.CLONE_NEWNS)
	if os.Geteuid() != 0 {
		ns, flags = "user", flags|syscall.CLONE_NEWUSER
	}
	runNamespaceChild(t, "TestKeysFileBindMounted", envKeysMount+"="+ns, flags)
}
