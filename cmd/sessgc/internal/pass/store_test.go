//go:build unix

package pass

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestOpenStoreNoStore: only a missing or empty directory matches
// ErrNoStore, and only one holding nothing but what creating a store makes
// matches ErrStoreCreating; their errors keep the message and exit code
// they had before. A dangling symbolic link is no missing directory.
func TestOpenStoreNoStore(t *testing.T) {
	creatingFiles := func(names ...string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			mkdir(t, dir)
			mkdir(t, filepath.Join(dir, fsstore.DataDir))
			mkdir(t, filepath.Join(dir, fsstore.LockDir))
			for _, n := range names {
				touch(t, filepath.Join(dir, n))
			}
		}
	}
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, dir string) // nil: dir does not exist
		noStore  bool
		creating bool
		code     int
		msg      string
	}{
		{name: "missing", noStore: true, code: cmdutil.ExitStore, msg: "does not exist (is the share mounted on this host? The applications create the store"},
		{name: "empty", setup: func(t *testing.T, dir string) { mkdir(t, dir) }, noStore: true, code: cmdutil.ExitStore, msg: "(no .sessfs file); refusing to touch it (is the share mounted on this host? The applications create the store"},
		{name: "a file", setup: func(t *testing.T, dir string) { mkdir(t, dir); touch(t, filepath.Join(dir, "x")) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "one empty subdirectory", setup: func(t *testing.T, dir string) { mkdir(t, dir); mkdir(t, filepath.Join(dir, "sub")) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "an empty lock directory", setup: func(t *testing.T, dir string) { mkdir(t, dir); mkdir(t, filepath.Join(dir, fsstore.LockDir)) }, creating: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "being created", setup: creatingFiles(), creating: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "being created, marker temp files", setup: creatingFiles(".tmp-marker-0123456789abcdef", ".tmp-marker-fedcba9876543210"), creating: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "being created, and a file", setup: creatingFiles("old.txt"), code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "being created, and another temp file", setup: creatingFiles(".tmp-0123"), code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "a data directory with a file", setup: func(t *testing.T, dir string) {
			creatingFiles()(t, dir)
			touch(t, filepath.Join(dir, fsstore.DataDir, "x"))
		}, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "a data file", setup: func(t *testing.T, dir string) { mkdir(t, dir); touch(t, filepath.Join(dir, fsstore.DataDir)) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "a marker temp directory", setup: func(t *testing.T, dir string) {
			creatingFiles()(t, dir)
			mkdir(t, filepath.Join(dir, ".tmp-marker-0123"))
		}, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "dangling symlink", setup: func(t *testing.T, dir string) { symlink(t, filepath.Join(filepath.Dir(dir), "gone"), dir) }, code: cmdutil.ExitStore, msg: "is a symbolic link to a missing target"},
		{name: "dangling symlink parent", setup: func(t *testing.T, dir string) {
			// dir is TMP/store: make TMP/store a link to TMP/mnt/store, TMP/mnt a link to nowhere.
			symlink(t, filepath.Join(filepath.Dir(dir), "mnt", "store"), dir)
			symlink(t, filepath.Join(filepath.Dir(dir), "gone"), filepath.Join(filepath.Dir(dir), "mnt"))
		}, code: cmdutil.ExitStore, msg: "is a symbolic link to a missing target"},
		{name: "symlink to a missing directory in an existing one", setup: func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(filepath.Dir(dir), "mnt"))
			symlink(t, filepath.Join(filepath.Dir(dir), "mnt", "store"), dir)
		}, code: cmdutil.ExitStore, msg: "is a symbolic link to a missing target"},
		{name: "symlink to an empty directory", setup: func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(filepath.Dir(dir), "mnt"))
			symlink(t, filepath.Join(filepath.Dir(dir), "mnt"), dir)
		}, noStore: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "bad marker", setup: func(t *testing.T, dir string) { mkdir(t, dir); touch(t, filepath.Join(dir, fsstore.MarkerFile)) }, code: cmdutil.ExitStore, msg: "has a .sessfs marker that this sessgc cannot use"},
		{name: "not a directory", setup: func(t *testing.T, dir string) { touch(t, dir) }, code: cmdutil.ExitStore, msg: "is not a directory"},
		{name: "link to the empty data directory of a store", setup: func(t *testing.T, dir string) {
			outer := filepath.Join(filepath.Dir(dir), "outer")
			mkdir(t, outer)
			s, err := fsstore.Open(outer)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			symlink(t, filepath.Join(outer, fsstore.DataDir), dir)
		}, code: cmdutil.ExitStore, msg: "is part of a sessfs store"},
		{name: "a store", setup: func(t *testing.T, dir string) {
			mkdir(t, dir)
			s, err := fsstore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			s, err := OpenStore(dir, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
			}
			if errors.Is(err, ErrNoStore) != tc.noStore || errors.Is(err, ErrStoreCreating) != tc.creating ||
				cmdutil.ExitCode(err) != tc.code || err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v: want ErrNoStore %v, ErrStoreCreating %v, exit %d, %q", err, tc.noStore, tc.creating, tc.code, tc.msg)
			}
		})
	}
}

// TestOpenStoreUnreadable: an empty store directory this user cannot list
// or search is refused (exit 3), never taken for a missing store: sessgc
// cannot know it is empty. As root (CI), it runs as uid 65534.
func TestOpenStoreUnreadable(t *testing.T) {
	if rerunUnprivileged(t, "TestOpenStoreUnreadable") {
		return
	}
	for _, mode := range []os.FileMode{0, 0o300} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			mkdir(t, dir)
			chmod(t, dir, mode)
			s, err := OpenStore(dir, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
			}
			if errors.Is(err, ErrNoStore) || errors.Is(err, ErrStoreCreating) || cmdutil.ExitCode(err) != cmdutil.ExitStore {
				t.Errorf("err %v: want exit %d, not ErrNoStore", err, cmdutil.ExitStore)
			}
		})
	}
}

// rerunUnprivileged runs test name again in a child process as uid and
// gid 65534 when this user reads a directory whatever its mode (root, or
// a process with CAP_DAC_OVERRIDE), and reports whether it did; the test
// then has nothing more to do. A test of what an unreadable directory
// does skipped there, and CI runs as root: it now skips only where this
// user can neither be held by modes nor run a process as another user,
// and fails instead in CI (testenv.Root), where the child skipping too
// is a failure as well.
func rerunUnprivileged(t *testing.T, name string) bool {
	t.Helper()
	probe := t.TempDir()
	if err := os.Chmod(probe, 0); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(probe)
	os.Chmod(probe, 0o755)
	if err != nil {
		return false // modes hold this user
	}
	f.Close()
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "this user (uid %d) reads a directory of mode 0, and is not root to run the test as another user", os.Geteuid())
	}
	out := proctest.RerunUnprivileged(t, name)
	if strings.Contains(string(out), "--- SKIP") {
		testenv.Skip(t, testenv.Root, "%s skipped as uid 65534 too:\n%s", name, out)
	}
	t.Logf("as uid 65534:\n%s", out)
	return true
}

// chmod sets dir's mode, restores it at the end of the test (so that
// TempDir can remove it), and skips the test when this user can still read
// dir: a root user, or one with CAP_DAC_OVERRIDE, is not held by modes.
// Probing says that for every such case, where os.Geteuid() == 0 would miss
// the capability and says nothing on Windows.
func chmod(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if f, err := os.Open(dir); err == nil {
		f.Close()
		t.Skipf("this user (uid %d) can read a directory with mode %v: permissions are not enforced", os.Geteuid(), mode)
	}
}

// TestCheckPaths: a --textfile inside --dir (or with it, in symbolic
// links) is a usage error, one beside it is fine, and so is one in a
// directory that is missing or not a directory, or one that is a
// directory (the rename after the pass failed on it, exit 1).
func TestCheckPaths(t *testing.T) {
	tmp := t.TempDir()
	store, empty := filepath.Join(tmp, "store"), filepath.Join(tmp, "empty")
	mkdir(t, store)
	mkdir(t, filepath.Join(store, fsstore.DataDir))
	mkdir(t, empty)
	symlink(t, store, filepath.Join(tmp, "link"))
	touch(t, filepath.Join(tmp, "file"))
	mkdir(t, filepath.Join(tmp, "dir.prom"))
	t.Chdir(tmp)
	const inside = "is inside the store directory"
	for _, tc := range []struct {
		name, dir, textfile string
		want                string // in the usage error; "": none
	}{
		{"beside", store, filepath.Join(tmp, "sessgc.prom"), ""},
		{"sibling with the same prefix", store, filepath.Join(tmp, "store.prom"), ""},
		{"inside", store, filepath.Join(store, "sessgc.prom"), inside},
		{"inside the data directory", store, filepath.Join(store, fsstore.DataDir, "sessgc.prom"), inside},
		{"inside an empty directory", empty, filepath.Join(empty, "sessgc.prom"), inside},
		{"inside, relative", "store", "store/sessgc.prom", inside},
		{"inside, relative and absolute", store, "store/sessgc.prom", inside},
		{"inside, uncleaned", store + "/./", filepath.Join(tmp, "empty", "..", "store", "sessgc.prom"), inside},
		{"dots in the name", store, filepath.Join(store, "..sessgc.prom"), inside},
		{"inside, through a symlink", filepath.Join(tmp, "link"), filepath.Join(store, "sessgc.prom"), inside},
		{"inside a symlink", store, filepath.Join(tmp, "link", "sessgc.prom"), inside},
		{"missing dir", filepath.Join(tmp, "nope"), filepath.Join(tmp, "sessgc.prom"), ""},
		{"missing textfile directory", store, filepath.Join(tmp, "nope", "sessgc.prom"), "no such file"},
		{"textfile directory a file", store, filepath.Join(tmp, "file", "sessgc.prom"), "is not a directory"},
		{"textfile a directory", store, filepath.Join(tmp, "dir.prom"), "dir.prom is a directory"},
		{"no textfile", store, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := CheckPaths(NewBudget(0), tc.dir, tc.textfile, true, nil)
			if want, _ := filepath.Abs(tc.dir); dir != want {
				t.Errorf("CheckPaths(%q, textfile %q) returned the directory %q, want %q", tc.dir, tc.textfile, dir, want)
			}
			if (tc.want != "") != (err != nil) || err != nil && (cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("CheckPaths(%q, textfile %q): %v, want a usage error saying %q", tc.dir, tc.textfile, err, tc.want)
			}
		})
	}
}

// refusingFS is the operating system's file system, except that creating
// a file fails with createErr and removing one with removeErr; created
// lists the files it created.
type refusingFS struct {
	osFS
	createErr, removeErr error
	created              *[]string
}

func (f refusingFS) CreateTemp(dir, pattern string) (string, error) {
	if f.createErr != nil {
		return "", f.createErr
	}
	name, err := f.osFS.CreateTemp(dir, pattern)
	if err == nil {
		*f.created = append(*f.created, name)
	}
	return name, err
}

func (f refusingFS) Remove(name string) error {
	if f.removeErr != nil {
		return f.removeErr
	}
	return f.osFS.Remove(name)
}

// TestCheckPathsTextfileWritable: CheckPaths creates and removes a file in
// the textfile's directory, named as the textfile's temp files are, when
// the pass writes the textfile, and refuses one it cannot write in with a
// usage error before the pass; a dry run (writes false) tries nothing.
// The mode itself is tested as an unprivileged user in sessgc's tests.
func TestCheckPathsTextfileWritable(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		writes               bool
		createErr, removeErr error
		want                 string // in the usage error; "": none
	}{
		{"writable", true, nil, nil, ""},
		{"cannot create", true, os.ErrPermission, nil, "cannot create a file in "},
		{"cannot remove", true, nil, os.ErrPermission, "cannot remove a file created in "},
		{"dry run", false, os.ErrPermission, os.ErrPermission, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, tdir := t.TempDir(), t.TempDir()
			var created []string
			fsys := refusingFS{createErr: tc.createErr, removeErr: tc.removeErr, created: &created}
			_, err := CheckPaths(NewBudget(0), store, filepath.Join(tdir, "sessgc.prom"), tc.writes, fsys)
			if (tc.want != "") != (err != nil) || err != nil && (cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), tc.want+tdir) || !errors.Is(err, os.ErrPermission)) {
				t.Errorf("CheckPaths: %v, want a usage error saying %q", err, tc.want)
			}
			if tc.writes && tc.createErr == nil && (len(created) != 1 || !strings.HasPrefix(filepath.Base(created[0]), ".sessgc.prom")) {
				t.Errorf("created %q, want one temp file named as the textfile's", created)
			}
			if tc.removeErr == nil {
				if ents, _ := os.ReadDir(tdir); len(ents) != 0 {
					t.Errorf("the check left %v in the textfile directory", ents)
				}
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenStoreMarkerUnusable: a store whose marker this sessgc cannot
// use, a newer layout's above all (applications upgraded before the
// sessgc of the cron job), was refused as "not a sessfs store (no valid
// .sessfs marker)", which sent the operator looking for a wrong --dir.
// The refusal now says that the marker is there and what to do.
func TestOpenStoreMarkerUnusable(t *testing.T) {
	for _, tc := range []struct{ name, marker, cause string }{
		{"newer layout", "sessfs-store 9\nshard-depth 1\nlock-stripes 1024\nmax-idle-seconds 60\n", "store layout version 9, this build understands 1"},
		{"damaged", "sessfs-store 1\nshard-depth 7\n", "shard-depth 7 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			mkdir(t, dir)
			mkdir(t, filepath.Join(dir, fsstore.DataDir))
			if err := os.WriteFile(filepath.Join(dir, fsstore.MarkerFile), []byte(tc.marker), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenStore(dir, slog.New(slog.DiscardHandler))
			if cmdutil.ExitCode(err) != cmdutil.ExitStore || errors.Is(err, ErrNoStore) || errors.Is(err, ErrStoreCreating) {
				t.Fatalf("OpenStore: %v; want a store error, neither no store nor one being created", err)
			}
			for _, s := range []string{dir + " has a .sessfs marker that this sessgc cannot use", "install the sessgc of the applications' sessfs version", tc.cause} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("OpenStore: %v; want %q in it", err, s)
				}
			}
		})
	}
}

// TestOpenStoreParentOfStore: a --dir one level above the store (the
// mount point, /mnt/efs, for the store in /mnt/efs/sessions) is refused
// as not a store, and now names the store below it, quoted in the
// command it suggests where its path holds a space (pasted unquoted, it
// named two arguments, the first no store).
func TestOpenStoreParentOfStore(t *testing.T) {
	for _, tc := range []struct{ name, quote string }{{"sessions", ""}, {"my sessions", "'"}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := filepath.Join(dir, tc.name)
			mkdir(t, store)
			s, err := fsstore.Open(store)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			touch(t, filepath.Join(dir, "README"))
			_, err = OpenStore(dir, slog.New(slog.DiscardHandler))
			if want := "its subdirectory " + store + " is a store: pass --dir " + tc.quote + store + tc.quote; cmdutil.ExitCode(err) != cmdutil.ExitStore || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenStore of the store's parent: %v; want exit 3 and %q", err, want)
			}
		})
	}
}
