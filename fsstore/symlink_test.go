package fsstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// snapshot describes every file under root: path, type, size, mtime and a
// hash of the content, so that any read-modify-write, touch, rename or
// removal shows.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", p, info.Mode())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %d %d %x", info.Size(), info.ModTime().UnixNano(), sha256.Sum256(b))
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// No symlink below the store's root is followed: with a shard directory,
// or data/ itself, replaced by a symlink to a directory outside the store
// (holding a live record, an expired one and a stale temp file moved
// there), every operation fails with a clear error or leaves the files
// alone, and nothing outside changes: no save lands there, no record
// there is read, touched, deleted, swept or rekeyed.
func TestSymlinkedDirectoryNotFollowed(t *testing.T) {
	type walker interface{ ForceWalkForTest() }
	for _, tt := range []struct {
		which string // the directory replaced
		walk  bool   // resolve one directory at a time (Linux: openat2 otherwise)
	}{{"shard", false}, {"data", false}, {"shard", true}, {"data", true}} {
		which := tt.which
		name := which
		if tt.walk {
			name += "/walk"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			s := openDir(t, dir, fsstore.WithShardDepth(1), fsstore.WithKeys(k1))
			if w, ok := any(s).(walker); ok && tt.walk {
				w.ForceWalkForTest()
			} else if tt.walk {
				t.Skip("this platform always resolves one directory at a time")
			}
			id, _ := fsstore.NewID()
			// Two more sessions in the same shard: one expired, one live.
			var same []string
			for len(same) < 2 {
				other, _ := fsstore.NewID()
				if filepath.Dir(s.RecordPathForTest(other)) == filepath.Dir(s.RecordPathForTest(id)) {
					same = append(same, other)
				}
			}
			for _, i := range append([]string{id}, same...) {
				if err := s.Save(ctx, &fsstore.Session{ID: i, Data: []byte("victim")}); err != nil {
					t.Fatal(err)
				}
			}
			shard := filepath.Dir(s.RecordPathForTest(id))
			old := time.Now().Add(-30 * 24 * time.Hour)
			if err := os.Chtimes(s.RecordPathForTest(same[0]), old, old); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shard, ".tmp-stale"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(shard, ".tmp-stale"), old, old); err != nil {
				t.Fatal(err)
			}

			// The attacker moves the directory out and links it back.
			moved := shard
			if which == "data" {
				moved = filepath.Join(dir, fsstore.DataDir)
			}
			outside := filepath.Join(t.TempDir(), "outside")
			if err := os.Rename(moved, outside); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, moved); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, outside)

			refused := func(op string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s through a symlinked %s directory succeeded", op, which)
				} else if !errors.Is(err, syscall.ELOOP) {
					t.Errorf("%s through a symlinked %s directory: %v, want an error matching ELOOP", op, which, err)
				}
			}
			_, err := s.Load(ctx, id)
			refused("Load", err)
			refused("Save", s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("attacker-visible")}))
			fresh, _ := fsstore.NewID()
			for filepath.Dir(s.RecordPathForTest(fresh)) != shard {
				fresh, _ = fsstore.NewID()
			}
			refused("Save of a new session", s.Save(ctx, &fsstore.Session{ID: fresh, Data: []byte("new")}))
			refused("Touch", s.Touch(ctx, id))
			refused("Delete", s.Delete(ctx, id))
			refused("CompareAndSwap", s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("cas"), Version: 1}))
			refused("CompareAndSwap (version 0)", s.CompareAndSwap(ctx, &fsstore.Session{ID: fresh, Data: []byte("cas")}))
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Load(ctx)
			refused("Locked.Load", err)
			refused("Locked.Save", l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("locked"), Version: 1}))
			refused("Locked.Touch", l.Touch(ctx))
			refused("Locked.Delete", l.Delete(ctx))
			l.Unlock()

			if _, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Minute}); err != nil && !errors.Is(err, syscall.ELOOP) {
				t.Errorf("Sweep: %v", err)
			}
			if st, err := s.Stats(ctx, fsstore.StatsOptions{}); err == nil && st.Live+st.Expired != 0 {
				t.Errorf("Stats counted records through the symlink: %+v", st)
			}
			n := 0
			if _, err := s.Range(ctx, func(*fsstore.Record) bool { n++; return true }); err == nil && n != 0 {
				t.Errorf("Range met %d records through the symlink", n)
			}
			s2, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
			if w, ok := any(s2).(walker); ok && err == nil && tt.walk {
				w.ForceWalkForTest()
			}
			if err == nil {
				t.Cleanup(func() { s2.Close() })
				if st, err := s2.Rekey(ctx, fsstore.RekeyOptions{}); err == nil && st.Rekeyed != 0 {
					t.Errorf("Rekey rewrote %d records through the symlink", st.Rekeyed)
				}
			} else {
				refused("Open", err) // with data/ a symlink, Open's write probe fails
			}

			if after := snapshot(t, outside); after != before {
				t.Errorf("the directory outside the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// No symlink at the lock directory is followed either, with either lock
// strategy: with locks/ replaced by a symlink to a directory outside the
// store, Open fails with an error matching ELOOP; with the store already
// open (its lock directory held open, the original removed), Lock, Sweep
// and Stats fail or create nothing. Nothing outside is created or touched.
func TestSymlinkedLockDirNotFollowed(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, phase := range []string{"at Open", "while open"} {
			t.Run(strategy.String()+"/"+phase, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				dir := t.TempDir()
				opts := []fsstore.Option{fsstore.WithLockStrategy(strategy), fsstore.WithLockStripes(64)}
				s := openDir(t, dir, opts...)
				id, _ := fsstore.NewID()
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				locks := filepath.Join(dir, fsstore.LockDir)
				outside := filepath.Join(t.TempDir(), "outside")
				if err := os.Mkdir(outside, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(outside, "precious"), []byte("keep"), 0o600); err != nil {
					t.Fatal(err)
				}
				if phase == "at Open" {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.RemoveAll(locks); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, locks); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, outside)
				if phase == "at Open" {
					s2, err := fsstore.Open(dir, opts...)
					if err == nil {
						s2.Close()
						t.Errorf("Open with a symlinked %s directory succeeded", fsstore.LockDir)
					} else if !errors.Is(err, syscall.ELOOP) {
						t.Errorf("Open with a symlinked %s directory: %v, want an error matching ELOOP", fsstore.LockDir, err)
					}
				} else {
					if l, err := s.Lock(ctx, id, fsstore.Exclusive); err == nil {
						l.Unlock()
						t.Errorf("Lock with the lock directory replaced by a symlink succeeded")
					}
					if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); !errors.Is(err, syscall.ELOOP) {
						t.Errorf("Sweep with a symlinked lock directory: %v, want an error matching ELOOP", err)
					}
					if _, err := s.Stats(ctx, fsstore.StatsOptions{}); !errors.Is(err, syscall.ELOOP) {
						t.Errorf("Stats with a symlinked lock directory: %v, want an error matching ELOOP", err)
					}
				}
				if after := snapshot(t, outside); after != before {
					t.Errorf("the directory outside the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	}
}

// TestOpenNamesSymlinkedDir: Open of a store whose data/ or locks/ is a
// symlink (an operator who moved the records to another disk and linked
// them back) refuses it saying so. It said "store ... is not writable:
// open dir .../data: too many levels of symbolic links", which sent the
// operator to permissions and mount options.
func TestOpenNamesSymlinkedDir(t *testing.T) {
	for _, sub := range []string{fsstore.DataDir, fsstore.LockDir} {
		for _, ro := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/readonly=%v", sub, ro), func(t *testing.T) {
				dir := t.TempDir()
				openDir(t, dir).Close()
				moved := filepath.Join(t.TempDir(), "moved")
				if err := os.Rename(filepath.Join(dir, sub), moved); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(moved, filepath.Join(dir, sub)); err != nil {
					t.Fatal(err)
				}
				var opts []fsstore.Option
				if ro {
					opts = append(opts, fsstore.WithReadOnly())
				}
				s, err := fsstore.Open(dir, opts...)
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
				want := sub + "/ is a symbolic link"
				if !errors.Is(err, syscall.ELOOP) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), moved) || strings.Contains(err.Error(), "not writable") {
					t.Errorf("Open: %v\nwant an error matching ELOOP that says %q, names %s, and says nothing of writing", err, want, moved)
				}
			})
		}
	}
}
