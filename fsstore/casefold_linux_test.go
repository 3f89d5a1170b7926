//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestOpenInsideStoreIgnoringCase: where the file system ignores case,
// Open refuses the other store's data or lock directory named in another
// case (DATA/ab is data/ab there), as it refuses data/ab, and names it
// as the store does. Open missed such a path, and created a second store
// in the first one's data directory, invisible to its hosts.
//
// A tmpfs with casefold is a real case-insensitive file system, where the
// kernel has one (Linux 6.13 or later, built with CONFIG_UNICODE). A bind
// mount of data on DATA beside it stands in for one elsewhere: DATA is
// then the data directory under another name, as a lookup that ignores
// case makes it, and all the check sees is the same.
func TestOpenInsideStoreIgnoringCase(t *testing.T) {
	for _, fsys := range []struct {
		name string
		// dir returns an empty directory to create the outer store in.
		dir func(t *testing.T) string
		// alias makes the component name, in another case, name the
		// outer store's directory of that name in lower case.
		alias func(t *testing.T, outer, name string)
	}{
		{name: "tmpfs with casefold", dir: casefoldDir, alias: func(t *testing.T, outer, name string) {
			if _, err := os.Lstat(filepath.Join(outer, name)); err != nil {
				t.Fatalf("the casefold directory does not fold %s: %v", name, err)
			}
		}},
		{name: "bind mount", dir: func(t *testing.T) string { return t.TempDir() }, alias: bindAlias},
	} {
		t.Run(fsys.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				// path to open, below the outer store's directory; its
				// first component is in another case than the store's.
				path string
				// save a record first, so that a shard exists.
				save bool
				// mkdir below the outer store's directory first.
				mkdir string
				want  string // dir's path inside the store, as the error names it
			}{
				{name: "data of an empty store", path: "DATA", want: "data"},
				{name: "locks", path: "Locks", want: "locks"},
				{name: "leaf shard", path: "dAtA/<shard>", save: true, want: "data/<shard>"},
				{name: "own directory in data", path: "DATA/mine", mkdir: "data/mine", want: "data/mine"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					outer := fsys.dir(t)
					s, err := fsstore.Open(outer, fsstore.WithShardDepth(1))
					must(t, err)
					path := tc.path
					want := tc.want
					if tc.save {
						id, err := fsstore.NewID()
						must(t, err)
						must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("outer")}))
						shard := filepath.Base(filepath.Dir(s.RecordPathForTest(id)))
						path = strings.ReplaceAll(path, "<shard>", shard)
						want = strings.ReplaceAll(want, "<shard>", shard)
					}
					must(t, s.Close())
					if tc.mkdir != "" {
						must(t, os.Mkdir(filepath.Join(outer, filepath.FromSlash(tc.mkdir)), 0o700))
					}
					first, _, _ := strings.Cut(path, "/")
					fsys.alias(t, outer, first)
					dir := filepath.Join(outer, filepath.FromSlash(path))
					before := snapshot(t, outer)

					inner, err := fsstore.Open(dir)
					if inner != nil {
						inner.Close()
					}
					msg := "it is " + filepath.FromSlash(want) + " in the store " + outer + " "
					if !errors.Is(err, fsstore.ErrInsideStore) || !strings.Contains(err.Error(), msg) {
						t.Errorf("Open(%s) = %v, want ErrInsideStore saying %q", dir, err, msg)
					}
					if after := snapshot(t, outer); after != before {
						t.Errorf("refused Open changed the outer store:\nbefore:\n%s\nafter:\n%s", before, after)
					}
				})
			}
		})
	}
}

// fsCasefoldFL is the FS_CASEFOLD_FL attribute (chattr +F): lookups in
// the directory ignore case.
const fsCasefoldFL = 0x40000000

// casefoldDir returns an empty directory on a fresh tmpfs mounted with
// casefold, given the casefold attribute, unmounted at the end of t. It
// skips t when not root, when mounting is not allowed, or when the kernel's
// tmpfs has no casefold support.
func casefoldDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a tmpfs")
	}
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "casefold,size=1m,mode=0755"); err != nil {
		if errors.Is(err, unix.EPERM) {
			testenv.Skip(t, testenv.Root, "cannot mount a tmpfs on %s: %v", mnt, err)
		}
		// Not a missing privilege: SESSFS_REQUIRE_ROOT does not make
		// this kernel fold case.
		t.Skipf("cannot mount a tmpfs with casefold on %s: %v (needs Linux 6.13 or later built with CONFIG_UNICODE)", mnt, err)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	dir := filepath.Join(mnt, "sessions")
	must(t, os.Mkdir(dir, 0o700))
	f, err := os.Open(dir)
	must(t, err)
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatalf("FS_IOC_GETFLAGS %s: %v", dir, err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags|fsCasefoldFL); err != nil {
		t.Fatalf("set the casefold attribute on %s: %v", dir, err)
	}
	return dir
}

// bindAlias bind-mounts the directory of outer named name in lower case on
// a new directory named name, unmounted at the end of t. It skips t when
// not root or when mounting is not allowed.
func bindAlias(t *testing.T, outer, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to bind-mount")
	}
	alias := filepath.Join(outer, name)
	must(t, os.Mkdir(alias, 0o700))
	if err := unix.Mount(filepath.Join(outer, strings.ToLower(name)), alias, "", unix.MS_BIND, ""); err != nil {
		testenv.Skip(t, testenv.Root, "cannot bind-mount (no CAP_SYS_ADMIN in this container?): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(alias, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", alias, err)
		}
	})
}
