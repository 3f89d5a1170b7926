//go:build unix

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// namedEntry is a directory entry under a name of its own: what a listing
// returned for a name before a sweep moved the file away from it.
type namedEntry struct {
	fs.DirEntry
	name string
}

func (e namedEntry) Name() string { return e.name }

// TestWalksCountMovedRecordOnce: while Stats or Rekey lists a shard, a
// sweep moves a record to its aside name (.tmp-gc-<name>) and maybe back,
// and the listing, read in chunks, shows the name it moved to once more
// (ext4 does when the name's hash lies ahead of the listing's position),
// or shows the record's name for a file that is aside by the time it is
// looked at. Each walk counts the session once: not twice, and not zero
// times.
func TestWalksCountMovedRecordOnce(t *testing.T) {
	moves := []struct {
		name string
		// move runs when the shard's listing has ended, with the record
		// at p (or, for "listed then aside", at hold), and returns the
		// entry the listing shows last.
		move    func(t *testing.T, p, hold string) fs.DirEntry
		expired bool
		// hidden: the record is away from the store (at hold) while the
		// shard is listed, so that only the last entry names it.
		hidden bool
		// both: Rekey as well as Stats with hidden, and the record is
		// live, under its name, and rekeyed.
		both bool
	}{
		{name: "aside and back", move: func(t *testing.T, p, _ string) fs.DirEntry {
			aside := asideOf(p)
			mustRename(t, p, aside)
			mustRename(t, aside, p)
			return entryOf(t, p)
		}},
		{name: "aside, live", move: func(t *testing.T, p, _ string) fs.DirEntry {
			mustRename(t, p, asideOf(p))
			return entryOf(t, asideOf(p))
		}},
		{name: "aside, expired", expired: true, move: func(t *testing.T, p, _ string) fs.DirEntry {
			mustRename(t, p, asideOf(p))
			return entryOf(t, asideOf(p))
		}},
		{name: "listed then aside", hidden: true, move: func(t *testing.T, p, hold string) fs.DirEntry {
			mustRename(t, hold, asideOf(p))
			return namedEntry{entryOf(t, asideOf(p)), filepath.Base(p)}
		}},
		// The listing passed the record's name while a sweep held it
		// aside, and showed the aside name, which by the time it is looked
		// at is empty again: the record is back under its name.
		{name: "aside, back when looked at", hidden: true, both: true, move: func(t *testing.T, p, hold string) fs.DirEntry {
			mustRename(t, hold, p)
			return namedEntry{entryOf(t, p), filepath.Base(asideOf(p))}
		}},
		// The same, with the sweep's put-back halfway: linked back under
		// its name, not yet unlinked from the aside name.
		{name: "aside, linked back when looked at", hidden: true, both: true, move: func(t *testing.T, p, hold string) fs.DirEntry {
			mustRename(t, hold, p)
			if err := os.Link(p, asideOf(p)); err != nil {
				t.Fatal(err)
			}
			return entryOf(t, asideOf(p))
		}},
		// The listing counted the record; a sweep moved it aside, a save
		// gave its name a new file, and the sweep removed the copy aside
		// as superseded: the aside name the listing showed is empty, and
		// the name holds another file of the same session.
		{name: "aside, superseded by a save when looked at", both: true, move: func(t *testing.T, p, _ string) fs.DirEntry {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			saved := filepath.Join(t.TempDir(), "saved")
			if err := os.WriteFile(saved, b, 0o600); err != nil {
				t.Fatal(err)
			}
			mustRename(t, saved, p)
			return namedEntry{entryOf(t, p), filepath.Base(asideOf(p))}
		}},
	}
	walks := []struct {
		name string
		// count returns how many times the walk counted the session; live:
		// it is live under its name, and the walk must say so.
		count func(t *testing.T, s *fsstore.Store, live bool) int64
	}{
		{"Stats", func(t *testing.T, s *fsstore.Store, live bool) int64 {
			st, err := s.Stats(context.Background(), fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if live && (st.Live != 1 || st.Restorable != 0 || st.StaleTemps != 0) {
				t.Errorf("Stats of a live session under its name: %+v; want Live 1, Restorable 0, StaleTemps 0", st)
			}
			return st.Live + st.Expired
		}},
		{"Rekey", func(t *testing.T, s *fsstore.Store, live bool) int64 {
			st, err := s.Rekey(context.Background(), fsstore.RekeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if live && (st.Rekeyed != 1 || st.Errors != 0) {
				t.Errorf("Rekey of a live session under its name and an old key: %+v; want it rekeyed, no error", st)
			}
			return st.Scanned
		}},
	}
	for _, w := range walks {
		for _, m := range moves {
			if w.name == "Rekey" && m.hidden && !m.both {
				continue // a record gone from its name is read aside (rekeyGone)
			}
			t.Run(w.name+"/"+m.name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				s1, err := fsstore.Open(dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				id := newID(t)
				if err := s1.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				s1.Close()
				s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				p := s.RecordPathForTest(id)
				if m.expired {
					old := time.Now().Add(-48 * time.Hour)
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
				}
				hold := filepath.Join(t.TempDir(), "held")
				if m.hidden {
					mustRename(t, p, hold)
				}
				moved := false
				s.SetSweepRelistHookForTest(func(d string) []fs.DirEntry {
					if d != filepath.Dir(p) || moved {
						return nil
					}
					moved = true
					return []fs.DirEntry{m.move(t, p, hold)}
				})
				if n := w.count(t, s, m.both); n != 1 {
					t.Errorf("%s counted the session %d times; want once", w.name, n)
				}
			})
		}
	}
}

func asideOf(p string) string { return asidePath(p, ".tmp-gc-") }

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func entryOf(t *testing.T, p string) fs.DirEntry {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fs.FileInfoToDirEntry(fi)
}
