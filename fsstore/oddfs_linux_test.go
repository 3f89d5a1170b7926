//go:build linux

package fsstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// direntTypes returns the d_type getdents64 gives each entry of dir.
func direntTypes(t *testing.T, dir string) map[string]byte {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	types := map[string]byte{}
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return types
		}
		for b := buf[:n]; len(b) > 0; {
			reclen := int(binary.NativeEndian.Uint16(b[16:]))
			name := b[19:reclen]
			if i := slices.Index(name, 0); i >= 0 {
				name = name[:i]
			}
			types[string(name)] = b[18]
			b = b[reclen:]
		}
	}
}

// TestExt4WithoutFileType: on an ext4 made without the filetype feature
// every listing gives DT_UNKNOWN, and the sweep's and Stats's fast listing
// asks lstat for each entry's type. The store's operations, Stats and the
// sweep give what they give on ext4 with types: expired sessions removed
// exactly, live ones kept, a FIFO, a directory, a symbolic link and a
// stray file in a shard counted as foreign and left, an abandoned temp
// file removed.
func TestExt4WithoutFileType(t *testing.T) {
	type result struct {
		stats   fsstore.Stats
		sweep   fsstore.SweepStats
		restats fsstore.Stats
	}
	results := map[string]result{}
	for _, fsys := range []struct {
		name    string
		feature string
		dtype   byte // d_type of a regular file
	}{
		{"ext4", "filetype", unix.DT_REG},
		{"ext4 without filetype", "^filetype", unix.DT_UNKNOWN},
	} {
		t.Run(fsys.name, func(t *testing.T) {
			ctx := context.Background()
			dir := ext4Dir(t, fsys.feature+",^has_journal")
			s := openDir(t, dir, fsstore.WithShardDepth(1), fsstore.WithIdleTimeout(testIdle))
			ids := distinctIDs(t, s, 6)
			live, expired := ids[:3], ids[3:]
			for _, id := range ids {
				must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("data of " + id)}))
			}
			for _, id := range expired {
				age(t, s.RecordPathForTest(id))
			}
			shard := filepath.Dir(s.RecordPathForTest(live[0]))
			if got := direntTypes(t, shard)[filepath.Base(s.RecordPathForTest(live[0]))]; got != fsys.dtype {
				t.Fatalf("d_type of a record on %s: %d, want %d", fsys.name, got, fsys.dtype)
			}
			// The store's operations, each on a live session.
			mustLoad(t, s, live[0], "data of "+live[0])
			must(t, s.Touch(ctx, live[1]))
			l, err := s.Lock(ctx, live[2], fsstore.Exclusive)
			must(t, err)
			must(t, l.Save(ctx, &fsstore.Session{ID: live[2], Data: []byte("locked save")}))
			must(t, l.Unlock())
			mustLoad(t, s, live[2], "locked save")
			gone := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: gone, Data: []byte("deleted")}))
			must(t, s.Delete(ctx, gone))
			if _, err := s.Load(ctx, gone); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load after Delete: %v, want ErrNotFound", err)
			}

			// What is not a record, in the shard of a live one.
			must(t, unix.Mkfifo(filepath.Join(shard, "fifo"), 0o600))
			must(t, os.Mkdir(filepath.Join(shard, "subdir"), 0o700))
			must(t, os.Symlink(s.RecordPathForTest(live[0]), filepath.Join(shard, "link")))
			writeOld(t, filepath.Join(shard, "stray"))
			temp := filepath.Join(shard, ".tmp-abandoned")
			writeOld(t, temp)

			var r result
			r.stats, err = s.Stats(ctx, fsstore.StatsOptions{})
			must(t, err)
			r.sweep, err = s.Sweep(ctx, sweepOpts)
			must(t, err)
			r.restats, err = s.Stats(ctx, fsstore.StatsOptions{})
			must(t, err)
			for _, id := range live {
				if _, err := s.Load(ctx, id); err != nil {
					t.Errorf("live session after the sweep: %v", err)
				}
			}
			for _, id := range expired {
				if exists(t, s.RecordPathForTest(id)) {
					t.Errorf("expired session %s left by the sweep", id)
				}
			}
			if exists(t, temp) {
				t.Errorf("abandoned temp file left by the sweep")
			}
			for _, name := range []string{"fifo", "subdir", "link", "stray"} {
				if !exists(t, filepath.Join(shard, name)) {
					t.Errorf("the sweep removed %s, not the store's", name)
				}
			}
			if st := r.stats; st.Live != 3 || st.Expired != 3 || st.Foreign != 4 || st.Temps != 1 || st.StaleTemps != 1 {
				t.Errorf("Stats before the sweep: %d live, %d expired, %d foreign, %d temps (%d stale); want 3, 3, 4, 1 (1)",
					st.Live, st.Expired, st.Foreign, st.Temps, st.StaleTemps)
			}
			if sw := r.sweep; sw.Live != 3 || sw.Sessions != 3 || sw.Foreign != 4 || sw.Temps != 1 || sw.Errors != 0 {
				t.Errorf("Sweep: %d live kept, %d sessions and %d temps removed, %d foreign, %d errors; want 3, 3, 1, 4, 0",
					sw.Live, sw.Sessions, sw.Temps, sw.Foreign, sw.Errors)
			}
			if st := r.restats; st.Live != 3 || st.Expired != 0 || st.Foreign != 4 || st.Temps != 0 {
				t.Errorf("Stats after the sweep: %d live, %d expired, %d foreign, %d temps; want 3, 0, 4, 0",
					st.Live, st.Expired, st.Foreign, st.Temps)
			}
			results[fsys.name] = r
		})
	}
	a, b := results["ext4"], results["ext4 without filetype"]
	if len(results) == 2 && (a.sweep.Scanned != b.sweep.Scanned || a.stats.Bytes != b.stats.Bytes) {
		t.Errorf("ext4 without filetype: sweep scanned %d, Stats %d bytes; with types: %d, %d",
			b.sweep.Scanned, b.stats.Bytes, a.sweep.Scanned, a.stats.Bytes)
	}
}

// ext4Dir mounts a fresh ext4 of 8 MiB made with the features given to
// mkfs.ext4 -O (and its other options) and returns an empty directory on
// it.
func ext4Dir(t *testing.T, features string, mkfs ...string) string {
	t.Helper()
	mnt := testenv.MountImage(t, 8<<20, "ext4", "", append([]string{"mkfs.ext4", "-q", "-F", "-O", features}, mkfs...)...)
	dir := filepath.Join(mnt, "sessions")
	must(t, os.Mkdir(dir, 0o700))
	return dir
}

// ext4Coarse mounts a fresh ext4 with 128-byte inodes, which have no room
// for nanoseconds: every file time is in whole seconds, as on ext3, HFS+
// and sshfs. It returns an empty directory on it.
func ext4Coarse(t *testing.T) string { return ext4Dir(t, "^has_journal", "-I", "128") }

// TestCoarseTimesTellReplacedRecords: on a file system with whole-second
// times, a record saved twice within a second by another process may get
// the inode number its first version freed, and has the size and ctime
// of the one before: device, inode, size and ctime no longer tell the
// files apart. A cached Load must not serve the first version, and a
// Touch must not judge the record by the header of the first version.
// Both trusted that identity: the cache served the replaced record at
// every round, and Touch answered as live a session the other process
// had saved with an idle timeout long past.
func TestCoarseTimesTellReplacedRecords(t *testing.T) {
	ctx := context.Background()
	dir := ext4Coarse(t)
	reader := openDir(t, dir, fsstore.WithCache(100, 1<<20), fsstore.WithIdleTimeout(testIdle))
	writer := openDir(t, dir, fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	for round := range 20 {
		for _, data := range []string{"one", "two"} {
			must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}))
			mustLoad(t, reader, id, data)
			// Two saves of one size: the second's temp file can take the
			// inode the first freed.
			must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("mid")}))
			must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("new")}))
			if got, err := reader.Load(ctx, id); err != nil || string(got.Data) != "new" {
				t.Fatalf("round %d: cached Load after two saves by another process: %q, %v; want %q", round, got.Data, err, "new")
			}
		}
	}
	// A reader whose clock is a minute ahead: a record of a second's
	// idle timeout is expired to it, one of testIdle's live.
	ahead := openDir(t, dir, fsstore.WithIdleTimeout(testIdle), fsstore.WithClock(func() time.Time { return time.Now().Add(time.Minute) }))
	for round := range 20 {
		must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("live")}))
		mustLoad(t, ahead, id, "live")
		must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("mid!"), Idle: time.Second}))
		must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("gone"), Idle: time.Second}))
		if err := ahead.Touch(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
			t.Fatalf("round %d: Touch of a session another process saved with an idle timeout past: %v, want ErrExpired", round, err)
		}
	}
}

// TestCoarseTimesRekeyRace: a record that requests save twice while a
// rekey rewrites it, within the second the rekey read it in, has the
// inode number, size and ctime of the one it read on a file system with
// whole-second times (and the mtime too, from a clock that stands still
// here so that the second need not be the same): the rekey must still
// see it changed, and not publish the rewrite of what it read over the
// newer save. It did, and the save was lost.
func TestCoarseTimesRekeyRace(t *testing.T) {
	ctx := context.Background()
	mnt := ext4Coarse(t)
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	at := time.Now()
	clock := fsstore.WithClock(func() time.Time { return at })
	ctime := func(p string) int64 {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Error(err)
		}
		return int64(st.Ctim.Sec) // int32 on 32-bit ports
	}
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			t.Fatal("no attempt had the rekey's read and the saves in one second")
		}
		dir := filepath.Join(mnt, "attempt"+strconv.Itoa(attempt))
		must(t, os.Mkdir(dir, 0o700))
		old, err := fsstore.Open(dir, fsstore.WithKeys(k1), clock)
		must(t, err)
		id := newID(t)
		must(t, old.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}))
		p := old.RecordPathForTest(id)
		must(t, old.Close())
		app := openDir(t, dir, fsstore.WithKeys(k2, k1), clock)
		rk := rekeyingStore(t, dir, k2, k1)
		var read, saved int64
		// On the rekey's worker: errors, not t.Fatal.
		rk.SetRekeyReadHookForTest(func(string) {
			if read != 0 {
				return
			}
			read = ctime(p)
			for _, data := range []string{"mid", "new"} {
				if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
					t.Errorf("Save during the rekey: %v", err)
				}
			}
			saved = ctime(p)
		})
		if _, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil {
			t.Fatal(err)
		}
		if read != saved {
			continue // the saves came in another second: they told themselves apart
		}
		mustLoad(t, app, id, "new")
		return
	}
}

// coreOps runs the store's core operations in dir, an empty directory on
// the file system under test: Save, Load, Lock and a locked save, Touch,
// Delete, Stats, Sweep, and a key rotation with Rekey, each checked.
func coreOps(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	s, err := fsstore.Open(dir, fsstore.WithKeys(k1), fsstore.WithShardDepth(1), fsstore.WithIdleTimeout(testIdle))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ids := distinctIDs(t, s, 5)
	for _, id := range ids {
		must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("saved " + id)}))
	}
	mustLoad(t, s, ids[0], "saved "+ids[0])
	l, err := s.Lock(ctx, ids[1], fsstore.Exclusive)
	must(t, err)
	if _, err := l.Load(ctx); err != nil {
		t.Errorf("Locked.Load: %v", err)
	}
	must(t, l.Save(ctx, &fsstore.Session{ID: ids[1], Data: []byte("locked")}))
	must(t, l.Touch(ctx))
	must(t, l.Unlock())
	mustLoad(t, s, ids[1], "locked")
	// A touch of a session idle for 5 of its 10 minutes makes it live for
	// 10 more, however coarse the file system's times.
	p := s.RecordPathForTest(ids[2])
	half := time.Now().Add(-testIdle / 2)
	must(t, os.Chtimes(p, half, half))
	must(t, s.Touch(ctx, ids[2]))
	if fi, err := os.Stat(p); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("Touch left the last activity %v ago (%v)", time.Since(fi.ModTime()), err)
	}
	must(t, s.Delete(ctx, ids[3]))
	if _, err := s.Load(ctx, ids[3]); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load after Delete: %v, want ErrNotFound", err)
	}
	age(t, s.RecordPathForTest(ids[4]))
	if _, err := s.Load(ctx, ids[4]); !errors.Is(err, fsstore.ErrExpired) && !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load of an expired session: %v, want ErrExpired or ErrNotFound", err)
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil || st.Live != 3 || st.Expired != 1 || st.Foreign != 0 {
		t.Errorf("Stats: %d live, %d expired, %d foreign, %v; want 3, 1, 0", st.Live, st.Expired, st.Foreign, err)
	}
	sw, err := s.Sweep(ctx, sweepOpts)
	if err != nil || sw.Live != 3 || sw.Sessions != 1 || sw.Errors != 0 {
		t.Errorf("Sweep: %d live, %d removed, %d errors, %v; want 3, 1, 0", sw.Live, sw.Sessions, sw.Errors, err)
	}
	must(t, s.Close())

	// Rotation: the new key first, the old one still read; the rekey
	// moves every live session to the new key, and the old key can go.
	s2, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(testIdle))
	must(t, err)
	rk, err := s2.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || rk.Rekeyed != 3 || rk.Errors != 0 {
		t.Errorf("Rekey: %d rekeyed, %d errors, %v; want 3, 0", rk.Rekeyed, rk.Errors, err)
	}
	must(t, s2.Close())
	s3 := openDir(t, dir, fsstore.WithKeys(k2), fsstore.WithIdleTimeout(testIdle))
	for i, want := range []string{"saved " + ids[0], "locked", "saved " + ids[2]} {
		mustLoad(t, s3, ids[i], want)
	}
}

// TestCoreOpsOnFileSystems runs coreOps on each file system Linux mounts
// here that a store may be put on.
func TestCoreOpsOnFileSystems(t *testing.T) {
	for _, fsys := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"tmpfs", func(t *testing.T) string { return testenv.MountTmpfs(t, "4m") }},
		{"ext4 with 1-second times", ext4Coarse},
		{"ext4 without filetype", func(t *testing.T) string { return ext4Dir(t, "^filetype,^has_journal") }},
		{"FUSE (bindfs)", func(t *testing.T) string { return testenv.BindfsMounts(t, t.TempDir(), 1)[0] }},
		{"overlayfs", overlayDir},
	} {
		t.Run(fsys.name, func(t *testing.T) { coreOps(t, fsys.dir(t)) })
	}
}

// fatDir returns an empty directory on a fresh FAT file system of 8 MiB:
// the kernel's vfat, or fusefat's where the kernel has none, unmounted at
// the end of t. It skips t without root, mkfs.vfat (dosfstools), or
// either of those.
func fatDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a FAT file system")
	}
	if _, err := exec.LookPath("mkfs.vfat"); err != nil {
		t.Skip("mkfs.vfat not installed (apt-get install dosfstools)")
	}
	var mnt string
	if fs, err := os.ReadFile("/proc/filesystems"); err == nil && strings.Contains(string(fs), "\tvfat\n") {
		mnt = testenv.MountImage(t, 8<<20, "vfat", "", "mkfs.vfat")
	} else {
		fusefat, err := exec.LookPath("fusefat")
		if err != nil {
			t.Skip("this kernel has no vfat, and fusefat is not installed (apt-get install fusefat)")
		}
		work := t.TempDir()
		img := filepath.Join(work, "fat.img")
		mnt = filepath.Join(work, "mnt")
		must(t, os.Mkdir(mnt, 0o755))
		must(t, os.WriteFile(img, nil, 0o600))
		must(t, os.Truncate(img, 8<<20))
		if out, err := exec.Command("mkfs.vfat", img).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.vfat: %v\n%s", err, out)
		}
		if out, err := exec.Command(fusefat, "-o", "rw+", img, mnt).CombinedOutput(); err != nil {
			testenv.Skip(t, testenv.Root, "fusefat %s: %v: %s (no /dev/fuse in this container?)", mnt, err, out)
		}
		t.Cleanup(func() {
			if err := unix.Unmount(mnt, 0); err != nil {
				unix.Unmount(mnt, unix.MNT_DETACH)
			}
		})
	}
	dir := filepath.Join(mnt, "sessions")
	must(t, os.Mkdir(dir, 0o700))
	return dir
}

// TestFATRefused: FAT makes no hard links, which a store needs. A
// writable Open refuses a store there with ErrNoHardLinks, and changes
// nothing in one made elsewhere and copied there, which a read-only Open
// still reads. Creating a store failed with EPERM from the marker's link
// and advice about root_squash, and a copied store opened and served, and
// its sweep failed at every expired session, left aside for good.
func TestFATRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("new store", func(t *testing.T) {
		dir := fatDir(t)
		before := treeSansDirTimes(t, dir)
		// Twice: the first refusal leaves nothing that makes the second
		// Open see a directory that is neither empty nor a store.
		for _, try := range []string{"first", "again"} {
			s, err := fsstore.Open(dir)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, fsstore.ErrNoHardLinks) || errors.Is(err, os.ErrPermission) {
				t.Errorf("Open on FAT (%s): %v, want ErrNoHardLinks and not a permission error", try, err)
			}
			if after := treeSansDirTimes(t, dir); after != before {
				t.Errorf("refused Open (%s) changed the directory:\nbefore:\n%s\nafter:\n%s", try, before, after)
			}
		}
	})
	t.Run("copied store", func(t *testing.T) {
		dir := fatDir(t)
		src := t.TempDir()
		w := openDir(t, src)
		id := newID(t)
		must(t, w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("copied")}))
		must(t, w.Close())
		must(t, os.Remove(dir))
		if out, err := exec.Command("cp", "-r", src, dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
		before := treeSansDirTimes(t, dir)
		s, err := fsstore.Open(dir)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, fsstore.ErrNoHardLinks) {
			t.Errorf("Open of a store copied onto FAT: %v, want ErrNoHardLinks", err)
		}
		if after := treeSansDirTimes(t, dir); after != before {
			t.Errorf("refused Open changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		mustLoad(t, openDir(t, dir, fsstore.WithReadOnly()), id, "copied")
	})
}

// overlayDir returns a directory of an image's lower layer seen through
// an overlayfs, as a container without a volume has its files, unmounted
// at the end of t: the store's files are made in the upper layer, and the
// directory is copied up at the first.
func overlayDir(t *testing.T) string {
	t.Helper()
	base := testenv.MountTmpfs(t, "8m")
	for _, d := range []string{"lower/sessions", "upper", "work", "merged"} {
		must(t, os.MkdirAll(filepath.Join(base, d), 0o700))
	}
	merged := filepath.Join(base, "merged")
	opts := "lowerdir=" + filepath.Join(base, "lower") + ",upperdir=" + filepath.Join(base, "upper") + ",workdir=" + filepath.Join(base, "work")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		testenv.Skip(t, testenv.Root, "cannot mount an overlayfs on %s: %v", merged, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	return filepath.Join(merged, "sessions")
}

// treeSansDirTimes is testenv.TreeState of dir without the modification
// times of directories: every entry's mode and size, and every file's time
// and contents. A refused Open learns that the file system makes no links
// from a file it makes and removes in data/ (or in dir, for a new store),
// which moves that directory's time, on FAT's 2-second clock only when the
// Open crosses a tick: a comparison of it failed now and then.
func treeSansDirTimes(t *testing.T, dir string) string {
	t.Helper()
	lines := strings.SplitAfter(testenv.TreeState(t, dir), "\n")
	for i, l := range lines {
		// "PATH MODE SIZE MTIME" for a directory; a path made by
		// these tests has no spaces.
		f := strings.Fields(l)
		if len(f) == 4 && strings.HasPrefix(f[1], "d") {
			lines[i] = strings.Join(f[:3], " ") + "\n"
		}
	}
	return strings.Join(lines, "")
}
