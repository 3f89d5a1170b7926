package fstarget

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/shellquote"
)

func TestTargetOperationsAndCleanup(t *testing.T) {
	dir := t.TempDir()
	tg, err := Open("t", dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("hello")
	steps := []struct {
		name string
		do   func() error
	}{
		{"cycle on a new session", func() error { return tg.Cycle(ctx, id, payload) }},
		{"load", func() error { return tg.Load(ctx, id) }},
		{"save", func() error { return tg.Save(ctx, id, payload) }},
		{"touch", func() error { return tg.Touch(ctx, id) }},
		{"cycle on an existing session", func() error { return tg.Cycle(ctx, id, payload) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	info := tg.Info()
	if info.Kind != "fs" || info.Location != dir || info.FSType == "" || info.Durability != "none" {
		t.Errorf("info = %+v", info)
	}
	if _, err := tg.RPCCounts(); err == nil && !info.NFS {
		t.Error("RPC counts off NFS")
	}
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	tests := []struct{ name, dir, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"file", file, "not a directory"},
		{"unwritable", "/proc", "not writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open("t", tt.dir, fsstore.WithDurability(fsstore.DurabilityFile))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.dir) {
				t.Fatalf("err = %v, want one naming %s and saying %q", err, tt.dir, tt.want)
			}
		})
	}
}

// TestSessionsOutliveTheRun: a session the target saved loads and touches
// however long after, as a run of any length needs; with the store's
// defaults it expired 24 minutes after its last write, and absolutely 24
// hours after its creation.
func TestSessionsOutliveTheRun(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tg, err := Open("t", t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx := context.Background()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Save(ctx, id, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, later := range []time.Duration{25 * time.Minute, 25 * time.Hour, 30 * 24 * time.Hour} {
		mu.Lock()
		now = now.Add(later)
		mu.Unlock()
		if err := tg.Load(ctx, id); err != nil {
			t.Fatalf("load %v after the last write: %v", later, err)
		}
		if err := tg.Touch(ctx, id); err != nil {
			t.Fatalf("touch %v after the last write: %v", later, err)
		}
	}
}

// TestFootprintOnLargeBlocks: the block size statfs reports is a preferred
// I/O size, 1 MiB on an NFS mount with wsize=1048576: rounding every
// session file to it counted a 1 KiB session as 1 MiB and refused runs on
// shared mounts with plenty of room.
func TestFootprintOnLargeBlocks(t *testing.T) {
	const sessions, clients = 100000, 64
	sizes := []int{1 << 10, 16 << 10}
	got := Footprint(sessions, sizes, clients, fsstore.RecordOverhead, 1<<20)
	// At most 4 KiB blocks: 100,000 × (4 KiB + 20 KiB) and the saves in
	// flight, about 2.3 GiB.
	if want := float64(sessions*(4<<10+20<<10) + clients*(20<<10)); got != want {
		t.Errorf("Footprint of %d sessions of %v on 1 MiB blocks = %.3g bytes, want %.3g (files rounded to at most 4 KiB)", sessions, sizes, got, want)
	}
}

// TestSameSpace: directories are on one file system when their device
// numbers are equal, and also when they differ but statfs reports one
// file system's size and free space: btrfs subvolumes of one pool, two
// NFS mounts of one export, an overlay and its upper file system. Free
// space read a moment apart on a mount in use may differ a little.
func TestSameSpace(t *testing.T) {
	const gib = 1 << 18 // 4 KiB blocks
	disk := space{dev: 1, bsize: 4096, blocks: 100 * gib, avail: 40 * gib}
	with := func(edit func(*space)) space { s := disk; edit(&s); return s }
	for _, tt := range []struct {
		name string
		b    space
		same bool
	}{
		{"same device", with(func(s *space) { s.avail, s.bsize = 1, 1 }), true},
		{"btrfs subvolume, NFS mount of the same export", with(func(s *space) { s.dev = 2 }), true},
		{"free space changed in between", with(func(s *space) { s.dev, s.avail = 2, s.avail-gib/20 }), true},
		{"another disk", with(func(s *space) { s.dev, s.blocks = 2, 50*gib }), false},
		{"a disk of the same size, used differently", with(func(s *space) { s.dev, s.avail = 2, 70*gib }), false},
		{"another block size", with(func(s *space) { s.dev, s.bsize = 2, 1024 }), false},
		{"no figures", space{dev: 2}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameSpace(disk, tt.b); got != tt.same {
				t.Errorf("sameSpace(%+v, %+v) = %v, want %v", disk, tt.b, got, tt.same)
			}
			if got := sameSpace(tt.b, disk); got != tt.same {
				t.Errorf("sameSpace(%+v, %+v) = %v, want %v", tt.b, disk, got, tt.same)
			}
		})
	}
}

// TestOpenRefusesStoreDir: a --dir that is a live sessfs store, or lies in
// its data or lock directory, is refused before anything is written
// there. A run at a store's top went ahead: its directory, foreign to the
// store, showed in sessgc's reports for the run's length, and for good
// after a run killed before its cleanup, with its sessions in it.
func TestOpenRefusesStoreDir(t *testing.T) {
	base := t.TempDir()
	store := filepath.Join(base, "live")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(store)
	if errors.Is(err, fsstore.ErrNotSupported) {
		t.Skipf("no store opens here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), &fsstore.Session{ID: "0123456789abcdef0123456789abcdef", Data: []byte("live")}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	shard := filepath.Join(store, fsstore.DataDir, "zz")
	damaged := filepath.Join(base, "damaged")
	scratch := filepath.Join(base, "bench")
	atTop := filepath.Join(store, "bench")
	link := filepath.Join(base, "link")
	for _, d := range []string{shard, damaged, scratch, atTop} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(damaged, fsstore.MarkerFile), []byte("not a marker"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlinks := os.Symlink(store, link) == nil
	for _, tt := range []struct {
		name, dir string
		refused   bool
	}{
		{"the store", store, true},
		{"its data directory", filepath.Join(store, fsstore.DataDir), true},
		{"a shard", shard, true},
		{"its lock directory", filepath.Join(store, fsstore.LockDir), true},
		{"a link to the store", link, true},
		{"a damaged store", damaged, true},
		{"a scratch directory beside it", scratch, false},
		// Made by the operator: the run adds nothing at the store's top.
		{"a directory at its top", atTop, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dir == link && !symlinks {
				t.Skip("no symbolic links here")
			}
			before := listTree(t, store)
			tg, err := Open("t", tt.dir, fsstore.WithDurability(fsstore.DurabilityNone))
			if tg != nil {
				defer tg.Close()
			}
			if tt.refused {
				if !errors.Is(err, ErrStoreDir) || !strings.Contains(err.Error(), tt.dir) {
					t.Errorf("Open(%s) = %v, want an error matching ErrStoreDir naming it", tt.dir, err)
				}
				if after := listTree(t, store); !slices.Equal(before, after) {
					t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
				}
				return
			}
			if err != nil {
				t.Errorf("Open(%s): %v", tt.dir, err)
			}
		})
	}
}

// listTree lists the paths under dir.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		list = append(list, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestLeftoverNote(t *testing.T) {
	d := t.TempDir()
	if note := LeftoverNote(d); note != "" {
		t.Errorf("empty directory: %q", note)
	}
	// A file by that name is no run's directory.
	os.WriteFile(filepath.Join(d, ".sessbench-file"), nil, 0o600)
	if note := LeftoverNote(d); note != "" {
		t.Errorf("a file only: %q", note)
	}
	// Nor is a directory of a name no run makes.
	os.Mkdir(filepath.Join(d, ".sessbench-notes"), 0o700)
	if note := LeftoverNote(d); note != "" {
		t.Errorf("no run's directory: %q", note)
	}
	for _, n := range []string{".sessbench-1", ".sessbench-http-2", ".sessbench-gorilla-3", ".sessbench-4"} {
		os.Mkdir(filepath.Join(d, n), 0o700)
	}
	note := LeftoverNote(d)
	q := func(n string) string { return shellquote.Quote(filepath.Join(d, n)) }
	for _, want := range []string{"4 directories", ".sessbench-1, .sessbench-4, .sessbench-gorilla-3, ...",
		"rm -rf -- " + q(".sessbench-1") + " " + q(".sessbench-4") + " " + q(".sessbench-gorilla-3") + " " + q(".sessbench-http-2")} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}

// TestCommandsForPlatform: the commands a message gives are the
// platform's. On Windows the missing --dir's hint said mkdir -p, which
// cmd.exe takes as a directory named -p, and the leftover note rm -rf,
// which neither of its shells has.
func TestCommandsForPlatform(t *testing.T) {
	for _, tt := range []struct {
		goos, got, want string
	}{
		{"linux", mkdirCommand("linux", "/mnt/efs/bench"), "mkdir -p -- /mnt/efs/bench"},
		{"linux", mkdirCommand("linux", "/mnt/my bench"), "mkdir -p -- '/mnt/my bench'"},
		{"linux", mkdirCommand("linux", "-bench"), "mkdir -p -- -bench"},
		{"windows", mkdirCommand("windows", "-bench"), "mkdir '-bench'"},
		{"windows", mkdirCommand("windows", `C:\bench\a`), `mkdir C:\bench\a`},
		{"windows", mkdirCommand("windows", `C:\my bench's`), `mkdir 'C:\my bench''s'`},
		{"linux", removeCommand("linux", "/var/tmp/", "sessbench-1", "sessbench-http-2"), "rm -rf -- /var/tmp/sessbench-1 /var/tmp/sessbench-http-2"},
		{"linux", removeCommand("linux", "-bench", ".sessbench-1"), "rm -rf -- -bench/.sessbench-1"},
		{"linux", removeCommand("linux", "a*b", ".sessbench-1"), "rm -rf -- 'a*b/.sessbench-1'"},
		{"windows", removeCommand("windows", `-bench`, ".sessbench-1"), `Remove-Item -Recurse -Force -LiteralPath '-bench\.sessbench-1'`},
		{"windows", removeCommand("windows", `C:\Temp\`, "sessbench-1", "sessbench-http-2"), `Remove-Item -Recurse -Force -LiteralPath C:\Temp\sessbench-1, C:\Temp\sessbench-http-2`},
		{"windows", removeCommand("windows", `D:\my bench`, ".sessbench-1"), `Remove-Item -Recurse -Force -LiteralPath 'D:\my bench\.sessbench-1'`},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %s, want %s", tt.goos, tt.got, tt.want)
		}
	}
}

// TestTempLeftoverNote: only the names runs without --dir make count, in
// a directory every program shares.
func TestTempLeftoverNote(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"sessbench-results", "sessbench-bin-123", "sessbench-", "sessbench-http-"} {
		os.Mkdir(filepath.Join(d, n), 0o700)
	}
	if note := TempLeftoverNote(d); note != "" {
		t.Errorf("no run's directory: %q", note)
	}
	os.Mkdir(filepath.Join(d, "sessbench-42"), 0o700)
	if note := TempLeftoverNote(d); !strings.Contains(note, "a directory of other sessbench runs (sessbench-42)") {
		t.Errorf("note %q", note)
	}
}
