package fsstore_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestSweepUnreadableAsideLinkPastLife: as TestSweepAsideLinkOfRecordFreesNothing,
// one file under both the record's name and an aside name (a put-back that
// died between its link and its unlink), but its data unreadable (EACCES)
// and its mtime past any session's life: the sweep removes the aside link
// unread (TestSweepUnreadableCopyPastLife) and the record at the name as
// the listing removes an expired one. That is one expired session and a
// leftover link, its size freed once, as the readable copy is counted:
// counted as a session at each name, one expired session was two removed,
// its bytes freed twice.
func TestSweepUnreadableAsideLinkPastLife(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{".tmp-gc-", ".tmp-gd-"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("linked twice")}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			past := time.Now().Add(-testIdle - 5*time.Minute)
			if err := os.Chtimes(p, past, past); err != nil {
				t.Fatal(err)
			}
			aside := asidePath(p, kind)
			if err := os.Link(p, aside); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			s.SetOpenFaultForTest(func(path string) error {
				if _, err := os.Lstat(path); err == nil && (path == aside || path == p) {
					return syscall.EACCES // the file, under either name
				}
				return nil
			})
			defer s.SetOpenFaultForTest(nil)
			if got, err := s.Stats(ctx, fsstore.StatsOptions{}); err != nil || got.Expired != 1 || got.Live != 0 || got.Errors != 0 {
				t.Errorf("Stats: %+v, %v; want one expired session", got, err)
			}
			for _, dry := range []bool{true, false} {
				var removed int64
				st, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: dry, OnRemove: func(r fsstore.Removal) { removed += r.Size }})
				if err != nil || st.Errors != 0 || st.Sessions != 1 || st.Temps != 1 || st.Bytes != fi.Size() || removed != fi.Size() {
					t.Errorf("sweep (dry run %v): %+v, %v (OnRemove's sizes: %d); want one session, one temp file, %d bytes freed: "+
						"the aside link frees nothing while the name holds its file", dry, st, err, removed, fi.Size())
				}
			}
			if left := asides(t, dir); len(left) != 0 {
				t.Errorf("left aside: %v", left)
			}
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("the record: %v; want it removed", err)
			}
		})
	}
}

// TestStatsBothCopiesUnreadablePastLife: both aside names hold a copy of
// one session, neither readable, both past any session's life. The sweep
// removes both, the first settled (the sweep's, which a settlement of the
// Delete's settles first) as a stale temp file beside the other, the
// other as the expired session; Stats, which predicts it, counts them so.
// Counted each as a temp file beside the other, the expired session was
// missing from Stats.
func TestStatsBothCopiesUnreadablePastLife(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	now := time.Now().Truncate(time.Second)
	gc, gd := placeAside(t, s, id, asideCopy{".tmp-gc-", "old", now.Add(-testIdle - 6*time.Minute)}, asideCopy{".tmp-gd-", "new", now.Add(-testIdle - 5*time.Minute)})
	s.SetOpenFaultForTest(func(path string) error {
		if _, err := os.Lstat(path); err == nil && (path == gc || path == gd) {
			return syscall.EACCES // the files, not their names
		}
		return nil
	})
	defer s.SetOpenFaultForTest(nil)
	got, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil || got.Expired != 1 || got.StaleTemps != 1 || got.Live != 0 || got.Errors != 0 {
		t.Errorf("Stats: %+v, %v; want one expired session and one stale temp file", got, err)
	}
	var errs []string
	st, err := s.Sweep(ctx, fsstore.SweepOptions{OnError: func(err error) { errs = append(errs, err.Error()) }})
	if err != nil || st.Sessions != 1 || st.Temps != 1 || st.Errors != 0 {
		t.Errorf("sweep: %+v, %v (errors %q); want one session and one temp file removed", st, err, errs)
	}
}

// TestSweepUnreadableCopyPastLifeByError: the sweep removes a copy aside
// unread, past any session's life, only for an error of the file, which
// every later look meets again (EACCES, EPERM: another user's; EIO: a
// damaged one). An error of the moment (ESTALE: on NFS, the file behind
// the name replaced in that instant, the attributes the sweep then looks
// at perhaps still the replaced one's; EINTR, EAGAIN) or of the sweep's
// own process (EMFILE, ENOMEM) leaves the copy, with the error, to the
// next pass, which reads it: removed unread for it, the copy removed was
// judged by attributes that may not be its own.
func TestSweepUnreadableCopyPastLifeByError(t *testing.T) {
	ctx := context.Background()
	past := time.Now().Truncate(time.Second).Add(-testIdle - 5*time.Minute)
	for _, tc := range []struct {
		err     syscall.Errno
		removed bool
	}{
		{syscall.EACCES, true},
		{syscall.EPERM, true},
		{syscall.EIO, true},
		{syscall.ESTALE, false},
		{syscall.EINTR, false},
		{syscall.EAGAIN, false},
		{syscall.EMFILE, false},
		{syscall.ENOMEM, false},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			_, gd := placeAside(t, s, id, asideCopy{".tmp-gd-", "old", past})
			s.SetOpenFaultForTest(func(path string) error {
				if _, err := os.Lstat(path); err == nil && path == gd {
					return tc.err
				}
				return nil
			})
			defer s.SetOpenFaultForTest(nil)
			want := fsstore.Stats{Expired: 1}
			if !tc.removed {
				want = fsstore.Stats{Errors: 1}
			}
			if got, err := s.Stats(ctx, fsstore.StatsOptions{}); err != nil || got.Expired != want.Expired || got.Errors != want.Errors {
				t.Errorf("Stats: %+v, %v; want expired %d, errors %d", got, err, want.Expired, want.Errors)
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || (st.Sessions == 1) != tc.removed || (st.Errors == 1) == tc.removed {
				t.Errorf("sweep: %+v, %v; want the copy removed %v, else an error", st, err, tc.removed)
			}
			if _, err := os.Lstat(gd); (err != nil) != tc.removed {
				t.Errorf("the copy after the sweep: %v; want it removed %v", err, tc.removed)
			}
		})
	}
}
