package fsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyErrorPrefixOnce: each error a rekey passes to OnError says
// "fsstore: rekey:" once, those of its guard against a stale key set
// too: the guard's errors (a key check file it could not look at, the
// order of the keys it could not read) said it themselves, and the pass
// said it again before the record's path.
func TestRekeyErrorPrefixOnce(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	app.Close()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// No record of when key 1 became newest: the guard judges by the key
	// check files, whose look fails.
	if err := os.Remove(filepath.Join(dir, ".keynewest-1")); err != nil {
		t.Fatal(err)
	}
	s.SetKeyCheckLstatForTest(func(p string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EIO}
	})
	var mu sync.Mutex
	var errs []error
	st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}})
	t.Logf("rekey: %+v, %v", st, err)
	if len(errs) == 0 {
		t.Fatal("no error reported; want one per record under key 1")
	}
	for _, e := range errs {
		if n := strings.Count(e.Error(), "fsstore: rekey:"); n != 1 {
			t.Errorf("OnError(%q) says %q %d times, want once", e, "fsstore: rekey:", n)
		}
	}
}

// TestRekeyStopsAtFailingIO: a rekey whose records fail one after the
// other with an I/O error stops once the failing shards hold the run's
// limit of them (FailingIODirs) with an error matching
// ErrFailingIO and the errno, said "fsstore: rekey:" once, and leaves
// every record readable.
func TestRekeyStopsAtFailingIO(t *testing.T) {
	const files, run = 20, 5
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := 0; i < files; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	app.Close()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Remove(filepath.Join(dir, ".keynewest-1")); err != nil {
		t.Fatal(err)
	}
	s.SetSweepStatFaultForTest(func(string) error { return nil }, run)
	s.SetKeyCheckLstatForTest(func(p string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EIO}
	})
	st, err := s.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 1})
	t.Logf("rekey: %+v, %v", st, err)
	if !errors.Is(err, fsstore.ErrFailingIO) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("err %v; want one matching ErrFailingIO and EIO", err)
	}
	if n := strings.Count(err.Error(), "fsstore: rekey:"); n != 1 {
		t.Errorf("err %q says %q %d times, want once", err, "fsstore: rekey:", n)
	}
	// Each record alone in its shard, or nearly: each shard fails as a
	// whole, and the rekey stops once they hold the run.
	if st.Errors < run || st.Errors >= files {
		t.Errorf("%d errors; want from the run of %d to fewer than the %d records", st.Errors, run, files)
	}
	for i, id := range ids {
		got, err := s.Load(ctx, id)
		if err != nil || len(got.Data) != 1 || got.Data[0] != byte(i) {
			t.Errorf("record %d after the rekey stopped: %v, %v", i, got, err)
		}
	}
}
