//go:build unix

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// relister stands for a file system that lists a name created in a
// directory while a listing of it goes on after the entries it already
// returned, as ext4 does for a name whose hash comes after the listing's
// position: it records the names created during the sweep (by
// the sweep's put-back, and by the saves the cases make), and the sweep's
// listing of their directory shows them once more at its end.
type relister struct {
	mu      sync.Mutex
	created []string
}

func (r *relister) add(p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.created = append(r.created, p)
}

func (r *relister) link(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	if err == nil {
		r.add(newpath)
	}
	return err
}

func (r *relister) relist(dir string) []fs.DirEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []fs.DirEntry
	seen := map[string]bool{}
	for _, p := range r.created {
		if filepath.Dir(p) != dir || seen[p] {
			continue
		}
		seen[p] = true
		fi, err := os.Lstat(p)
		if err != nil {
			continue // gone again: a listing would not show it
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	return out
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A record that the sweep puts back under its name while it lists the
// shard (restored from an earlier sweep's aside file, or renewed after
// this sweep judged it) can show up again later in the same listing: a
// file system may list a name created during a listing, and the listing
// is read in chunks. The sweep counts it once, as restored or renewed,
// and not a second time as live (nor scanned twice, nor judged again).
// A record that an application saved under a name during the listing
// is another matter: it is new, and counted live.
func TestSweepCountsPutBackOncePerPass(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// writerIdle is the applications' idle timeout; lowerTo, when
		// not zero, the marker's max idle an operator set by hand
		// before the sweep; xIdle, when not zero, X's own idle timeout.
		writerIdle, lowerTo, xIdle time.Duration
		// idle is how long ago X was saved when the sweep starts.
		idle time.Duration
		// aside: X is left aside, as by a sweep that died.
		aside bool
		// fillBatch: as many other expired records as make X's batch of
		// removals full, so that the sweep removes it while it lists the
		// shard rather than after.
		fillBatch bool
		// beforeMove and beforeSettle run in this sweep's removal of X.
		beforeMove, beforeSettle func(c *relistEnv, t *testing.T)
		want                     string // X's payload after the sweep
		// xLive: the record at X's name after the sweep is counted live.
		xLive                                bool
		scanned, sessions, renewed, restored int64
	}{
		{name: "restored", writerIdle: time.Hour, idle: 10 * time.Minute, aside: true,
			want: "x", scanned: 2, restored: 1},
		{name: "restored, max idle lowered by hand", writerIdle: 2 * time.Hour, lowerTo: time.Hour, idle: 90 * time.Minute, aside: true,
			want: "x", scanned: 2, restored: 1},
		{name: "touched after the scan", writerIdle: time.Hour, idle: 2 * time.Hour, fillBatch: true,
			beforeMove: (*relistEnv).touch, want: "x", scanned: 2, renewed: 1},
		// Judged by its header, under its lock, as the listing reaches it.
		{name: "touched after the scan, max idle lowered by hand", writerIdle: 2 * time.Hour, lowerTo: time.Hour,
			xIdle: 30 * time.Minute, idle: 90 * time.Minute,
			beforeMove: (*relistEnv).touch, want: "x", scanned: 2, renewed: 1},
		{name: "saved after the scan and again while aside", writerIdle: time.Hour, idle: 2 * time.Hour, fillBatch: true,
			beforeMove:   func(c *relistEnv, t *testing.T) { c.save(t, "fresh") },
			beforeSettle: func(c *relistEnv, t *testing.T) { c.save(t, "fresher") },
			want:         "fresher", scanned: 2, renewed: 1},
		// The sweep removes the expired record it moved aside; the one
		// saved meanwhile is another, and live.
		{name: "saved while aside", writerIdle: time.Hour, idle: 2 * time.Hour, fillBatch: true,
			beforeSettle: func(c *relistEnv, t *testing.T) { c.save(t, "fresh") },
			want:         "fresh", xLive: true, scanned: 3, sessions: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRelistEnv(t, tc.writerIdle)
			if err := c.w.Save(ctx, &fsstore.Session{ID: c.id, Data: []byte("x"), Idle: tc.xIdle}); err != nil {
				t.Fatal(err)
			}
			if tc.aside {
				if err := os.Rename(c.p, c.aside); err != nil {
					t.Fatal(err)
				}
			}
			var others int64
			if tc.fillBatch {
				others = fsstore.SweepBatchForTest - 1
			}
			for range others {
				if err := c.w.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("o")}); err != nil {
					t.Fatal(err)
				}
			}
			c.clock.Advance(tc.idle)
			// A bystander, live: counted once, as ever.
			bystander := newID(t)
			if err := c.w.Save(ctx, &fsstore.Session{ID: bystander, Data: []byte("b")}); err != nil {
				t.Fatal(err)
			}
			if tc.lowerTo != 0 {
				setMarkerIdle(t, c.dir, tc.lowerTo)
			}
			hook := func(f func(*relistEnv, *testing.T)) func(string) {
				if f == nil {
					return nil
				}
				return func(p string) {
					if p == c.p {
						f(c, t)
					}
				}
			}
			c.gc.SetSweepHooksForTest(c.rl.link, hook(tc.beforeMove), hook(tc.beforeSettle))
			c.gc.SetSweepRelistHookForTest(c.rl.relist)
			st, err := c.gc.Sweep(ctx, fsstore.SweepOptions{})
			c.gc.SetSweepHooksForTest(nil, nil, nil)
			c.gc.SetSweepRelistHookForTest(nil)
			if err != nil || st.Errors != 0 {
				t.Fatalf("sweep: %+v, %v", st, err)
			}
			live, liveBytes := int64(1), fileSize(t, c.w.RecordPathForTest(bystander))
			if tc.xLive {
				live++
				liveBytes += fileSize(t, c.p)
			}
			scanned, sessions := tc.scanned+others, tc.sessions+others
			if st.Scanned != scanned || st.Live != live || st.LiveBytes != liveBytes || st.Sessions != sessions ||
				st.SkippedRenewed != tc.renewed || st.Restored != tc.restored {
				t.Errorf("sweep counted scanned %d, live %d (%d bytes), removed %d, renewed %d, restored %d;\n"+
					"want %d, %d (%d bytes), %d, %d, %d (%+v)",
					st.Scanned, st.Live, st.LiveBytes, st.Sessions, st.SkippedRenewed, st.Restored,
					scanned, live, liveBytes, sessions, tc.renewed, tc.restored, st)
			}
			if left := asides(t, c.dir); len(left) != 0 {
				t.Errorf("left aside: %v", left)
			}
			mustLoad(t, c.w, c.id, tc.want)
		})
	}
}

// relistEnv is a store with session X, swept by a process that writes no
// records, as sessgc opens it, on a fake clock that the records' times
// follow.
type relistEnv struct {
	dir      string
	clock    *fakeclock.Clock
	w, gc    *fsstore.Store
	id       string
	p, aside string // X's record and aside names
	rl       *relister
}

func newRelistEnv(t *testing.T, writerIdle time.Duration) *relistEnv {
	t.Helper()
	c := &relistEnv{dir: t.TempDir(), clock: fakeclock.New(), rl: new(relister)}
	c.w = openDir(t, c.dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(writerIdle), fsstore.WithClock(c.clock.Now))
	c.gc = openDir(t, c.dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Second), fsstore.WithClock(c.clock.Now))
	c.id = newID(t)
	c.p = c.w.RecordPathForTest(c.id)
	c.aside = filepath.Join(filepath.Dir(c.p), ".tmp-gc-"+filepath.Base(c.p))
	return c
}

// save saves X with data while the sweep runs, creating its name anew.
func (c *relistEnv) save(t *testing.T, data string) {
	t.Helper()
	if err := c.w.Save(context.Background(), &fsstore.Session{ID: c.id, Data: []byte(data)}); err != nil {
		t.Error(err)
		return
	}
	c.rl.add(c.p)
}

// touch renews X's record, as a Touch from a host whose clock lags would.
func (c *relistEnv) touch(t *testing.T) {
	now := c.clock.Now()
	if err := os.Chtimes(c.p, now, now); err != nil {
		t.Error(err)
	}
}

// A dry run reports the sessions it would put back, as it reports the
// ones it would remove: its counts are those of the sweep that follows
// it, and it changes nothing.
func TestSweepDryRunCountsRestored(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// idle is how long ago X was saved when X is moved aside and the
		// sweeps run.
		idle time.Duration
		// newer: X is saved again after it was moved aside.
		newer              bool
		restored, sessions int64
		temps              int64 // the copy aside a newer save superseded
		live               int64
	}{
		{"live", 10 * time.Minute, false, 1, 0, 0, 1},
		{"live, saved again since", 10 * time.Minute, true, 0, 0, 1, 2},
		{"expired", 2 * time.Hour, false, 0, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRelistEnv(t, time.Hour)
			if err := c.w.Save(ctx, &fsstore.Session{ID: c.id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			c.clock.Advance(tc.idle)
			if err := os.Rename(c.p, c.aside); err != nil {
				t.Fatal(err)
			}
			if tc.newer {
				if err := c.w.Save(ctx, &fsstore.Session{ID: c.id, Data: []byte("newer")}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.w.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("b")}); err != nil {
				t.Fatal(err)
			}
			before := tree(t, c.dir)
			var wouldRemove []string
			dry, err := c.gc.Sweep(ctx, fsstore.SweepOptions{DryRun: true, OnRemove: func(r fsstore.Removal) {
				wouldRemove = append(wouldRemove, r.Path)
			}})
			if err != nil {
				t.Fatal(err)
			}
			if after := tree(t, c.dir); !slices.Equal(before, after) {
				t.Errorf("the dry run changed the store:\nbefore %v\nafter  %v", before, after)
			}
			if dry.Restored != tc.restored || dry.Sessions != tc.sessions || dry.Temps != tc.temps || dry.Live != tc.live || int64(len(wouldRemove)) != tc.sessions+tc.temps {
				t.Errorf("dry run: restored %d, removed %d sessions and %d temps (%v), live %d; want %d, %d, %d, %d (%+v)",
					dry.Restored, dry.Sessions, dry.Temps, wouldRemove, dry.Live, tc.restored, tc.sessions, tc.temps, tc.live, dry)
			}
			swept, err := c.gc.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dry.Duration, swept.Duration = 0, 0
			if dry != swept {
				t.Errorf("the dry run counted\n%+v\nthe sweep after it\n%+v", dry, swept)
			}
		})
	}
}

// tree lists the files under dir with their sizes and mtimes.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p+" "+fi.ModTime().String()+" "+fi.Mode().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The same on the file system itself, without hooks: the sweep reads a
// shard's listing in chunks of 512 entries, so a record it restores while
// it handles the first chunk can show up in a later one. Where a name
// shows up depends on the file system (ext4 lists by a hash of the name),
// so the test picks a session whose aside name the listing shows early
// and whose own name late, and skips on a file system where it finds
// none (one that lists in creation order puts every aside name last).
func TestSweepCountsRestoredOnceInLargeShard(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour))
	var liveBytes int64
	paths := make([]string, n)
	for i := range paths {
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		paths[i] = s.RecordPathForTest(id)
		liveBytes += fileSize(t, paths[i])
	}
	data := filepath.Dir(paths[0])
	order := func() map[string]int { return listingOrder(t, data) }
	pos := order()
	picked, tries := "", 0
	for _, p := range paths {
		if pos[filepath.Base(p)] < n*4/5 {
			continue // shown early: it could come back in the chunk read already
		}
		if tries++; tries > 50 {
			break
		}
		aside := filepath.Join(data, ".tmp-gc-"+filepath.Base(p))
		if err := os.Rename(p, aside); err != nil {
			t.Fatal(err)
		}
		if order()[filepath.Base(aside)] < n*2/5 {
			picked = p
			break
		}
		if err := os.Rename(aside, p); err != nil {
			t.Fatal(err)
		}
	}
	if picked == "" {
		t.Skip("this file system lists no aside name early and its record's name late")
	}
	liveBytes -= fileSize(t, filepath.Join(data, ".tmp-gc-"+filepath.Base(picked)))
	st, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil || st.Errors != 0 {
		t.Fatalf("sweep: %+v, %v", st, err)
	}
	if st.Restored != 1 || st.Live != n-1 || st.LiveBytes != liveBytes || st.Scanned != n {
		t.Errorf("sweep counted restored %d, live %d (%d bytes), scanned %d; want 1, %d (%d bytes), %d (%+v)",
			st.Restored, st.Live, st.LiveBytes, st.Scanned, n-1, liveBytes, n, st)
	}
	if !exists(t, picked) || len(asides(t, dir)) != 0 {
		t.Errorf("record put back %v, left aside %v", exists(t, picked), asides(t, dir))
	}
}
