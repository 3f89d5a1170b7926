package fsstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestOpenReadOnly: a store opened WithReadOnly reads, counts and checks
// its health as any store, and creates, changes and removes nothing: not
// at Open (no write probe, no lock table), not in Stats (no temp file to
// read the server's clock from: it judges ages by this host's and says
// so), not when a call that writes is refused. Each such call fails with
// ErrStoreReadOnly before it reaches the file system, and the Observer
// counts it as a call that should not have been made.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openDir(t, dir)
	live, expired := newID(t), newID(t)
	for _, id := range []string{live, expired} {
		if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(w.RecordPathForTest(expired), old, old); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before := testenv.TreeState(t, dir)

	rec := &recorder{}
	s, err := fsstore.Open(dir, fsstore.WithReadOnly(), fsstore.WithObserver(rec))
	if err != nil {
		t.Fatalf("Open WithReadOnly: %v", err)
	}
	defer s.Close()
	mustLoad(t, s, live, "kept")
	if _, err := s.Load(ctx, expired); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load of an expired session: %v, want ErrNotFound", err)
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Live != 1 || st.Expired != 1 || st.Errors != 0 || !st.HostClock {
		t.Errorf("Stats: live %d, expired %d, errors %d, host clock %v; want 1, 1, 0, true", st.Live, st.Expired, st.Errors, st.HostClock)
	}
	n := 0
	if _, err := s.Range(ctx, func(*fsstore.Record) bool { n++; return true }); err != nil || n == 0 {
		t.Errorf("Range: %v, %d records", err, n)
	}
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health: %v", err)
	}
	if got := s.LockStrategy(); got != lock.Auto {
		t.Errorf("LockStrategy: %v, want %v (no lock table)", got, lock.Auto)
	}

	writes := []struct {
		name string
		op   fsstore.Op // 0: not observed
		do   func() error
	}{
		{"Save", fsstore.OpSave, func() error { return s.Save(ctx, &fsstore.Session{ID: live, Data: []byte("new"), Version: 1}) }},
		{"CompareAndSwap", fsstore.OpCompareAndSwap, func() error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: live, Data: []byte("new"), Version: 1})
		}},
		{"Delete", fsstore.OpDelete, func() error { return s.Delete(ctx, live) }},
		{"Touch", fsstore.OpTouch, func() error { return s.Touch(ctx, live) }},
		{"Lock", fsstore.OpLockWait, func() error { _, err := s.Lock(ctx, live, fsstore.Exclusive); return err }},
		{"TryLock", fsstore.OpTryLock, func() error { _, err := s.TryLock(live, fsstore.Shared); return err }},
		{"Sweep", 0, func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{}); return err }},
		{"Sweep dry run", 0, func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: true}); return err }},
		{"Rekey", 0, func() error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{}); return err }},
		{"TryLockFleet", 0, func() error { _, err := s.TryLockFleet("sessgc"); return err }},
	}
	for _, w := range writes {
		rec.events = nil
		err := w.do()
		if !errors.Is(err, fsstore.ErrStoreReadOnly) || errors.Is(err, fsstore.ErrReadOnly) {
			t.Errorf("%s on a store opened read-only: %v, want an error matching ErrStoreReadOnly (and not ErrReadOnly)", w.name, err)
		}
		if w.op != 0 && (len(rec.events) != 1 || rec.events[0].Op != w.op || rec.events[0].Outcome != fsstore.OutcomeInvalid) {
			t.Errorf("%s: observed %+v, want one %v event with outcome %v", w.name, rec.events, w.op, fsstore.OutcomeInvalid)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Save(ctx, &fsstore.Session{ID: live, Data: []byte("new"), Version: 1}); !errors.Is(err, fsstore.ErrClosed) {
		t.Errorf("Save after Close: %v, want ErrClosed", err)
	}
	if after := testenv.TreeState(t, dir); after != before {
		t.Errorf("the store changed:\n%s\n---\n%s", before, after)
	}
}

// TestOpenReadOnlyCreatesNothing: a read-only Open never makes a store,
// and WithCreate(true) beside WithReadOnly is refused as a contradiction.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := fsstore.Open(dir, fsstore.WithReadOnly()); !errors.Is(err, fsstore.ErrNotStore) {
		t.Errorf("Open WithReadOnly of an empty directory: %v, want ErrNotStore", err)
	}
	if _, err := fsstore.Open(dir, fsstore.WithReadOnly(), fsstore.WithCreate(true)); err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("Open WithReadOnly and WithCreate(true): %v, want them refused as exclusive", err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("the directory after a read-only Open: %v, %v; want it empty", ents, err)
	}
}
