//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRelativeDirOutlivesSymlinkSwap: a store opened by a relative path
// from a working directory reached through a symlink (a deploy's
// "current" link, $PWD naming it) stays the store it named at Open after
// the link is pointed at the next release, as package lock's relative
// paths do. Made absolute through $PWD (filepath.Abs), its path turned
// to the new release's directory: Dir named it, and a locked save's
// check of its lock directory by path found another one there.
func TestRelativeDirOutlivesSymlinkSwap(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	for _, rel := range []string{"v1", "v2"} {
		if err := os.MkdirAll(filepath.Join(base, "releases", rel, "sessions"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The second release's store, made before the swap.
	openDir(t, filepath.Join(base, "releases", "v2", "sessions")).Close()
	current := filepath.Join(base, "current")
	if err := os.Symlink(filepath.Join("releases", "v1"), current); err != nil {
		t.Fatal(err)
	}
	// As a shell's cd does: $PWD names the link.
	t.Chdir(current)
	s := openDir(t, "sessions")
	want, err := filepath.EvalSymlinks(filepath.Join(base, "releases", "v1", "sessions"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir() != want {
		t.Errorf("Dir() = %s, want %s (the directory the relative path named at Open)", s.Dir(), want)
	}
	// The deploy: the link now names the next release, swapped in by a
	// rename as deploy tools do.
	next := filepath.Join(base, "current.next")
	if err := os.Symlink(filepath.Join("releases", "v2"), next); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, current); err != nil {
		t.Fatal(err)
	}
	if s.Dir() != want {
		t.Errorf("after the swap, Dir() = %s, want %s", s.Dir(), want)
	}
	id := newID(t)
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v1's")}); err != nil {
		t.Fatalf("a locked save after the swap: %v", err)
	}
	// The census, which lists the shards, counts the store's session.
	if st, err := s.Stats(ctx, fsstore.StatsOptions{}); err != nil || st.Live != 1 {
		t.Errorf("Stats after the swap: %d live, %v; want the session saved", st.Live, err)
	}
	v1 := openDir(t, filepath.Join(base, "releases", "v1", "sessions"))
	if got, err := v1.Load(ctx, id); err != nil || string(got.Data) != "v1's" {
		t.Errorf("the session in the first release's store: %v, %v", got, err)
	}
}
