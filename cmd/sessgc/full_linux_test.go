package main_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestStatsOnFullFileSystem: "sessgc stats" on a store whose file system
// is full counts it, exit 0, by the file server's clock: opening the store
// probes that it is writable, and that probe's ENOSPC made stats exit 3
// just when an operator most wants the count. (It then counted read-only,
// by this host's clock; the clock is now read from the store directory's
// own mtime, set to now, which a full file system allows.) rekey, which
// would write records, still refuses.
func TestStatsOnFullFileSystem(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	mnt := smallTmpfs(t)
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, 1)
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k))
	if err != nil {
		t.Fatal(err)
	}
	st := &store{t: t, dir: dir, s: s}
	ids := st.save(2)
	s.Close()
	keys := writeKeys(t, 0o600, k)
	fillFS(t, filepath.Join(mnt, "filler"))

	r := runGC(t, []string{"stats", "--dir", dir, "--json"})
	if r.code != 0 {
		t.Fatalf("stats --json on a full file system: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got := statsJSON(t, r); got["live"] != float64(2) || got["host_clock"] != false {
		t.Errorf("live %v, host_clock %v; want 2 and false", got["live"], got["host_clock"])
	}
	if want := "file system or quota is full"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not say %q: %q", want, r.stderr)
	}

	// Refused at its fleet lock, which no rekey made yet, or, past it,
	// by the store.
	before := st.mtimes(ids)
	for _, args := range [][]string{{"--rate", "0"}, {"--rate", "0", "--no-fleet-lock"}} {
		r = runGC(t, append([]string{"rekey", "--dir", dir, "--keys-file", keys}, args...))
		if want := "no space left on device"; r.code != 3 || !strings.Contains(r.stderr, want) {
			t.Errorf("rekey %q on a full file system: exit %d, stderr %q; want 3 and %q", args, r.code, r.stderr, want)
		}
	}
	st.keptMtimes(ids, before)
}

// TestRunOnFullFileSystem: "sessgc run" on a store whose file system (or
// quota) is full removes the expired sessions, which is what frees the
// space. It exited 3 ("store unusable", nothing deleted) because opening
// the store probes that it can write with a temp file, and the sweep reads
// the file server's clock from another: on a full disk the collector
// refused to collect. A store that no sessgc ran on before it filled up
// has no fleet or sweep lock file, which cannot be made then: that is
// refused (exit 3) with what to do.
func TestRunOnFullFileSystem(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	mnt := smallTmpfs(t)
	var stores [2]*store
	for i := range stores {
		dir := filepath.Join(mnt, fmt.Sprint("store", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = &store{t: t, dir: dir, s: s}
	}
	// sessgc runs on the first store, as scheduled, which makes its
	// lock files (the sweep lock's with its first removal); the second
	// one never had a sweep.
	st, never := stores[0], stores[1]
	st.expire(st.save(1)...)
	if r := runGC(t, []string{"run", "--dir", st.dir}); r.code != 0 {
		t.Fatalf("run: exit %d, stderr %q", r.code, r.stderr)
	}
	ids := st.save(6)
	st.expire(ids[:4]...)
	never.expire(never.save(2)...)
	fillFS(t, filepath.Join(mnt, "filler"))

	// The store no sessgc ran on has no lock files, which cannot be
	// made now: refused, saying what to do. (Before the other store's
	// sweep below frees inodes.)
	r := runGC(t, []string{"run", "--dir", never.dir})
	if want := "the store has no such lock file yet"; r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Errorf("run on a full file system no sessgc ran on: exit %d, stderr %q; want 3 and %q", r.code, r.stderr, want)
	}

	r = runGC(t, []string{"run", "--dir", st.dir, "--json"})
	if r.code != 0 {
		t.Fatalf("run on a full file system: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if _, sum := summary(t, r); sum.Sessions != 4 || sum.Live != 2 {
		t.Errorf("run on a full file system removed %d sessions and kept %d; want 4 and 2", sum.Sessions, sum.Live)
	}
	for i, id := range ids {
		if want := i >= 4; st.exists(id) != want {
			t.Errorf("session %d: exists %v, want %v", i, !want, want)
		}
	}
	if !strings.Contains(r.stderr, "file system or quota is full") {
		t.Errorf("stderr does not say the file system is full: %q", r.stderr)
	}
}

// fillFS fills the file system of path: its blocks (fillBlocks), then its
// inodes.
func fillFS(t *testing.T, path string) {
	t.Helper()
	fillBlocks(t, path)
	// And every inode: an empty file needs no block, and creating one is
	// what the open's probe does first.
	for i := 0; ; i++ {
		g, err := os.Create(fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling the file system's inodes: %v", err)
			}
			return
		}
		g.Close()
	}
}

// smallTmpfs mounts a tmpfs of 1 MiB and 256 inodes, for fillFS to fill
// (filling the inodes is what makes creating a file fail), until the end
// of t, and returns its path.
func smallTmpfs(t *testing.T) string {
	t.Helper()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,nr_inodes=256,mode=0755"); err != nil {
		testenv.Skip(t, testenv.Root, "cannot mount a tmpfs (no CAP_SYS_ADMIN in this container?): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	return mnt
}

// TestTextfileOnFullFileSystem: the check before the pass that the
// --textfile's directory takes a file creates one there, and on a full
// file system that failed as a usage error (exit 2) before anything was
// swept: with the textfile beside the store on its volume, as the
// Kubernetes CronJob has it, the collector never ran on a full volume,
// and a full node disk under node-exporter's directory stopped every
// sweep. A full file system is no mistake in the job: the pass runs, and
// the textfile is written after it where the pass freed the room (exit 0),
// or its failure is the run's (exit 1) where it did not.
func TestTextfileOnFullFileSystem(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	for _, beside := range []bool{true, false} {
		t.Run(fmt.Sprint("beside the store ", beside), func(t *testing.T) {
			mnt := smallTmpfs(t)
			dir, textfile := filepath.Join(mnt, "store"), filepath.Join(mnt, "sessgc.prom")
			if !beside {
				dir = filepath.Join(t.TempDir(), "store")
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			st := &store{t: t, dir: dir, s: s}
			// A first sweep makes the store's lock files, as scheduled
			// runs have.
			st.expire(st.save(1)...)
			if r := runGC(t, []string{"run", "--dir", dir}); r.code != 0 {
				t.Fatalf("run: exit %d, stderr %q", r.code, r.stderr)
			}
			ids := st.save(4)
			st.expire(ids[:3]...)
			s.Close()
			fillFS(t, filepath.Join(mnt, "filler"))

			r := runGC(t, []string{"run", "--dir", dir, "--textfile", textfile})
			want := 1
			if beside {
				want = 0 // the sweep freed inodes on the textfile's file system
			}
			if r.code != want {
				t.Errorf("run: exit %d, stderr %q; want %d", r.code, r.stderr, want)
			}
			if !beside && !strings.Contains(r.stderr, "--textfile") {
				t.Errorf("stderr does not name the textfile: %q", r.stderr)
			}
			for i, id := range ids {
				if want := i >= 3; st.exists(id) != want {
					t.Errorf("session %d: exists %v, want %v", i, !want, want)
				}
			}
			if _, err := os.Stat(textfile); beside && err != nil {
				t.Errorf("textfile: %v", err)
			}
		})
	}
}

// TestRunOnFullFileSystemThroughSymlink: a --dir that is a symbolic link
// to the store's directory (a path kept stable across volume moves) on a
// full file system. The sweep's clock there is the directory's own mtime
// set to now; setting it without following the link set the link's times
// and read the directory's old mtime, a clock days behind that found
// nothing expired: the full disk stayed full.
func TestRunOnFullFileSystemThroughSymlink(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	mnt := smallTmpfs(t)
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "sessions")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(link, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st := &store{t: t, dir: dir, s: s}
	// A first run makes the lock files (the sweep lock's with its first
	// removal), which a full disk cannot.
	st.expire(st.save(1)...)
	if r := runGC(t, []string{"run", "--dir", link}); r.code != 0 {
		t.Fatalf("run: exit %d, stderr %q", r.code, r.stderr)
	}
	ids := st.save(3)
	st.expire(ids[:2]...)
	fillFS(t, filepath.Join(mnt, "filler"))
	// Nothing was made or removed at the store's top for long before
	// the disk filled up.
	longAgo := old.Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(dir, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}

	r := runGC(t, []string{"run", "--dir", link, "--json"})
	if r.code != 0 {
		t.Fatalf("run on a full file system through a symlink: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if _, sum := summary(t, r); sum.Sessions != 2 || sum.Live != 1 {
		t.Errorf("run on a full file system through a symlink removed %d sessions and kept %d; want 2 and 1", sum.Sessions, sum.Live)
	}
}
