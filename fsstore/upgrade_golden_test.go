//go:build unix

// The stores were written on Linux, and a Unix host is what meets them: the
// latest records the flock strategy, which a system without flock(2)
// (Windows) does not offer.

package fsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/record"
)

// copyGoldenStore copies the store testdata/upgrade/name into a fresh
// directory, files 0600 and directories 0700 as a store makes them, and
// returns it with the latest creation time among its records.
func copyGoldenStore(t *testing.T, name string) (string, time.Time) {
	t.Helper()
	src := filepath.Join("testdata", "upgrade", name)
	dst := filepath.Join(t.TempDir(), "store")
	var created time.Time
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(filepath.Dir(filepath.Dir(p))) == fsstore.DataDir {
			h, _, err := record.DecodeHeader(b)
			if err != nil {
				return err
			}
			if c := h.CreatedTime(); c.After(created) {
				created = c
			}
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.IsZero() {
		t.Fatalf("%s holds no record", src)
	}
	// Every build made locks/ at Open; git keeps no empty directory, and
	// the earliest stores' locks/ held only the empty lock files left out.
	if err := os.MkdirAll(filepath.Join(dst, fsstore.LockDir), 0o700); err != nil {
		t.Fatal(err)
	}
	return dst, created
}

// The stores in testdata/upgrade were written by earlier builds of this
// module, each a real process. During a rolling deploy the new build meets
// exactly such files; it must read them, lock and rewrite them, swap them,
// judge them in a sweep, and refuse a keyless host, as it does its own.
func TestUpgradeReadsEarlierBuildsStores(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		store string // directory in testdata/upgrade
		keyed bool
		// fromOne: the build numbered a new record's versions from 1
		// (before random first versions), so three saves make version 3.
		fromOne bool
	}{
		{"2026-11-26-1fc4b90-plain", false, true},
		{"2026-11-26-1fc4b90-keyed", true, true},
		{"2026-12-03-e7c07e1-plain", false, true},
		{"2026-12-03-e7c07e1-keyed", true, true},
		{"2026-12-05-d78136d-plain", false, false},
		{"2026-12-05-d78136d-keyed", true, false},
	} {
		t.Run(tc.store, func(t *testing.T) {
			dir, created := copyGoldenStore(t, tc.store)
			build := strings.Split(tc.store, "-")[3]
			clock := fakeclock.New()
			clock.Advance(created.Add(time.Minute).Sub(clock.Now()))
			if err := filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					err = os.Chtimes(p, clock.Now(), clock.Now())
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if tc.keyed {
				// A host deployed without the keys is refused, whether
				// the marker says encrypted (later builds) or only the
				// key check file shows it (the earliest).
				if s, err := fsstore.Open(dir, fsstore.WithClock(clock.Now)); !errors.Is(err, fsstore.ErrKeysRequired) {
					if err == nil {
						s.Close()
					}
					t.Fatalf("keyless Open: %v, want ErrKeysRequired", err)
				}
			}
			var opts []fsstore.Option
			if tc.keyed {
				opts = append(opts, fsstore.WithKeys(goldenKey))
			}
			s := openDir(t, dir, append(opts, fsstore.WithClock(clock.Now))...)

			plain, err := s.Load(ctx, "goldenPlainSession01")
			if err != nil {
				t.Fatalf("Load of the unlocked save: %v", err)
			}
			if want := "written by " + build; string(plain.Data) != want {
				t.Fatalf("unlocked save reads %q, want %q", plain.Data, want)
			}
			counter, err := s.Load(ctx, "goldenCounterSession")
			if err != nil {
				t.Fatalf("Load of the locked saves: %v", err)
			}
			if string(counter.Data) != "3" || tc.fromOne && counter.Version != 3 {
				t.Fatalf("counter reads %q version %d, want \"3\" (version 3 if counted from 1)", counter.Data, counter.Version)
			}

			// A locked read-modify-write, then a swap that must see it.
			l, err := s.Lock(ctx, "goldenCounterSession", fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			held, err := l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held.Data = []byte("4")
			err = l.Save(ctx, held)
			l.Unlock()
			if err != nil {
				t.Fatalf("locked save over the earlier build's record: %v", err)
			}
			counter.Data = []byte("stale")
			if err := s.CompareAndSwap(ctx, counter); !errors.Is(err, fsstore.ErrConflict) {
				t.Fatalf("swap from the earlier build's version after a save: %v, want ErrConflict", err)
			}

			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Live != 2 || st.Removed() != 0 || st.Foreign != 0 || st.Errors != 0 {
				t.Fatalf("sweep while live: %+v, %v; want 2 live, nothing removed or foreign", st, err)
			}
			clock.Advance(25 * time.Hour) // past the default 24 h lifetime
			st, err = s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Sessions != 2 || st.Live != 0 || st.Errors != 0 {
				t.Fatalf("sweep once expired: %+v, %v; want 2 sessions removed", st, err)
			}
		})
	}
}
