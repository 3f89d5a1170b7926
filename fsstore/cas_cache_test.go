package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCompareAndSwapIgnoresCache: WithCache's identity check (device,
// inode, size, ctime) misses a file replaced by one with the same inode
// number and size within one timestamp tick, as another host's saves of
// the session can leave it. A Load may then return the older record, a
// stale read; a CompareAndSwap deciding on that entry's version swapped
// over the saves it missed, or refused a caller whose version was the
// file's. Its check must read the file. The entry here is made stale by
// hand (SetCachedVersionForTest): the tick cannot be made to come.
func TestCompareAndSwapIgnoresCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		expect func(cached, onDisk uint64) uint64
		want   error // nil: the swap is made
	}{
		{"expects the cached version", func(cached, _ uint64) uint64 { return cached }, fsstore.ErrConflict},
		{"expects the file's version", func(_, onDisk uint64) uint64 { return onDisk }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithCache(16, 1<<20), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			first := &fsstore.Session{ID: id, Data: []byte("first")}
			if err := s.Save(ctx, first); err != nil {
				t.Fatal(err)
			}
			second := &fsstore.Session{ID: id, Data: []byte("other")}
			if err := s.Save(ctx, second); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, id); err != nil { // fills the cache with the file's record
				t.Fatal(err)
			}
			// The file holds second's record; the entry claims first's.
			if !s.SetCachedVersionForTest(id, first.Version) {
				t.Fatal("no cache entry after a Load")
			}
			expect := tc.expect(first.Version, second.Version)
			sess := &fsstore.Session{ID: id, Data: []byte("swapped"), Version: expect}
			err := s.CompareAndSwap(ctx, sess)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("CompareAndSwap expecting version %d (file %d, cache %d): %v, want %v", expect, second.Version, first.Version, err, tc.want)
				}
				if got, err := s.Load(ctx, id); err != nil || string(got.Data) == "swapped" {
					t.Fatalf("after a refused swap the record is %v, %v", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompareAndSwap expecting the file's version %d (cache %d): %v", expect, first.Version, err)
			}
		})
	}
}
