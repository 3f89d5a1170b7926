//go:build linux

package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"

	"github.com/sessfs/sessfs/fsstore"
)

func remount(t *testing.T, dir string, flags uintptr) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|flags, ""); err != nil {
		t.Fatalf("remount %s: %v", dir, err)
	}
}

// Saving into a full filesystem fails with an error wrapping ENOSPC, leaves
// no temp file behind and leaves every previously saved session intact,
// including the one whose update failed.
func TestDiskFull(t *testing.T) {
	dir := testenv.MountTmpfs(t, "256k")
	s := openDir(t, dir, fsstore.WithShardDepth(0))
	ctx := context.Background()
	saved := map[string][]byte{}
	for i := 0; i < 3; i++ {
		id := newID(t)
		data := bytes.Repeat([]byte{byte('a' + i)}, 10<<10)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: data}); err != nil {
			t.Fatal(err)
		}
		saved[id] = data
	}
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		id := newID(t)
		data := bytes.Repeat([]byte(fmt.Sprintf("%03d", i)), 30<<10/3)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: data}); err != nil {
			full = err
			break
		}
		saved[id] = data
	}
	if full == nil {
		t.Fatal("a 256 KiB tmpfs never filled up")
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("Save on a full filesystem: %v, want an error wrapping ENOSPC", full)
	}
	t.Logf("filled after %d sessions: %v", len(saved), full)
	// An update that cannot fit must leave the old value.
	for id := range saved {
		err := s.Save(ctx, &fsstore.Session{ID: id, Data: bytes.Repeat([]byte("z"), 200<<10), Version: 1})
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("oversized update on a full filesystem: %v, want ENOSPC", err)
		}
		break
	}
	for id, data := range saved {
		sess, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("Load of a session saved before the disk filled: %v", err)
		}
		if !bytes.Equal(sess.Data, data) {
			t.Fatalf("session %s changed: %d bytes, want %d", id[:6], len(sess.Data), len(data))
		}
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Fatalf("failed saves left temp files:\n%s", strings.Join(left, "\n"))
	}
}

// On a read-only filesystem Open fails with a clear error naming the
// cause, while a store opened before the remount still loads (and fails
// saves with EROFS, keeping the old value).
func TestReadOnlyStore(t *testing.T) {
	ctx := context.Background()
	if os.Geteuid() != 0 {
		// Root ignores permission bits, so only non-root can use chmod.
		dir := t.TempDir()
		s := openDir(t, dir)
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, fsstore.DataDir), 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(dir, fsstore.DataDir), 0o700) })
		if s2, err := fsstore.Open(dir); err == nil || !errors.Is(err, fs.ErrPermission) {
			if s2 != nil {
				s2.Close()
			}
			t.Fatalf("Open of a store whose data directory is not writable: %v, want a permission error", err)
		}
		mustLoad(t, s, id, "kept")
		return
	}
	dir := testenv.MountTmpfs(t, "1m")
	s := openDir(t, dir)
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	remount(t, dir, syscall.MS_RDONLY)
	t.Cleanup(func() { remount(t, dir, 0) })

	s2, err := fsstore.Open(dir)
	if err == nil {
		s2.Close()
		t.Fatal("Open of a store on a read-only filesystem succeeded")
	}
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open on a read-only filesystem: %q; want an error wrapping EROFS that names the store", err)
	}
	// The write probe's name is a temp file's already: its own temp file
	// was named with the prefix twice (".tmp-.tmp-probe-...").
	if strings.Contains(err.Error(), ".tmp-.tmp-") {
		t.Errorf("Open on a read-only filesystem: %q names a temp file with its prefix twice", err)
	}
	t.Logf("Open: %v", err)
	if s3, err := fsstore.Open(empty); err == nil || !errors.Is(err, syscall.EROFS) {
		if s3 != nil {
			s3.Close()
		}
		t.Fatalf("Open creating a store on a read-only filesystem: %v, want EROFS", err)
	}
	if s4, err := fsstore.Open(empty, fsstore.WithCreate(false)); !errors.Is(err, fsstore.ErrNotStore) {
		if s4 != nil {
			s4.Close()
		}
		t.Fatalf("Open(WithCreate(false)) of a non-store: %v, want ErrNotStore", err)
	}
	mustLoad(t, s, id, "kept")
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("new"), Version: 1}); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Save on a read-only filesystem: %v, want EROFS", err)
	}
	mustLoad(t, s, id, "kept")
}

// A process without access to the store gets a permission error from Open,
// not a crash or a misleading error, and one that says what to do when the
// store's directory is not the process user's: an app server run as another
// user, or a directory root made for it. Root bypasses permission checks, so
// as root the test runs the check in a child with dropped privileges.
func TestPermissionDenied(t *testing.T) {
	ctx := context.Background()
	const hint = "may not read and write the store"
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		s := openDir(t, dir)
		s.Close()
		if err := os.Chmod(dir, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		s2, err := fsstore.Open(dir)
		if !errors.Is(err, fs.ErrPermission) {
			if s2 != nil {
				s2.Close()
			}
			t.Fatalf("Open without permission: %v, want a permission error", err)
		}
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("Open without permission: %v, want it to say %q", err, hint)
		}
		// A new store in a directory this user may not write.
		fresh := t.TempDir()
		must(t, os.Chmod(fresh, 0o500))
		t.Cleanup(func() { os.Chmod(fresh, 0o700) })
		if s3, err := fsstore.Open(fresh); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), hint) {
			if s3 != nil {
				s3.Close()
			}
			t.Errorf("Open of a new store in a directory not writable: %v, want a permission error saying %q", err, hint)
		}
		return
	}
	base, binary := binaryForOthers(t)
	const nobody = 65534
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
		load  string // the child's second line, when Open succeeds
		hint  bool   // the error must say what to do
	}{
		{"store-dir-0700", func(t *testing.T, dir string) { os.Chmod(dir, 0o700) }, "open permission: ", "", true},
		// One root made, that others may enter but not list: the first
		// app server's look for what is in it fails.
		{"new-store-root-dir-unlistable", func(t *testing.T, dir string) {
			must(t, os.RemoveAll(dir))
			must(t, os.Mkdir(dir, 0o711))
			must(t, os.Chmod(dir, 0o711))
		}, "open permission: ", "", true},
		{"data-dir-only", func(t *testing.T, dir string) {
			os.Chmod(dir, 0o755)
			os.Chmod(filepath.Join(dir, fsstore.MarkerFile), 0o644)
		}, "open permission: ", "", true},
		// An empty directory root made for the store (mkdir, not
		// install -d -o): the first app server to open it cannot create
		// the store there.
		{"new-store-root-dir", func(t *testing.T, dir string) {
			must(t, os.RemoveAll(dir))
			must(t, os.Mkdir(dir, 0o755))
		}, "open permission: ", "", true},
		// A store that is the app user's but that the app once ran as
		// root in (its data directory root's): the process is the
		// directory's owner already, so "run it as the user that owns"
		// the directory is no fix; the chown -R is.
		{"store-users-data-roots", func(t *testing.T, dir string) {
			must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, nobody, nobody)
			}))
			must(t, os.Chown(filepath.Join(dir, fsstore.DataDir), 0, 0))
		}, "open permission: ", "", true},
		// The store is open to everyone but one record is not: Load
		// reports that record refused, which a web layer answers with a
		// fresh session rather than an error on every request.
		{"record-only", func(t *testing.T, dir string) {
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				switch {
				case d.IsDir():
					return os.Chmod(p, 0o777)
				case strings.Contains(p, "/data/"): // the record
					return os.Chmod(p, 0o600)
				}
				return os.Chmod(p, 0o666)
			})
		}, "open ok", "load refused: ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			s := openDir(t, dir)
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			kid := startChild(t, "open", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_CREATE=1"},
				asUser(nobody, nobody, binary), func(c *exec.Cmd) { c.Dir = base })
			got := kid.Expect(t, "open ")
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Open as uid %d: %q, want %q...", nobody, got, tc.want)
			}
			if tc.hint && (!strings.Contains(got, fmt.Sprintf("(uid %d) %s", nobody, hint)) || !strings.Contains(got, "chown -R USER "+dir) || strings.Contains(got, "run it as the user that owns")) {
				t.Errorf("Open as uid %d: %q, want it to say %q", nobody, got, hint)
			}
			t.Logf("child: %s", got)
			if p := pathNamedTwice(got); p != "" {
				t.Errorf("Open as uid %d: %q names %s twice before the hint, want once", nobody, got, p)
			}
			if tc.load != "" {
				got := kid.Expect(t, "load ")
				if !strings.HasPrefix(got, tc.load) {
					t.Fatalf("Load as uid %d: %q, want %q...", nobody, got, tc.load)
				}
				t.Logf("child: %s", got)
				// Touch says the same of the record.
				if got := kid.Expect(t, "touch "); !strings.HasPrefix(got, "touch "+strings.TrimPrefix(tc.load, "load ")) {
					t.Fatalf("Touch as uid %d: %q, want %q...", nobody, got, "touch "+strings.TrimPrefix(tc.load, "load "))
				}
			}
			kid.Finish(t)
		})
	}
}

// pathNamedTwice returns a path msg names more than once before its
// owner hint, which may name it again as the one to fix, or "".
func pathNamedTwice(msg string) string {
	msg, _, _ = strings.Cut(msg, ": this process's user")
	seen := map[string]bool{}
	for _, w := range strings.Fields(msg) {
		w = strings.TrimRight(w, ":,)")
		if !strings.HasPrefix(w, "/") {
			continue
		}
		if seen[w] {
			return w
		}
		seen[w] = true
	}
	return ""
}

// binaryForOthers copies the test binary into a fresh directory that
// every user may enter, for a child run as another user (t.TempDir's
// parents are root's alone), and returns the directory and the copy.
func binaryForOthers(t *testing.T) (base, binary string) {
	t.Helper()
	base, err := os.MkdirTemp("", "sessfs-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	binary = filepath.Join(base, "fsstore.test")
	copyFile(t, os.Args[0], binary, 0o755)
	return base, binary
}

func copyFile(t *testing.T, src, dst string, perm fs.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// asUser runs the child with other credentials from binary (a copy of the
// test binary the user can execute). Here, not beside the helper process:
// only Linux tests run it so (unused elsewhere, staticcheck's U1000).
var asUser = proctest.AsUser
