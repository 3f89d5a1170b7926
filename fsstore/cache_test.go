package fsstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// The cache trusts a record file's identity (device, inode, size, ctime)
// instead of re-reading its header, so every way another writer can change
// a record must change that identity: a cached Load after it returns the
// other writer's data. Payloads keep one size throughout, so size never
// gives a change away; the many rounds give the filesystem every chance
// to reuse a freed inode number.
func TestCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, other *fsstore.Store, id string, round int) string // returns the data now stored
	}{
		{"save", func(t *testing.T, other *fsstore.Store, id string, round int) string {
			data := fmt.Sprintf("other %06d", round)
			if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
			return data
		}},
		{"two-saves", func(t *testing.T, other *fsstore.Store, id string, round int) string {
			var data string
			for i := range 2 {
				data = fmt.Sprintf("twice %d%05d", i, round)
				if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
					t.Fatal(err)
				}
			}
			return data
		}},
		{"delete-save", func(t *testing.T, other *fsstore.Store, id string, round int) string {
			if err := other.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			data := fmt.Sprintf("again %06d", round)
			if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
			return data
		}},
		{"locked-save", func(t *testing.T, other *fsstore.Store, id string, round int) string {
			l, err := other.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			sess, err := l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sess.Data = []byte(fmt.Sprintf("lockd %06d", round))
			if err := l.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			return string(sess.Data)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cached := openDir(t, dir, fsstore.WithCache(16, 1<<20))
			other := openDir(t, dir)
			id := newID(t)
			want := "first 000000"
			if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte(want)}); err != nil {
				t.Fatal(err)
			}
			for round := range 200 {
				mustLoad(t, cached, id, want) // fills or hits the cache
				mustLoad(t, cached, id, want) // a hit
				want = tt.change(t, other, id, round)
			}
			mustLoad(t, cached, id, want)
		})
	}
}

// A Touch by another process changes the file's ctime, not the record: the
// cache reads it again and returns the same data with the new expiry.
func TestCacheAfterOtherTouch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cached := openDir(t, dir, fsstore.WithCache(16, 1<<20))
	other := openDir(t, dir)
	id := newID(t)
	if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	before, err := cached.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := other.Touch(ctx, id); err != nil {
			t.Fatal(err)
		}
		after, err := cached.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(after.Data) != "kept" || after.Version != before.Version || after.Expires.Before(before.Expires) {
			t.Fatalf("after another store's Touch: %q v%d expires %v; before: v%d expires %v",
				after.Data, after.Version, after.Expires, before.Version, before.Expires)
		}
		before = after
	}
}

// A cached record whose revalidation shows it expired is judged again from
// its file: on macOS and FreeBSD the attributes may be the NFS client's
// cached ones (no forced GETATTR there), older than another host's Touch
// that kept the session alive, and an uncached Load, whose open fetches
// them afresh, finds it live. Here the cache is made to revalidate with the
// attributes it read the record with, as such a client would.
func TestCacheHitExpiredByStaleAttributes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	cached := openDir(t, dir, fsstore.WithCache(16, 1<<20), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	cached.SetStaleStatForTest()
	other := openDir(t, dir, fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	if err := other.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, cached, id, "kept")
	clk.Advance(50 * time.Minute)
	if err := other.Touch(ctx, id); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Minute) // past the first save's expiry, not the touch's
	sess, err := cached.Load(ctx, id)
	if err != nil {
		t.Fatalf("Load of a session touched on another host 20 minutes ago (idle timeout 1h): %v", err)
	}
	if string(sess.Data) != "kept" || !sess.Expires.After(clk.Now()) {
		t.Fatalf("Load: %q expires %v, want kept and live at %v", sess.Data, sess.Expires, clk.Now())
	}
}
