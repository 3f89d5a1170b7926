package fsstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestCacheHitExpiredOpensNoFile: a cached record whose revalidation
// shows it expired is read again from its file only where that
// revalidation may have used the NFS client's cached attributes (macOS,
// FreeBSD; SetStaleStatForTest stands in for them). On Linux it asked the
// server past the attribute cache, and the Load answers ErrExpired from
// the hit: re-reading cost an OPEN and a READ on NFS per Load of an
// expired session. inotify reports every open of a file in the watched
// directory, so an open cannot go unseen.
func TestCacheHitExpiredOpensNoFile(t *testing.T) {
	for _, tt := range []struct {
		name      string
		stale     bool
		wantOpens int
	}{
		{"fresh attributes", false, 0},
		{"cached attributes", true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := fakeclock.New()
			s := openDir(t, t.TempDir(), fsstore.WithCache(16, 1<<20), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
			if tt.stale {
				s.SetStaleStatForTest()
			}
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, s, id, "x") // into the cache
			clk.Advance(2 * time.Hour)
			in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
			if err != nil {
				t.Skipf("inotify: %v", err)
			}
			defer unix.Close(in)
			if _, err := unix.InotifyAddWatch(in, filepath.Dir(s.RecordPathForTest(id)), unix.IN_OPEN); errors.Is(err, unix.ENOSPC) {
				t.Skipf("inotify: no watch left: %v", err)
			} else if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
				t.Fatalf("Load of a session idle past its timeout: %v, want ErrExpired", err)
			}
			if opened := openedFiles(t, in); len(opened) != tt.wantOpens {
				t.Errorf("Load of an expired cached session opened %v; want %d opens", opened, tt.wantOpens)
			}
		})
	}
}
