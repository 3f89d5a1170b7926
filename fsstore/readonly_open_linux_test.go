//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestOpenReadOnlyMount: on a mount that is read-only on this host, Open
// fails its write probe (EROFS), and Open WithReadOnly opens the store,
// loads and counts, as the mount allows.
func TestOpenReadOnlyMount(t *testing.T) {
	ctx := context.Background()
	dir := testenv.MountTmpfs(t, "1m")
	w := openDir(t, dir)
	id := newID(t)
	if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	testenv.RemountTmpfs(t, dir, true)
	t.Cleanup(func() { testenv.RemountTmpfs(t, dir, false) })
	if s, err := fsstore.Open(dir, fsstore.WithCreate(false)); !errors.Is(err, syscall.EROFS) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open on a read-only mount: %v, want EROFS", err)
	}
	s := openDir(t, dir, fsstore.WithReadOnly())
	mustLoad(t, s, id, "kept")
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil || st.Live != 1 || !st.HostClock {
		t.Errorf("Stats on a read-only mount: %+v, %v; want 1 live, judged by the host clock", st, err)
	}
	if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrStoreReadOnly) {
		t.Errorf("Touch: %v, want ErrStoreReadOnly", err)
	}
}
